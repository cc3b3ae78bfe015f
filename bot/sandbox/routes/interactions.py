"""Interactions and webhooks: the callback (with its 3 s deadline and single acknowledgement), follow-ups and edits
through the interaction token (valid 15 minutes), and channel webhooks (interactions/receiving-and-responding.mdx,
resources/webhook.mdx)."""

from __future__ import annotations

from typing import Any

from bot.sandbox.mentions import USERS_ONLY
from bot.sandbox.rest import ApiError, Ctx, Reply, Route, unknown_message
from bot.sandbox.routes.base import RouteGroup
from bot.sandbox.routes.messages import require_content
from bot.sandbox.state import EPHEMERAL, LOADING, Interaction, StoredMessage, User

CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
HOOK = "/webhooks/{webhook_id}/{webhook_token}"

# Which callback types each interaction type accepts (receiving-and-responding.mdx, "Interaction Callback Type").
ALLOWED_CALLBACKS = {
    2: {4, 5, 9},
    3: {4, 5, 6, 7, 9},
    4: {8},
    5: {4, 5, 6, 7},
}


def unknown_interaction() -> ApiError:
    return ApiError(404, 10062, "Unknown interaction")


def unknown_webhook() -> ApiError:
    return ApiError(404, 10015, "Unknown Webhook")


class InteractionRoutes(RouteGroup):
    def routes(self) -> list[Route]:
        r = Route
        # Interaction endpoints authenticate with their token and are exempt from the global limit.
        return [
            r("POST", CALLBACK, self.callback, kind="callback", auth=False, interaction=True),
            r("POST", HOOK, self.execute_webhook, kind="message", auth=False, interaction=True),
            r("GET", HOOK + "/messages/@original", self.get_webhook_message, auth=False, interaction=True),
            r(
                "PATCH",
                HOOK + "/messages/@original",
                self.edit_webhook_message,
                kind="message",
                auth=False,
                interaction=True,
            ),
            r("DELETE", HOOK + "/messages/@original", self.delete_webhook_message, auth=False, interaction=True),
            r("GET", HOOK + "/messages/{message_id}", self.get_webhook_message, auth=False, interaction=True),
            r(
                "PATCH",
                HOOK + "/messages/{message_id}",
                self.edit_webhook_message,
                kind="message",
                auth=False,
                interaction=True,
            ),
            r("DELETE", HOOK + "/messages/{message_id}", self.delete_webhook_message, auth=False, interaction=True),
        ]

    # ---- callback -------------------------------------------------------------------------------------------

    async def store_interaction_message(
        self, interaction: Interaction, body: dict[str, Any], *, flags: int, ephemeral: bool
    ) -> StoredMessage:
        """A response or follow-up message: stored, and announced unless only its invoker can see it."""
        world = self.world
        payload = world.message_payload(
            body,
            channel_id=interaction.channel_id,
            message_type=20 if interaction.type == 2 else 0,
            webhook_id=world.application_id,
            interaction=interaction,
            flags=flags,
        )
        messages = self.emu.message_routes
        messages.resolve_mentions(payload, body, interaction.channel_id, default_parse=USERS_ONLY)
        stored = messages.store(
            StoredMessage(
                payload,
                interaction.channel_id,
                body.get("allowed_mentions"),
                ephemeral_to=interaction.user_id if ephemeral else None,
                interaction_id=interaction.id,
            )
        )
        await messages.announce_create(stored)
        return stored

    async def callback(self, ctx: Ctx) -> Reply:
        world = self.world
        try:
            interaction = world.interactions[int(ctx.params["interaction_id"])]
        except (KeyError, ValueError):
            raise unknown_interaction() from None
        if interaction.token != ctx.params["interaction_token"]:
            raise unknown_interaction()
        if interaction.acked:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if interaction.expired or self.emu.now() - interaction.created_at > self.emu.deadline_s:
            interaction.expired = True
            interaction.late_callbacks += 1
            raise unknown_interaction()
        body: dict[str, Any] = dict(ctx.body or {})
        kind = int(body.get("type", 0))
        data: dict[str, Any] = dict(body.get("data") or {})
        self._check_callback_type(interaction, kind)
        if kind == 4:
            # A new message needs something to show, exactly as a channel message does. Type 7 edits the source
            # message instead, and Discord lets edits leave a message empty, so only creation is checked.
            require_content({**data, "_files": body.get("_files")})
        messages = self.emu.message_routes
        resource: dict[str, Any] | None = None
        response_message_id: int | None = None
        if kind in (4, 5):
            flags = int(data.get("flags") or 0)
            ephemeral = bool(flags & EPHEMERAL)
            if kind == 5:
                flags = LOADING | (EPHEMERAL if ephemeral else 0)
                data = {"content": ""}
            stored = await self.store_interaction_message(interaction, data, flags=flags, ephemeral=ephemeral)
            interaction.original_message_id = stored.id
            response_message_id = stored.id
            resource = {"type": kind, "message": stored.payload}
        elif kind in (6, 7):
            source = world.messages.get(interaction.source_message_id or 0)
            interaction.original_message_id = interaction.source_message_id
            response_message_id = interaction.source_message_id
            if kind == 7 and source is not None:
                messages.apply_edit(source, data, default_parse=USERS_ONLY)
                await messages.announce_update(source)
                resource = {"type": kind, "message": source.payload}
        elif kind == 8:
            interaction.choices = list(data.get("choices") or [])
        elif kind == 9:
            interaction.modal = data
            world.last_modal[interaction.user_id] = (interaction, data)
        interaction.acked = True
        interaction.callback_type = kind
        interaction.callback_body = body
        answer: dict[str, Any] = {"interaction": {"id": str(interaction.id), "type": interaction.type}}
        if response_message_id is not None:
            message = world.messages.get(response_message_id)
            answer["interaction"].update(
                response_message_id=str(response_message_id),
                response_message_loading=kind == 5,
                response_message_ephemeral=bool(message and message.ephemeral),
            )
        if resource is not None:
            answer["resource"] = resource
        with_response = ctx.query.get("with_response", "").lower() in ("1", "true")
        return (200, answer) if with_response else (204, None)

    @staticmethod
    def _check_callback_type(interaction: Interaction, kind: int) -> None:
        allowed = ALLOWED_CALLBACKS.get(interaction.type, set())
        if interaction.type == 5 and interaction.source_message_id is None:
            allowed = {4, 5}
        if kind not in allowed:
            error = {
                "code": "INTERACTION_CALLBACK_TYPE_INVALID",
                "message": f"Callback type {kind} is not valid for interaction type {interaction.type}.",
            }
            raise ApiError(400, 50035, "Invalid Form Body", {"type": {"_errors": [error]}})

    # ---- webhooks -------------------------------------------------------------------------------------------

    def _webhook_interaction(self, ctx: Ctx) -> Interaction | None:
        """The interaction behind an application webhook token, or ``None`` for a channel webhook."""
        if ctx.params["webhook_id"] != str(self.world.application_id):
            return None
        interaction = self.world.interactions_by_token.get(ctx.params["webhook_token"])
        if interaction is None or not interaction.acked:
            raise unknown_webhook()
        if self.emu.now() - interaction.created_at > self.emu.token_ttl_s:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return interaction

    def _channel_webhook(self, ctx: Ctx) -> tuple[int, int, str]:
        try:
            wid = int(ctx.params["webhook_id"])
        except ValueError:
            raise unknown_webhook() from None
        entry = self.world.webhooks.get(wid)
        if entry is None or entry[0] != ctx.params["webhook_token"]:
            raise unknown_webhook()
        return wid, entry[1], entry[2]

    async def execute_webhook(self, ctx: Ctx) -> Reply:
        body: dict[str, Any] = dict(ctx.body or {})
        require_content(body)
        wait = ctx.query.get("wait", "").lower() in ("1", "true")
        interaction = self._webhook_interaction(ctx)
        messages = self.emu.message_routes
        if interaction is None:
            wid, channel_id, name = self._channel_webhook(ctx)
            author = User(wid, str(body.get("username") or name), bot=True)
            target = int(ctx.query["thread_id"]) if ctx.query.get("thread_id", "").isdigit() else channel_id
            if target not in self.world.guild.channels:
                raise ApiError(404, 10003, "Unknown Channel")
            payload = self.world.message_payload(body, channel_id=target, author=author, webhook_id=wid)
            messages.resolve_mentions(payload, body, target, default_parse=USERS_ONLY)
            stored = messages.store(StoredMessage(payload, target, body.get("allowed_mentions")))
            await messages.announce_create(stored)
            return (200, payload) if wait else (204, None)
        original = self.world.messages.get(interaction.original_message_id or 0)
        if (
            interaction.callback_type == 5
            and original is not None
            and not original.deleted
            and original.flags & LOADING
        ):
            # The first follow-up after a "thinking" defer replaces the loading message.
            messages.apply_edit(original, body, default_parse=USERS_ONLY)
            interaction.followup_ids.append(original.id)
            await messages.announce_update(original)
            return (200, original.payload) if wait else (204, None)
        flags = int(body.get("flags") or 0)
        stored = await self.store_interaction_message(interaction, body, flags=flags, ephemeral=bool(flags & EPHEMERAL))
        interaction.followup_ids.append(stored.id)
        return (200, stored.payload) if wait else (204, None)

    def _webhook_message(self, ctx: Ctx) -> StoredMessage:
        interaction = self._webhook_interaction(ctx)
        raw = ctx.params.get("message_id", "@original")
        if interaction is None:
            wid, _channel_id, _name = self._channel_webhook(ctx)
            if raw == "@original" or not raw.isdigit():
                raise unknown_webhook()
            stored = self.world.messages.get(int(raw))
            if stored is None or stored.deleted or stored.author_id != wid:
                raise unknown_message()
            return stored
        if raw != "@original" and not raw.isdigit():
            raise unknown_message()
        mid = interaction.original_message_id if raw == "@original" else int(raw)
        stored = self.world.messages.get(mid or 0)
        if stored is None or stored.deleted:
            raise unknown_message()
        if raw != "@original" and stored.id not in interaction.followup_ids:
            raise unknown_message()
        return stored

    async def get_webhook_message(self, ctx: Ctx) -> Reply:
        return 200, self._webhook_message(ctx).payload

    async def edit_webhook_message(self, ctx: Ctx) -> Reply:
        stored = self._webhook_message(ctx)
        messages = self.emu.message_routes
        messages.apply_edit(stored, ctx.body or {}, default_parse=USERS_ONLY)
        await messages.announce_update(stored)
        return 200, stored.payload

    async def delete_webhook_message(self, ctx: Ctx) -> Reply:
        stored = self._webhook_message(ctx)
        stored.deleted = True
        await self.emu.message_routes.announce_delete(stored)
        return 204, None
