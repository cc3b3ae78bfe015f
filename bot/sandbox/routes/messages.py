"""Channel messages: list, create (with nonces), get, edit, delete, bulk delete; and the one place where a message
object is built, its mentions resolved and its creation announced on the gateway (interaction responses and
webhook messages are stored through here too)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from bot.sandbox.mentions import ALL_TYPES, resolve_mentions
from bot.sandbox.permissions import (
    ATTACH_FILES,
    EMBED_LINKS,
    MANAGE_MESSAGES,
    MENTION_EVERYONE,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
)
from bot.sandbox.rest import (
    ApiError,
    Ctx,
    Reply,
    Route,
    empty_message,
    invalid_form,
    missing_permissions,
    unknown_message,
)
from bot.sandbox.routes.base import RouteGroup
from bot.sandbox.state import LOADING, Channel, NonceEntry, StoredMessage

MESSAGES = "/channels/{channel_id}/messages"
CONTENT_KEYS = ("content", "embeds", "components", "attachments", "sticker_ids", "poll", "_files")

NONCE_WINDOW_S = 5 * 60.0
"""How long ``enforce_nonce`` remembers a nonce: "checked for uniqueness in the past few minutes" (Create Message)."""


def require_content(body: Mapping[str, Any]) -> None:
    """At least one of content, embeds, components, files, stickers or a poll (Create Message, note \\*)."""
    if not any(body.get(k) for k in CONTENT_KEYS):
        raise empty_message()


class MessageRoutes(RouteGroup):
    def routes(self) -> list[Route]:
        r = Route
        return [
            r("GET", MESSAGES, self.list_messages),
            r("POST", MESSAGES, self.create_message, kind="message"),
            r("POST", MESSAGES + "/bulk-delete", self.bulk_delete),
            r("GET", MESSAGES + "/{message_id}", self.get_message),
            r("PATCH", MESSAGES + "/{message_id}", self.edit_message, kind="message"),
            r("DELETE", MESSAGES + "/{message_id}", self.delete_message),
        ]

    # ---- building, mentions, announcing (shared with threads, interactions and webhooks) ----------------------

    def resolve_mentions(
        self,
        payload: dict[str, Any],
        body: Mapping[str, Any],
        channel_id: int,
        *,
        default_parse: Collection[str] = ALL_TYPES,
        may_mention_everyone: bool | None = None,
    ) -> None:
        """Fill ``mentions``, ``mention_roles`` and ``mention_everyone`` as Discord would for this body."""
        world = self.world
        channel = world.guild.channels.get(channel_id)
        if may_mention_everyone is None:
            may_mention_everyone = channel is not None and bool(self.bot_permissions(channel) & MENTION_EVERYONE)
        replied: int | None = None
        reference = body.get("message_reference")
        if isinstance(reference, Mapping) and str(reference.get("message_id", "")).isdigit():
            target = world.messages.get(int(reference["message_id"]))
            replied = target.author_id if target is not None else None

        def role_pingable(role_id: int) -> bool:
            role = world.guild.roles.get(role_id)
            return role is not None and role_id != world.guild.id and (role.mentionable or may_mention_everyone)

        mentions = resolve_mentions(
            body,
            default_parse=default_parse,
            is_user=lambda uid: uid in world.users,
            role_pingable=role_pingable,
            may_mention_everyone=bool(may_mention_everyone),
            replied_user_id=replied,
        )
        payload["mentions"] = [world.users[uid].payload() for uid in mentions.users]
        payload["mention_roles"] = [str(rid) for rid in mentions.roles]
        payload["mention_everyone"] = mentions.everyone

    def store(self, stored: StoredMessage) -> StoredMessage:
        self.world.messages[stored.id] = stored
        channel = self.world.guild.channels.get(stored.channel_id)
        if channel is not None and stored.ephemeral_to is None:
            channel.last_message_id = stored.id
            channel.message_count += 1
        return stored

    async def announce_create(self, stored: StoredMessage) -> None:
        if stored.ephemeral_to is not None:
            return
        event = dict(stored.payload)
        author = self.world.guild.members.get(stored.author_id)
        if author is not None:
            event["member"] = author.payload(with_user=False)
        await self.emu.dispatch("MESSAGE_CREATE", event)

    async def announce_update(self, stored: StoredMessage) -> None:
        if stored.ephemeral_to is None:
            await self.emu.dispatch("MESSAGE_UPDATE", stored.payload)

    async def announce_delete(self, stored: StoredMessage) -> None:
        if stored.ephemeral_to is None:
            data = {"id": str(stored.id), "channel_id": str(stored.channel_id), "guild_id": str(self.world.guild.id)}
            await self.emu.dispatch("MESSAGE_DELETE", data)

    def apply_edit(self, stored: StoredMessage, body: Mapping[str, Any], *, default_parse: Collection[str]) -> None:
        payload = stored.payload
        for key in ("content", "embeds", "components", "attachments"):
            if key in body:
                payload[key] = body[key] if body[key] is not None else ("" if key == "content" else [])
        if "allowed_mentions" in body:
            stored.allowed_mentions = body["allowed_mentions"]
        if payload.get("flags", 0) & LOADING:
            payload["flags"] &= ~LOADING
        else:
            payload["edited_timestamp"] = payload["timestamp"]
        # Discord re-parses mentions on an edit (the edited message's mention pills change with it).
        effective = {**payload, "allowed_mentions": stored.allowed_mentions}
        if stored.allowed_mentions is None:
            effective.pop("allowed_mentions")
        self.resolve_mentions(payload, effective, stored.channel_id, default_parse=default_parse)

    def without_embeds_unless_allowed(self, channel: Channel, body: dict[str, Any], *, creating: bool) -> None:
        """Embed Links missing: Discord drops the embeds, and refuses a new message left with nothing else (403,
        discord-api-docs #2601); an edit's embeds are ignored (discord-api-docs #5648)."""
        if not body.get("embeds") or self.bot_permissions(channel) & EMBED_LINKS:
            return
        body["embeds"] = []
        if creating and not any(body.get(k) for k in CONTENT_KEYS):
            raise missing_permissions()

    def message_in(self, channel: Channel, raw_id: str) -> StoredMessage:
        try:
            message = self.world.messages[int(raw_id)]
        except (KeyError, ValueError):
            raise unknown_message() from None
        if message.deleted or message.channel_id != channel.id or message.ephemeral_to is not None:
            raise unknown_message()
        return message

    # ---- handlers -----------------------------------------------------------------------------------------

    async def list_messages(self, ctx: Ctx) -> Reply:
        channel = self.visible_channel(ctx)
        if not self.bot_permissions(channel) & READ_MESSAGE_HISTORY:
            return 200, []  # "If the current user is missing READ_MESSAGE_HISTORY ... no messages will be returned."
        messages = self.world.channel_messages(channel.id)
        try:
            limit = max(1, min(100, int(ctx.query.get("limit", "50"))))
            if "before" in ctx.query:
                messages = [m for m in messages if m.id < int(ctx.query["before"])]
            if "after" in ctx.query:
                messages = [m for m in messages if m.id > int(ctx.query["after"])][:limit]
        except ValueError:
            raise invalid_form(("limit",), "NUMBER_TYPE_COERCE", "Value is not int.") from None
        newest_first = list(reversed(messages))[:limit]
        return 200, [m.payload for m in newest_first]

    async def get_message(self, ctx: Ctx) -> Reply:
        channel = self.visible_channel(ctx)
        self.require(channel, READ_MESSAGE_HISTORY)
        return 200, self.message_in(channel, ctx.params["message_id"]).payload

    async def create_message(self, ctx: Ctx) -> Reply:
        channel = self.visible_channel(ctx)
        if channel.is_forum:
            # A forum holds posts (threads), not messages: a post is POST /channels/{id}/threads.
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
        self.require(channel, SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES)
        body: dict[str, Any] = dict(ctx.body or {})
        require_content(body)
        if body.get("_files"):
            self.require(channel, ATTACH_FILES)
        reference = body.get("message_reference")
        if isinstance(reference, Mapping) and reference.get("message_id") is not None:
            self.require(channel, READ_MESSAGE_HISTORY)
            raw = str(reference["message_id"])
            target = self.world.messages.get(int(raw)) if raw.isdigit() else None
            if target is None or target.deleted:
                raise invalid_form(("message_reference",), "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")
        self.without_embeds_unless_allowed(channel, body, creating=True)

        nonce = body.get("nonce")
        enforce = nonce is not None and bool(body.get("enforce_nonce"))
        key = (channel.id, self.world.bot_user.id, str(nonce))
        if enforce:
            entry = self.world.nonces.get(key)
            if entry is not None and self.emu.now() - entry.at <= self.emu.nonce_window_s:
                first = self.world.messages[entry.message_id]
                if first.deleted:
                    # Deliberate on Discord: a nonce whose message was deleted is not reused for a new one.
                    raise unknown_message()
                return 200, first.payload

        payload = self.world.message_payload(
            body, channel_id=channel.id, message_type=19 if isinstance(reference, Mapping) else 0
        )
        self.resolve_mentions(payload, body, channel.id)
        stored = self.store(
            StoredMessage(payload, channel.id, body.get("allowed_mentions"), str(nonce) if nonce is not None else None)
        )
        if enforce:
            self.world.nonces[key] = NonceEntry(stored.id, self.emu.now())
        await self.announce_create(stored)
        return 200, payload

    async def edit_message(self, ctx: Ctx) -> Reply:
        channel = self.visible_channel(ctx)
        stored = self.message_in(channel, ctx.params["message_id"])
        if stored.author_id != self.world.bot_user.id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body: dict[str, Any] = dict(ctx.body or {})
        self.without_embeds_unless_allowed(channel, body, creating=False)
        after = {**stored.payload, **{k: v for k, v in body.items() if k in CONTENT_KEYS}}
        require_content(after)
        self.apply_edit(stored, body, default_parse=ALL_TYPES)
        await self.announce_update(stored)
        return 200, stored.payload

    async def delete_message(self, ctx: Ctx) -> Reply:
        channel = self.visible_channel(ctx)
        stored = self.message_in(channel, ctx.params["message_id"])
        if stored.author_id != self.world.bot_user.id:
            self.require(channel, MANAGE_MESSAGES)
        stored.deleted = True
        await self.announce_delete(stored)
        return 204, None

    async def bulk_delete(self, ctx: Ctx) -> Reply:
        channel = self.visible_channel(ctx)
        self.require(channel, MANAGE_MESSAGES)
        ids = (ctx.body or {}).get("messages") if isinstance(ctx.body, Mapping) else None
        if not isinstance(ids, list) or not 2 <= len(ids) <= 100:
            raise invalid_form(("messages",), "BASE_TYPE_BAD_LENGTH", "Must be between 2 and 100 in length.")
        found = [self.message_in(channel, str(raw)) for raw in dict.fromkeys(ids)]
        for stored in found:
            stored.deleted = True
        await self.emu.dispatch(
            "MESSAGE_DELETE_BULK",
            {"ids": [str(m.id) for m in found], "channel_id": str(channel.id), "guild_id": str(self.world.guild.id)},
        )
        return 204, None
