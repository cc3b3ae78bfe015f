"""Start-up in the style of discord.py's advanced_startup example: open resources, migrate, run the bot."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import discord

from bot.client import NewsBot
from bot.config import Settings
from bot.db.store import Store, open_store
from bot.ingest import Pipeline
from bot.sources.fetcher import Fetcher

log = logging.getLogger(__name__)


@asynccontextmanager
async def store_for(settings: Settings, *, seed: bool = True) -> AsyncIterator[Store]:
    """Open and migrate the configured store; a new install is seeded from the embedded articles."""
    async with open_store(settings.store_target) as store:
        if seed:
            await Pipeline(store).seed_if_empty(settings.articles_dir)
        yield store


async def run_discord(settings: Settings) -> None:
    async with (
        store_for(settings) as store,
        Fetcher.from_settings(settings) as fetcher,
        NewsBot(settings=settings, store=store, fetcher=fetcher) as client,
    ):
        await client.start(settings.token.get())


async def sync_commands(settings: Settings, *, guild_id: int | None = None) -> list[str]:
    """Register the slash commands with Discord (globally, or in one guild), without connecting to the gateway.

    Global sync is an explicit operator action: Discord rate-limits it and clients take a while to pick it up,
    so the bot never does it on its own at start-up.
    """
    async with (
        open_store(settings.store_target) as store,
        NewsBot(settings=settings.with_(dev_guild_id=None), store=store) as client,
    ):
        await client.login(settings.token.get())  # runs setup_hook, which loads the extensions
        guild = discord.Object(id=guild_id) if guild_id is not None else None
        if guild is not None:
            client.tree.copy_global_to(guild=guild)
        synced = await client.tree.sync(guild=guild)
        log.info("Synced %d commands %s", len(synced), f"to guild {guild_id}" if guild_id else "globally")
        return sorted(command.name for command in synced)
