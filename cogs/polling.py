"""Keeps the store fresh while the bot runs: polls due sources in the background.

The poller shares the bot's pipeline, so whatever reacts to stored articles (the announcement outbox) is written in
the same unit of work as the articles themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from discord.ext import commands

from bot.sources.poller import Poller, PollSettings

if TYPE_CHECKING:
    from bot.client import NewsBot
    from bot.ingest import Pipeline

log = logging.getLogger(__name__)


class Polling(commands.Cog):
    """Background polling of sources (no commands; `newsbot sources` manages them)."""

    def __init__(self, *, pipeline: Pipeline, interval: float, enabled: bool = True) -> None:
        self.pipeline = pipeline
        self.interval = interval
        self.enabled = enabled
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        if not self.enabled:
            return
        poller = Poller(self.pipeline, PollSettings(interval=self.interval))
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


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Polling(pipeline=bot.pipeline, interval=bot.settings.poll_interval, enabled=bot.background_tasks))
