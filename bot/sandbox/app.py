"""``newsbot sandbox``: the real NewsBot against the local Discord emulator, with one event stream for both modes.

:func:`open_sandbox` opens the configured store (seeded when empty), starts the emulator, points discord.py at
it, starts the bot and waits until it is ready. The :class:`Sandbox` it yields performs the actions a member
can take (run a command, autocomplete, click, submit a modal) and turns everything Discord received into
transcript events (see ``docs/sandbox.md``). The scripted and the interactive front ends are thin layers on top.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from bot.client import EXTENSIONS, NewsBot
from bot.config import Settings
from bot.errors import NewsError
from bot.sandbox.driver import Driver, DriverError, InteractionResult
from bot.sandbox.emulator import DiscordEmulator
from bot.sandbox.harness import READY_TIMEOUT, BotStartError, bot_against
from bot.sandbox.permissions import permission_names, unknown_permissions
from bot.sandbox.state import LOADING, Member, StoredMessage

log = logging.getLogger(__name__)

Event = dict[str, Any]
"""One transcript event: a JSON object (see ``docs/sandbox.md``)."""

DEFAULT_USER = "reader"
DEFAULT_CHANNEL = "news"
SETTLE_QUIET = 0.05
"""An action is over once the bot has sent nothing for this long (follow-ups often trail the first response)."""
SETTLE_LIMIT = 1.0
RATE_LIMITED = 429


class SandboxError(NewsError):
    """The sandbox could not start (the bot failed to load, or never became ready)."""


@dataclass(frozen=True, slots=True)
class OptionSpec:
    name: str
    type: int
    required: bool
    autocomplete: bool
    description: str
    choices: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """A runnable slash command path (``news headline``) and its options, as the member's client lists them."""

    path: str
    description: str
    options: tuple[OptionSpec, ...]

    def option(self, name: str) -> OptionSpec | None:
        return next((o for o in self.options if o.name == name), None)


# The permissions the bot uses somewhere; /channels shows which of them it lacks in each channel.
BOT_NEEDS = (
    "view_channel",
    "send_messages",
    "send_messages_in_threads",
    "embed_links",
    "create_public_threads",
    "read_message_history",
    "manage_messages",
)


MENTION_WORD = re.compile(r"(?<![\w<])([@#])([\w][\w.-]*[\w]|[\w])")


def _sentence(exc: BaseException) -> str:
    """A lookup error's message (KeyError quotes its argument; the sandbox shows the sentence itself)."""
    return str(exc.args[0]) if exc.args else str(exc)


def check_permission_names(names: Sequence[str]) -> None:
    unknown = unknown_permissions(names)
    if unknown:
        raise DriverError(
            f"There is no permission called {', '.join(unknown)}; use the names of discord.Permissions, "
            "such as send_messages or manage_messages."
        )


OPTION_TYPES = {3: "text", 4: "integer", 5: "yes/no", 6: "user", 7: "channel", 8: "role", 9: "mention", 10: "number"}


def _fingerprint(message: StoredMessage) -> str:
    payload = message.payload
    parts = [payload.get("content"), payload.get("embeds"), payload.get("components"), message.flags, message.deleted]
    return json.dumps(parts, sort_keys=True, default=str)


class Sandbox:
    """A running emulator + bot pair, acting as members and recording what Discord received."""

    def __init__(self, emulator: DiscordEmulator, bot: NewsBot, *, ready_seconds: float) -> None:
        self.emulator = emulator
        self.bot = bot
        self.driver = Driver(emulator, channel=DEFAULT_CHANNEL)
        self.world = emulator.world
        self.ready_seconds = ready_seconds
        self.user = DEFAULT_USER
        self.channel = DEFAULT_CHANNEL
        self._seen: dict[int, str] = {}
        self._requests_seen = len(emulator.requests)
        self._rejections_seen = len(emulator.rejections)
        # One action at a time: the interactive watcher must not report half of an action's output.
        self.lock = asyncio.Lock()

    # ---- the world as the member sees it --------------------------------------------------------------------

    def ready_event(self) -> Event:
        return {
            "type": "ready",
            "seconds": round(self.ready_seconds, 3),
            "emulator": self.emulator.base_url,
            "openapi_validation": self.emulator.openapi_available,
            "user": self.user,
            "channel": self.channel,
            "users": self.member_names(),
            "channels": self.channel_names(),
            "commands": ["/" + spec.path for spec in self.commands()],
        }

    def member_names(self) -> list[str]:
        bot_id = self.world.bot_user.id
        return [m.name for m in self.world.guild.members.values() if m.id != bot_id]

    def channel_names(self) -> list[str]:
        return [c.name for c in self.world.guild.channels.values()]

    def commands(self, user: str | None = None) -> list[CommandSpec]:
        """Chat-input commands visible to ``user``, flattened to their runnable paths."""
        who = user or self.user
        visible = set(self.driver.visible_commands(who, self.channel))
        scopes = [self.world.commands_for(self.emulator.guild_id), self.world.global_commands]
        specs: dict[str, CommandSpec] = {}
        for scope in scopes:
            for command in scope.values():
                if command.type != 1 or command.name not in visible:
                    continue
                for spec in _flatten(command.name, command.data):
                    # Guild commands shadow global ones of the same name, as in the Discord client.
                    specs.setdefault(spec.path, spec)
        return sorted(specs.values(), key=lambda s: s.path)

    def command(self, path: str, user: str | None = None) -> CommandSpec | None:
        wanted = " ".join(path.strip().lstrip("/").split())
        return next((s for s in self.commands(user) if s.path == wanted), None)

    def modal_for(self, user: str | None = None) -> dict[str, Any] | None:
        return self.driver.last_modal(user or self.user)

    # ---- actions --------------------------------------------------------------------------------------------

    def switch_user(self, name: str) -> None:
        self.world.member(name)  # raises KeyError for an unknown member
        self.user = name

    def switch_channel(self, name: str) -> None:
        self.channel = self.world.channel(name).name

    def define_user(self, name: str, permissions: Sequence[str], roles: Sequence[str] = ()) -> Member:
        """Define (or redefine) a member with these permissions (a personal role) and these server roles."""
        check_permission_names(permissions)
        role_ids = [self.world.role(r).id for r in roles]  # KeyError names the unknown role
        member = self.driver.add_member(name, list(permissions))
        member.role_ids.extend(r for r in role_ids if r not in member.role_ids)
        return member

    def channel_overview(self) -> list[tuple[str, str, list[str]]]:
        """Each channel's name, kind, and the permissions the bot lacks there among those it uses."""
        rows = []
        for channel in self.world.guild.channels.values():
            have = self.world.guild.channel_permissions(self.world.bot_member, channel)
            missing = [p for p in BOT_NEEDS if p not in permission_names(have)]
            rows.append((channel.name, channel.kind, missing))
        return rows

    def with_mentions(self, text: str) -> str:
        """``@name`` of a member or role, and ``#name`` of a channel, as mention syntax: what the Discord client
        sends when one is picked from its suggestions. ``@everyone`` and ``@here`` stay as typed."""
        world = self.world

        def mention(match: re.Match[str]) -> str:
            sigil, name = match.group(1), match.group(2)
            if sigil == "#":
                channel = next((c for c in world.guild.channels.values() if c.name == name), None)
                return f"<#{channel.id}>" if channel else match.group(0)
            member = world.member_by_name(name)
            if member is not None:
                return f"<@{member.id}>"
            role = world.role_by_name(name)
            return f"<@&{role.id}>" if role is not None and role.id != world.guild.id else match.group(0)

        return MENTION_WORD.sub(mention, text)

    async def say(self, text: str, *, user: str | None = None, line: int | None = None) -> list[Event]:
        """The member posts ``text`` in the current channel; whatever the bot does about it follows."""
        who = user or self.user
        async with self.lock:
            try:
                await self.driver.say(who, self.with_mentions(text), channel=self.channel)
            except (DriverError, KeyError) as exc:
                return [*self.collect(line=line), self.error(_sentence(exc), line=line, user=who)]
            await self._settle()
            return self.collect(line=line)

    async def set_overwrite(
        self,
        channel: str,
        target: str,
        *,
        allow: Sequence[str] = (),
        deny: Sequence[str] = (),
        line: int | None = None,
    ) -> list[Event]:
        """Channel permissions for a role or member (``newsbot`` is the bot), as a server admin sets them."""
        check_permission_names([*allow, *deny])
        async with self.lock:
            try:
                await self.emulator.set_overwrite(channel, target, allow=list(allow), deny=list(deny))
            except (KeyError, ValueError) as exc:
                return [*self.collect(line=line), self.error(_sentence(exc), line=line)]
            await self._settle()
            return self.collect(line=line)

    async def update_role(
        self,
        name: str,
        permissions: Sequence[str] | None = None,
        *,
        mentionable: bool | None = None,
        line: int | None = None,
    ) -> list[Event]:
        """Change a role's permissions (or whether members may ping it); a role that does not exist is created."""
        check_permission_names(permissions or [])
        async with self.lock:
            if self.world.role_by_name(name.removeprefix("@")) is None:
                await self.emulator.add_role(
                    name.removeprefix("@"), list(permissions or []), mentionable=bool(mentionable)
                )
            else:
                await self.emulator.update_role(
                    name, permissions=None if permissions is None else list(permissions), mentionable=mentionable
                )
            await self._settle()
            return self.collect(line=line)

    async def delete_channel(self, name: str, *, line: int | None = None) -> list[Event]:
        async with self.lock:
            try:
                await self.emulator.delete_channel(name)
            except KeyError as exc:
                return [*self.collect(line=line), self.error(_sentence(exc), line=line)]
            await self._settle()
            return self.collect(line=line)

    async def run(
        self,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: str | None = None,
        line: int | None = None,
    ) -> list[Event]:
        who = user or self.user
        async with self.lock:
            return await self._interact(
                lambda: self.driver.invoke(who, command, options or {}, channel=self.channel), who, line
            )

    async def autocomplete(
        self,
        command: str,
        option: str,
        value: str,
        options: Mapping[str, Any] | None = None,
        *,
        user: str | None = None,
        line: int | None = None,
    ) -> list[Event]:
        who = user or self.user
        extra = {"command": "/" + " ".join(command.strip().lstrip("/").split()), "option": option, "value": value}
        async with self.lock:
            return await self._interact(
                lambda: self.driver.autocomplete(who, command, option, value, options or {}, channel=self.channel),
                who,
                line,
                extra,
            )

    async def click(
        self, label: str, *, custom_id: str | None = None, user: str | None = None, line: int | None = None
    ) -> list[Event]:
        who = user or self.user
        async with self.lock:
            return await self._interact(
                lambda: self.driver.click(who, None if custom_id else label, custom_id=custom_id, channel=self.channel),
                who,
                line,
            )

    async def submit_modal(
        self, values: Mapping[str, str], *, user: str | None = None, line: int | None = None
    ) -> list[Event]:
        who = user or self.user
        async with self.lock:
            return await self._interact(lambda: self.driver.submit_modal(who, values), who, line)

    async def wait(self, seconds: float, *, line: int | None = None) -> list[Event]:
        """Let background tasks run; whatever the bot posted meanwhile comes back as ``message`` events."""
        await asyncio.sleep(seconds)
        async with self.lock:
            return self.collect(line=line)

    def error(self, text: str, *, line: int | None = None, user: str | None = None) -> Event:
        return {
            "type": "error",
            "line": line,
            "user": user or self.user,
            "channel": self.channel,
            "ephemeral": False,
            "error": text,
        }

    async def _interact(
        self,
        action: Any,
        who: str,
        line: int | None,
        extra: Mapping[str, Any] | None = None,
    ) -> list[Event]:
        try:
            result: InteractionResult = await action()
        except DriverError as exc:
            return [*self.collect(line=line), self.error(str(exc), line=line, user=who)]
        except KeyError as exc:
            # World lookups (an unknown member or channel) raise KeyError with a readable message.
            return [*self.collect(line=line), self.error(_sentence(exc), line=line, user=who)]
        if result.callback_type not in (8, 9):
            # Suggestions and modals end the exchange; anything else may still have follow-ups on the way.
            await self._settle()
        events = self.collect(line=line)
        base: Event = {"line": line, "user": who, "channel": self.channel, "ephemeral": True}
        if result.interaction.choices is not None:
            events.append({"type": "autocomplete", **base, **(extra or {}), "choices": result.choices})
        if result.modal is not None:
            modal = result.modal
            events.append(
                {
                    "type": "modal",
                    **base,
                    "title": modal.get("title"),
                    "custom_id": modal.get("custom_id"),
                    "components": modal.get("components") or [],
                }
            )
        if result.error:
            events.append(self.error(result.error, line=line, user=who))
        return events

    async def _settle(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_LIMIT
        count = len(self.emulator.requests)
        while loop.time() < deadline:
            await asyncio.sleep(SETTLE_QUIET)
            now = len(self.emulator.requests)
            if now == count:
                return
            count = now

    # ---- recording ------------------------------------------------------------------------------------------

    def collect(self, *, line: int | None) -> list[Event]:
        """Events for every message created, edited or deleted since the last call, and every refused request."""
        events: list[Event] = []
        for message in sorted(self.world.messages.values(), key=lambda m: m.id):
            if message.flags & LOADING and not message.deleted:
                continue  # "thinking…": reported once the bot completes it
            fingerprint = _fingerprint(message)
            before = self._seen.get(message.id)
            if before == fingerprint:
                continue
            self._seen[message.id] = fingerprint
            if message.deleted and before is None:
                continue
            events.append(self.message_event(message, line, edited=before is not None and not message.deleted))
        events.extend(self._request_errors(line))
        return events

    def message_event(self, message: StoredMessage, line: int | None, *, edited: bool = False) -> Event:
        interaction = self.world.interactions.get(message.interaction_id or 0)
        user = self.world.users.get(interaction.user_id) if interaction else None
        channel = self.world.guild.channels.get(message.channel_id)
        event: Event = {
            "type": "reply" if interaction is not None else "message",
            "line": line,
            "user": user.username if user else None,
            "channel": channel.name if channel else str(message.channel_id),
            "ephemeral": message.ephemeral,
            "author": message.payload.get("author", {}).get("username"),
            "content": message.content,
            "embeds": message.embeds,
            "components": message.components,
            "allowed_mentions": message.allowed_mentions,
        }
        if edited:
            event["edited"] = True
        if message.deleted:
            event["deleted"] = True
        return event

    def _request_errors(self, line: int | None) -> list[Event]:
        events: list[Event] = []
        for rejection in self.emulator.rejections[self._rejections_seen :]:
            events.append(
                self.error(
                    f"Discord rejected {rejection.method} {rejection.route} ({rejection.layer} check): "
                    f"{rejection.summary}",
                    line=line,
                )
            )
        self._rejections_seen = len(self.emulator.rejections)
        for record in self.emulator.requests[self._requests_seen :]:
            # 429s are routine (discord.py waits and retries); 50035 bodies are reported as rejections above.
            if record.status < 400 or record.status == RATE_LIMITED or record.code == 50035:
                continue
            message = record.response.get("message") if isinstance(record.response, dict) else None
            events.append(
                self.error(
                    f"Discord answered {record.method} {record.route or record.path} with {record.status}"
                    + (f" ({record.code}: {message})" if record.code is not None else ""),
                    line=line,
                )
            )
        self._requests_seen = len(self.emulator.requests)
        return events


def _flatten(prefix: str, node: Mapping[str, Any]) -> Iterable[CommandSpec]:
    options = list(node.get("options") or [])
    nested = [o for o in options if o.get("type") in (1, 2)]
    if not nested:
        yield CommandSpec(
            prefix,
            str(node.get("description") or ""),
            tuple(
                OptionSpec(
                    name=str(o["name"]),
                    type=int(o["type"]),
                    required=bool(o.get("required")),
                    autocomplete=bool(o.get("autocomplete")),
                    description=str(o.get("description") or ""),
                    choices=tuple(str(c.get("name")) for c in o.get("choices") or []),
                )
                for o in options
            ),
        )
        return
    for sub in nested:
        yield from _flatten(f"{prefix} {sub['name']}", sub)


@asynccontextmanager
async def open_sandbox(
    settings: Settings,
    *,
    extensions: Sequence[str] = EXTENSIONS,
    emulator_options: Mapping[str, Any] | None = None,
    ready_timeout: float = READY_TIMEOUT,
) -> AsyncIterator[Sandbox]:
    """Open the store, start the emulator and the bot, and yield once the bot is ready; shut both down after."""
    started = time.perf_counter()
    # The sandbox fetches from loopback test servers on purpose; the real `newsbot run` never does.
    settings = settings.with_(allow_private_addresses=True)
    async with DiscordEmulator(**dict(emulator_options or {})) as emulator:
        try:
            async with bot_against(
                emulator, settings, extensions=extensions, seed=True, ready_timeout=ready_timeout
            ) as bot:
                ready_seconds = time.perf_counter() - started
                log.info("Sandbox ready in %.2f s (emulator at %s)", ready_seconds, emulator.base_url)
                yield Sandbox(emulator, bot, ready_seconds=ready_seconds)
        except BotStartError as exc:
            raise SandboxError(str(exc)) from exc
