"""The bot's identity, the gateway endpoints and application commands (interactions/application-commands.mdx)."""

from __future__ import annotations

from typing import Any

from bot.sandbox.rest import ApiError, Ctx, Reply, Route
from bot.sandbox.routes.base import RouteGroup

APP = "/applications/{application_id}"


class CommandRoutes(RouteGroup):
    def routes(self) -> list[Route]:
        r = Route
        return [
            r("GET", "/users/@me", self.get_me),
            r("GET", "/oauth2/applications/@me", self.get_application),
            r("GET", "/applications/@me", self.get_application),
            r("GET", "/gateway", self.get_gateway, auth=False),
            r("GET", "/gateway/bot", self.get_gateway_bot),
            r("GET", APP + "/commands", self.get_global_commands),
            r("PUT", APP + "/commands", self.put_global_commands, kind="commands"),
            r("GET", APP + "/guilds/{guild_id}/commands", self.get_guild_commands),
            r("PUT", APP + "/guilds/{guild_id}/commands", self.put_guild_commands, kind="commands"),
            r("POST", APP + "/guilds/{guild_id}/commands", self.post_guild_command, kind="command"),
        ]

    async def get_me(self, ctx: Ctx) -> Reply:
        return 200, self.world.bot_user.payload()

    async def get_application(self, ctx: Ctx) -> Reply:
        world = self.world
        return 200, {
            "id": str(world.application_id),
            "name": world.bot_user.username,
            "description": "newsbot (emulated)",
            "icon": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": world.owner.payload(),
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            "summary": "",
            "bot": world.bot_user.payload(),
            "guild_id": None,
            "interactions_endpoint_url": None,
        }

    async def get_gateway(self, ctx: Ctx) -> Reply:
        return 200, {"url": self.emu.gateway_url}

    async def get_gateway_bot(self, ctx: Ctx) -> Reply:
        return 200, {
            "url": self.emu.gateway_url,
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
        }

    def _check_app(self, ctx: Ctx) -> None:
        if ctx.params.get("application_id") != str(self.world.application_id):
            raise ApiError(403, 50001, "Missing Access")

    def _check_guild(self, ctx: Ctx) -> None:
        if ctx.params.get("guild_id") != str(self.world.guild.id):
            raise ApiError(404, 10004, "Unknown Guild")

    async def get_global_commands(self, ctx: Ctx) -> Reply:
        self._check_app(ctx)
        return 200, [c.payload() for c in self.world.global_commands.values()]

    async def put_global_commands(self, ctx: Ctx) -> Reply:
        self._check_app(ctx)
        commands = self.world.replace_commands(None, list(ctx.body or []))
        return 200, [c.payload() for c in commands]

    async def get_guild_commands(self, ctx: Ctx) -> Reply:
        self._check_app(ctx)
        self._check_guild(ctx)
        return 200, [c.payload() for c in self.world.commands_for(self.world.guild.id).values()]

    async def put_guild_commands(self, ctx: Ctx) -> Reply:
        self._check_app(ctx)
        self._check_guild(ctx)
        commands = self.world.replace_commands(self.world.guild.id, list(ctx.body or []))
        return 200, [c.payload() for c in commands]

    async def post_guild_command(self, ctx: Ctx) -> Reply:
        self._check_app(ctx)
        self._check_guild(ctx)
        body: dict[str, Any] = dict(ctx.body or {})
        scope = self.world.commands_for(self.world.guild.id)
        existing = [c.data for c in scope.values() if c.name != body.get("name")]
        commands = self.world.replace_commands(self.world.guild.id, [*existing, body])
        return 201, commands[-1].payload()
