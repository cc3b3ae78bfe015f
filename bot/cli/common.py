"""Shared plumbing for the CLI commands: settings on the click context, logging, running coroutines."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from bot.config import ConfigError, Settings
from bot.errors import NewsError

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


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # discord.http logs every request at DEBUG; keep it quiet unless explicitly asked.
    logging.getLogger("discord.http").setLevel(logging.WARNING)
