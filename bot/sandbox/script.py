"""Scripted sandbox: one JSON action per line in, one JSON event per line out (``newsbot sandbox --script``).

The whole script is checked before the sandbox starts, so a typo on line 40 costs no start-up and names its
line. Problems that only show while running (an unknown command, a button that is not there, a bot that does
not answer within 3 s, a request Discord refuses) become ``error`` events instead; see ``docs/sandbox.md``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.client import EXTENSIONS
from bot.config import Settings
from bot.errors import NewsError
from bot.sandbox.app import Event, Sandbox, open_sandbox
from bot.sandbox.permissions import unknown_permissions

log = logging.getLogger(__name__)

MAX_WAIT = 600.0

# The key that names each action, and the other keys it accepts besides "as".
ACTIONS: Mapping[str, frozenset[str]] = {
    "run": frozenset({"options"}),
    "autocomplete": frozenset({"option", "value", "options"}),
    "click": frozenset(),
    "modal": frozenset(),
    "say": frozenset(),
    "user": frozenset({"permissions", "roles"}),
    "channel": frozenset(),
    "perm": frozenset({"for", "allow", "deny"}),
    "role": frozenset({"permissions", "mentionable"}),
    "delete_channel": frozenset(),
    "wait": frozenset(),
}
# Actions that change the server rather than act as a member: "as" does not apply to them.
ADMIN_ACTIONS = frozenset({"user", "perm", "role", "delete_channel"})

EXIT_OK = 0
EXIT_ERROR_EVENTS = 1
EXIT_BAD_SCRIPT = 2


class ScriptError(NewsError):
    """A script line that is not a valid action; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class Action:
    line: int
    kind: str
    """One of :data:`ACTIONS`, or ``"as"`` for a line that only switches the acting member."""
    data: Mapping[str, Any]
    user: str | None = None


@dataclass(slots=True)
class ScriptOutcome:
    events: list[Event] = field(default_factory=list)
    actions: int = 0

    @property
    def errors(self) -> list[Event]:
        return [e for e in self.events if e.get("type") == "error"]

    @property
    def action_events(self) -> list[Event]:
        """The events the actions caused: all but ``ready`` and ``done``."""
        return [e for e in self.events if e.get("type") not in ("ready", "done")]

    @property
    def exit_code(self) -> int:
        return EXIT_ERROR_EVENTS if self.errors else EXIT_OK


def _fail(where: str, message: str) -> ScriptError:
    return ScriptError(f"{where}: {message}")


def _string(where: str, data: Mapping[str, Any], key: str, *, empty_ok: bool = False) -> str:
    value = data.get(key)
    if not isinstance(value, str) or (not empty_ok and not value.strip()):
        raise _fail(where, f'"{key}" must be a {"" if empty_ok else "non-empty "}string, not {json.dumps(value)}')
    return value


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """JSON objects keep the last of two equal keys; an action or option given twice is a mistake, so refuse it."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def _names(where: str, data: Mapping[str, Any], key: str, what: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(where, f'"{key}" must be a list of {what}')
    return value


def _permission_names(where: str, data: Mapping[str, Any], key: str) -> list[str]:
    names = _names(where, data, key, 'permission names such as "manage_messages"')
    unknown = unknown_permissions(names)
    if unknown:
        raise _fail(where, f"unknown permission(s) {', '.join(unknown)}")
    return names


def parse_line(text: str, line: int, name: str = "<script>") -> Action | None:
    """One action from one line; ``None`` for a blank line or a ``#`` comment."""
    where = f"{name}:{line}"
    stripped = text.strip()
    if not stripped or stripped.startswith("#"):
        return None
    try:
        data = json.loads(stripped, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise _fail(where, f'"{exc.key}" is given twice') from None
    except json.JSONDecodeError as exc:
        raise _fail(where, f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(data, dict):
        raise _fail(where, f"an action must be a JSON object, not {type(data).__name__}")
    user = _string(where, data, "as") if "as" in data else None
    kinds = [k for k in ACTIONS if k in data]
    if not kinds:
        if user is not None and set(data) == {"as"}:
            return Action(line, "as", data, user)
        raise _fail(where, f"no action; expected one of {', '.join(ACTIONS)}")
    if len(kinds) > 1:
        raise _fail(where, f"one action per line, found {', '.join(kinds)}")
    kind = kinds[0]
    unknown = sorted(set(data) - {kind, "as"} - ACTIONS[kind])
    if unknown:
        allowed = ", ".join(sorted({kind, "as", *ACTIONS[kind]}))
        raise _fail(where, f"unknown key(s) {', '.join(unknown)} for a {kind!r} action (allowed: {allowed})")
    if kind in ("run", "autocomplete", "click", "channel", "say", "perm", "role", "delete_channel"):
        _string(where, data, kind)
    if kind in ADMIN_ACTIONS and user is not None:
        raise _fail(where, f'"as" does not apply to a "{kind}" action')
    if kind in ("run", "autocomplete") and not isinstance(data.get("options", {}), dict):
        raise _fail(where, '"options" must be an object of option name to value')
    if kind == "autocomplete":
        _string(where, data, "option")
        _string(where, data, "value", empty_ok=True)
    elif kind == "modal":
        values = data["modal"]
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise _fail(where, '"modal" must be an object of field label to text')
    elif kind == "user":
        _string(where, data, "user")
        _permission_names(where, data, "permissions")
        _names(where, data, "roles", 'role names such as "news-alerts"')
    elif kind == "perm":
        _string(where, data, "for")
        allow, deny = _permission_names(where, data, "allow"), _permission_names(where, data, "deny")
        both = sorted(set(allow) & set(deny))
        if both:
            raise _fail(where, f"{', '.join(both)} cannot be both allowed and denied")
    elif kind == "role":
        if "permissions" in data:
            _permission_names(where, data, "permissions")
        if "mentionable" in data and not isinstance(data["mentionable"], bool):
            raise _fail(where, '"mentionable" must be true or false')
    elif kind == "wait":
        seconds = data["wait"]
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= MAX_WAIT:
            raise _fail(where, f'"wait" must be a number of seconds from 0 to {MAX_WAIT:g}')
    return Action(line, kind, data, user)


def parse_script(text: str, name: str = "<script>") -> list[Action]:
    actions = [parse_line(raw, number, name) for number, raw in enumerate(text.splitlines(), start=1)]
    found = [a for a in actions if a is not None]
    if not found:
        raise ScriptError(f"{name}: the script has no actions")
    return found


def load_script(path: Path) -> list[Action]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(f"{path}: cannot read the script ({exc})") from exc
    return parse_script(text, str(path))


async def perform(sandbox: Sandbox, action: Action) -> list[Event]:
    """Run one action; the events it caused, in order."""
    data, line = action.data, action.line
    if action.user is not None:
        try:
            sandbox.switch_user(action.user)
        except KeyError:
            known = ", ".join(sandbox.member_names())
            return [
                sandbox.error(
                    f"There is no member called {action.user!r} (members: {known}); define one with a user action.",
                    line=line,
                )
            ]
    if action.kind == "as":
        return []
    if action.kind == "run":
        return await sandbox.run(data["run"], data.get("options") or {}, line=line)
    if action.kind == "autocomplete":
        return await sandbox.autocomplete(
            data["autocomplete"], data["option"], data["value"], data.get("options") or {}, line=line
        )
    if action.kind == "click":
        return await sandbox.click(data["click"], line=line)
    if action.kind == "modal":
        return await sandbox.submit_modal(data["modal"], line=line)
    if action.kind == "say":
        return await sandbox.say(data["say"], line=line)
    if action.kind == "user":
        try:
            sandbox.define_user(data["user"], data.get("permissions") or [], data.get("roles") or [])
        except KeyError as exc:
            return [sandbox.error(str(exc.args[0]), line=line)]
        return []
    if action.kind == "perm":
        allow, deny = data.get("allow") or [], data.get("deny") or []
        return await sandbox.set_overwrite(data["perm"], data["for"], allow=allow, deny=deny, line=line)
    if action.kind == "role":
        return await sandbox.update_role(
            data["role"], data.get("permissions"), mentionable=data.get("mentionable"), line=line
        )
    if action.kind == "delete_channel":
        return await sandbox.delete_channel(data["delete_channel"], line=line)
    if action.kind == "channel":
        try:
            sandbox.switch_channel(data["channel"])
        except KeyError:
            known = ", ".join("#" + c for c in sandbox.channel_names())
            where = str(data["channel"]).lstrip("#")
            return [sandbox.error(f"There is no channel called #{where} (channels: {known}).", line=line)]
        return []
    if action.kind == "wait":
        return await sandbox.wait(float(data["wait"]), line=line)
    raise AssertionError(f"unhandled action kind {action.kind}")  # parse_line admits no other kind


async def run_actions(sandbox: Sandbox, actions: Sequence[Action], emit: Callable[[Event], None]) -> ScriptOutcome:
    outcome = ScriptOutcome()

    def record(event: Event) -> None:
        outcome.events.append(event)
        emit(event)

    record(sandbox.ready_event())
    for action in actions:
        outcome.actions += 1
        for event in await perform(sandbox, action):
            record(event)
    # Anything the last action set off that arrived after it settled.
    for event in sandbox.collect(line=actions[-1].line if actions else None):
        record(event)
    done = {"type": "done", "actions": outcome.actions, "events": len(outcome.action_events)}
    record({**done, "errors": len(outcome.errors)})
    return outcome


async def execute_script(
    settings: Settings,
    actions: Sequence[Action],
    emit: Callable[[Event], None],
    *,
    extensions: Sequence[str] = EXTENSIONS,
    emulator_options: Mapping[str, Any] | None = None,
) -> ScriptOutcome:
    """Start the sandbox, run ``actions`` and hand each event to ``emit`` as it happens (what the CLI runs)."""
    async with open_sandbox(settings, extensions=extensions, emulator_options=emulator_options) as sandbox:
        return await run_actions(sandbox, actions, emit)


# JSON escapes C0 controls itself; with ensure_ascii=False it would write these raw, and a transcript goes to
# stdout with ``--transcript -``. Escaped as \uXXXX, the line still decodes to exactly the same event.
_RAW_UNSAFE = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def event_line(event: Event) -> str:
    """One transcript event as a JSON line, with no character in it that a terminal would interpret."""
    line = json.dumps(event, ensure_ascii=False, default=str)
    return _RAW_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", line)
