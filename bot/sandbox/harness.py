"""One way to build the real bot against the emulator, shared by the sandbox, the end-to-end tests and benchmarks.

:func:`bot_against` opens the store the way ``newsbot run`` does (:func:`bot.runner.store_for`), points discord.py
at the emulator, starts the real :class:`~bot.client.NewsBot` with the emulator's token and guild (so commands sync
straight to it), waits until it is ready and, on the way out, shuts it down without leaving tasks behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from bot.client import EXTENSIONS, NewsBot
from bot.config import Secret, Settings
from bot.db.store import Store
from bot.errors import NewsError
from bot.ingest import Pipeline
from bot.runner import store_for
from bot.sandbox.emulator import DiscordEmulator
from bot.sources.fetcher import Fetcher

log = logging.getLogger(__name__)

READY_TIMEOUT = 30.0
GUILD_READY_TIMEOUT = 0.05
"""The emulator delivers its one guild at once: no reason to wait discord.py's default 2 s for more."""


class BotStartError(NewsError):
    """The bot failed to load, or never became ready."""


def emulator_settings(emulator: DiscordEmulator, settings: Settings) -> Settings:
    """``settings`` with the emulator's token and guild: no real token, and commands sync to the emulated guild."""
    return settings.with_(token=Secret(emulator.token), dev_guild_id=emulator.guild_id)


async def wait_ready(bot: NewsBot, runner: asyncio.Task[None], within: float) -> None:
    """Until ``bot`` is ready; a start-up failure of ``runner`` is raised as :class:`BotStartError`."""
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({ready, runner}, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    if ready in done:
        return
    ready.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await ready
    if runner in done:
        exc = None if runner.cancelled() else runner.exception()
        if exc is not None:
            raise BotStartError(f"the bot failed to start: {exc}") from exc
        raise BotStartError("the bot stopped before it became ready")
    raise BotStartError(f"the bot did not become ready within {within:g} s")


async def stop_bot(bot: NewsBot, runner: asyncio.Task[None]) -> None:
    # discord.py does not cancel its delayed-"ready" task on close; if a re-IDENTIFY just happened, let it finish
    # first, or it dispatches on_ready into a closed client.
    pending_ready = getattr(bot._connection, "_ready_task", None)
    if pending_ready is not None and not pending_ready.done():
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(pending_ready), 2.0)
    await bot.close()
    if not runner.done():
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(runner, 5.0)


@asynccontextmanager
async def bot_against(
    emulator: DiscordEmulator,
    settings: Settings,
    *,
    extensions: Sequence[str] = EXTENSIONS,
    seed: bool = False,
    store: Store | None = None,
    ready_timeout: float = READY_TIMEOUT,
    **bot_options: Any,
) -> AsyncIterator[NewsBot]:
    """The real NewsBot, logged in to ``emulator`` (which must be started), synced and ready.

    The bot uses ``store`` when given (a test's store, on any backend), else the one ``settings`` name, opened as
    ``newsbot run`` opens it. ``seed`` seeds an empty store from the embedded articles, as ``newsbot run`` does;
    tests leave it off to start from an empty store. ``bot_options`` go to :class:`~bot.client.NewsBot`.
    """
    settings = emulator_settings(emulator, settings)
    bot_options.setdefault("guild_ready_timeout", GUILD_READY_TIMEOUT)
    with emulator.patched():
        async with contextlib.AsyncExitStack() as stack:
            if store is None:
                store = await stack.enter_async_context(store_for(settings, seed=seed))
            elif seed:
                await Pipeline(store).seed_if_empty(settings.articles_dir)
            fetcher = await stack.enter_async_context(Fetcher.from_settings(settings))
            bot = NewsBot(settings=settings, store=store, fetcher=fetcher, extensions=extensions, **bot_options)
            runner = asyncio.create_task(bot.start(settings.token.get()), name="newsbot-against-emulator")
            try:
                await wait_ready(bot, runner, ready_timeout)
                yield bot
            finally:
                await stop_bot(bot, runner)
