"""The one tree-level error handler: domain errors become ephemeral replies; the rest are logged."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.errors import NewsError
from cogs.render import notice_text

log = logging.getLogger(__name__)

GENERIC_ERROR = "Something went wrong on our side. The operators have been told; please try again later."


async def send_ephemeral(interaction: discord.Interaction, content: str) -> None:
    """Reply privately, whether or not the interaction was already acknowledged."""
    if not interaction.response.is_done():
        await interaction.response.send_message(
            content, ephemeral=True, allowed_mentions=discord.AllowedMentions.none()
        )
        return
    if interaction.response.type is discord.InteractionResponseType.deferred_channel_message:
        # After a "thinking…" defer, Discord turns the first follow-up into that message and ignores
        # ephemeral=True, so a public defer would make the error public. Remove the placeholder first.
        try:
            await interaction.delete_original_response()
        except discord.NotFound:
            pass
    await interaction.followup.send(content, ephemeral=True, allowed_mentions=discord.AllowedMentions.none())


def describe_error(error: app_commands.AppCommandError) -> str | None:
    """The message for an error a member caused; ``None`` for a bug that the operators must look at."""
    original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    if isinstance(original, NewsError):
        return str(original)
    if isinstance(error, app_commands.MissingPermissions):
        perms = ", ".join(p.replace("_", " ").title() for p in error.missing_permissions)
        return f"You need the {perms} permission to use this command."
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command only works inside a server."
    if isinstance(error, app_commands.CommandOnCooldown):
        return f"Slow down: try again in {error.retry_after:.0f} s."
    if isinstance(error, app_commands.TransformerError):
        return f"I could not understand {error.value!r} for this option."
    if isinstance(error, app_commands.CheckFailure):
        return "You are not allowed to use this command here."
    return None


class NewsTree(app_commands.CommandTree[discord.Client]):
    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        message = describe_error(error)
        if message is None:
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error(
                "Command /%s failed (guild %s, channel %s, user %s)",
                command,
                interaction.guild_id,
                interaction.channel_id,
                interaction.user.id,
                exc_info=error,
            )
            message = GENERIC_ERROR
        try:
            # Error text can echo what a member typed (an option value, a query): render it inert.
            await send_ephemeral(interaction, notice_text(message))
        except discord.NotFound:
            # 10062: the interaction expired (the handler overran Discord's 3 s); nobody is left to tell.
            log.warning("Interaction %s expired before its error reply: %s", interaction.id, message)
        except discord.HTTPException:
            log.warning("Could not deliver the error reply for interaction %s", interaction.id, exc_info=True)
