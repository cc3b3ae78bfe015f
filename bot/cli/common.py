"""Shared plumbing for the CLI commands: settings on the click context, logging, running coroutines."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import click

from bot.config import ConfigError, Settings
from bot.errors import NewsError

if TYPE_CHECKING:
    from bot.db.store import Store

T = TypeVar("T")

log = logging.getLogger("bot.cli")


def get_settings(ctx: click.Context) -> Settings:
    settings = ctx.find_object(Settings)
    if settings is None:
        try:
            settings = Settings.load()
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
        ctx.obj = settings
    return settings


def run(coro_factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine; domain errors become a one-line message and exit status 1 (never a traceback)."""

    async def wrapper() -> T:
        return await coro_factory()

    try:
        return asyncio.run(wrapper())
    except NewsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)


@contextlib.asynccontextmanager
async def open_for_reading(settings: Settings) -> AsyncIterator[Store | None]:
    """The store for a command that only reads: None when there is none yet (nothing is created), and never
    migrated (an older store is a clear error that says how to upgrade it)."""
    from bot.db.maintenance import inspect_version
    from bot.db.migrate import CODE_VERSION
    from bot.db.store import open_store

    target = settings.store_target
    version = await inspect_version(target)
    if version is None or version == 0:
        yield None
        return
    if version < CODE_VERSION:
        raise NewsError(
            f"{target.describe()} is at schema version {version}; run `newsbot db upgrade` to bring it to "
            f"{CODE_VERSION} first."
        )
    async with open_store(target, migrate=False) as store:
        yield store


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # discord.http logs every request at DEBUG; keep it quiet unless explicitly asked.
    logging.getLogger("discord.http").setLevel(logging.WARNING)
