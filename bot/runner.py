"""Start-up in the style of discord.py's advanced_startup example: open resources, migrate, run the bot."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp

from bot.client import NewsBot
from bot.config import Settings
from bot.db import Database, open_database
from bot.db.articles import ArticleRepository
from bot.ingest import seed_if_empty

log = logging.getLogger(__name__)


@asynccontextmanager
async def open_store(settings: Settings, *, seed: bool = True) -> AsyncIterator[Database]:
    """Open and migrate the configured store; a new install is seeded from the embedded articles."""
    async with open_database(settings.db_path) as db:
        if seed:
            await seed_if_empty(ArticleRepository(db), settings.articles_dir)
        yield db


async def run_discord(settings: Settings) -> None:
    async with (
        open_store(settings) as db,
        aiohttp.ClientSession() as http,
        NewsBot(settings=settings, db=db, http_session=http) as client,
    ):
        await client.start(settings.token.get())
