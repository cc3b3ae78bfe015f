"""Durations as moderators type them ("30m", "1h30m", "7 days", "forever") and as the bot shows them."""

from __future__ import annotations

import datetime as dt
import re

from bot.comments.errors import DurationError

_SECONDS: dict[str, int] = {}
for _names, _seconds in (
    (("s", "sec", "secs", "second", "seconds"), 1),
    (("m", "min", "mins", "minute", "minutes"), 60),
    (("h", "hr", "hrs", "hour", "hours"), 3600),
    (("d", "day", "days"), 86400),
    (("w", "wk", "week", "weeks"), 7 * 86400),
    # A month and a year are calendar-dependent; for a ban "about that long" is what a moderator means.
    (("mo", "month", "months"), 30 * 86400),
    (("y", "yr", "year", "years"), 365 * 86400),
):
    for _name in _names:
        _SECONDS[_name] = _seconds

_PART = re.compile(r"(\d+)\s*([a-z]*)")
_SEPARATORS = re.compile(r"[\s,]+|and")
#: Words that mean "no end" for a ban.
FOREVER = frozenset({"forever", "permanent", "permanently", "perm", "never", "indefinite", "indefinitely"})
#: Ten years: longer than any server lives; beyond it, a ban is "forever" and should say so.
MAX_DURATION = dt.timedelta(days=3650)
_EXAMPLES = "like 30s, 15m, 1h30m or 7d"


def parse_duration(text: str, *, default_unit: str | None = None, maximum: dt.timedelta = MAX_DURATION) -> dt.timedelta:
    """Read ``text`` ("90s", "1h 30m", "2 days", "1w2d") as a duration.

    A bare number is read in ``default_unit`` (one of the unit names above) when one is given, and refused
    otherwise: "7" could mean seven minutes or seven days. Raises :class:`DurationError` with a sentence for the
    member on anything else, including a duration above ``maximum``.
    """
    cleaned = text.strip().lower()
    if not cleaned:
        raise DurationError(f"Give a duration, {_EXAMPLES}.")
    if re.search(r"\d[.,]\d", cleaned):
        raise DurationError(f"Use whole numbers in a duration: 1h30m rather than 1.5h ({text.strip()!r}).")
    total = 0
    position = 0
    parts = 0
    for match in _PART.finditer(cleaned):
        gap = cleaned[position : match.start()]
        if _SEPARATORS.sub("", gap):
            raise DurationError(f"Can't read {text.strip()!r} as a duration: use a number and a unit, {_EXAMPLES}.")
        digits, unit = match.groups()
        if len(digits) > 9:
            raise DurationError(f"{text.strip()!r} is too long a duration; the longest is {format_duration(maximum)}.")
        if not unit:
            if default_unit is None or parts or match.end() != len(cleaned.rstrip()):
                raise DurationError(f"{text.strip()!r} needs a unit, {_EXAMPLES}.")
            unit = default_unit
        if unit not in _SECONDS:
            raise DurationError(f"{unit!r} is not a unit of time; use s, m, h, d or w, {_EXAMPLES}.")
        total += int(digits) * _SECONDS[unit]
        position = match.end()
        parts += 1
    if parts == 0 or _SEPARATORS.sub("", cleaned[position:]):
        raise DurationError(f"Can't read {text.strip()!r} as a duration: use a number and a unit, {_EXAMPLES}.")
    if total > maximum.total_seconds():
        raise DurationError(f"{text.strip()!r} is too long; the longest is {format_duration(maximum)}.")
    return dt.timedelta(seconds=total)


def parse_ban_duration(text: str | None) -> dt.timedelta | None:
    """A ban's length: ``None`` (no end) for an empty value or "forever"/"permanent", else :func:`parse_duration`.

    A zero-length ban is refused: it would end as it starts, which is never what the moderator meant.
    """
    if text is None or not text.strip() or text.strip().lower() in FOREVER:
        return None
    duration = parse_duration(text)
    if not duration:
        raise DurationError("A ban must last at least one second; leave the duration empty for a permanent ban.")
    return duration


def format_duration(value: dt.timedelta) -> str:
    """Compact text for a duration, the inverse of :func:`parse_duration`: "15s", "1h 30m", "7d", "0s"."""
    seconds = round(value.total_seconds())
    if seconds <= 0:
        return "0s"
    out: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out.append(f"{count}{unit}")
    return " ".join(out)


def format_time(value: dt.datetime) -> str:
    """A moment as members read it in plain text: ``2025-03-01 14:05 UTC``."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
