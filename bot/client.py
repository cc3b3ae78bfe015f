"""NewsBot: the discord.py client. Holds typed dependencies, loads extensions, installs the tree error handler."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import aiohttp
import discord
from discord.ext import commands

from bot.config import Settings
from bot.db import Database
from bot.db.articles import ArticleRepository
from bot.tree import NewsTree

log = logging.getLogger(__name__)

EXTENSIONS: tuple[str, ...] = ("cogs.news", "cogs.cards", "cogs.polling")


class NewsBot(commands.Bot):
    settings: Settings
    db: Database
    http_session: aiohttp.ClientSession
    articles: ArticleRepository

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        http_session: aiohttp.ClientSession,
        extensions: Sequence[str] = EXTENSIONS,
        background_tasks: bool = True,
        **options: Any,
    ) -> None:
        intents = discord.Intents.default()
        options.setdefault("allowed_mentions", discord.AllowedMentions.none())
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=NewsTree,
            help_command=None,
            **options,
        )
        self.settings = settings
        self.db = db
        self.http_session = http_session
        self.articles = ArticleRepository(db)
        self._extensions = tuple(extensions)
        self.background_tasks = background_tasks
        """False for one-shot runs (command sync) that load the cogs only to read their commands."""

    async def setup_hook(self) -> None:
        # A broken extension must fail start-up loudly rather than vanish.
        for name in self._extensions:
            await self.load_extension(name)
            log.info("Loaded extension %s", name)
        if self.settings.dev_guild_id is not None:
            guild = discord.Object(id=self.settings.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("Synced %d commands to dev guild %s", len(synced), self.settings.dev_guild_id)

    async def on_ready(self) -> None:
        log.info("Ready as %s (id %s) in %d guilds", self.user, self.user.id if self.user else "?", len(self.guilds))

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        log.exception("Unhandled error in event %s", event_method)
