"""Test-only extension: commands that fail in the ways the tree error handler must cover."""

from __future__ import annotations

from discord import Interaction, app_commands
from discord.ext import commands

from bot.errors import NewsError


class Failing(commands.Cog):
    @app_commands.command(name="failnow", description="Raise a domain error before responding.")
    async def fail_now(self, interaction: Interaction) -> None:
        raise NewsError("Nothing matches that.")

    @app_commands.command(name="failpublic", description="Defer publicly (thinking), then raise a domain error.")
    async def fail_public(self, interaction: Interaction) -> None:
        await interaction.response.defer(thinking=True)
        raise NewsError("Nothing matches that.")

    @app_commands.command(name="failbug", description="Raise an unexpected exception.")
    async def fail_bug(self, interaction: Interaction) -> None:
        raise RuntimeError("secret internal detail")


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Failing())
