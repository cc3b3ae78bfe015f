"""What every route group shares: the world, channel lookups and the bot's permission checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.sandbox.permissions import VIEW_CHANNEL
from bot.sandbox.rest import Ctx, Route, missing_access, missing_permissions, unknown_channel
from bot.sandbox.state import Channel, World

if TYPE_CHECKING:
    from bot.sandbox.emulator import DiscordEmulator


class RouteGroup:
    def __init__(self, emulator: DiscordEmulator) -> None:
        self.emu = emulator

    @property
    def world(self) -> World:
        return self.emu.world

    def routes(self) -> list[Route]:
        raise NotImplementedError

    def channel(self, ctx: Ctx) -> Channel:
        """The path's channel; 404 Unknown Channel for one that does not exist (or was deleted)."""
        try:
            return self.world.guild.channels[int(ctx.params["channel_id"])]
        except (KeyError, ValueError):
            raise unknown_channel() from None

    def bot_permissions(self, channel: Channel) -> int:
        return self.world.guild.channel_permissions(self.world.bot_member, channel)

    def visible_channel(self, ctx: Ctx) -> Channel:
        """The path's channel, which the bot must be able to see: 403 Missing Access (50001) otherwise, as
        Discord answers for a channel hidden from the bot."""
        channel = self.channel(ctx)
        if not self.bot_permissions(channel) & VIEW_CHANNEL:
            raise missing_access()
        return channel

    def require(self, channel: Channel, bits: int) -> None:
        """403 Missing Permissions (50013) unless the bot has every permission in ``bits`` here."""
        if self.bot_permissions(channel) & bits != bits:
            raise missing_permissions()
