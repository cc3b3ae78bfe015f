"""Acting as Discord members against the emulator: slash commands, autocomplete, buttons, selects and modals.

The driver behaves like the Discord client: it refuses commands the member cannot see, validates option values
the way the client would, sends INTERACTION_CREATE over the gateway and waits for the bot's response.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.sandbox.emulator import DiscordEmulator, Rejection, RequestRecord
from bot.sandbox.permissions import (
    ADMINISTRATOR,
    MENTION_EVERYONE,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    USE_APPLICATION_COMMANDS,
    VIEW_CHANNEL,
    describe,
)
from bot.sandbox.render import modal_fields
from bot.sandbox.state import (
    CHANNEL_TYPE_NAMES,
    LOADING,
    Channel,
    Command,
    Interaction,
    Member,
    Role,
    StoredMessage,
    iter_components,
)

log = logging.getLogger(__name__)

SAFE_INTEGER = 2**53 - 1
"""Integer and number options hold "any integer between -2^53+1 and 2^53-1" (application-commands.mdx)."""
STRING_OPTION_MAX = 6000
TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")

Who = Member | str | int
Where = Channel | str | int


class DriverError(Exception):
    """The member could not do that in the Discord client (unknown command, missing option, no such button)."""


class CommandNotVisible(DriverError):
    """The command exists but the member's permissions hide it from them."""


@dataclass(slots=True)
class InteractionResult:
    """What the member saw. Properties read live state, so later edits and follow-ups show up."""

    emulator: DiscordEmulator
    interaction: Interaction
    kind: str
    error: str | None = None

    @property
    def callback_type(self) -> int | None:
        return self.interaction.callback_type

    @property
    def responded(self) -> bool:
        return self.interaction.acked

    @property
    def timed_out(self) -> bool:
        """No acknowledgement within the deadline: the member sees "This interaction failed"."""
        return not self.interaction.acked

    @property
    def message(self) -> StoredMessage | None:
        mid = self.interaction.original_message_id
        return self.emulator.world.messages.get(mid) if mid else None

    @property
    def followups(self) -> list[StoredMessage]:
        world = self.emulator.world
        return [world.messages[m] for m in self.interaction.followup_ids if m != self.interaction.original_message_id]

    @property
    def content(self) -> str:
        return self.message.content if self.message else ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.message.embeds if self.message else []

    @property
    def components(self) -> list[dict[str, Any]]:
        return self.message.components if self.message else []

    @property
    def ephemeral(self) -> bool:
        return bool(self.message and self.message.ephemeral)

    @property
    def allowed_mentions(self) -> Any:
        return self.message.allowed_mentions if self.message else None

    @property
    def choices(self) -> list[dict[str, Any]]:
        return list(self.interaction.choices or [])

    @property
    def modal(self) -> dict[str, Any] | None:
        return self.interaction.modal

    @property
    def late_callbacks(self) -> int:
        """Callbacks that arrived after the deadline and got 404 Unknown interaction (10062)."""
        return self.interaction.late_callbacks

    def buttons(self) -> list[dict[str, Any]]:
        return self.message.buttons() if self.message else []

    async def wait_followups(self, count: int, within: float = 5.0) -> list[StoredMessage]:
        """Wait until at least ``count`` follow-ups (beyond the response itself) have arrived."""
        await self.emulator.wait_for(lambda: len(self.followups) >= count, within)
        return self.followups

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "callback_type": self.callback_type,
            "error": self.error,
            "ephemeral": self.ephemeral,
            "content": self.content,
            "embeds": self.embeds,
            "components": self.components,
            "allowed_mentions": self.allowed_mentions,
            "choices": self.choices if self.interaction.choices is not None else None,
            "modal": self.modal,
        }


def _bounds_error(name: str, low: float | None, high: float | None, unit: str = "") -> DriverError:
    def fmt(x: float) -> str:
        return f"{x:g}{unit}"

    if low is not None and high is not None:
        return DriverError(f"{name} must be between {fmt(low)} and {fmt(high)}.")
    if low is not None:
        return DriverError(f"{name} must be at least {fmt(low)}.")
    return DriverError(f"{name} must be at most {fmt(high or 0)}.")


def parse_number(name: str, value: Any, *, integer: bool) -> int | float:
    """A number as the client's number field takes it: ``3.5`` is no integer, ``nan`` and ``inf`` are no number."""
    what = "a whole number" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DriverError(f"{name} must be {what}, not {value!r}.")
    number: int | float
    if isinstance(value, str):
        text = value.strip()
        try:
            number = int(text) if integer else float(text)
        except ValueError:
            raise DriverError(f"{name} must be {what}, not {value!r}.") from None
    else:
        number = value
    if isinstance(number, float):
        if not math.isfinite(number):
            raise DriverError(f"{name} must be {what}, not {value!r}.")
        if integer:
            if not number.is_integer():
                raise DriverError(f"{name} must be {what}, not {value!r}.")
            number = int(number)
    if abs(number) > SAFE_INTEGER:
        raise _bounds_error(name, -SAFE_INTEGER, SAFE_INTEGER)
    return number


def convert_scalar(spec: Mapping[str, Any], value: Any) -> Any:
    """String, integer and number options: choices, min/max length and min/max value, as the client enforces."""
    kind = int(spec["type"])
    name = str(spec["name"])
    choices = list(spec.get("choices") or [])
    if kind == 3:
        if value is None or isinstance(value, dict | list):
            raise DriverError(f"{name} must be text, not {value!r}.")
        text = str(value)
        if choices:
            for choice in choices:
                if text in (choice["name"], str(choice["value"])):
                    return choice["value"]
            raise DriverError(f"{name} must be one of: {', '.join(str(c['name']) for c in choices)}.")
        low = int(spec.get("min_length") or 0)
        high = int(spec.get("max_length") or STRING_OPTION_MAX)
        if not low <= len(text) <= high:
            shown = _bounds_error(name, low or None, high, " characters")
            raise DriverError(f"{shown} (got {len(text)})")
        return text
    number = parse_number(name, value, integer=kind == 4)
    if choices:
        for choice in choices:
            if number == choice["value"]:
                return choice["value"]
        raise DriverError(f"{name} must be one of: {', '.join(str(c['name']) for c in choices)}.")
    min_value, max_value = spec.get("min_value"), spec.get("max_value")
    if (min_value is not None and number < min_value) or (max_value is not None and number > max_value):
        raise _bounds_error(name, min_value, max_value)
    return number


def convert_bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise DriverError(f"{name} must be true or false, not {value!r}.")


class Driver:
    def __init__(
        self,
        emulator: DiscordEmulator,
        *,
        channel: Where = "news",
        followup_timeout: float = 10.0,
    ) -> None:
        self.emulator = emulator
        self.world = emulator.world
        self.default_channel = channel
        self.followup_timeout = followup_timeout

    # ---- people and places --------------------------------------------------------------------------------

    def member(self, who: Who) -> Member:
        return self.world.member(who)

    def add_member(self, name: str, permissions: int | str | Sequence[str] | None = None) -> Member:
        return self.world.add_member(name, permissions=permissions)

    def channel(self, where: Where | None = None) -> Channel:
        return self.world.channel(self.default_channel if where is None else where)

    # ---- reading ------------------------------------------------------------------------------------------

    def messages(self, channel: Where | None = None) -> list[StoredMessage]:
        return self.world.channel_messages(self.channel(channel).id)

    def ephemeral_for(self, who: Who) -> list[StoredMessage]:
        member = self.member(who)
        return [m for m in self.world.visible_messages(member.id) if m.ephemeral_to == member.id]

    def visible_messages(self, who: Who, channel: Where | None = None) -> list[StoredMessage]:
        """What ``who`` sees in ``channel``, oldest first: everyone's messages plus the ephemeral ones for them."""
        return self.world.visible_messages(self.member(who).id, self.channel(channel).id)

    def last_modal(self, who: Who) -> dict[str, Any] | None:
        entry = self.world.last_modal.get(self.member(who).id)
        return entry[1] if entry else None

    @property
    def requests(self) -> list[RequestRecord]:
        return self.emulator.requests

    @property
    def rejections(self) -> list[Rejection]:
        return self.emulator.rejections

    # ---- commands -----------------------------------------------------------------------------------------

    def _all_commands(self) -> list[Command]:
        guild = list(self.world.commands_for(self.emulator.guild_id).values())
        return guild + list(self.world.global_commands.values())

    def can_see(self, who: Who, command: Command, channel: Where | None = None) -> bool:
        member = self.member(who)
        perms = self.world.guild.channel_permissions(member, self.channel(channel))
        if perms & ADMINISTRATOR:
            return True
        if not perms & USE_APPLICATION_COMMANDS:
            return False
        required = command.default_member_permissions
        if required is None:
            return True
        # "0" hides the command from everyone but administrators.
        return required != 0 and perms & required == required

    def _check_can_type(self, who: Who, where: Channel) -> None:
        """Where the Discord client gives the member no message box, there are no commands either."""
        member = self.member(who)
        perms = self.world.guild.channel_permissions(member, where)
        if not perms & VIEW_CHANNEL:
            raise DriverError(f"{member.name} cannot see #{where.name}.")
        if where.is_forum:
            raise DriverError(f"#{where.name} is a forum: commands are used in its posts.")
        if not perms & (ADMINISTRATOR | USE_APPLICATION_COMMANDS):
            raise DriverError(f"{member.name} may not use application commands in #{where.name}.")

    def _channel_of(self, channel_id: int) -> Channel:
        channel = self.world.guild.channels.get(channel_id)
        if channel is None:
            raise DriverError("That channel has been deleted.")
        return channel

    def visible_commands(self, who: Who, channel: Where | None = None) -> list[str]:
        return sorted({c.name for c in self._all_commands() if c.type == 1 and self.can_see(who, c, channel)})

    def _resolve(self, who: Who, path: str, channel: Where | None) -> tuple[Command, list[str], dict[str, Any]]:
        parts = path.strip().lstrip("/").split()
        if not parts:
            raise DriverError("Type a command after the slash, e.g. /news latest.")
        self._check_can_type(who, self.channel(channel))
        candidates = [c for c in self._all_commands() if c.type == 1 and c.name == parts[0]]
        if not candidates:
            raise DriverError(f"There is no /{parts[0]} command in this server.")
        command = candidates[0]  # guild commands shadow global ones, as in the client's list
        if not self.can_see(who, command, channel):
            needed = describe(command.default_member_permissions or 0)
            raise CommandNotVisible(f"/{command.name} is hidden from {self.member(who).name} (it needs {needed}).")
        node: dict[str, Any] = command.data
        for depth, name in enumerate(parts[1:], start=1):
            subs = {o.get("name"): o for o in node.get("options") or [] if o.get("type") in (1, 2)}
            if name not in subs:
                known = ", ".join(sorted(str(n) for n in subs))
                raise DriverError(f"/{' '.join(parts[:depth])} has no subcommand {name!r}; it has {known}.")
            node = subs[name]
        nested = [str(o.get("name")) for o in node.get("options") or [] if o.get("type") in (1, 2)]
        if nested:
            raise DriverError(f"/{' '.join(parts)} needs a subcommand: {', '.join(sorted(nested))}.")
        return command, parts[1:], node

    def _wrap(self, command: Command, node_path: list[str], leaf: list[dict[str, Any]]) -> list[dict[str, Any]]:
        options = leaf
        node: dict[str, Any] = command.data
        kinds: list[int] = []
        for name in node_path:
            node = next(o for o in node.get("options") or [] if o.get("name") == name)
            kinds.append(int(node["type"]))
        for name, kind in reversed(list(zip(node_path, kinds, strict=True))):
            options = [{"name": name, "type": kind, "options": options}]
        return options

    def _convert(
        self, who: Who, spec: Mapping[str, Any], value: Any, resolved: dict[str, dict[str, Any]], where: Channel
    ) -> Any:
        """An option value as the Discord client would send it, refusing what the client refuses."""
        kind = int(spec["type"])
        name = str(spec["name"])
        if kind in (3, 4, 10):
            return convert_scalar(spec, value)
        if kind == 5:
            return convert_bool(name, value)
        if kind == 6 or (kind == 9 and not self._looks_like_role(value)):
            member = self._member_option(name, value)
            resolved.setdefault("users", {})[str(member.id)] = member.user.payload()
            resolved.setdefault("members", {})[str(member.id)] = {
                **member.payload(with_user=False),
                "permissions": str(self.world.guild.channel_permissions(member, where)),
            }
            return str(member.id)
        if kind in (8, 9):
            role = self._role_option(name, value)
            resolved.setdefault("roles", {})[str(role.id)] = role.payload()
            return str(role.id)
        if kind == 7:
            channel = self._channel_option(spec, value)
            partial = {
                **channel.payload(),
                "permissions": str(self.world.guild.channel_permissions(self.member(who), channel)),
            }
            resolved.setdefault("channels", {})[str(channel.id)] = partial
            return str(channel.id)
        raise DriverError(f"{name}: the sandbox cannot fill this kind of option (type {kind}) yet.")

    def _looks_like_role(self, value: Any) -> bool:
        try:
            self.world.role(value)
        except KeyError:
            return False
        return isinstance(value, (int, str))

    def _member_option(self, name: str, value: Any) -> Member:
        try:
            return self.world.member(value)
        except KeyError:
            raise DriverError(f"{name}: there is no member called {str(value).lstrip('@')!r} in this server.") from None

    def _role_option(self, name: str, value: Any) -> Role:
        try:
            role = self.world.role(value)
        except KeyError:
            raise DriverError(f"{name}: there is no role called {str(value).lstrip('@')!r} in this server.") from None
        return role

    def _channel_option(self, spec: Mapping[str, Any], value: Any) -> Channel:
        name = str(spec["name"])
        try:
            channel = self.world.channel(value)
        except KeyError:
            raise DriverError(f"{name}: there is no channel called #{str(value).lstrip('#')} in this server.") from None
        allowed = spec.get("channel_types")
        if allowed and channel.type not in allowed:
            kinds = " or ".join(CHANNEL_TYPE_NAMES.get(int(t), f"type {t}") for t in allowed)
            raise DriverError(f"{name} takes a {kinds} channel, and #{channel.name} is a {channel.kind} channel.")
        return channel

    def _build_options(
        self,
        who: Who,
        command_path: str,
        node: Mapping[str, Any],
        options: Mapping[str, Any],
        where: Channel,
        *,
        focused: str | None = None,
        partial: str = "",
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        specs = {o["name"]: o for o in node.get("options") or []}
        unknown = sorted(set(options) - set(specs) - ({focused} if focused else set()))
        if focused is not None and focused not in specs:
            unknown = sorted({*unknown, focused})
        if unknown:
            listed = ", ".join(specs) if specs else "none"
            noun = "option" if len(unknown) == 1 else "options"
            raise DriverError(f"/{command_path} has no {noun} {', '.join(unknown)} (its options: {listed}).")
        resolved: dict[str, dict[str, Any]] = {}
        out: list[dict[str, Any]] = []
        for name, spec in specs.items():
            if name == focused:
                if not spec.get("autocomplete"):
                    raise DriverError(f"{name} on /{command_path} offers no suggestions.")
                # The client sends what has been typed so far, as a string, whatever the option type.
                out.append({"name": name, "type": spec["type"], "value": partial, "focused": True})
            elif name in options:
                value = options[name]
                if focused is not None and spec.get("autocomplete"):
                    out.append({"name": name, "type": spec["type"], "value": str(value)})
                else:
                    converted = self._convert(who, spec, value, resolved, where)
                    out.append({"name": name, "type": spec["type"], "value": converted})
            elif spec.get("required") and focused is None:
                raise DriverError(f"/{command_path} needs a value for {name}.")
        return out, resolved

    def _command_data(
        self, command: Command, path: list[str], options: list[dict[str, Any]], resolved: dict[str, Any]
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(command.id),
            "name": command.name,
            "type": 1,
            "options": self._wrap(command, path, options),
        }
        if command.guild_id is not None:
            data["guild_id"] = str(command.guild_id)
        if resolved:
            data["resolved"] = resolved
        return data

    async def invoke(
        self,
        who: Who,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel: Where | None = None,
        followup_timeout: float | None = None,
    ) -> InteractionResult:
        """Run ``/command [sub [subsub]]`` with ``options`` as ``who``; wait for the response (and a deferred
        response's completion)."""
        cmd, path, node = self._resolve(who, command, channel)
        where = self.channel(channel)
        built, resolved = self._build_options(who, " ".join([cmd.name, *path]), node, options or {}, where)
        data = self._command_data(cmd, path, built, resolved)
        interaction = await self.emulator.create_interaction(2, self.member(who), where, data)
        return await self._await(interaction, "command", followup_timeout)

    async def autocomplete(
        self,
        who: Who,
        command: str,
        option: str,
        value: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel: Where | None = None,
    ) -> InteractionResult:
        """Type ``value`` into ``option``; the result's ``choices`` are what the member would see."""
        cmd, path, node = self._resolve(who, command, channel)
        where = self.channel(channel)
        built, resolved = self._build_options(
            who, " ".join([cmd.name, *path]), node, options or {}, where, focused=option, partial=value
        )
        data = self._command_data(cmd, path, built, resolved)
        interaction = await self.emulator.create_interaction(4, self.member(who), where, data)
        return await self._await(interaction, "autocomplete", None)

    # ---- components -----------------------------------------------------------------------------------------

    def find_component(
        self,
        who: Who,
        *,
        label: str | None = None,
        custom_id: str | None = None,
        component_type: int | None = 2,
        message: StoredMessage | int | None = None,
        channel: Where | None = None,
    ) -> tuple[StoredMessage, dict[str, Any]]:
        if label is None and custom_id is None:
            raise DriverError("Say which button: give its label.")
        if message is not None:
            stored = message if isinstance(message, StoredMessage) else self.world.messages.get(message)
            if stored is None or stored.deleted:
                raise DriverError("That message is gone.")
            pool = [stored]
        else:
            pool = list(reversed(self.visible_messages(who, channel)))
        for stored in pool:
            for comp in iter_components(stored.components):
                if component_type is not None and comp.get("type") != component_type:
                    continue
                if custom_id is not None and comp.get("custom_id") != custom_id:
                    continue
                if label is not None and comp.get("label") != label and comp.get("placeholder") != label:
                    continue
                return stored, comp
        thing = "menu" if component_type == 3 else "button"
        named = f"labelled {label!r}" if label is not None else f"with the id {custom_id!r}"
        where = "on that message" if message is not None else f"in #{self.channel(channel).name}"
        offered = sorted(
            {
                str(comp.get("label") or comp.get("placeholder"))
                for stored in pool
                for comp in iter_components(stored.components)
                if comp.get("type") == (component_type or 2) and (comp.get("label") or comp.get("placeholder"))
            }
        )
        hint = f" The {thing}s there: {', '.join(offered)}." if offered else ""
        raise DriverError(f"There is no {thing} {named} {where}.{hint}")

    async def click(
        self,
        who: Who,
        label: str | None = None,
        *,
        custom_id: str | None = None,
        message: StoredMessage | int | None = None,
        channel: Where | None = None,
        followup_timeout: float | None = None,
    ) -> InteractionResult:
        """Click a button by label or custom_id, on ``message`` or the newest message in sight carrying it."""
        stored, button = self.find_component(who, label=label, custom_id=custom_id, message=message, channel=channel)
        if button.get("disabled"):
            raise DriverError(f"The button {button.get('label')!r} is disabled.")
        if button.get("style") in (5, 6) or "custom_id" not in button:
            raise DriverError(f"{button.get('label')!r} is a link button: it opens a page and the bot hears nothing.")
        data = {"custom_id": button["custom_id"], "component_type": 2}
        target = self._channel_of(stored.channel_id)
        interaction = await self.emulator.create_interaction(3, self.member(who), target, data, message=stored)
        return await self._await(interaction, "component", followup_timeout)

    async def select(
        self,
        who: Who,
        values: Sequence[str],
        *,
        placeholder: str | None = None,
        custom_id: str | None = None,
        message: StoredMessage | int | None = None,
        channel: Where | None = None,
        followup_timeout: float | None = None,
    ) -> InteractionResult:
        """Pick ``values`` (option values or labels) in a string select menu."""
        stored, menu = self.find_component(
            who, label=placeholder, custom_id=custom_id, component_type=3, message=message, channel=channel
        )
        by_label = {o["label"]: o["value"] for o in menu.get("options") or []}
        allowed = set(by_label.values())
        chosen = [by_label.get(v, v) for v in values]
        if not set(chosen) <= allowed:
            raise DriverError(f"The menu does not offer {', '.join(sorted(set(chosen) - allowed))}.")
        lo, hi = menu.get("min_values", 1), menu.get("max_values", 1)
        if not lo <= len(chosen) <= hi:
            raise DriverError(f"Choose between {lo} and {hi} values in that menu.")
        data = {"custom_id": menu["custom_id"], "component_type": 3, "values": chosen}
        target = self._channel_of(stored.channel_id)
        interaction = await self.emulator.create_interaction(3, self.member(who), target, data, message=stored)
        return await self._await(interaction, "component", followup_timeout)

    async def submit_modal(
        self,
        who: Who,
        values: Mapping[str, str],
        *,
        followup_timeout: float | None = None,
    ) -> InteractionResult:
        """Fill in the modal last shown to ``who`` (fields by label or custom_id) and submit it."""
        member = self.member(who)
        entry = self.world.last_modal.get(member.id)
        if entry is None:
            raise DriverError(f"No form (modal) is open for {member.name}; a button or command opens one.")
        opener, modal = entry
        remaining = dict(values)
        rows: list[dict[str, Any]] = []
        for comp in modal.get("components") or []:
            if comp.get("type") == 1:
                inputs = [c for c in comp.get("components") or [] if c.get("type") == 4]
                rows.append({"type": 1, "components": [self._fill(c, c.get("label"), remaining) for c in inputs]})
            elif comp.get("type") == 18 and isinstance(comp.get("component"), Mapping):
                inner = comp["component"]
                if inner.get("type") == 4:
                    rows.append({"type": 18, "component": self._fill(inner, comp.get("label"), remaining)})
        if remaining:
            fields = [f.label for f in modal_fields(modal.get("components") or [])]
            raise DriverError(f"The form has no field {', '.join(remaining)} (its fields: {', '.join(fields)}).")
        data = {"custom_id": modal["custom_id"], "components": rows}
        del self.world.last_modal[member.id]
        source = self.world.messages.get(opener.source_message_id or 0)
        channel = self._channel_of(opener.channel_id)
        interaction = await self.emulator.create_interaction(5, member, channel, data, message=source)
        return await self._await(interaction, "modal_submit", followup_timeout)

    @staticmethod
    def _fill(text_input: Mapping[str, Any], label: Any, remaining: dict[str, str]) -> dict[str, Any]:
        custom_id = text_input["custom_id"]
        key = label if label in remaining else custom_id if custom_id in remaining else None
        value = remaining.pop(key) if key is not None else str(text_input.get("value") or "")
        name = label or custom_id
        if text_input.get("required", True) and not value:
            raise DriverError(f"The field {name!r} is required.")
        lo, hi = text_input.get("min_length"), text_input.get("max_length")
        if value and ((lo is not None and len(value) < lo) or (hi is not None and len(value) > hi)):
            shown = _bounds_error(f"The field {name!r}", lo, hi, " characters")
            raise DriverError(f"{shown} (got {len(value)})")
        return {"type": 4, "custom_id": custom_id, "value": value}

    # ---- a member posting a message (for mention handling and moderation) ---------------------------------------

    async def say(self, who: Who, content: str, *, channel: Where | None = None) -> StoredMessage:
        """``who`` posts ``content`` in a channel (or thread), with Discord's mention parsing for a member."""
        member = self.member(who)
        target = self.channel(channel)
        perms = self.world.guild.channel_permissions(member, target)
        if target.is_forum:
            raise DriverError(f"#{target.name} is a forum: messages go in its posts.")
        if not perms & (SEND_MESSAGES_IN_THREADS if target.is_thread else SEND_MESSAGES):
            raise DriverError(f"{member.name} cannot send messages in #{target.name}.")
        body = {"content": content}
        payload = self.world.message_payload(body, channel_id=target.id, author=member.user)
        messages = self.emulator.message_routes
        messages.resolve_mentions(payload, body, target.id, may_mention_everyone=bool(perms & MENTION_EVERYONE))
        stored = messages.store(StoredMessage(payload, target.id))
        await messages.announce_create(stored)
        self.world.notify()
        return stored

    # ---- waiting --------------------------------------------------------------------------------------------

    async def _await(self, interaction: Interaction, kind: str, followup_timeout: float | None) -> InteractionResult:
        result = InteractionResult(self.emulator, interaction, kind)
        try:
            # Discord's own clock: the client gives up when the deadline passes without an acknowledgement.
            await self.emulator.wait_for(lambda: interaction.acked, self.emulator.deadline_s + 0.05)
        except TimeoutError:
            result.error = (
                f"no response within {self.emulator.deadline_s:g} s (the member sees 'This interaction failed')"
            )
            return result
        if interaction.callback_type == 5:

            def settled() -> bool:
                message = result.message
                return message is None or message.deleted or not message.flags & LOADING

            try:
                await self.emulator.wait_for(settled, followup_timeout or self.followup_timeout)
            except TimeoutError:
                result.error = "the deferred response was never completed"
        return result
