"""End-to-end harness: the emulator plus the real NewsBot (a real store on each backend, a real fetcher).

Fixtures:

* ``emulator``: a started :class:`DiscordEmulator` with discord.py pointed at it (patches restored afterwards).
* ``bot_extensions``: the extensions the bot loads; override it in a test module to load others.
* ``newsbot``: a :class:`NewsBot` that has logged in, synced its commands to the emulator's guild and is ready.
* ``driver``: a :class:`Driver` acting as the guild's members (``reader``, ``moderator``, or any you add).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.client import NewsBot
from bot.config import Secret, Settings
from bot.db.store import Store
from bot.sandbox import DiscordEmulator, Driver
from bot.sources.fetcher import Fetcher

log = logging.getLogger(__name__)

TEST_EXTENSION = "e2e_testcmds"
READY_TIMEOUT = 10.0


@pytest.fixture
def emulator_options() -> dict[str, object]:
    """Keyword arguments for the emulator; override in a module to change limits or the spec location."""
    return {}


@pytest.fixture
async def emulator(emulator_options: dict[str, object]) -> AsyncIterator[DiscordEmulator]:
    emu = DiscordEmulator(**emulator_options)  # type: ignore[arg-type]
    async with emu:
        with emu.patched():
            yield emu


@pytest.fixture
def bot_extensions() -> list[str]:
    return [TEST_EXTENSION]


@pytest.fixture
async def newsbot(
    emulator: DiscordEmulator, bot_extensions: list[str], tmp_path: Path, store: Store
) -> AsyncIterator[NewsBot]:
    """The bot on ``store``: every end-to-end test runs on SQLite and on PostgreSQL."""
    before = asyncio.all_tasks()
    settings = Settings().with_(
        token=Secret(emulator.token),
        db=store.target.location,
        dev_guild_id=emulator.guild_id,
        articles_dir=tmp_path / "articles",
        allow_private_addresses=True,
    )
    async with Fetcher.from_settings(settings) as fetcher:
        bot = NewsBot(
            settings=settings,
            store=store,
            fetcher=fetcher,
            extensions=bot_extensions,
            # One guild, delivered at once: no reason to wait discord.py's default 2 s for more.
            guild_ready_timeout=0.05,
        )
        runner = asyncio.create_task(bot.start(settings.token.get()), name="newsbot-under-test")
        try:
            ready = asyncio.create_task(bot.wait_until_ready())
            done, _ = await asyncio.wait({ready, runner}, timeout=READY_TIMEOUT, return_when=asyncio.FIRST_COMPLETED)
            if ready not in done:
                ready.cancel()
                if runner in done:
                    runner.result()  # re-raise the start-up failure
                raise TimeoutError("the bot did not become ready")
            yield bot
        finally:
            # discord.py does not cancel its delayed-"ready" task on close; if a re-IDENTIFY just happened, let
            # it finish first, or it dispatches on_ready into a closed client.
            pending_ready = getattr(bot._connection, "_ready_task", None)
            if pending_ready is not None and not pending_ready.done():
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(pending_ready), 2.0)
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(runner, 5.0)
    # Clean teardown: nothing the bot started may outlive it. Tasks that are finishing (a last event handler)
    # get a moment; anything still pending after that is a leak.
    current = asyncio.current_task()
    for _ in range(20):
        leftover = [t for t in asyncio.all_tasks() - before if t is not current and not t.done()]
        if not leftover:
            break
        await asyncio.sleep(0.05)
    assert not leftover, f"tasks left pending after teardown: {leftover}"


@pytest.fixture
async def driver(emulator: DiscordEmulator, newsbot: NewsBot) -> Driver:
    return Driver(emulator, followup_timeout=5.0)
