"""The guild, its channels, roles and members (resources/guild.mdx)."""

from __future__ import annotations

from bot.sandbox.rest import ApiError, Ctx, Reply, Route
from bot.sandbox.routes.base import RouteGroup


class GuildRoutes(RouteGroup):
    def routes(self) -> list[Route]:
        r = Route
        return [
            r("GET", "/guilds/{guild_id}", self.get_guild),
            r("GET", "/guilds/{guild_id}/channels", self.get_channels),
            r("GET", "/guilds/{guild_id}/roles", self.get_roles),
            r("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member),
        ]

    def check_guild(self, ctx: Ctx) -> None:
        if ctx.params.get("guild_id") != str(self.world.guild.id):
            raise ApiError(404, 10004, "Unknown Guild")

    async def get_guild(self, ctx: Ctx) -> Reply:
        self.check_guild(ctx)
        data = self.world.guild.payload()
        for key in ("channels", "members", "threads", "voice_states", "presences"):
            data.pop(key, None)
        return 200, data

    async def get_channels(self, ctx: Ctx) -> Reply:
        self.check_guild(ctx)
        return 200, [c.payload() for c in self.world.guild.channels.values() if not c.is_thread]

    async def get_roles(self, ctx: Ctx) -> Reply:
        self.check_guild(ctx)
        return 200, [r.payload() for r in sorted(self.world.guild.roles.values(), key=lambda r: r.position)]

    async def get_member(self, ctx: Ctx) -> Reply:
        self.check_guild(ctx)
        try:
            member = self.world.guild.members.get(int(ctx.params["user_id"]))
        except ValueError:
            member = None
        if member is None:
            raise ApiError(404, 10007, "Unknown Member")
        return 200, member.payload()
