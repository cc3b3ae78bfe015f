"""Acting as Discord members against the emulator: slash commands, autocomplete, buttons, selects and modals.

The driver behaves like the Discord client: it refuses commands the member cannot see, validates option values
the way the client would, sends INTERACTION_CREATE over the gateway and waits for the bot's response.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.sandbox.emulator import DiscordEmulator, Rejection, RequestRecord
from bot.sandbox.state import (
    LOADING,
    Channel,
    Command,
    Interaction,
    Member,
    StoredMessage,
    iter_components,
)

log = logging.getLogger(__name__)

USE_APPLICATION_COMMANDS = 1 << 31
ADMINISTRATOR = 1 << 3

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

    def visible_commands(self, who: Who, channel: Where | None = None) -> list[str]:
        return sorted({c.name for c in self._all_commands() if c.type == 1 and self.can_see(who, c, channel)})

    def _resolve(self, who: Who, path: str, channel: Where | None) -> tuple[Command, list[str], dict[str, Any]]:
        parts = path.strip().lstrip("/").split()
        if not parts:
            raise DriverError("empty command")
        candidates = [c for c in self._all_commands() if c.type == 1 and c.name == parts[0]]
        if not candidates:
            raise DriverError(f"/{parts[0]} is not registered (did the bot sync its commands?)")
        command = candidates[0]  # guild commands shadow global ones, as in the client's list
        if not self.can_see(who, command, channel):
            raise CommandNotVisible(f"/{command.name} is hidden from {self.member(who).name}")
        node: dict[str, Any] = command.data
        for name in parts[1:]:
            subs = [o for o in node.get("options") or [] if o.get("type") in (1, 2) and o.get("name") == name]
            if not subs:
                raise DriverError(f"/{' '.join(parts)}: no subcommand {name!r}")
            node = subs[0]
        if any(o.get("type") in (1, 2) for o in node.get("options") or []):
            raise DriverError(f"/{' '.join(parts)} needs a subcommand")
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

    def _convert(self, who: Who, spec: Mapping[str, Any], value: Any, resolved: dict[str, dict[str, Any]]) -> Any:
        kind = int(spec["type"])
        name = spec["name"]
        choices = spec.get("choices") or []
        if kind == 3:
            text = str(value)
            if choices:
                by_name = {c["name"]: c["value"] for c in choices}
                values = [c["value"] for c in choices]
                if text in by_name:
                    return by_name[text]
                if text not in values:
                    raise DriverError(f"{name}: {text!r} is not one of the offered choices")
            lo, hi = spec.get("min_length"), spec.get("max_length")
            if (lo is not None and len(text) < lo) or (hi is not None and len(text) > hi):
                raise DriverError(f"{name}: length must be between {lo} and {hi}")
            return text
        if kind in (4, 10):
            try:
                number: int | float = int(value) if kind == 4 else float(value)
            except (TypeError, ValueError):
                raise DriverError(f"{name}: {value!r} is not a number") from None
            if choices and number not in [c["value"] for c in choices]:
                raise DriverError(f"{name}: {value!r} is not one of the offered choices")
            lo, hi = spec.get("min_value"), spec.get("max_value")
            if (lo is not None and number < lo) or (hi is not None and number > hi):
                raise DriverError(f"{name}: must be between {lo} and {hi}")
            return number
        if kind == 5:
            if isinstance(value, str):
                return value.strip().lower() in ("1", "true", "yes", "on")
            return bool(value)
        if kind in (6, 9) and not self._is_role(value):
            member = self.member(value)
            resolved.setdefault("users", {})[str(member.id)] = member.user.payload()
            resolved.setdefault("members", {})[str(member.id)] = {
                **member.payload(with_user=False),
                "permissions": str(self.world.guild.base_permissions(member)),
            }
            return str(member.id)
        if kind in (8, 9):
            role = self._role(value)
            resolved.setdefault("roles", {})[str(role["id"])] = role
            return str(role["id"])
        if kind == 7:
            channel = self.channel(value)
            resolved.setdefault("channels", {})[str(channel.id)] = {
                **channel.payload(),
                "permissions": str(self.world.guild.channel_permissions(self.member(who), channel)),
            }
            return str(channel.id)
        raise DriverError(f"{name}: option type {kind} is not supported by the driver")

    def _is_role(self, value: Any) -> bool:
        try:
            self._role(value)
        except DriverError:
            return False
        return True

    def _role(self, value: Any) -> dict[str, Any]:
        for role in self.world.guild.roles.values():
            if value in (role.id, role.name, str(role.id)):
                return role.payload()
        raise DriverError(f"no role {value!r}")

    def _build_options(
        self,
        who: Who,
        node: Mapping[str, Any],
        options: Mapping[str, Any],
        *,
        focused: str | None = None,
        partial: str = "",
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        specs = {o["name"]: o for o in node.get("options") or []}
        unknown = set(options) - set(specs) - ({focused} if focused else set())
        if unknown:
            raise DriverError(f"unknown option(s): {', '.join(sorted(unknown))}; expected {', '.join(specs)}")
        resolved: dict[str, dict[str, Any]] = {}
        out: list[dict[str, Any]] = []
        for name, spec in specs.items():
            if name == focused:
                if not spec.get("autocomplete"):
                    raise DriverError(f"option {name!r} has no autocomplete")
                # The client sends what has been typed so far, as a string, whatever the option type.
                out.append({"name": name, "type": spec["type"], "value": partial, "focused": True})
            elif name in options:
                value = options[name]
                if focused is not None and spec.get("autocomplete"):
                    out.append({"name": name, "type": spec["type"], "value": str(value)})
                else:
                    out.append({"name": name, "type": spec["type"], "value": self._convert(who, spec, value, resolved)})
            elif spec.get("required") and focused is None:
                raise DriverError(f"option {name!r} is required")
        if focused is not None and focused not in specs:
            raise DriverError(f"no option {focused!r}")
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
        built, resolved = self._build_options(who, node, options or {})
        data = self._command_data(cmd, path, built, resolved)
        interaction = await self.emulator.create_interaction(2, self.member(who), self.channel(channel), data)
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
        built, resolved = self._build_options(who, node, options or {}, focused=option, partial=value)
        data = self._command_data(cmd, path, built, resolved)
        interaction = await self.emulator.create_interaction(4, self.member(who), self.channel(channel), data)
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
            raise DriverError("give a label or a custom_id")
        if message is not None:
            stored = message if isinstance(message, StoredMessage) else self.world.messages.get(message)
            if stored is None or stored.deleted:
                raise DriverError(f"no message {message!r}")
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
        raise DriverError(f"no component with label={label!r} custom_id={custom_id!r} in sight")

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
            raise DriverError(f"button {button.get('label')!r} is disabled")
        if button.get("style") in (5, 6) or "custom_id" not in button:
            raise DriverError(f"button {button.get('label')!r} is a link or premium button; it sends no interaction")
        data = {"custom_id": button["custom_id"], "component_type": 2}
        target = self.world.guild.channels[stored.channel_id]
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
            raise DriverError(f"not offered: {sorted(set(chosen) - allowed)}")
        lo, hi = menu.get("min_values", 1), menu.get("max_values", 1)
        if not lo <= len(chosen) <= hi:
            raise DriverError(f"choose between {lo} and {hi} values")
        data = {"custom_id": menu["custom_id"], "component_type": 3, "values": chosen}
        target = self.world.guild.channels[stored.channel_id]
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
            raise DriverError(f"no modal is open for {member.name}")
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
            raise DriverError(f"the modal has no field(s) {', '.join(remaining)}")
        data = {"custom_id": modal["custom_id"], "components": rows}
        del self.world.last_modal[member.id]
        source = self.world.messages.get(opener.source_message_id or 0)
        channel = self.world.guild.channels[opener.channel_id]
        interaction = await self.emulator.create_interaction(5, member, channel, data, message=source)
        return await self._await(interaction, "modal_submit", followup_timeout)

    @staticmethod
    def _fill(text_input: Mapping[str, Any], label: Any, remaining: dict[str, str]) -> dict[str, Any]:
        custom_id = text_input["custom_id"]
        key = label if label in remaining else custom_id if custom_id in remaining else None
        value = remaining.pop(key) if key is not None else str(text_input.get("value") or "")
        name = label or custom_id
        if text_input.get("required", True) and not value:
            raise DriverError(f"field {name!r} is required")
        lo, hi = text_input.get("min_length"), text_input.get("max_length")
        if value and ((lo is not None and len(value) < lo) or (hi is not None and len(value) > hi)):
            raise DriverError(f"field {name!r} must be between {lo} and {hi} characters")
        return {"type": 4, "custom_id": custom_id, "value": value}

    # ---- a member posting a message (for mention handling and moderation) ---------------------------------------

    async def say(self, who: Who, content: str, *, channel: Where | None = None) -> StoredMessage:
        member = self.member(who)
        target = self.channel(channel)
        payload = self.world.message_payload({"content": content}, channel_id=target.id, author=member.user)
        if f"<@{self.world.bot_user.id}>" in content:
            payload["mentions"] = [self.world.bot_user.payload()]
        stored = StoredMessage(payload, target.id)
        self.world.messages[stored.id] = stored
        await self.emulator.dispatch("MESSAGE_CREATE", {**payload, "member": member.payload(with_user=False)})
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
