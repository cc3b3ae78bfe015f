"""The ``newsbot`` command line. Exit codes are the same for every command (see :mod:`bot.cli.common`): 0 done,
1 something failed, 2 invalid command line or settings (nothing tried), 130 interrupted."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Awaitable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from bot import __version__
from bot.cli.common import (
    Failure,
    Invalid,
    fail,
    get_settings,
    log_progress,
    no_voice_warnings,
    open_existing,
    open_for_reading,
    run,
    setup_cli_logging,
)
from bot.config import ConfigError, Settings, convert_setting
from bot.errors import NewsError

# Each command imports what it needs when it runs: `newsbot --help` and the quick commands must not pay for the
# Discord client, the HTTP stack and both database drivers at start-up.
if TYPE_CHECKING:
    from bot.db.maintenance import CopyReport
    from bot.ingest import IngestReport

T = TypeVar("T")

PROGRESS_THRESHOLD = 20
"""Show a progress bar when a batch has at least this many files."""


class LazyGroup(click.Group):
    """A group whose commands from other modules are imported when they run (or --help lists them), not at start-up:
    `newsbot articles` never loads the sandbox, the summariser or the poller (click's documented lazy-loading recipe).
    """

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy
        """command name -> ``module:attribute``"""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, attribute = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command)
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(
    cls=LazyGroup,
    lazy={
        "poll": "bot.cli.sources:poll",
        "sandbox": "bot.cli.sandbox:sandbox",
        "sources": "bot.cli.sources:sources",
        "summarize": "bot.cli.news:summarize_cmd",
    },
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="newsbot")
@click.option("--db", "db", metavar="PATH|DSN", help="SQLite file or postgresql:// address (overrides NEWSBOT_DB).")
@click.option("--log-level", help="DEBUG, INFO, WARNING or ERROR (overrides NEWSBOT_LOG_LEVEL).")
@click.pass_context
def cli(ctx: click.Context, db: str | None, log_level: str | None) -> None:
    """newsbot: a Discord bot that serves and discusses news."""
    try:
        settings = Settings.load()
        if db is not None:
            settings = settings.with_(db=convert_setting("db", db))
            ctx.meta["newsbot.db_explicit"] = True
        if log_level is not None:
            settings = settings.with_(log_level=convert_setting("log_level", log_level))
    except ConfigError as exc:
        raise Invalid(str(exc)) from exc
    ctx.obj = settings
    setup_cli_logging(ctx, settings, explicit=log_level is not None)
    from bot.workers import configure_workers

    configure_workers(settings)  # the parsing budgets; no process starts until a document needs parsing


@cli.command()
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of readable text.")
def parse(path: Path, as_json: bool) -> None:
    """Parse one article file (.txt, .md, .html) and print its fields, without storing anything."""
    from bot.news.loader import load_article_file

    if path.is_dir():
        fail(f"{path}: is a folder; `newsbot parse` reads one article file (`newsbot ingest` takes folders).")
    try:
        loaded = load_article_file(path)
    except NewsError as exc:
        raise Failure(f"{path}: {exc}") from exc
    if loaded.notice:
        click.echo(f"note: {path}: {loaded.notice}", err=True)
    data = loaded.article.to_json()
    if as_json:
        import json

        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key in ("title", "author", "published", "caption", "url", "site_name"):
        if data.get(key):
            click.echo(f"{key:>10}: {data[key]}")
    click.echo()
    click.echo(loaded.article.body)


@cli.command()
@click.argument("locations", nargs=-1, required=True)
@click.option(
    "--full-text/--no-full-text",
    default=True,
    show_default=True,
    help="For feed URLs: fetch the article page of each new entry that carries only an excerpt.",
)
@click.pass_context
def ingest(ctx: click.Context, locations: tuple[str, ...], full_text: bool) -> None:
    """Store articles from files, folders, feed files and URLs of feeds or pages.

    Article files are .txt, .md and .html; feed files are .xml, .rss, .atom, .json and .rdf. Safe to repeat:
    articles already stored are counted as known and never duplicated. Exit status 1 if anything failed.
    """
    from bot.db.store import open_store
    from bot.ingest import INGEST_SUFFIXES, Pipeline, plan_locations
    from bot.news.identity import is_url

    if any(not location.strip() for location in locations):
        raise click.BadParameter("a location is empty; give a file, a folder or a URL.", param_hint="LOCATIONS")
    settings = get_settings(ctx)
    planned: list[str | Path] = []
    empty: list[str] = []
    for location in locations:
        found = plan_locations([location])
        if not found:  # only a folder plans to nothing
            empty.append(location)
        planned += found

    async def go() -> IngestReport:
        async with open_store(settings.store_target) as store, AsyncExitStack() as stack:
            fetcher = None
            if any(isinstance(item, str) and is_url(item) for item in planned):
                from bot.sources.fetcher import Fetcher  # the HTTP stack only for URLs: files need none of it

                fetcher = await stack.enter_async_context(Fetcher.from_settings(settings))
            pipeline = Pipeline(store, fetcher)
            if len(planned) >= PROGRESS_THRESHOLD and sys.stderr.isatty():
                with click.progressbar(length=len(planned), label="Ingesting", file=sys.stderr) as bar:
                    return await pipeline.ingest_many(
                        planned, on_item=lambda _i, _r: bar.update(1), fetch_full_text=full_text
                    )
            return await pipeline.ingest_many(planned, fetch_full_text=full_text)

    result = run(go)
    kinds = ", ".join(sorted(INGEST_SUFFIXES))
    result.failed += [(location, f"no article or feed files ({kinds}) in this folder.") for location in empty]
    for item, note in result.notices:
        click.echo(f"note: {item}: {note}", err=True)
    for item, reason in result.failed:
        click.echo(f"failed: {item}: {reason}", err=True)
    click.echo(result.summary())
    sys.exit(0 if result.ok else 1)


@cli.command()
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000), help="How many to list.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@click.pass_context
def articles(ctx: click.Context, limit: int, as_json: bool) -> None:
    """List stored articles, newest first (reads only: an empty or missing store stays as it is)."""
    settings = get_settings(ctx)

    async def go() -> list[dict[str, object]]:
        async with open_for_reading(settings) as store:
            return [] if store is None else [a.to_json() for a in await store.articles.latest(limit)]

    rows = run(go)
    if not rows and not as_json:
        click.echo(f"No articles in {settings.store_target.describe()} yet; add some with `newsbot ingest`.")
        return
    if as_json:
        import json

        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['id']:>6}  {row['published'] or '-':<25}  {row['title']}")


@cli.group()
def db() -> None:
    """The store: upgrade, current, backup, copy, check, repair."""


@db.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Apply pending migrations (safe to run from several processes at once)."""
    from bot.db.migrate import CODE_VERSION
    from bot.db.store import open_store

    settings = get_settings(ctx)

    async def go() -> None:
        async with open_store(settings.store_target):
            pass

    run(go)
    click.echo(f"{settings.store_target.describe()}: schema version {CODE_VERSION} (latest)")


@db.command()
@click.pass_context
def current(ctx: click.Context) -> None:
    """Show the store's schema version (read-only)."""
    from bot.db.maintenance import inspect_version
    from bot.db.migrate import CODE_VERSION

    settings = get_settings(ctx)
    target = settings.store_target
    version = run(lambda: inspect_version(target))
    if version is None:
        click.echo(f"{target.describe()}: no database yet (this code creates version {CODE_VERSION})")
        return
    state = (
        "up to date"
        if version == CODE_VERSION
        else (f"{CODE_VERSION - version} migration(s) pending" if version < CODE_VERSION else "NEWER than this code")
    )
    click.echo(f"{target.describe()}: schema version {version} ({state}; code version {CODE_VERSION})")
    if version > CODE_VERSION:
        sys.exit(1)


@db.command(name="backup")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def backup_cmd(ctx: click.Context, dest: Path) -> None:
    """Write a consistent copy of a SQLite store to DEST while the bot runs (SQLite online backup).

    The store is copied as it is, never migrated first: a backup taken before `db upgrade` is of the old version.
    """
    from bot.db.maintenance import backup

    settings = get_settings(ctx)

    async def go() -> int:
        async with open_existing(settings, migrate=False, missing="there is nothing to back up") as store:
            try:
                return await backup(store, dest)
            except OSError as exc:
                raise NewsError(f"cannot write the backup to {dest} ({exc.strerror or exc}).") from exc

    size = run(go)
    click.echo(f"backed up {settings.store_target.describe()} to {dest} ({size:,} bytes)")


@db.command(name="copy")
@click.argument("source", metavar="SOURCE")
@click.argument("dest", metavar="DEST")
def copy_cmd(source: str, dest: str) -> None:
    """Copy a whole store from SOURCE to the empty DEST: SQLite files or postgresql:// addresses, either way.

    Every row keeps its id; the row counts of every table are compared afterwards.
    """
    from bot.db.maintenance import copy_store, inspect_version, open_empty
    from bot.db.store import open_store
    from bot.db.target import StoreTarget

    try:
        source_target, dest_target = StoreTarget.parse(source), StoreTarget.parse(dest)
    except NewsError as exc:
        raise Invalid(str(exc)) from exc
    if source_target == dest_target:
        raise Invalid("SOURCE and DEST are the same store.")
    bars: dict[str, Any] = {}

    def progress(table: str, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        bar = bars.get(table)
        if bar is None:
            bar = bars[table] = click.progressbar(length=max(total, 1), label=f"{table:>14}", file=sys.stderr)
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    async def go() -> CopyReport:
        if await inspect_version(source_target) is None:
            raise NewsError(f"{source_target.describe()} does not exist; there is nothing to copy.")
        async with open_store(source_target) as src:
            dst = await open_empty(dest_target)
            try:
                return await copy_store(src, dst, progress=progress)
            finally:
                await dst.close()

    report = run(go)
    counts = ", ".join(f"{n:,} {table}" for table, n in report.counts.items())
    click.echo(f"copied {source_target.describe()} to {dest_target.describe()}: {counts} (counts checked)")


@db.command(name="check")
@click.pass_context
def check_cmd(ctx: click.Context) -> None:
    """Check the store: SQLite's integrity check, foreign keys, and the full-text index against the articles.

    Reads only. Exit status 1 when a problem is found.
    """
    from bot.db.maintenance import check_store

    settings = get_settings(ctx)

    async def go() -> list[str]:
        async with open_for_reading(settings) as store:
            if store is None:
                raise NewsError(f"{settings.store_target.describe()} does not exist yet; there is nothing to check.")
            return await check_store(store)

    problems = run(go)
    if not problems:
        click.echo(f"{settings.store_target.describe()}: no problems found")
        return
    for problem in problems:
        click.echo(f"problem: {problem}")
    sys.exit(1)


@db.command(name="repair")
@click.pass_context
def repair_cmd(ctx: click.Context) -> None:
    """Rebuild the full-text index from the articles (after `db check` found it damaged)."""
    from bot.db.maintenance import check_store, repair_fts

    settings = get_settings(ctx)

    async def go() -> list[str]:
        async with open_existing(settings, missing="there is nothing to repair") as store:
            await repair_fts(store)
            return await check_store(store)

    problems = run(go)
    click.echo("rebuilt the full-text index" + ("" if not problems else f"; still: {'; '.join(problems)}"))
    sys.exit(1 if problems else 0)


@cli.command(name="run")
@click.pass_context
def run_bot(ctx: click.Context) -> None:
    """Connect to Discord and run the bot (needs DISCORD_TOKEN)."""
    settings = get_settings(ctx)
    if not settings.token:
        raise Invalid("DISCORD_TOKEN is not set; put it in the environment or .env (or try `newsbot sandbox`).")
    log_progress(ctx)

    async def go() -> None:
        from bot.runner import run_discord

        await _talking_to_discord(run_discord(settings))

    run(go)


@cli.command(name="sync")
@click.option("--guild", "guild_id", type=int, help="Sync to this guild only (instant; for testing).")
@click.pass_context
def sync_cmd(ctx: click.Context, guild_id: int | None) -> None:
    """Register the slash commands with Discord, globally unless --guild is given (needs DISCORD_TOKEN)."""
    settings = get_settings(ctx)
    if not settings.token:
        raise Invalid("DISCORD_TOKEN is not set; put it in the environment or .env.")

    async def go() -> list[str]:
        from bot.runner import sync_commands

        return await _talking_to_discord(sync_commands(settings, guild_id=guild_id))

    names = run(go)
    where = f"guild {guild_id}" if guild_id else "all servers (clients may take up to an hour to show changes)"
    click.echo(f"Synced {len(names)} commands to {where}: {', '.join('/' + n for n in names)}")


async def _talking_to_discord(work: Awaitable[T]) -> T:
    """``work``, with Discord's refusals and an unreachable Discord as one sentence each instead of a traceback."""
    import aiohttp
    import discord

    no_voice_warnings()
    try:
        return await work
    except discord.LoginFailure as exc:
        raise NewsError(f"Discord refused the token ({exc}); check DISCORD_TOKEN.") from exc
    except discord.PrivilegedIntentsRequired as exc:
        raise NewsError(f"Discord refused to connect: {exc}") from exc
    except (aiohttp.ClientError, discord.GatewayNotFound) as exc:  # DNS, refused connections, TLS, timeouts
        raise NewsError(f"Cannot reach Discord ({exc or type(exc).__name__}); check the network.") from exc
    except discord.HTTPException as exc:
        raise NewsError(f"Discord answered with an error: {exc}") from exc


def main() -> None:
    cli(prog_name="newsbot")
