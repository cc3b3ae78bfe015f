"""Start-up in the style of discord.py's advanced_startup example: open resources, migrate, run the bot."""

from __future__ import annotations

import logging

import aiohttp

from bot.client import NewsBot
from bot.config import Settings
from bot.db import open_database
from bot.db.articles import ArticleRepository
from bot.ingest import seed_if_empty

log = logging.getLogger(__name__)


async def run_discord(settings: Settings) -> None:
    async with open_database(settings.db_path) as db, aiohttp.ClientSession() as http:
        await seed_if_empty(ArticleRepository(db), settings.articles_dir)
        async with NewsBot(settings=settings, db=db, http_session=http) as client:
            await client.start(settings.token.get())
