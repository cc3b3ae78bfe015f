"""The ``newsbot`` command line."""

from __future__ import annotations

import json
import sys
from contextlib import AsyncExitStack
from pathlib import Path

import click

from bot import __version__
from bot.cli.common import get_settings, run, setup_logging
from bot.config import ConfigError, Settings, convert_setting
from bot.db import CODE_VERSION, open_database
from bot.db.articles import ArticleRepository
from bot.db.maintenance import backup, inspect_version
from bot.errors import NewsError
from bot.ingest import IngestResult, ingest_locations, plan_locations
from bot.news.identity import is_url
from bot.news.loader import load_article_file
from bot.runner import open_store, run_discord, sync_commands
from bot.sources.fetcher import Fetcher
from bot.workers import configure_workers

PROGRESS_THRESHOLD = 20
"""Show a progress bar when a batch has at least this many files."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="newsbot")
@click.option("--db", "db_path", type=click.Path(path_type=Path), help="SQLite file (overrides NEWSBOT_DB).")
@click.option("--log-level", help="DEBUG, INFO, WARNING or ERROR (overrides NEWSBOT_LOG_LEVEL).")
@click.pass_context
def cli(ctx: click.Context, db_path: Path | None, log_level: str | None) -> None:
    """newsbot: a Discord bot that serves and discusses news."""
    try:
        settings = Settings.load()
        if db_path is not None:
            settings = settings.with_(db_path=db_path)
        if log_level is not None:
            settings = settings.with_(log_level=convert_setting("log_level", log_level))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    ctx.obj = settings
    setup_logging(settings.log_level)
    configure_workers(settings)  # the parsing budgets; no process starts until a document needs parsing


@cli.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of readable text.")
def parse(path: Path, as_json: bool) -> None:
    """Parse one article file and print its fields, without storing anything."""
    try:
        loaded = load_article_file(path)
    except NewsError as exc:
        click.echo(f"error: {path}: {exc}", err=True)
        sys.exit(1)
    if loaded.notice:
        click.echo(f"note: {path}: {loaded.notice}", err=True)
    data = loaded.article.to_json()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for key in ("title", "author", "published", "caption", "url", "site_name"):
        if data.get(key):
            click.echo(f"{key:>10}: {data[key]}")
    click.echo()
    click.echo(loaded.article.body)


@cli.command()
@click.argument("locations", nargs=-1, required=True)
@click.pass_context
def ingest(ctx: click.Context, locations: tuple[str, ...]) -> None:
    """Store articles from files, folders, feed files and URLs of feeds or pages.

    Article files are .txt, .md and .html; feed files are .xml, .rss, .atom, .json and .rdf. Safe to repeat:
    articles already stored are counted as known and never duplicated.
    """
    settings = get_settings(ctx)
    planned = plan_locations(locations)

    async def go() -> IngestResult:
        async with open_store(settings) as db, AsyncExitStack() as stack:
            repo = ArticleRepository(db)
            fetcher = None
            if any(isinstance(item, str) and is_url(item) for item in planned):
                fetcher = await stack.enter_async_context(Fetcher.from_settings(settings))
            if len(planned) >= PROGRESS_THRESHOLD and sys.stderr.isatty():
                with click.progressbar(length=len(planned), label="Ingesting", file=sys.stderr) as bar:
                    return await ingest_locations(planned, repo, fetcher=fetcher, on_item=lambda _i, _r: bar.update(1))
            return await ingest_locations(planned, repo, fetcher=fetcher)

    result = run(go)
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
    """List stored articles, newest first."""
    settings = get_settings(ctx)

    async def go() -> list[dict[str, object]]:
        async with open_store(settings) as db:
            return [a.to_json() for a in await ArticleRepository(db).latest(limit)]

    rows = run(go)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(f"{row['id']:>6}  {row['published'] or '-':<25}  {row['title']}")


@cli.group()
def db() -> None:
    """Database maintenance: upgrade, current, backup."""


@db.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Apply pending migrations."""
    settings = get_settings(ctx)

    async def go() -> int:
        async with open_database(settings.db_path) as opened:
            from bot.db import current_version

            return await current_version(opened)

    version = run(go)
    click.echo(f"{settings.db_path}: schema version {version} (latest)")


@db.command()
@click.pass_context
def current(ctx: click.Context) -> None:
    """Show the database's schema version (read-only)."""
    settings = get_settings(ctx)
    try:
        version = inspect_version(settings.db_path)
    except NewsError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if not settings.db_path.exists():
        click.echo(f"{settings.db_path}: no database yet (this code creates version {CODE_VERSION})")
        return
    state = (
        "up to date"
        if version == CODE_VERSION
        else (f"{CODE_VERSION - version} migration(s) pending" if version < CODE_VERSION else "NEWER than this code")
    )
    click.echo(f"{settings.db_path}: schema version {version} ({state}; code version {CODE_VERSION})")
    if version > CODE_VERSION:
        sys.exit(1)


@db.command(name="backup")
@click.argument("dest", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def backup_cmd(ctx: click.Context, dest: Path) -> None:
    """Write a consistent copy of the database to DEST (SQLite online backup)."""
    settings = get_settings(ctx)

    async def go() -> int:
        async with open_database(settings.db_path) as opened:
            return await backup(opened, dest)

    size = run(go)
    click.echo(f"backed up {settings.db_path} to {dest} ({size} bytes)")


@cli.command(name="run")
@click.pass_context
def run_bot(ctx: click.Context) -> None:
    """Connect to Discord and run the bot (needs DISCORD_TOKEN)."""
    settings = get_settings(ctx)
    if not settings.token:
        click.echo(
            "error: DISCORD_TOKEN is not set; put it in the environment or .env (or try `newsbot sandbox`).",
            err=True,
        )
        sys.exit(2)
    run(lambda: run_discord(settings))


@cli.command(name="sync")
@click.option("--guild", "guild_id", type=int, help="Sync to this guild only (instant; for testing).")
@click.pass_context
def sync_cmd(ctx: click.Context, guild_id: int | None) -> None:
    """Register the slash commands with Discord, globally unless --guild is given (needs DISCORD_TOKEN)."""
    settings = get_settings(ctx)
    if not settings.token:
        click.echo("error: DISCORD_TOKEN is not set; put it in the environment or .env.", err=True)
        sys.exit(2)
    names = run(lambda: sync_commands(settings, guild_id=guild_id))
    where = f"guild {guild_id}" if guild_id else "all servers (clients may take up to an hour to show changes)"
    click.echo(f"Synced {len(names)} commands to {where}: {', '.join('/' + n for n in names)}")


# Command groups that live in their own modules; imported last because they use the helpers above.
from bot.cli.sandbox import sandbox  # noqa: E402
from bot.cli.sources import poll, sources  # noqa: E402

cli.add_command(sandbox)
cli.add_command(sources)
cli.add_command(poll)


def main() -> None:
    cli(prog_name="newsbot")
