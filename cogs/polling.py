"""Keeps the store fresh while the bot runs: polls due sources in the background.

Announcing new articles to channels builds on this (subscriptions and the outbox); this cog only ingests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from discord.ext import commands

from bot.db import Database
from bot.sources.fetcher import Fetcher
from bot.sources.poller import Poller, PollSettings

if TYPE_CHECKING:
    from bot.client import NewsBot
    from bot.config import Settings

log = logging.getLogger(__name__)


class Polling(commands.Cog):
    """Background polling of sources (no commands yet; `newsbot sources` manages them)."""

    def __init__(self, *, db: Database, settings: Settings, enabled: bool = True) -> None:
        self.db = db
        self.settings = settings
        self.enabled = enabled
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._fetcher: Fetcher | None = None

    async def cog_load(self) -> None:
        if not self.enabled:
            return
        self._fetcher = Fetcher.from_settings(self.settings)
        await self._fetcher.start()
        poller = Poller(self.db, self._fetcher, PollSettings(interval=self.settings.poll_interval))
        self._stop.clear()
        self._task = asyncio.create_task(poller.run(self._stop), name="newsbot-poller")

    async def cog_unload(self) -> None:
        self._stop.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=10)
            except TimeoutError:
                log.warning("Poller did not stop within 10 s; cancelling it")
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        if self._fetcher is not None:
            await self._fetcher.close()


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Polling(db=bot.db, settings=bot.settings, enabled=bot.background_tasks))
