"""Channels and threads: get and delete a channel, threads on a message or without one, forum posts, and channel
webhooks (resources/channel.mdx)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from bot.sandbox.permissions import (
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    MANAGE_CHANNELS,
    MANAGE_THREADS,
    MANAGE_WEBHOOKS,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
)
from bot.sandbox.rest import ApiError, Ctx, Reply, Route, invalid_form
from bot.sandbox.routes.base import RouteGroup
from bot.sandbox.routes.messages import require_content
from bot.sandbox.state import (
    ANNOUNCEMENT,
    ANNOUNCEMENT_THREAD,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    TEXT,
    Channel,
    StoredMessage,
)

ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)


def wrong_channel_type() -> ApiError:
    return ApiError(400, 50024, "Cannot execute action on this channel type")


class ChannelRoutes(RouteGroup):
    def routes(self) -> list[Route]:
        r = Route
        return [
            r("GET", "/channels/{channel_id}", self.get_channel),
            r("DELETE", "/channels/{channel_id}", self.delete_channel),
            r("POST", "/channels/{channel_id}/messages/{message_id}/threads", self.thread_from_message, kind="thread"),
            r("POST", "/channels/{channel_id}/threads", self.thread_without_message, kind="thread"),
            r("POST", "/channels/{channel_id}/webhooks", self.create_webhook),
        ]

    # ---- shared with the emulator's own (test and sandbox) actions --------------------------------------------

    async def remove(self, channel: Channel) -> None:
        """Delete a channel: CHANNEL_DELETE (THREAD_DELETE for a thread); its threads go with it."""
        gone = self.world.remove_channel(channel)
        for item in gone:
            if item.is_thread:
                data = {"id": str(item.id), "guild_id": str(item.guild_id), "parent_id": str(item.parent_id)}
                await self.emu.dispatch("THREAD_DELETE", {**data, "type": item.type})
            else:
                await self.emu.dispatch("CHANNEL_DELETE", item.payload())

    async def new_thread(self, parent: Channel, body: Mapping[str, Any], thread_id: int | None, kind: int) -> Channel:
        duration = body.get("auto_archive_duration")
        thread = Channel(
            thread_id or self.world.ids.next(),
            self.world.guild.id,
            str(body.get("name")).strip(),
            type=kind,
            parent_id=parent.id,
            owner_id=self.world.bot_user.id,
            auto_archive_duration=int(duration) if duration in ARCHIVE_DURATIONS else 1440,
        )
        self.world.guild.channels[thread.id] = thread
        await self.emu.dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True})
        return thread

    # ---- handlers -----------------------------------------------------------------------------------------

    async def get_channel(self, ctx: Ctx) -> Reply:
        return 200, self.visible_channel(ctx).payload()

    async def delete_channel(self, ctx: Ctx) -> Reply:
        channel = self.visible_channel(ctx)
        self.require(channel, MANAGE_THREADS if channel.is_thread else MANAGE_CHANNELS)
        payload = channel.payload()
        await self.remove(channel)
        return 200, payload

    async def thread_from_message(self, ctx: Ctx) -> Reply:
        channel = self.visible_channel(ctx)
        if channel.type not in (TEXT, ANNOUNCEMENT):
            raise wrong_channel_type()
        self.require(channel, CREATE_PUBLIC_THREADS | READ_MESSAGE_HISTORY)
        stored = self.emu.message_routes.message_in(channel, ctx.params["message_id"])
        if stored.id in self.world.guild.channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        # On Discord a thread started from a message shares that message's id; in an announcement channel it is
        # an announcement thread.
        kind = ANNOUNCEMENT_THREAD if channel.type == ANNOUNCEMENT else PUBLIC_THREAD
        thread = await self.new_thread(channel, ctx.body or {}, stored.id, kind)
        stored.payload["thread"] = thread.payload()
        return 201, thread.payload()

    async def thread_without_message(self, ctx: Ctx) -> Reply:
        channel = self.visible_channel(ctx)
        body: dict[str, Any] = dict(ctx.body or {})
        if channel.is_forum:
            return await self._forum_post(channel, body)
        if channel.type == ANNOUNCEMENT:
            kind = int(body.get("type") or ANNOUNCEMENT_THREAD)
            allowed = {ANNOUNCEMENT_THREAD}
        elif channel.type == TEXT:
            # "defaults to PRIVATE_THREAD in order to match the behavior when thread documentation was first
            # published" (Start Thread without Message).
            kind = int(body.get("type") or PRIVATE_THREAD)
            allowed = {PUBLIC_THREAD, PRIVATE_THREAD}
        else:
            raise wrong_channel_type()
        if kind not in allowed:
            raise invalid_form(("type",), "BASE_TYPE_CHOICES", f"Value must be one of {sorted(allowed)}.")
        self.require(channel, CREATE_PRIVATE_THREADS if kind == PRIVATE_THREAD else CREATE_PUBLIC_THREADS)
        thread = await self.new_thread(channel, body, None, kind)
        return 201, thread.payload()

    async def _forum_post(self, forum: Channel, body: dict[str, Any]) -> Reply:
        """A forum post: a public thread named by the caller plus its starter message, which shares its id."""
        # "SEND_MESSAGES: Allows for sending messages in a channel and creating threads in a forum."
        self.require(forum, SEND_MESSAGES)
        message = body.get("message")
        if not isinstance(message, Mapping):
            raise invalid_form(("message",), "BASE_TYPE_REQUIRED", "This field is required")
        content: dict[str, Any] = dict(message)
        if body.get("_files"):
            content["_files"] = body["_files"]
        require_content(content)
        messages = self.emu.message_routes
        messages.without_embeds_unless_allowed(forum, content, creating=True)
        thread = await self.new_thread(forum, body, None, PUBLIC_THREAD)
        payload = self.world.message_payload(content, channel_id=thread.id, message_id=thread.id)
        messages.resolve_mentions(payload, content, thread.id)
        stored = messages.store(StoredMessage(payload, thread.id, content.get("allowed_mentions")))
        await messages.announce_create(stored)
        return 201, {**thread.payload(), "message": payload}

    async def create_webhook(self, ctx: Ctx) -> Reply:
        channel = self.visible_channel(ctx)
        self.require(channel, MANAGE_WEBHOOKS)
        name = str((ctx.body or {}).get("name") or "webhook")
        wid, token = self.add_webhook(channel, name)
        return 200, {
            "id": str(wid),
            "type": 1,
            "guild_id": str(self.world.guild.id),
            "channel_id": str(channel.id),
            "name": name,
            "avatar": None,
            "token": token,
            "application_id": str(self.world.application_id),
            "user": self.world.bot_user.payload(),
        }

    def add_webhook(self, channel: Channel, name: str) -> tuple[int, str]:
        wid = self.world.ids.next()
        token = uuid.uuid4().hex
        self.world.webhooks[wid] = (token, channel.id, name)
        return wid, token
