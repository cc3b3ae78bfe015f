"""Per-server comment settings: defaults from the anchors, validation, display and a JSON form for the store.

Defaults (``shared/notes/peers.md``): WordPress's 15 s flood interval, duplicate refusal, ``comment_max_links``
2, empty ``moderation_keys``/``disallowed_keys``, ``comment_moderation`` off and ``comment_previously_approved``
on; Disqus's strict profile's 3 flags to pend a comment; a 15-minute edit window; Discord's 4000-character modal.

The minimum account age is off by default: none of the anchors holds new accounts by default (Discourse's
``approve_unless_trust_level`` is 0), and Discord servers already gate fresh accounts with their own verification
level ("registered for longer than 5 minutes" at Medium). A server that is raided sets it, for example to 7d.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from typing import Any

from bot.comments.durations import format_duration, parse_duration
from bot.comments.errors import DurationError, SettingError
from bot.comments.keywords import MAX_ENTRIES, MAX_ENTRY_CHARS, entry_words, format_entries, parse_entries
from bot.comments.models import AuditEntry
from bot.comments.text import MODAL_MAX_LENGTH

log = logging.getLogger(__name__)

#: A setting's value: a switch, a count (``None`` = no limit), a duration or a word list.
SettingValue = bool | int | None | dt.timedelta | tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CommentSettings:
    """One server's comment policy. Construction validates every value (raising :class:`SettingError`)."""

    flood_interval: dt.timedelta = dt.timedelta(seconds=15)
    refuse_duplicates: bool = True
    max_links: int | None = 2
    hold_words: tuple[str, ...] = ()
    block_words: tuple[str, ...] = ()
    premoderation: bool = False
    trust_approved_authors: bool = True
    min_account_age: dt.timedelta = dt.timedelta(0)
    flag_threshold: int = 3
    edit_window: dt.timedelta = dt.timedelta(minutes=15)
    max_length: int = MODAL_MAX_LENGTH

    def __post_init__(self) -> None:
        for spec in SPECS.values():
            spec.check(getattr(self, spec.name))

    def to_json(self) -> dict[str, Any]:
        """JSON-ready values: durations in whole seconds, word lists as lists."""
        out: dict[str, Any] = {}
        for spec in SPECS.values():
            value = getattr(self, spec.name)
            if isinstance(value, dt.timedelta):
                out[spec.name] = round(value.total_seconds())
            elif isinstance(value, tuple):
                out[spec.name] = list(value)
            else:
                out[spec.name] = value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CommentSettings:
        """The inverse of :meth:`to_json`. Missing names take their default; unknown names (a newer or older
        version's) are ignored with a log line; a value of the wrong type raises :class:`SettingError`."""
        values: dict[str, Any] = {}
        for name, raw in data.items():
            spec = SPECS.get(name)
            if spec is None:
                log.warning("ignoring unknown comment setting %r in stored settings", name)
                continue
            values[name] = spec.from_json(raw)
        return cls(**values)


class SettingKind(StrEnum):
    SWITCH = "switch"
    COUNT = "count"
    DURATION = "duration"
    WORDS = "words"


_TRUE = frozenset({"on", "yes", "true", "1", "enable", "enabled", "y"})
_FALSE = frozenset({"off", "no", "false", "0", "disable", "disabled", "n"})
_NONE = frozenset({"off", "none", "unlimited", "no limit"})
_CLEAR = frozenset({"none", "clear", "empty", "-"})


@dataclass(frozen=True, slots=True)
class SettingSpec:
    """How one setting is typed, checked and shown."""

    name: str
    kind: SettingKind
    help: str
    low: int = 0
    """Lowest accepted value (seconds for durations)."""
    high: int = 0
    unit: str | None = None
    """Unit of a bare number typed for a duration."""
    nullable: bool = False
    """A count that also accepts "off" (no limit)."""
    zero_means: str | None = None
    """How a zero count or duration is shown ("off", "no edits")."""

    @property
    def default(self) -> SettingValue:
        value: SettingValue = getattr(_DEFAULT_SETTINGS, self.name)
        return value

    def check(self, value: object) -> None:
        """Raise :class:`SettingError` unless ``value`` is a valid value for this setting."""
        if self.kind is SettingKind.SWITCH:
            if not isinstance(value, bool):
                raise SettingError(f"`{self.name}` is on or off.")
        elif self.kind is SettingKind.COUNT:
            if value is None and self.nullable:
                return
            if not isinstance(value, int) or isinstance(value, bool):
                raise SettingError(f"`{self.name}` is a whole number.")
            if not self.low <= value <= self.high:
                raise SettingError(f"`{self.name}` must be between {self.low} and {self.high} (got {value}).")
        elif self.kind is SettingKind.DURATION:
            if not isinstance(value, dt.timedelta):
                raise SettingError(f"`{self.name}` is a duration.")
            if not self.low <= value.total_seconds() <= self.high:
                low = format_duration(dt.timedelta(seconds=self.low))
                high = format_duration(dt.timedelta(seconds=self.high))
                raise SettingError(f"`{self.name}` must be between {low} and {high} (got {format_duration(value)}).")
        else:
            if not isinstance(value, tuple) or not all(isinstance(e, str) for e in value):
                raise SettingError(f"`{self.name}` is a list of words.")
            if len(value) > MAX_ENTRIES:
                raise SettingError(f"`{self.name}` holds at most {MAX_ENTRIES} entries (got {len(value)}).")
            for entry in value:
                if len(entry) > MAX_ENTRY_CHARS:
                    raise SettingError(
                        f"Each entry of `{self.name}` has at most {MAX_ENTRY_CHARS} characters: "
                        f"{entry[:40]!r}… is longer."
                    )
                if not entry_words(entry)[0]:
                    raise SettingError(f"{entry!r} has no letters or digits to match.")

    def parse(self, raw: str, current: SettingValue) -> SettingValue:
        """The value that ``raw`` (as typed in ``/comments settings``) sets, given the ``current`` one.

        Every kind accepts "default". Word lists take the whole list, or ``+ words`` to add to it,
        ``- words`` to remove from it, and "none" to empty it.
        """
        text = raw.strip()
        lowered = text.lower()
        if lowered == "default":
            return self.default
        if self.kind is SettingKind.SWITCH:
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
            raise SettingError(f"`{self.name}` is on or off, not {text!r}.")
        if self.kind is SettingKind.COUNT:
            if self.nullable and lowered in _NONE:
                return None
            if self.zero_means is not None and lowered == "off":
                return 0
            try:
                value: SettingValue = int(text)
            except ValueError:
                hint = ' or "off"' if self.nullable or self.zero_means else ""
                raise SettingError(f"`{self.name}` takes a whole number{hint}, not {text!r}.") from None
            self.check(value)
            return value
        if self.kind is SettingKind.DURATION:
            if lowered == "off":
                return dt.timedelta(0)
            try:
                duration = parse_duration(text, default_unit=self.unit)
            except DurationError as exc:
                raise SettingError(f"`{self.name}`: {exc}") from None
            self.check(duration)
            return duration
        return self._parse_words(text, current)

    def _parse_words(self, text: str, current: SettingValue) -> tuple[str, ...]:
        existing = current if isinstance(current, tuple) else ()
        if text.lower() in _CLEAR:
            return ()
        mode = text[:1] if text[:1] in ("+", "-") else "="
        try:
            entries = parse_entries(text[1:] if mode != "=" else text)
        except ValueError as exc:
            raise SettingError(str(exc)) from None
        if not entries and mode == "=":
            raise SettingError(f'Give the words for `{self.name}`, or "none" to empty it.')
        if mode == "-":
            drop = {entry_words(e) for e in entries}
            result = tuple(e for e in existing if entry_words(e) not in drop)
        else:
            result = _dedupe((*existing, *entries) if mode == "+" else tuple(entries))
        self.check(result)
        return result

    def format(self, value: SettingValue) -> str:
        """``value`` as shown in ``/comments settings``."""
        if isinstance(value, bool):
            return "on" if value else "off"
        if value is None:
            return "off"
        if isinstance(value, dt.timedelta):
            return self.zero_means if not value and self.zero_means else format_duration(value)
        if isinstance(value, tuple):
            return format_entries(value) if value else "none"
        return self.zero_means if value == 0 and self.zero_means else str(value)

    def from_json(self, raw: object) -> SettingValue:
        value: object = raw
        if self.kind is SettingKind.DURATION and isinstance(raw, int | float) and not isinstance(raw, bool):
            value = dt.timedelta(seconds=raw)
        elif self.kind is SettingKind.WORDS and isinstance(raw, list):
            value = tuple(raw)
        self.check(value)
        return value  # type: ignore[return-value]  # check() has established the type


def _dedupe(entries: tuple[str, ...]) -> tuple[str, ...]:
    """Entries that fold to the same words are one entry; the first spelling is kept."""
    seen: set[tuple[tuple[str, ...], tuple[bool, ...]]] = set()
    out: list[str] = []
    for entry in entries:
        key = entry_words(entry)
        if key not in seen:
            seen.add(key)
            out.append(entry)
    return tuple(out)


_WORDS_HELP = (
    'Words and "quoted phrases", matched as whole words whatever their case, accents or common disguises '
    "(leetspeak, look-alike letters, s.p.a.c.e.d letters); end a word with * to match its beginning. "
    'Type "+ words" to add, "- words" to remove, "none" to empty.'
)

SPECS: dict[str, SettingSpec] = {
    spec.name: spec
    for spec in (
        SettingSpec(
            "flood_interval",
            SettingKind.DURATION,
            "Shortest time between two comments by one member; moderators are exempt.",
            high=3600,
            unit="s",
            zero_means="off",
        ),
        SettingSpec(
            "refuse_duplicates",
            SettingKind.SWITCH,
            "Refuse a comment whose text its author already posted on the same article.",
        ),
        SettingSpec(
            "max_links",
            SettingKind.COUNT,
            'A comment with more links than this is held for review; 0 holds any link, "off" never holds for links.',
            high=100,
            nullable=True,
        ),
        SettingSpec(
            "hold_words", SettingKind.WORDS, "Hold a comment for review when it contains one of these. " + _WORDS_HELP
        ),
        SettingSpec(
            "block_words",
            SettingKind.WORDS,
            "Mark a comment as spam when it contains one of these (beats hold words). " + _WORDS_HELP,
        ),
        SettingSpec("premoderation", SettingKind.SWITCH, "Hold every comment for review before it is published."),
        SettingSpec(
            "trust_approved_authors",
            SettingKind.SWITCH,
            "With pre-moderation on, publish directly the comments of members who already have an approved comment.",
        ),
        SettingSpec(
            "min_account_age",
            SettingKind.DURATION,
            "Hold comments from Discord accounts younger than this, for example 7d.",
            high=365 * 86400,
            unit="d",
            zero_means="off",
        ),
        SettingSpec(
            "flag_threshold",
            SettingKind.COUNT,
            "Flags from this many distinct members hide a comment and queue it for review; 0: flags never hide.",
            high=100,
            zero_means="off",
        ),
        SettingSpec(
            "edit_window",
            SettingKind.DURATION,
            "How long after posting a member can still edit their comment (it goes back through these checks).",
            high=7 * 86400,
            unit="m",
            zero_means="no edits",
        ),
        SettingSpec(
            "max_length",
            SettingKind.COUNT,
            f"Longest comment in characters; at most {MODAL_MAX_LENGTH}, the limit of Discord's comment form.",
            low=1,
            high=MODAL_MAX_LENGTH,
        ),
    )
}
assert set(SPECS) == {f.name for f in fields(CommentSettings)}, "every setting needs a spec"

_DEFAULT_SETTINGS = CommentSettings()
SETTING_NAMES: tuple[str, ...] = tuple(SPECS)


def setting_spec(name: str) -> SettingSpec:
    """The spec of the setting called ``name`` (case and spaces forgiven), or a :class:`SettingError`."""
    key = name.strip().lower().replace(" ", "_").replace("-", "_")
    spec = SPECS.get(key)
    if spec is None:
        raise SettingError(f"There is no comment setting called {name!r}; the settings are: {', '.join(SPECS)}.")
    return spec


def update_setting(settings: CommentSettings, name: str, raw: str) -> CommentSettings:
    """``settings`` with the setting ``name`` set from the text ``raw``; :class:`SettingError` if it can't be."""
    spec = setting_spec(name)
    changes: dict[str, Any] = {spec.name: spec.parse(raw, getattr(settings, spec.name))}
    return replace(settings, **changes)


@dataclass(frozen=True, slots=True)
class SettingDescription:
    """One line of ``/comments settings``: everything shown about a setting, as text."""

    name: str
    kind: SettingKind
    value: str
    default: str
    help: str
    is_default: bool


def describe_settings(settings: CommentSettings) -> tuple[SettingDescription, ...]:
    """Every setting in a fixed order, with its current value, its default and what it does."""
    out: list[SettingDescription] = []
    for spec in SPECS.values():
        value = getattr(settings, spec.name)
        default = spec.default
        out.append(
            SettingDescription(
                name=spec.name,
                kind=spec.kind,
                value=spec.format(value),
                default=spec.format(default),
                help=spec.help,
                is_default=value == default,
            )
        )
    return tuple(out)


def describe_value(name: str, value: SettingValue) -> str:
    """A value of the setting ``name`` as shown (for audit entries: the before and after of a change)."""
    return setting_spec(name).format(value)


def settings_audit(
    before: CommentSettings, after: CommentSettings, *, guild_id: int, actor_id: int, now: dt.datetime
) -> list[AuditEntry]:
    """One audit entry per setting that differs between ``before`` and ``after`` (values as shown)."""
    entries: list[AuditEntry] = []
    for spec in SPECS.values():
        old, new = getattr(before, spec.name), getattr(after, spec.name)
        if old != new:
            entries.append(
                AuditEntry(
                    guild_id=guild_id,
                    actor_id=actor_id,
                    action="settings",
                    at=now,
                    before=spec.format(old),
                    after=spec.format(new),
                    subject=spec.name,
                )
            )
    return entries
