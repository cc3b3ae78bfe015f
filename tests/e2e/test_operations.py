"""Operator paths through the real client: command sync, and the tree error handler's replies."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import Secret, Settings
from bot.runner import sync_commands
from bot.sandbox import DiscordEmulator, Driver


@pytest.fixture
def bot_extensions() -> list[str]:
    return ["errors_ext"]


async def test_cli_sync_registers_globally_or_per_guild(emulator: DiscordEmulator, tmp_path: Path) -> None:
    settings = Settings().with_(token=Secret(emulator.token), db=str(tmp_path / "s.sqlite3"))
    assert await sync_commands(settings) == ["news"]
    assert "news" in emulator.world.commands_for(None)
    assert await sync_commands(settings, guild_id=emulator.guild_id) == ["news"]
    assert "news" in emulator.world.commands_for(emulator.guild_id)
    assert emulator.rejections == []


async def test_domain_error_is_ephemeral(driver: Driver) -> None:
    result = await driver.invoke("reader", "/failnow")
    assert result.ephemeral and result.content == "Nothing matches that."


async def test_domain_error_after_public_defer_stays_private(driver: Driver, emulator: DiscordEmulator) -> None:
    await driver.invoke("reader", "/failpublic")

    def private_error_arrived() -> bool:
        return any("Nothing matches that." in m.payload.get("content", "") for m in driver.ephemeral_for("reader"))

    await emulator.wait_for(private_error_arrived, 5.0)
    public = [m for m in driver.messages("news") if not m.deleted]
    assert all("Nothing matches" not in m.payload.get("content", "") for m in public)
    assert all(not (m.flags & 128) for m in public), "the public 'thinking…' placeholder must be gone"


async def test_unexpected_error_is_generic_and_logged(driver: Driver, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.tree"):
        result = await driver.invoke("reader", "/failbug")
    assert result.ephemeral
    assert "secret internal detail" not in result.content
    assert "Something went wrong" in result.content
    assert any("/failbug" in r.getMessage() and r.exc_info for r in caplog.records)
