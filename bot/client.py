"""NewsBot: the discord.py client. Holds typed dependencies, loads extensions, installs the tree error handler."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord.ext import commands

from bot.config import Settings
from bot.db.store import Store
from bot.ingest import Pipeline
from bot.sources.fetcher import Fetcher
from bot.tree import NewsTree

if TYPE_CHECKING:
    from cogs.delivery import Sender

log = logging.getLogger(__name__)

EXTENSIONS: tuple[str, ...] = ("cogs.news", "cogs.cards", "cogs.polling")


class NewsBot(commands.Bot):
    """The bot and everything its cogs need, built once and passed to each cog explicitly.

    ``fetcher`` is None for one-shot runs (command sync) that load the cogs only to read their commands: then no
    background work starts.
    """

    settings: Settings
    store: Store
    fetcher: Fetcher | None
    pipeline: Pipeline
    sender: Sender | None
    """The delivery sender, once the ``cogs.delivery`` extension has loaded."""

    def __init__(
        self,
        *,
        settings: Settings,
        store: Store,
        fetcher: Fetcher | None = None,
        extensions: Sequence[str] = EXTENSIONS,
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
        self.store = store
        self.fetcher = fetcher
        self.pipeline = Pipeline(store, fetcher)
        self.sender = None
        self._extensions = tuple(extensions)

    @property
    def background_tasks(self) -> bool:
        return self.fetcher is not None

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
