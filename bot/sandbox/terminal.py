"""Interactive sandbox: type slash commands as a member and read what the bot answers (``newsbot sandbox``).

Plain ``input()`` on a daemon thread, so it works over a pipe as well as in a terminal, and the bot keeps
running (and posting) while the prompt waits. The input syntax is in :data:`HELP` and ``docs/sandbox.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import re
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

from bot.sandbox.app import OPTION_TYPES, CommandSpec, Event, Sandbox
from bot.sandbox.driver import DriverError
from bot.sandbox.render import modal_fields, render_event, terminal_safe

log = logging.getLogger(__name__)

HELP = """\
Type a slash command with its options, as in the Discord client:
  /news latest count: 3
  /news headline query: trump putin       (free text: the bot picks the best match)
Autocomplete (what Discord shows while you type): start the line with "?"
  ?/news headline query: putn             shows numbered suggestions
  /pick 2                                 runs the command with suggestion 2
Buttons and modals:
  /click Share Your Thoughts              clicks the newest button with that label in this channel
  (a modal the bot opens is filled in right away, one prompt per field; /cancel closes it)
People and places:
  /as moderator       act as another member (default members: reader, moderator)
  /user alice manage_messages manage_guild   define a member with those permissions
  /channel general    switch channel
Other:
  /commands           the commands this member can see, with their options
  /messages [N]       the last N messages in this channel (default 5)
  /wait 2.5           let the bot's background tasks run for a while
  /help, /quit        (end of input or Ctrl-C also quits)
In modal prompts, \\n in the text becomes a line break.
"""

META = ("help", "quit", "exit", "as", "user", "channel", "click", "pick", "commands", "messages", "wait", "cancel")


class InputError(Exception):
    """A line the terminal cannot turn into an action; shown to the person, never fatal."""


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
        raise InputError("type a command, e.g. /news latest (or /help)")
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
            expected = ", ".join(f"{o.name}:" for o in spec.options) if spec else "name: value"
            raise InputError(f"expected options as {expected} (got {head.strip()!r})")
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(rest)
        options[mark.group(1)] = _unquote(rest[mark.end() : end])
    return Invocation(path, options)


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
        except (DriverError, KeyError) as exc:
            self.say(f"! {exc.args[0] if exc.args else exc}")
        return True

    async def _dispatch(self, text: str) -> bool:
        if text.startswith("?"):
            await self._autocomplete(text[1:])
            return True
        word, _, arg = text.lstrip("/").partition(" ")
        arg = arg.strip()
        meta = word.lower()
        is_meta = meta in META and (text.startswith("/") or meta in ("click", "pick", "as", "help", "quit", "exit"))
        if not is_meta:
            if not text.startswith("/"):
                raise InputError("commands start with / (try /help)")
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
            name, *perms = self._need(arg, "/user NAME [permission ...]").split()
            self.sandbox.define_user(name, perms)
            self.say(f"(member {name} with {', '.join(perms) or 'no special permissions'}; /as {name} to act as them)")
        elif meta == "channel":
            self.sandbox.switch_channel(self._need(arg, "/channel NAME"))
            self.say(f"(now in #{self.sandbox.channel})")
        elif meta == "click":
            await self._click(self._need(arg, "/click LABEL"))
        elif meta == "pick":
            await self._pick(self._need(arg, "/pick N"))
        elif meta == "commands":
            self._list_commands()
        elif meta == "messages":
            self._messages(arg)
        elif meta == "wait":
            try:
                seconds = float(self._need(arg, "/wait SECONDS"))
            except ValueError:
                raise InputError("/wait takes a number of seconds") from None
            self.show(await self.sandbox.wait(seconds, line=self.lines))
        elif meta == "cancel":
            self.say("(nothing to cancel)")
        return True

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
                raise InputError(f"/{invocation.path} has no option with autocomplete")
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
            raise InputError("no suggestions yet; start a line with ? to see some, e.g. ?/news headline query: putin")
        try:
            index = int(arg)
        except ValueError:
            raise InputError("/pick takes the number of a suggestion") from None
        choices = self.pending.choices
        if not 1 <= index <= len(choices):
            raise InputError(f"pick a number from 1 to {len(choices)}")
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
            raise InputError("/messages takes a number") from None
        sandbox = self.sandbox
        channel = sandbox.world.channel(sandbox.channel)
        visible = sandbox.driver.visible_messages(sandbox.user, channel)
        if not visible:
            self.say(f"(no messages in #{channel.name} yet)")
        for message in visible[-count:]:
            self.say(render_event(sandbox.message_event(message, None)))
