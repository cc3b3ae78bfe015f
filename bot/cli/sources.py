"""``newsbot sources …`` and ``newsbot poll``: manage what newsbot follows, and poll it."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.common import get_settings, run
from bot.config import Settings
from bot.news.identity import is_url

if TYPE_CHECKING:  # the commands import these when they run (see bot.cli)
    from bot.db.sources import Source, SourceKind, SourceRepository
    from bot.ingest import IngestReport

_KINDS = ("auto", "feed", "page", "folder", "file")


def _source_json(source: Source) -> dict[str, object]:
    return {
        "id": source.id,
        "location": source.location,
        "fetch_url": source.fetch_url,
        "kind": source.kind,
        "title": source.title,
        "status": source.status,
        "fetch_full_text": source.fetch_full_text,
        "failures": source.failures,
        "last_error": source.last_error,
        "pause_reason": source.pause_reason,
        "next_due_at": source.next_due_at.isoformat(),
        "last_polled_at": source.last_polled_at.isoformat() if source.last_polled_at else None,
    }


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _outcome_line(o: IngestReport) -> str:
    if o.status in ("failed", "rate_limited"):
        return f"{o.status.upper():12} {o.location}: {o.error} ({o.seconds:.2f} s)"
    parts = [f"{o.entries} entries", f"{len(o.new)} new", f"{o.known} known"]
    if o.full_text:
        parts.append(f"{o.full_text} full texts fetched")
    kept = sum(1 for _, note in o.notices if note.startswith("kept the feed's excerpt"))
    if kept:
        parts.append(f"{kept} kept as excerpts")
    if o.failed:
        parts.append(f"{len(o.failed)} items failed")
    return f"{o.status.upper():12} {o.location}: {', '.join(parts)} ({o.seconds:.2f} s)"


def _local_kind(location: str) -> tuple[SourceKind, str]:
    path = Path(location).expanduser().resolve()
    if path.is_dir():
        return "folder", str(path)
    if path.is_file():
        return "file", str(path)
    raise click.ClickException(f"{location} is neither a URL nor an existing file or folder.")


async def _url_kind(url: str, settings: Settings) -> SourceKind:
    from bot.sources.fetcher import FEED_ACCEPT, Fetcher
    from bot.sources.service import classify

    async with Fetcher.from_settings(settings) as fetcher:
        result = await fetcher.fetch(url, accept=FEED_ACCEPT)
    return classify(result)


@click.group()
def sources() -> None:
    """Feeds, pages and folders that newsbot polls for new articles."""


def _with_source(
    ctx: click.Context, ref: str, action: Callable[[SourceRepository, Source], Awaitable[Source | None]]
) -> Source:
    """Resolve REF (id, #id or location) and apply ``action``; returns the source as it was resolved or updated."""
    from bot.db.store import open_store

    settings = get_settings(ctx)

    async def go() -> Source:
        async with open_store(settings.store_target) as store:
            repo = store.sources
            source = await repo.resolve(ref)
            return await action(repo, source) or source

    return run(go)


@sources.command("add")
@click.argument("location")
@click.option("--kind", type=click.Choice(_KINDS), default="auto", show_default=True, help="What LOCATION is.")
@click.option("--title", help="A name to show instead of the feed's own title.")
@click.option(
    "--full-text/--no-full-text",
    default=True,
    show_default=True,
    help="Fetch the article page when a feed entry carries only an excerpt.",
)
@click.pass_context
def add(ctx: click.Context, location: str, kind: str, title: str | None, full_text: bool) -> None:
    """Follow LOCATION: a feed or page URL, or a folder (or file) of articles."""
    settings = get_settings(ctx)

    url = is_url(location)
    if url:
        where = location
        detected: SourceKind | None = None if kind == "auto" else kind  # type: ignore[assignment]
    else:
        auto_kind, where = _local_kind(location)
        detected = auto_kind if kind == "auto" else kind  # type: ignore[assignment]

    from bot.db.store import open_store

    async def go() -> Source:
        final = detected if detected is not None else await _url_kind(where, settings)
        async with open_store(settings.store_target) as store:
            return await store.sources.add(where, final, title=title, fetch_full_text=full_text)

    source = run(go)
    click.echo(f"Added source #{source.id} ({source.kind}): {source.location}")


@sources.command("remove")
@click.argument("ref")
@click.pass_context
def remove(ctx: click.Context, ref: str) -> None:
    """Stop following a source (by id or location). Its articles stay."""

    async def remove_it(repo: SourceRepository, source: Source) -> None:
        await repo.remove(source.id)

    source = _with_source(ctx, ref, remove_it)
    click.echo(f"Removed source #{source.id}: {source.location}")


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def list_sources(ctx: click.Context, as_json: bool) -> None:
    """Every source with its status, failures and next poll."""
    settings = get_settings(ctx)

    from bot.db.store import open_store

    async def go() -> list[Source]:
        async with open_store(settings.store_target) as store:
            return await store.sources.all()

    found = run(go)
    if as_json:
        click.echo(json.dumps([_source_json(s) for s in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("No sources yet; add one with `newsbot sources add URL`.")
        return
    for s in found:
        health = s.status if not s.failures else f"{s.status}, {s.failures} failures"
        click.echo(f"#{s.id:<4} {s.kind:6} {health:22} next {_when(s.next_due_at)}  {s.title or ''}")
        click.echo(f"      {s.location}")
        if s.fetch_url:
            click.echo(f"      moved permanently to {s.fetch_url}")
        if s.pause_reason:
            click.echo(f"      paused: {s.pause_reason}")
        if s.last_error:
            click.echo(f"      last error: {s.last_error}")


@sources.command("pause")
@click.argument("ref")
@click.option("--reason", help="Why; shown in `sources list`.")
@click.pass_context
def pause(ctx: click.Context, ref: str, reason: str | None) -> None:
    """Stop polling a source without forgetting it."""
    why = f"paused by operator: {reason}" if reason else "paused by operator"
    source = _with_source(ctx, ref, lambda repo, source: repo.pause(source.id, why))
    click.echo(f"Paused source #{source.id}: {source.location}")


@sources.command("resume")
@click.argument("ref")
@click.pass_context
def resume(ctx: click.Context, ref: str) -> None:
    """Poll a paused source again (its failure count starts over)."""
    source = _with_source(ctx, ref, lambda repo, source: repo.resume(source.id))
    click.echo(f"Resumed source #{source.id}: {source.location} (due now)")


@sources.command("check")
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def check(ctx: click.Context, url: str, as_json: bool) -> None:
    """Fetch URL and report status, entries, new items and timing; nothing is stored."""
    settings = get_settings(ctx)

    from bot.db.store import open_store
    from bot.ingest import Pipeline
    from bot.sources.fetcher import Fetcher

    async def go() -> IngestReport:
        async with open_store(settings.store_target) as store, Fetcher.from_settings(settings) as fetcher:
            return await Pipeline(store, fetcher).check_url(url)

    outcome = run(go)
    if as_json:
        data = outcome.to_json()
        data.pop("new_ids", None)
        click.echo(json.dumps(data, ensure_ascii=False))
    elif outcome.status == "failed":
        click.echo(f"FAILED {url}: {outcome.error} ({outcome.seconds:.2f} s)")
    else:
        click.echo(f"OK     {url} ({outcome.kind}{', ' + outcome.title if outcome.title else ''})")
        if outcome.final_url and outcome.final_url != url:
            click.echo(f"       redirected to {outcome.final_url}")
        click.echo(f"       {outcome.entries} entries, {outcome.unseen} not stored yet")
        click.echo(
            f"       fetch {outcome.fetch_seconds * 1000:.0f} ms, parse {outcome.parse_seconds * 1000:.0f} ms,"
            f" total {outcome.seconds * 1000:.0f} ms"
        )
        for _, notice in outcome.notices:
            click.echo(f"       warning: {notice}")
    if outcome.status == "failed":
        ctx.exit(1)


@click.command()
@click.option("--once", is_flag=True, help="Poll the sources that are due, then exit.")
@click.option("--json", "as_json", is_flag=True, help="With --once: print one JSON object per source.")
@click.pass_context
def poll(ctx: click.Context, once: bool, as_json: bool) -> None:
    """Poll due sources: once, or every poll interval until interrupted."""
    settings = get_settings(ctx)

    from bot.db.store import open_store
    from bot.ingest import Pipeline
    from bot.sources.fetcher import Fetcher
    from bot.sources.poller import Poller, PollSettings

    async def go() -> list[IngestReport]:
        async with open_store(settings.store_target) as store, Fetcher.from_settings(settings) as fetcher:
            poller = Poller(Pipeline(store, fetcher), PollSettings(interval=settings.poll_interval))
            if once:
                return await poller.poll_due()
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, stop.set)
                except (NotImplementedError, RuntimeError):  # not available on this platform
                    pass
            click.echo(f"Polling every {settings.poll_interval:g} s; Ctrl-C to stop.", err=True)
            await poller.run(stop)
            return []

    outcomes = run(go)
    if not once:
        return
    if as_json:
        for o in outcomes:
            click.echo(json.dumps(o.to_json(), ensure_ascii=False))
        return
    if not outcomes:
        click.echo("No sources are due.")
    for o in outcomes:
        click.echo(_outcome_line(o))
    total_new = sum(len(o.new) for o in outcomes)
    failed = sum(1 for o in outcomes if o.status == "failed")
    click.echo(f"{len(outcomes)} sources polled, {total_new} new articles, {failed} failed.")
