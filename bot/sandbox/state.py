"""In-memory world of the emulator: users, guilds, roles, channels, members, commands, messages, interactions."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import discord

DISCORD_EPOCH_MS = 1420070400000
ADMINISTRATOR = 1 << 3
EPHEMERAL = 1 << 6
LOADING = 1 << 7

# What @everyone may do in a fresh server (a typical community default).
EVERYONE_PERMISSIONS = (
    "view_channel",
    "send_messages",
    "send_messages_in_threads",
    "create_public_threads",
    "embed_links",
    "attach_files",
    "add_reactions",
    "read_message_history",
    "use_application_commands",
    "use_external_emojis",
)
BOT_PERMISSIONS = (*EVERYONE_PERMISSIONS, "manage_messages", "manage_threads")
MODERATOR_PERMISSIONS = ("manage_messages", "manage_guild")


def permission_value(perms: int | str | Iterable[str]) -> int:
    """``int`` bits, a decimal string, or permission names as in :class:`discord.Permissions`."""
    if isinstance(perms, int):
        return perms
    if isinstance(perms, str):
        return int(perms) if perms.isdigit() else discord.Permissions(**{perms: True}).value
    return discord.Permissions(**dict.fromkeys(perms, True)).value


class Snowflakes:
    """Monotonic snowflakes with real timestamps, so discord.py's ``created_at`` is sensible."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | 1
        self._last = max(candidate, self._last + 1)
        return self._last


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass(slots=True)
class User:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass(slots=True)
class Role:
    id: int
    name: str
    permissions: int
    position: int = 0

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
            "icon": None,
            "unicode_emoji": None,
            "description": None,
        }


@dataclass(slots=True)
class Member:
    user: User
    guild_id: int
    role_ids: list[int] = field(default_factory=list)
    joined_at: str = field(default_factory=iso_now)

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def name(self) -> str:
        return self.user.username

    def payload(self, *, with_user: bool = True, permissions: int | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(r) for r in self.role_ids],
            "joined_at": self.joined_at,
            "nick": None,
            "avatar": None,
            "flags": 0,
            "deaf": False,
            "mute": False,
            "pending": False,
            "premium_since": None,
            "communication_disabled_until": None,
        }
        if with_user:
            data["user"] = self.user.payload()
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass(slots=True)
class Overwrite:
    id: int
    type: int  # 0 role, 1 member
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        return {"id": str(self.id), "type": self.type, "allow": str(self.allow), "deny": str(self.deny)}


@dataclass(slots=True)
class Channel:
    id: int
    guild_id: int
    name: str
    type: int = 0
    position: int = 0
    parent_id: int | None = None
    owner_id: int | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    auto_archive_duration: int = 1440
    created_at: str = field(default_factory=iso_now)

    @property
    def is_thread(self) -> bool:
        return self.type in (10, 11, 12)

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "type": self.type,
            "name": self.name,
            "guild_id": str(self.guild_id),
            "position": self.position,
            "permission_overwrites": [o.payload() for o in self.overwrites],
            "nsfw": False,
            "topic": None,
            "rate_limit_per_user": 0,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "last_message_id": None,
            "flags": 0,
        }
        if self.is_thread:
            data.pop("permission_overwrites")
            data["owner_id"] = str(self.owner_id) if self.owner_id else None
            data["message_count"] = 0
            data["member_count"] = 1
            data["thread_metadata"] = {
                "archived": False,
                "auto_archive_duration": self.auto_archive_duration,
                "archive_timestamp": self.created_at,
                "locked": False,
                "create_timestamp": self.created_at,
            }
        return data


@dataclass(slots=True)
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    def base_permissions(self, member: Member) -> int:
        if member.id == self.owner_id:
            return discord.Permissions.all().value
        perms = self.everyone.permissions
        for role_id in member.role_ids:
            role = self.roles.get(role_id)
            if role is not None:
                perms |= role.permissions
        if perms & ADMINISTRATOR:
            return discord.Permissions.all().value
        return perms

    def channel_permissions(self, member: Member, channel: Channel) -> int:
        """Discord's algorithm: base, then @everyone, role and member overwrites of the (parent) channel."""
        perms = self.base_permissions(member)
        if perms & ADMINISTRATOR:
            return perms
        source = self.channels.get(channel.parent_id, channel) if channel.is_thread and channel.parent_id else channel
        by_id = {o.id: o for o in source.overwrites}
        everyone = by_id.get(self.id)
        if everyone:
            perms = (perms & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for role_id in member.role_ids:
            ow = by_id.get(role_id)
            if ow is not None and ow.type == 0:
                allow |= ow.allow
                deny |= ow.deny
        perms = (perms & ~deny) | allow
        own = by_id.get(member.id)
        if own is not None and own.type == 1:
            perms = (perms & ~own.deny) | own.allow
        return perms

    def payload(self) -> dict[str, Any]:
        text_channels = [c for c in self.channels.values() if not c.is_thread]
        threads = [c for c in self.channels.values() if c.is_thread]
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "owner_id": str(self.owner_id),
            "unavailable": False,
            "member_count": len(self.members),
            "large": False,
            "features": [],
            "emojis": [],
            "stickers": [],
            "roles": [r.payload() for r in self.roles.values()],
            "channels": [c.payload() for c in text_channels],
            "members": [m.payload() for m in self.members.values()],
            "threads": [t.payload() for t in threads],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "preferred_locale": "en-US",
            "system_channel_id": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "joined_at": iso_now(),
        }


@dataclass(slots=True)
class StoredMessage:
    """A message plus what the emulator knows beyond Discord's message object."""

    payload: dict[str, Any]
    channel_id: int
    allowed_mentions: Any = None
    nonce: str | None = None
    ephemeral_to: int | None = None
    interaction_id: int | None = None
    deleted: bool = False

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def content(self) -> str:
        return str(self.payload.get("content") or "")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.payload.get("embeds") or [])

    @property
    def components(self) -> list[dict[str, Any]]:
        return list(self.payload.get("components") or [])

    @property
    def flags(self) -> int:
        return int(self.payload.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def author_id(self) -> int:
        return int(self.payload["author"]["id"])

    def buttons(self) -> list[dict[str, Any]]:
        return [c for c in iter_components(self.components) if c.get("type") == 2]


def iter_components(components: Iterable[Mapping[str, Any]]) -> Iterable[dict[str, Any]]:
    for comp in components:
        yield dict(comp)
        yield from iter_components(comp.get("components") or [])
        if isinstance(comp.get("component"), Mapping):
            yield from iter_components([comp["component"]])
        if isinstance(comp.get("accessory"), Mapping):
            yield from iter_components([comp["accessory"]])


@dataclass(slots=True)
class Interaction:
    """One dispatched interaction and everything the bot did with its token."""

    id: int
    token: str
    type: int
    user_id: int
    guild_id: int
    channel_id: int
    payload: dict[str, Any]
    created_at: float
    acked: bool = False
    expired: bool = False
    callback_type: int | None = None
    callback_body: Any = None
    original_message_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None
    late_callbacks: int = 0
    source_message_id: int | None = None

    @staticmethod
    def new_token() -> str:
        # Alphanumeric: the token goes into the URL path and Route percent-quotes anything else.
        return "aW50ZXJhY3Rpb24" + secrets.token_hex(40)


@dataclass(slots=True)
class Command:
    id: int
    application_id: int
    guild_id: int | None
    data: dict[str, Any]
    version: int

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def type(self) -> int:
        return int(self.data.get("type", 1))

    @property
    def default_member_permissions(self) -> int | None:
        value = self.data.get("default_member_permissions")
        return None if value is None else int(value)

    def payload(self) -> dict[str, Any]:
        data = dict(self.data)
        data.setdefault("type", 1)
        data.setdefault("description", "")
        data.setdefault("options", [])
        data.setdefault("default_member_permissions", None)
        data.setdefault("nsfw", False)
        data.setdefault("contexts", None)
        data.setdefault("integration_types", [0])
        data.update(
            id=str(self.id),
            application_id=str(self.application_id),
            version=str(self.version),
        )
        if self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        return data


class World:
    """All state. Mutated only on the emulator's event loop; ``changed`` wakes anyone waiting on it."""

    def __init__(self, *, guild_name: str = "Sandbox", channel_names: Iterable[str] = ("news", "general")) -> None:
        self.ids = Snowflakes()
        self.bot_user = User(self.ids.next(), "newsbot", bot=True)
        self.application_id = self.bot_user.id
        self.owner = User(self.ids.next(), "owner")
        self.users: dict[int, User] = {self.bot_user.id: self.bot_user, self.owner.id: self.owner}
        gid = self.ids.next()
        self.guild = Guild(gid, guild_name, owner_id=self.owner.id)
        self.guild.roles[gid] = Role(gid, "@everyone", permission_value(EVERYONE_PERMISSIONS))
        bot_role = self.add_role("newsbot", BOT_PERMISSIONS)
        self.moderator_role = self.add_role("Moderator", MODERATOR_PERMISSIONS)
        for position, name in enumerate(channel_names):
            self.add_channel(name, position=position)
        self.guild.members[self.bot_user.id] = Member(self.bot_user, gid, [bot_role.id])
        self.guild.members[self.owner.id] = Member(self.owner, gid)
        self.add_member("reader")
        self.add_member("moderator", roles=[self.moderator_role.id])
        self.global_commands: dict[str, Command] = {}
        self.guild_commands: dict[int, dict[str, Command]] = {}
        self.messages: dict[int, StoredMessage] = {}
        self.interactions: dict[int, Interaction] = {}
        self.interactions_by_token: dict[str, Interaction] = {}
        self.last_modal: dict[int, tuple[Interaction, dict[str, Any]]] = {}
        self.webhooks: dict[int, tuple[str, int, str]] = {}  # id -> (token, channel_id, name)
        self.nonces: dict[tuple[int, str], int] = {}
        self._command_ids: dict[tuple[int | None, int, str], int] = {}
        self._command_versions = itertools.count(1)
        self.changed = asyncio.Event()

    # ---- world building -----------------------------------------------------------------------------------

    def add_role(self, name: str, permissions: int | str | Iterable[str]) -> Role:
        role = Role(self.ids.next(), name, permission_value(permissions), position=len(self.guild.roles))
        self.guild.roles[role.id] = role
        return role

    def add_channel(self, name: str, *, position: int | None = None, overwrites: Iterable[Overwrite] = ()) -> Channel:
        channel = Channel(
            self.ids.next(),
            self.guild.id,
            name,
            position=len(self.guild.channels) if position is None else position,
            overwrites=list(overwrites),
        )
        self.guild.channels[channel.id] = channel
        return channel

    def add_member(
        self,
        name: str,
        *,
        permissions: int | str | Iterable[str] | None = None,
        roles: Iterable[int] = (),
    ) -> Member:
        """A member; ``permissions`` become a personal role, as a server admin would set them up."""
        existing = self.member_by_name(name)
        user = existing.user if existing else User(self.ids.next(), name)
        role_ids = list(roles)
        if permissions is not None and permission_value(permissions):
            role_ids.append(self.add_role(f"{name}-perms", permissions).id)
        member = Member(user, self.guild.id, role_ids)
        self.users[user.id] = user
        self.guild.members[user.id] = member
        return member

    # ---- lookups ------------------------------------------------------------------------------------------

    def member_by_name(self, name: str) -> Member | None:
        for member in self.guild.members.values():
            if member.name == name:
                return member
        return None

    def member(self, who: Member | str | int) -> Member:
        if isinstance(who, Member):
            return who
        found = self.guild.members.get(who) if isinstance(who, int) else self.member_by_name(who)
        if found is None:
            raise KeyError(f"no member {who!r} in the emulated guild")
        return found

    def channel(self, which: Channel | str | int) -> Channel:
        if isinstance(which, Channel):
            return which
        if isinstance(which, int):
            return self.guild.channels[which]
        name = which.lstrip("#")
        for channel in self.guild.channels.values():
            if channel.name == name:
                return channel
        raise KeyError(f"no channel {which!r} in the emulated guild")

    def commands_for(self, guild_id: int | None) -> dict[str, Command]:
        if guild_id is None:
            return self.global_commands
        return self.guild_commands.setdefault(guild_id, {})

    def replace_commands(self, guild_id: int | None, body: list[dict[str, Any]]) -> list[Command]:
        scope = self.commands_for(guild_id)
        scope.clear()
        out: list[Command] = []
        for data in body:
            kind = int(data.get("type", 1))
            key = (guild_id, kind, str(data["name"]))
            # Discord keeps a command's id across overwrites when its name and type stay the same.
            cid = self._command_ids.setdefault(key, self.ids.next())
            command = Command(cid, self.application_id, guild_id, dict(data), next(self._command_versions))
            scope[command.name if kind == 1 else f"{kind}:{command.name}"] = command
            out.append(command)
        return out

    def channel_messages(self, channel_id: int) -> list[StoredMessage]:
        return sorted(
            (
                m
                for m in self.messages.values()
                if m.channel_id == channel_id and m.ephemeral_to is None and not m.deleted
            ),
            key=lambda m: m.id,
        )

    def visible_messages(self, member_id: int, channel_id: int | None = None) -> list[StoredMessage]:
        """Undeleted messages ``member_id`` can see, oldest first: everyone's plus the ephemeral ones shown to them.

        ``channel_id`` narrows it to one channel; ``None`` means every channel.
        """
        return sorted(
            (
                m
                for m in self.messages.values()
                if not m.deleted
                and m.ephemeral_to in (None, member_id)
                and (channel_id is None or m.channel_id == channel_id)
            ),
            key=lambda m: m.id,
        )

    def notify(self) -> None:
        """Wake every waiter; they re-check their own predicate."""
        self.changed.set()
        self.changed = asyncio.Event()

    def message_payload(
        self,
        body: Mapping[str, Any],
        *,
        channel_id: int,
        author: User | None = None,
        message_type: int = 0,
        webhook_id: int | None = None,
        interaction: Interaction | None = None,
        message_id: int | None = None,
        flags: int | None = None,
    ) -> dict[str, Any]:
        author = author or self.bot_user
        channel = self.guild.channels.get(channel_id)
        payload: dict[str, Any] = {
            "id": str(message_id or self.ids.next()),
            "channel_id": str(channel_id),
            "type": message_type,
            "content": body.get("content") or "",
            "author": author.payload(),
            "embeds": list(body.get("embeds") or []),
            "attachments": list(body.get("attachments") or []),
            "components": list(body.get("components") or []),
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": bool(body.get("tts", False)),
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "flags": int(body.get("flags") or 0) if flags is None else flags,
        }
        if channel is not None:
            payload["guild_id"] = str(channel.guild_id)
        if body.get("nonce") is not None:
            payload["nonce"] = body["nonce"]
        if webhook_id is not None:
            payload["webhook_id"] = str(webhook_id)
            payload["application_id"] = str(self.application_id)
        if interaction is not None:
            user = self.users[interaction.user_id]
            payload["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.type,
                "user": user.payload(),
                "authorizing_integration_owners": {"0": str(interaction.guild_id)},
            }
        if body.get("message_reference"):
            payload["message_reference"] = body["message_reference"]
        return payload
