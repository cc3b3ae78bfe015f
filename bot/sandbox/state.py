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

from bot.sandbox.permissions import (
    ADMINISTRATOR,
    ALL,
    apply_implicit,
    permission_value,
)

__all__ = [
    "ANNOUNCEMENT",
    "ANNOUNCEMENT_THREAD",
    "EPHEMERAL",
    "FORUM",
    "LOADING",
    "PRIVATE_THREAD",
    "PUBLIC_THREAD",
    "TEXT",
    "Channel",
    "Command",
    "Guild",
    "Interaction",
    "Member",
    "Overwrite",
    "Role",
    "StoredMessage",
    "User",
    "World",
    "iter_components",
    "permission_value",
]

DISCORD_EPOCH_MS = 1420070400000
EPHEMERAL = 1 << 6
LOADING = 1 << 7

# Channel types (resources/channel.mdx "Channel Types").
TEXT = 0
ANNOUNCEMENT = 5
ANNOUNCEMENT_THREAD = 10
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
FORUM = 15
THREAD_TYPES = (ANNOUNCEMENT_THREAD, PUBLIC_THREAD, PRIVATE_THREAD)
CHANNEL_TYPE_NAMES = {
    TEXT: "text",
    ANNOUNCEMENT: "announcement",
    ANNOUNCEMENT_THREAD: "announcement thread",
    PUBLIC_THREAD: "thread",
    PRIVATE_THREAD: "private thread",
    FORUM: "forum",
}
CHANNEL_TYPES_BY_NAME = {"text": TEXT, "announcement": ANNOUNCEMENT, "news": ANNOUNCEMENT, "forum": FORUM}

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

ChannelSpec = str | tuple[str, int]
"""A channel to create: its name (a text channel), or ``(name, type)``."""

DEFAULT_CHANNELS: tuple[ChannelSpec, ...] = (
    ("news", TEXT),
    ("general", TEXT),
    ("announcements", ANNOUNCEMENT),
    ("forum", FORUM),
)
DEFAULT_ROLES: tuple[tuple[str, tuple[str, ...], bool], ...] = (
    # name, permissions, mentionable. "news-alerts" is the role a server pings for new articles; admins make
    # such roles mentionable so that a bot without Mention Everyone can ping them.
    ("Moderator", MODERATOR_PERMISSIONS, False),
    ("news-alerts", (), True),
)


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
    mentionable: bool = False
    bot_id: int | None = None
    """Set for the bot's own managed role, as Discord creates it when the bot joins."""

    @property
    def managed(self) -> bool:
        return self.bot_id is not None

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "flags": 0,
            "icon": None,
            "unicode_emoji": None,
            "description": None,
        }
        if self.bot_id is not None:
            data["tags"] = {"bot_id": str(self.bot_id)}
        return data


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
    type: int = TEXT
    position: int = 0
    parent_id: int | None = None
    owner_id: int | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    auto_archive_duration: int = 1440
    created_at: str = field(default_factory=iso_now)
    message_count: int = 0
    last_message_id: int | None = None

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    @property
    def is_forum(self) -> bool:
        return self.type == FORUM

    @property
    def kind(self) -> str:
        return CHANNEL_TYPE_NAMES.get(self.type, f"type {self.type}")

    def overwrite_for(self, target_id: int) -> Overwrite | None:
        return next((o for o in self.overwrites if o.id == target_id), None)

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
            "last_message_id": str(self.last_message_id) if self.last_message_id else None,
            "flags": 0,
        }
        if self.is_forum:
            # ForumChannel._update reads these (all optional); a fresh forum has no tags and default sorting.
            data.update(
                available_tags=[],
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
            )
        if self.is_thread:
            data.pop("permission_overwrites")
            data.pop("position")
            data["owner_id"] = str(self.owner_id) if self.owner_id else None
            data["message_count"] = self.message_count
            data["total_message_sent"] = self.message_count
            data["member_count"] = 1
            data["applied_tags"] = []
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
        """``compute_base_permissions`` from topics/permissions.mdx."""
        if member.id == self.owner_id:
            return ALL
        perms = self.everyone.permissions
        for role_id in member.role_ids:
            role = self.roles.get(role_id)
            if role is not None:
                perms |= role.permissions
        if perms & ADMINISTRATOR:
            return ALL
        return perms

    def channel_permissions(self, member: Member, channel: Channel) -> int:
        """``compute_overwrites`` from topics/permissions.mdx, on the parent channel for a thread, then the
        implicit rules (no View Channel: nothing; no Send Messages: no Embed Links, Attach Files, ...)."""
        perms = self.base_permissions(member)
        if perms & ADMINISTRATOR:
            return ALL
        source = self.channels.get(channel.parent_id, channel) if channel.is_thread and channel.parent_id else channel
        everyone = source.overwrite_for(self.id)
        if everyone is not None:
            perms = (perms & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for role_id in member.role_ids:
            ow = source.overwrite_for(role_id)
            if ow is not None and ow.type == 0:
                allow |= ow.allow
                deny |= ow.deny
        perms = (perms & ~deny) | allow
        own = source.overwrite_for(member.id)
        if own is not None and own.type == 1:
            perms = (perms & ~own.deny) | own.allow
        return apply_implicit(perms, thread=channel.is_thread)

    def payload(self) -> dict[str, Any]:
        top_level = [c for c in self.channels.values() if not c.is_thread]
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
            "channels": [c.payload() for c in top_level],
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

    # ---- who this message pinged (Discord's ``mentions``, ``mention_roles``, ``mention_everyone``) ----------

    @property
    def pinged_user_ids(self) -> list[int]:
        return [int(u["id"]) for u in self.payload.get("mentions") or []]

    @property
    def pinged_role_ids(self) -> list[int]:
        return [int(r) for r in self.payload.get("mention_roles") or []]

    @property
    def pinged_everyone(self) -> bool:
        return bool(self.payload.get("mention_everyone"))

    @property
    def pinged_nobody(self) -> bool:
        return not (self.pinged_user_ids or self.pinged_role_ids or self.pinged_everyone)

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


@dataclass(frozen=True, slots=True)
class NonceEntry:
    message_id: int
    at: float


class World:
    """All state. Mutated only on the emulator's event loop; ``changed`` wakes anyone waiting on it."""

    def __init__(
        self,
        *,
        guild_name: str = "Sandbox",
        channel_names: Iterable[ChannelSpec] = DEFAULT_CHANNELS,
        roles: Iterable[tuple[str, Iterable[str], bool]] = DEFAULT_ROLES,
    ) -> None:
        self.ids = Snowflakes()
        self.bot_user = User(self.ids.next(), "newsbot", bot=True)
        self.application_id = self.bot_user.id
        self.owner = User(self.ids.next(), "owner")
        self.users: dict[int, User] = {self.bot_user.id: self.bot_user, self.owner.id: self.owner}
        gid = self.ids.next()
        self.guild = Guild(gid, guild_name, owner_id=self.owner.id)
        self.guild.roles[gid] = Role(gid, "@everyone", permission_value(EVERYONE_PERMISSIONS))
        self.bot_role = self.add_role("newsbot", BOT_PERMISSIONS, bot_id=self.bot_user.id)
        for name, permissions, mentionable in roles:
            self.add_role(name, tuple(permissions), mentionable=mentionable)
        for position, spec in enumerate(channel_names):
            name, kind = (spec, TEXT) if isinstance(spec, str) else spec
            self.add_channel(name, position=position, type=kind)
        self.guild.members[self.bot_user.id] = Member(self.bot_user, gid, [self.bot_role.id])
        self.guild.members[self.owner.id] = Member(self.owner, gid)
        self.add_member("reader")
        moderator_role = self.role_by_name("Moderator")
        self.add_member("moderator", roles=[moderator_role.id] if moderator_role else ())
        self.global_commands: dict[str, Command] = {}
        self.guild_commands: dict[int, dict[str, Command]] = {}
        self.messages: dict[int, StoredMessage] = {}
        self.interactions: dict[int, Interaction] = {}
        self.interactions_by_token: dict[str, Interaction] = {}
        self.last_modal: dict[int, tuple[Interaction, dict[str, Any]]] = {}
        self.webhooks: dict[int, tuple[str, int, str]] = {}  # id -> (token, channel_id, name)
        self.nonces: dict[tuple[int, int, str], NonceEntry] = {}  # (channel, author, nonce) -> first message
        self.deleted_channels: dict[int, Channel] = {}
        self._command_ids: dict[tuple[int | None, int, str], int] = {}
        self._command_versions = itertools.count(1)
        self.changed = asyncio.Event()

    @property
    def moderator_role(self) -> Role:
        role = self.role_by_name("Moderator")
        if role is None:
            raise KeyError("no 'Moderator' role in the emulated guild")
        return role

    @property
    def bot_member(self) -> Member:
        return self.guild.members[self.bot_user.id]

    # ---- world building -----------------------------------------------------------------------------------

    def add_role(
        self,
        name: str,
        permissions: int | str | Iterable[str],
        *,
        mentionable: bool = False,
        bot_id: int | None = None,
    ) -> Role:
        role = Role(
            self.ids.next(),
            name,
            permission_value(permissions),
            position=len(self.guild.roles),
            mentionable=mentionable,
            bot_id=bot_id,
        )
        self.guild.roles[role.id] = role
        return role

    def add_channel(
        self,
        name: str,
        *,
        position: int | None = None,
        overwrites: Iterable[Overwrite] = (),
        type: int = TEXT,
    ) -> Channel:
        channel = Channel(
            self.ids.next(),
            self.guild.id,
            name,
            type=type,
            position=len([c for c in self.guild.channels.values() if not c.is_thread])
            if position is None
            else position,
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

    def remove_channel(self, channel: Channel) -> list[Channel]:
        """Take a channel (and the threads in it) out of the guild; their messages stay for inspection."""
        gone = [channel, *[c for c in self.guild.channels.values() if c.parent_id == channel.id and c.is_thread]]
        for item in gone:
            self.guild.channels.pop(item.id, None)
            self.deleted_channels[item.id] = item
        return gone

    # ---- lookups ------------------------------------------------------------------------------------------

    def member_by_name(self, name: str) -> Member | None:
        for member in self.guild.members.values():
            if member.name == name:
                return member
        return None

    def member(self, who: Member | str | int) -> Member:
        if isinstance(who, Member):
            return who
        if isinstance(who, str):
            who = who.strip()
            mention = who[2:-1].lstrip("!") if who.startswith("<@") and who.endswith(">") else None
            who = int(mention) if mention is not None and mention.isdigit() else who.removeprefix("@")
        found = self.guild.members.get(who) if isinstance(who, int) else self.member_by_name(who)
        if found is None:
            raise KeyError(f"There is no member called {who!r} in this server.")
        return found

    def role_by_name(self, name: str) -> Role | None:
        return next((r for r in self.guild.roles.values() if r.name == name), None)

    def role(self, which: Role | str | int) -> Role:
        if isinstance(which, Role):
            return which
        if isinstance(which, str):
            text = which.strip()
            if text.startswith("<@&") and text.endswith(">") and text[3:-1].isdigit():
                which = int(text[3:-1])
            elif text in ("@everyone", "everyone"):
                return self.guild.everyone
            else:
                which = text.removeprefix("@")
        found = self.guild.roles.get(which) if isinstance(which, int) else self.role_by_name(which)
        if found is None:
            raise KeyError(f"There is no role called {which!r} in this server.")
        return found

    def channel(self, which: Channel | str | int) -> Channel:
        if isinstance(which, Channel):
            return which
        if isinstance(which, int):
            try:
                return self.guild.channels[which]
            except KeyError:
                raise KeyError(f"There is no channel with id {which} in this server.") from None
        text = which.strip()
        if text.startswith("<#") and text.endswith(">") and text[2:-1].isdigit():
            return self.channel(int(text[2:-1]))
        name = text.removeprefix("#")
        for channel in self.guild.channels.values():
            if channel.name == name:
                return channel
        raise KeyError(f"There is no channel called #{name} in this server.")

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


def channel_type(name: str) -> int:
    """``"forum"`` → 15; for :meth:`World.add_channel` callers that name the type."""
    try:
        return CHANNEL_TYPES_BY_NAME[name.strip().lower()]
    except KeyError:
        known = ", ".join(sorted(CHANNEL_TYPES_BY_NAME))
        raise KeyError(f"There is no channel type {name!r}; use one of {known}.") from None
