"""Interactive sandbox: type slash commands as a member and read what the bot answers (``newsbot sandbox``).

Plain ``input()`` on a daemon thread, so it works over a pipe as well as in a terminal, and the bot keeps
running (and posting) while the prompt waits. The input syntax is in :data:`HELP` and ``docs/sandbox.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import queue
import re
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import discord

from bot.sandbox.app import OPTION_TYPES, CommandSpec, Event, Sandbox
from bot.sandbox.driver import DriverError
from bot.sandbox.permissions import permission_names
from bot.sandbox.render import modal_fields, render_event, terminal_safe
from bot.sandbox.script import MAX_WAIT

log = logging.getLogger(__name__)

HELP = """\
Type a slash command with its options, as in the Discord client (Tab completes commands and options):
  /news latest count: 3
  /news headline query: trump putin       (free text: the bot picks the best match)
  channels as #name, roles and members as @name:   /feeds add channel: #news role: @news-alerts
Autocomplete (what Discord shows while you type): start the line with "?"
  ?/news headline query: putn             shows numbered suggestions
  /pick 2                                 runs the command with suggestion 2
Buttons and modals:
  /click Share Your Thoughts              clicks the newest button with that label in this channel
  (a modal the bot opens is filled in right away, one prompt per field; /cancel closes it)
People and places:
  /as moderator       act as another member (default members: reader, moderator, owner)
  /user alice manage_messages @news-alerts   define a member with those permissions and roles
  /channel general    switch channel (/channels lists them, with what the bot may not do there)
  /say hello @reader  post a message as the current member
The server, as its admin would change it (the bot is told at once):
  /perm #news newsbot -send_messages +embed_links   channel permissions for a member or @role
  /perm #news newsbot                     remove that channel's overwrite for them again
  /role news-alerts mentionable           a role's permissions and whether it can be pinged
  /delete-channel #forum                  delete a channel
Other:
  /commands           the commands this member can see, with their options
  /messages [N]       the last N messages in this channel (default 5)
  /wait 2.5           let the bot's background tasks run for a while (0 to 600 seconds)
  /help, /quit        (end of input or Ctrl-C also quits)
In modal prompts, \\n in the text becomes a line break.
"""

META = (
    "help",
    "quit",
    "exit",
    "as",
    "user",
    "channel",
    "channels",
    "click",
    "pick",
    "commands",
    "messages",
    "wait",
    "cancel",
    "say",
    "perm",
    "role",
    "delete-channel",
)
BARE_META = ("click", "pick", "as", "help", "quit", "exit")
"""Sandbox commands that also work without the slash."""


class InputError(Exception):
    """A line the terminal cannot turn into an action; shown to the person, never fatal."""


def parse_wait(arg: str) -> float:
    """``/wait``'s seconds: a number from 0 to 600, as in scripts."""
    try:
        seconds = float(arg)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds <= MAX_WAIT:
        raise InputError(f"/wait takes a number of seconds from 0 to {MAX_WAIT:g}, e.g. /wait 2.5.")
    return seconds


@dataclass(slots=True)
class Invocation:
    path: str
    options: dict[str, str] = field(default_factory=dict)

    def render(self) -> str:
        return "/" + " ".join([self.path, *(f"{k}: {v}" for k, v in self.options.items())])


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_invocation(text: str, commands: Sequence[CommandSpec]) -> Invocation:
    """``/news headline query: trump putn`` → path ``news headline``, options ``{"query": "trump putn"}``.

    With the command known, only its own option names end a value, so a value may contain ``http://…``. A
    command with a single option also takes its value without the name (``/news headline putin``).
    """
    body = text.strip().lstrip("/").strip()
    if not body:
        raise InputError("Type a command after the slash, e.g. /news latest (or /help).")
    words = body.split()
    by_path = {c.path: c for c in commands}
    spec: CommandSpec | None = None
    used = 0
    for n in range(min(3, len(words)), 0, -1):
        candidate = " ".join(words[:n])
        if candidate in by_path:
            spec, used = by_path[candidate], n
            break
    if spec is None:
        # Unknown to this member: pass it on, so the driver says why (not registered, hidden, no subcommand).
        used = next((i for i, w in enumerate(words) if w.endswith(":") or ":" in w), len(words))
        names = r"[a-z0-9_-]+"
        path = " ".join(words[:used]) or words[0]
    else:
        names = "|".join(re.escape(o.name) for o in spec.options) or r"(?!)"
        path = spec.path
    rest = body.split(None, used)[used] if len(body.split(None, used)) > used else ""
    pattern = re.compile(rf"(?:^|\s)({names}):")
    marks = list(pattern.finditer(rest))
    options: dict[str, str] = {}
    head = rest[: marks[0].start()] if marks else rest
    if head.strip():
        if spec is not None and len(spec.options) == 1:
            options[spec.options[0].name] = _unquote(head)
        else:
            expected = " ".join(f"{o.name}: …" for o in spec.options) if spec else "name: value"
            raise InputError(f"Give the options of /{path} by name, as in /{path} {expected} (got {head.strip()!r}).")
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(rest)
        name = mark.group(1)
        if name in options:
            raise InputError(f"{name} is given twice; give each option once.")
        options[name] = _unquote(rest[mark.end() : end])
    return Invocation(path, options)


OPTION_VALUE_HINTS = {5: ("true", "false")}


class Completer:
    """Tab completion for the interactive prompt: sandbox commands, the bot's commands and subcommands, option
    names (``count:``), and the values the sandbox knows: members, ``#channels``, ``@roles``, permission names,
    button labels, and an option's fixed choices.

    :meth:`candidates` is the whole logic (and what the tests call); :meth:`complete` adapts it to readline, which
    calls it from the input thread while the event loop may change the world, hence the broad guard there.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def candidates(self, line: str) -> list[str]:
        """The completions of the last word of ``line`` (an empty last word when ``line`` ends with a space)."""
        words = line.split()
        current = "" if not words or line[-1:].isspace() else words.pop()
        if not words:
            return self._first_word(current)
        first = words[0]
        prefix = "?" if first.startswith("?") else ""
        head = first[len(prefix) :].lstrip("/").lower()
        if not prefix and head in META and (first.startswith("/") or head in BARE_META):
            found = self._meta_argument(head, words[1:], current)
        else:
            found = self._bot_command(first[len(prefix) :], words[1:], current)
        return sorted(dict.fromkeys(c for c in found if c.startswith(current)))

    def complete(self, text: str, state: int) -> str | None:
        try:
            import readline

            line = readline.get_line_buffer()[: readline.get_endidx()]
            options = self.candidates(line)
        except Exception:
            log.debug("Tab completion failed", exc_info=True)
            return None
        return options[state] if state < len(options) else None

    # ---- the parts ------------------------------------------------------------------------------------------

    def _first_word(self, current: str) -> list[str]:
        prefix = "?" if current.startswith("?") else ""
        roots = {"/" + spec.path.split()[0] for spec in self.sandbox.commands()}
        found = {prefix + root for root in roots}
        if not prefix:
            found |= {"/" + name for name in META if name != "exit"}
        return sorted(c for c in found if c.startswith(current))

    def _members(self) -> list[str]:
        return self.sandbox.member_names()

    def _channels(self) -> list[str]:
        return ["#" + name for name in self.sandbox.channel_names()]

    def _roles(self) -> list[str]:
        return ["@" + r.name for r in self.sandbox.world.guild.roles.values() if r.id != self.sandbox.world.guild.id]

    @staticmethod
    def _permissions(prefix: str = "") -> list[str]:
        return [prefix + name for name in sorted(discord.Permissions.VALID_FLAGS)]

    def _meta_argument(self, meta: str, args: list[str], current: str) -> list[str]:
        if meta == "as" and not args:
            return self._members()
        if meta == "channel" and not args:
            return self.sandbox.channel_names()
        if meta == "delete-channel" and not args:
            return self._channels()
        if meta == "user" and args:
            return [*self._permissions(), *self._roles()]
        if meta == "role":
            return [r.lstrip("@") for r in self._roles()] if not args else [*self._permissions(), "mentionable"]
        if meta == "perm":
            if not args:
                return self._channels()
            if len(args) == 1:
                everyone = [m.name for m in self.sandbox.world.guild.members.values()]  # the bot too
                return [*everyone, *self._roles(), "@everyone"]
            sign = current[:1] if current[:1] in "+-" else "+"
            return self._permissions(sign) + (self._permissions("-") if not current else [])
        if meta == "click":
            return self._phrase(args, self._labels())
        return []

    def _labels(self) -> list[str]:
        sandbox = self.sandbox
        labels: list[str] = []
        for message in sandbox.driver.visible_messages(sandbox.user, sandbox.channel):
            labels.extend(str(b["label"]) for b in message.buttons() if b.get("label"))
        return labels

    @staticmethod
    def _phrase(typed: list[str], phrases: list[str]) -> list[str]:
        """The next word of each phrase that starts with the words typed so far (labels may have spaces)."""
        out = []
        for phrase in phrases:
            parts = phrase.split()
            if len(parts) > len(typed) and parts[: len(typed)] == typed:
                out.append(parts[len(typed)])
        return out

    def _bot_command(self, root: str, args: list[str], current: str) -> list[str]:
        specs = self.sandbox.commands()
        typed = [root.lstrip("/"), *args]
        # Still inside the command path: offer the next subcommand.
        deeper = self._phrase(typed, [s.path for s in specs])
        spec = next((s for s in specs if s.path.split() == typed[: len(s.path.split())]), None)
        if spec is None:
            return deeper
        after = typed[len(spec.path.split()) :]
        used = {w[:-1] for w in after if w.endswith(":")}
        names = [f"{o.name}:" for o in spec.options if o.name not in used]
        last = after[-1] if after else ""
        option = spec.option(last[:-1]) if last.endswith(":") else None
        if option is None:
            return [*deeper, *names]
        if option.choices:
            return [c for c in option.choices if " " not in c]
        if option.type == 7:
            return self._channels()
        if option.type == 8:
            return self._roles()
        if option.type == 6:
            return ["@" + m for m in self._members()]
        if option.type == 9:
            return [*self._roles(), *("@" + m for m in self._members())]
        return list(OPTION_VALUE_HINTS.get(option.type, ()))


def install_completion(sandbox: Sandbox) -> bool:
    """Tab completion for ``input()``, when readline is available (a terminal, not a pipe)."""
    try:
        import readline
    except ImportError:
        return False
    completer = Completer(sandbox)
    readline.set_completer(completer.complete)
    # Words end at whitespace only: "/news", "count:", "#news" and "@news-alerts" are single words.
    readline.set_completer_delims(" \t\n")
    if "libedit" in (readline.__doc__ or ""):
        readline.parse_and_bind("bind ^I rl_complete")
    else:
        readline.parse_and_bind("tab: complete")
    return True


class LineReader:
    """``input()`` on a daemon thread, one line per request.

    A daemon thread (rather than ``asyncio.to_thread``) so that Ctrl-C or ``/quit`` never waits at exit for a
    read that will not finish; and only on request, so nothing is consumed from stdin that nobody asked for.
    """

    def __init__(self, read_line: Callable[[str], str] = input) -> None:
        self._read_line = read_line
        self._requests: queue.SimpleQueue[tuple[str, asyncio.AbstractEventLoop, asyncio.Future[str | None]]] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None

    async def read(self, prompt: str) -> str | None:
        """The next line without its newline, or ``None`` at end of input."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="sandbox-input", daemon=True)
            self._thread.start()
        self._requests.put((prompt, loop, future))
        return await future

    def _work(self) -> None:
        while True:
            prompt, loop, future = self._requests.get()
            line: str | None
            try:
                line = self._read_line(prompt)
            except EOFError:
                line = None
            except (OSError, ValueError):  # stdin closed underneath us: same as end of input
                line = None
            try:
                loop.call_soon_threadsafe(_resolve, future, line)
            except RuntimeError:  # the loop has closed: the sandbox is gone
                return


def _resolve(future: asyncio.Future[str | None], line: str | None) -> None:
    if not future.done():
        future.set_result(line)


@dataclass(slots=True)
class Pending:
    """The last autocomplete, so that ``/pick N`` can run the command with suggestion N."""

    invocation: Invocation
    focused: str
    choices: list[dict[str, Any]]


class Terminal:
    def __init__(
        self,
        sandbox: Sandbox,
        *,
        reader: LineReader | None = None,
        out: TextIO | None = None,
        emit: Callable[[Event], None] | None = None,
        echo: bool | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.reader = reader or LineReader()
        self.out = out or sys.stdout
        self.emit = emit
        # Over a pipe nothing echoes what was typed; print it so the output reads like a session.
        self.echo = (not sys.stdin.isatty()) if echo is None else echo
        self.pending: Pending | None = None
        self.lines = 0

    def say(self, text: str) -> None:
        # Everything shown goes through here, and much of it (replies, labels, command descriptions, error
        # messages quoting them, the echoed input) was chosen by the bot or a member: print none of it raw.
        print(terminal_safe(text), file=self.out, flush=True)

    @property
    def prompt(self) -> str:
        return terminal_safe(f"{self.sandbox.user}@#{self.sandbox.channel}> ")

    def show(self, events: Sequence[Event]) -> None:
        for event in events:
            if self.emit is not None:
                self.emit(event)
            self.say(render_event(event))

    async def run(self) -> int:
        ready = self.sandbox.ready_event()
        if self.emit is not None:
            self.emit(ready)
        self.say(
            f"newsbot sandbox: ready in {self.sandbox.ready_seconds:.2f} s. "
            f"Members: {', '.join(self.sandbox.member_names())}; channels: "
            f"{', '.join('#' + c for c in self.sandbox.channel_names())}."
        )
        self.say("Type /help for help, /news latest to start, /quit to leave.")
        while True:
            line = await self._read_watching(self.prompt)
            if line is None:
                self.say("")
                break
            self.lines += 1
            if self.echo:
                self.say(line)
            if not await self.handle(line):
                break
        self.say("bye")
        return 0

    async def _read_watching(self, prompt: str) -> str | None:
        """Read a line; meanwhile show what the bot posts on its own (announcements, background tasks)."""
        read = asyncio.ensure_future(self.reader.read(prompt))
        try:
            while True:
                changed = asyncio.ensure_future(self.sandbox.world.changed.wait())
                done, _ = await asyncio.wait({read, changed}, return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
                if read in done:
                    return read.result()
                if not self.sandbox.lock.locked():
                    events = self.sandbox.collect(line=None)
                    if events:
                        self.say("")
                        self.show(events)
                        self.out.write(prompt)
                        self.out.flush()
        finally:
            read.cancel()

    async def handle(self, line: str) -> bool:
        """Act on one line; ``False`` to quit."""
        text = line.strip()
        if not text:
            return True
        try:
            return await self._dispatch(text)
        except InputError as exc:
            self.say(f"! {exc}")
        except (DriverError, KeyError, ValueError) as exc:
            self.say(f"! {exc.args[0] if exc.args else exc}")
        return True

    async def _dispatch(self, text: str) -> bool:
        if text.startswith("?"):
            await self._autocomplete(text[1:])
            return True
        word, _, arg = text.lstrip("/").partition(" ")
        arg = arg.strip()
        meta = word.lower()
        is_meta = meta in META and (text.startswith("/") or meta in BARE_META)
        if not is_meta:
            if not text.startswith("/"):
                raise InputError("Commands start with a slash, e.g. /news latest (/help lists them all).")
            await self._run(parse_invocation(text, self.sandbox.commands()))
            return True
        if meta in ("quit", "exit"):
            return False
        if meta == "help":
            self.say(HELP.rstrip())
        elif meta == "as":
            self.sandbox.switch_user(self._need(arg, "/as NAME"))
            self.say(f"(now acting as {self.sandbox.user})")
        elif meta == "user":
            name, *rest = self._need(arg, "/user NAME [permission ...] [@role ...]").split()
            roles = [w for w in rest if w.startswith("@")]
            perms = [w for w in rest if not w.startswith("@")]
            self.sandbox.define_user(name, perms, roles)
            granted = ", ".join([*perms, *roles]) or "no special permissions"
            self.say(f"(member {name} with {granted}; /as {name} to act as them)")
        elif meta == "channel":
            self.sandbox.switch_channel(self._need(arg, "/channel NAME"))
            self.say(f"(now in #{self.sandbox.channel})")
        elif meta == "channels":
            self._list_channels()
        elif meta == "click":
            await self._click(self._need(arg, "/click LABEL"))
        elif meta == "pick":
            await self._pick(self._need(arg, "/pick N"))
        elif meta == "commands":
            self._list_commands()
        elif meta == "messages":
            self._messages(arg)
        elif meta == "wait":
            self.show(await self.sandbox.wait(parse_wait(self._need(arg, "/wait SECONDS")), line=self.lines))
        elif meta == "say":
            self.show(await self.sandbox.say(self._need(arg, "/say TEXT"), line=self.lines))
        elif meta == "perm":
            await self._perm(self._need(arg, "/perm #CHANNEL WHO [+permission] [-permission] ..."))
        elif meta == "role":
            await self._role(self._need(arg, "/role NAME [permission ...] [mentionable | not-mentionable]"))
        elif meta == "delete-channel":
            where = self._need(arg, "/delete-channel #CHANNEL")
            events = await self.sandbox.delete_channel(where, line=self.lines)
            self.show(events)
            if not any(e.get("type") == "error" for e in events):
                self.say(f"(#{where.lstrip('#')} deleted)")
        elif meta == "cancel":
            self.say("(nothing to cancel)")
        return True

    async def _perm(self, arg: str) -> None:
        channel, *rest = arg.split()
        if not rest:
            raise InputError("Say whose permissions to change: /perm #news newsbot -send_messages")
        target, *changes = rest
        allow = [c[1:] for c in changes if c.startswith("+")]
        deny = [c[1:] for c in changes if c.startswith("-")]
        bare = [c for c in changes if not c.startswith(("+", "-"))]
        if bare:
            raise InputError(f"Write +{bare[0]} to allow it or -{bare[0]} to deny it.")
        events = await self.sandbox.set_overwrite(channel, target, allow=allow, deny=deny, line=self.lines)
        self.show(events)
        if not any(e.get("type") == "error" for e in events):
            changed = ", ".join([*(f"+{a}" for a in allow), *(f"-{d}" for d in deny)]) or "no overwrite"
            self.say(f"(#{channel.lstrip('#')} for {target}: {changed})")

    async def _role(self, arg: str) -> None:
        name, *words = arg.split()
        mentionable: bool | None = None
        if "mentionable" in words:
            mentionable = True
        if "not-mentionable" in words:
            mentionable = False
        perms = [w for w in words if w not in ("mentionable", "not-mentionable")]
        events = await self.sandbox.update_role(name, perms or None, mentionable=mentionable, line=self.lines)
        self.show(events)
        role = self.sandbox.world.role(name)
        shown = ", ".join(permission_names(role.permissions)) or "no permissions"
        self.say(f"(@{role.name}: {shown}; {'mentionable' if role.mentionable else 'not mentionable'})")

    def _list_channels(self) -> None:
        for name, kind, missing in self.sandbox.channel_overview():
            note = f"  (the bot may not: {', '.join(missing)})" if missing else ""
            here = "  <- you are here" if name == self.sandbox.channel else ""
            self.say(f"#{name}  {kind}{note}{here}")

    @staticmethod
    def _need(arg: str, usage: str) -> str:
        if not arg:
            raise InputError(f"usage: {usage}")
        return arg

    async def _run(self, invocation: Invocation) -> None:
        events = await self.sandbox.run(invocation.path, invocation.options, line=self.lines)
        await self._after(events)

    async def _after(self, events: Sequence[Event]) -> None:
        self.show(events)
        if not events:
            self.say("(the bot acknowledged; nothing visible changed)")
        modals = [e for e in events if e.get("type") == "modal" and e.get("user") == self.sandbox.user]
        if modals:
            await self._fill_modal(modals[-1])

    async def _autocomplete(self, text: str) -> None:
        invocation = parse_invocation(text, self.sandbox.commands())
        spec = self.sandbox.command(invocation.path)
        if invocation.options:
            focused = list(invocation.options)[-1]
        else:
            candidates = [o.name for o in spec.options if o.autocomplete] if spec else []
            if not candidates:
                raise InputError(f"/{invocation.path} offers no suggestions for any of its options.")
            focused = candidates[0]
        others = {k: v for k, v in invocation.options.items() if k != focused}
        value = invocation.options.get(focused, "")
        events = await self.sandbox.autocomplete(invocation.path, focused, value, others, line=self.lines)
        self.show(events)
        suggestions = [e for e in events if e.get("type") == "autocomplete"]
        if suggestions:
            self.pending = Pending(invocation, focused, list(suggestions[-1]["choices"]))
            if self.pending.choices:
                self.say("  (/pick N to run the command with suggestion N)")

    async def _pick(self, arg: str) -> None:
        if self.pending is None:
            raise InputError(
                "There are no suggestions to pick from yet: start a line with ? to see some, "
                "e.g. ?/news headline query: putin"
            )
        choices = self.pending.choices
        if not choices:
            raise InputError("The last suggestions were empty, so there is nothing to pick; try other words.")
        try:
            index = int(arg)
        except ValueError:
            raise InputError(f"/pick takes the number of a suggestion, from 1 to {len(choices)}.") from None
        if not 1 <= index <= len(choices):
            only = "There is only 1 suggestion" if len(choices) == 1 else f"There are {len(choices)} suggestions"
            raise InputError(f"{only}; pick a number from 1 to {len(choices)}.")
        choice = choices[index - 1]
        options = {**self.pending.invocation.options, self.pending.focused: str(choice["value"])}
        invocation = Invocation(self.pending.invocation.path, options)
        self.say(f"-> {invocation.render()}   ({choice['name']})")
        await self._run(invocation)

    async def _click(self, label: str) -> None:
        with contextlib.suppress(DriverError):
            _message, button = self.sandbox.driver.find_component(
                self.sandbox.user, label=label, channel=self.sandbox.channel
            )
            if button.get("url"):
                # A link button opens the browser in Discord; the bot never hears of it.
                self.say(f"(a link button: Discord would open {button['url']})")
                return
        events = await self.sandbox.click(label, line=self.lines)
        await self._after(events)

    async def _fill_modal(self, modal: Mapping[str, Any]) -> None:
        fields = modal_fields(modal.get("components") or [])
        self.say(f"Fill in {modal.get('title')!r} (/cancel to close it without sending):")
        values: dict[str, str] = {}
        for entry in fields:
            while True:
                answer = await self.reader.read(terminal_safe(f"  {entry.describe()}: "))
                if answer is None or answer.strip() == "/cancel":
                    self.say("(modal closed; nothing was sent)")
                    return
                if self.echo:
                    self.say(answer)
                text = answer.replace("\\n", "\n")
                if entry.required and not text.strip():
                    self.say("  (this field is required)")
                    continue
                values[entry.custom_id] = text
                break
        events = await self.sandbox.submit_modal(values, line=self.lines)
        await self._after(events)

    def _list_commands(self) -> None:
        specs = self.sandbox.commands()
        if not specs:
            self.say(f"({self.sandbox.user} sees no commands here)")
        for spec in specs:
            parts = []
            for option in spec.options:
                notes = [OPTION_TYPES.get(option.type, f"type {option.type}")]
                if option.autocomplete:
                    notes.append("autocomplete")
                if option.choices:
                    notes.append("one of " + "/".join(option.choices))
                shown = f"{option.name}: <{', '.join(notes)}>"
                parts.append(shown if option.required else f"[{shown}]")
            self.say(f"/{spec.path} {' '.join(parts)}".rstrip() + f"  - {spec.description}")

    def _messages(self, arg: str) -> None:
        try:
            count = int(arg) if arg else 5
        except ValueError:
            raise InputError("/messages takes how many messages to show, e.g. /messages 3.") from None
        if count < 1:
            raise InputError("/messages takes how many messages to show, 1 or more.")
        sandbox = self.sandbox
        channel = sandbox.world.channel(sandbox.channel)
        visible = sandbox.driver.visible_messages(sandbox.user, channel)
        if not visible:
            self.say(f"(no messages in #{channel.name} yet)")
        for message in visible[-count:]:
            self.say(render_event(sandbox.message_event(message, None)))
