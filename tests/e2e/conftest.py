"""End-to-end harness: the emulator plus the real NewsBot (a real store on each backend, a real fetcher).

Fixtures:

* ``emulator``: a started :class:`DiscordEmulator` with discord.py pointed at it (patches restored afterwards).
* ``bot_extensions``: the extensions the bot loads; override it in a test module to load others.
* ``newsbot``: a :class:`NewsBot` that has logged in, synced its commands to the emulator's guild and is ready,
  built by :func:`bot.sandbox.harness.bot_against` (the same function the sandbox uses).
* ``driver``: a :class:`Driver` acting as the guild's members (``reader``, ``moderator``, or any you add).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.client import NewsBot
from bot.config import Settings
from bot.db.store import Store
from bot.sandbox import DiscordEmulator, Driver
from bot.sandbox.harness import bot_against

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
        db=store.target.location,
        articles_dir=tmp_path / "articles",
        allow_private_addresses=True,
    )
    async with bot_against(
        emulator, settings, extensions=bot_extensions, store=store, ready_timeout=READY_TIMEOUT
    ) as bot:
        yield bot
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
