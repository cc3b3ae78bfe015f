"""``newsbot sources …`` and ``newsbot poll``: manage what newsbot follows, and poll it."""

from __future__ import annotations

import datetime as dt
import json
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from bot.cli.common import (
    fail,
    get_settings,
    log_progress,
    open_existing,
    open_for_reading,
    plural,
    quiet_logger,
    run,
)
from bot.config import Settings
from bot.errors import NewsError

if TYPE_CHECKING:  # the commands import these when they run (see bot.cli)
    from bot.db.sources import Source, SourceKind, SourceRepository
    from bot.db.store import Store
    from bot.ingest import IngestReport
    from bot.sources.service import DocumentKind

_KINDS = ("auto", "feed", "page", "folder", "file")
_URL_KINDS = ("feed", "page")
_LOCAL_KINDS = ("folder", "file")


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
        "last_error_at": _iso(source.last_error_at),
        "pause_reason": source.pause_reason,
        "next_due_at": source.next_due_at.isoformat(),
        "last_polled_at": _iso(source.last_polled_at),
        "last_success_at": _iso(source.last_success_at),
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _outcome_line(o: IngestReport) -> str:
    if o.status in ("failed", "rate_limited"):
        return f"{o.status.upper():12} {o.location}: {o.error} ({o.seconds:.2f} s)"
    parts = [plural(o.entries, "entry", "entries"), f"{len(o.new):,} new", f"{o.known:,} known"]
    if o.full_text:
        parts.append(plural(o.full_text, "full text") + " fetched")
    kept = sum(1 for _, note in o.notices if note.startswith("kept the feed's excerpt"))
    if kept:
        parts.append(plural(kept, "excerpt") + " kept")
    if o.failed:
        parts.append(plural(len(o.failed), "item") + " failed")
    return f"{o.status.upper():12} {o.location}: {', '.join(parts)} ({o.seconds:.2f} s)"


@click.group()
def sources() -> None:
    """Feeds, pages and folders that newsbot polls for new articles."""


def _ref(value: str) -> str:
    if not value.strip():
        raise click.BadParameter("is empty; give a source's id (3 or #3) or its location.", param_hint="REF")
    return value


def _with_source(
    ctx: click.Context,
    ref: str,
    verb: str,
    action: Callable[[SourceRepository, Source], Awaitable[Source | None]],
) -> tuple[Source, Source]:
    """Resolve REF (id, #id or location) and apply ``action``; returns the source before and after."""
    from bot.db.sources import SourceNotFound

    settings = get_settings(ctx)
    _ref(ref)

    async def go() -> tuple[Source, Source]:
        async with open_existing(settings, missing=f"there are no sources to {verb}") as store:
            repo = store.sources
            try:
                source = await repo.resolve(ref)
            except SourceNotFound as exc:
                raise NewsError(f"{exc} `newsbot sources list` shows the sources there are.") from exc
            return source, await action(repo, source) or source

    return run(go)


async def _check_local(path: Path, kind: SourceKind) -> str:
    """Read a folder or file as its poller will, so that what cannot be polled is refused now; returns its title."""
    import asyncio
    import os

    from bot.ingest import read_file
    from bot.sources.service import run_cpu

    if kind == "folder":
        try:
            await asyncio.to_thread(os.listdir, path)
        except OSError as exc:
            raise NewsError(f"cannot read the folder ({exc.strerror or exc}).") from exc
        return path.name
    read = await run_cpu(read_file, path)  # a feed or an article, as its content says; ParseError otherwise
    return (read.title if read.feed else None) or path.name


@sources.command("add")
@click.argument("location")
@click.option("--kind", type=click.Choice(_KINDS), default="auto", show_default=True, help="What LOCATION is.")
@click.option("--title", help="A name to show instead of the feed's own title (or the folder's or file's name).")
@click.option(
    "--full-text/--no-full-text",
    default=True,
    show_default=True,
    help="Fetch the article page when a feed entry carries only an excerpt.",
)
@click.pass_context
def add(ctx: click.Context, location: str, kind: str, title: str | None, full_text: bool) -> None:
    """Follow LOCATION: a feed or page URL, or a folder (or file) of articles.

    LOCATION is fetched or read first, as a poll would: a URL that is neither a feed nor an article page, or a file
    that is empty or neither a feed nor an article, is refused with the reason (exit status 1).
    """
    from bot.db.sources import SourceExists
    from bot.db.store import open_store
    from bot.news.identity import is_url

    settings = get_settings(ctx)
    if not location.strip():
        raise click.BadParameter("is empty; give a feed or page URL, or a folder or file.", param_hint="LOCATION")
    url = is_url(location)
    if url:
        where = location
        if kind in _LOCAL_KINDS:
            raise click.BadParameter(f"{location} is a URL, not a {kind}.", param_hint="--kind")
    else:
        path = Path(location).expanduser()
        if not path.exists():
            fail(f"{location} is neither an http(s) URL nor an existing file or folder.")
        found_kind: SourceKind = "folder" if path.is_dir() else "file"
        if kind != "auto" and kind != found_kind:
            raise click.BadParameter(f"{location} is a {found_kind}, not a {kind}.", param_hint="--kind")
        where = str(path.resolve())
    chosen = cast("DocumentKind", kind) if kind in _URL_KINDS else None

    async def go() -> tuple[Source, IngestReport | None]:
        async with open_store(settings.store_target) as store:
            if await store.sources.find(where) is not None:
                raise SourceExists(f"{where} is already a source.")
            if url:
                report = await _check_url(store, settings, where, chosen)
                if report.error is not None:
                    raise NewsError(f"{where} was not added: {report.error}")
                final: SourceKind = report.kind or "page"
                found_title = report.title
            else:
                report, final = None, found_kind
                try:
                    found_title = await _check_local(Path(where), found_kind)
                except NewsError as exc:
                    raise NewsError(f"{where} was not added: {exc}") from exc
            source = await store.sources.add(
                where, final, title=title or found_title or None, fetch_full_text=full_text
            )
            return source, report

    source, report = run(go)
    click.echo(f"Added source #{source.id} ({source.kind}): {source.location}")
    details = [f"title: {source.title}"] if source.title else []
    if report is not None:
        details.append(f"{plural(report.entries, 'entry', 'entries')}, {report.unseen:,} not stored yet")
    if details:
        click.echo(f"      {'; '.join(details)}")


async def _check_url(store: Store, settings: Settings, url: str, kind: DocumentKind | None) -> IngestReport:
    from bot.ingest import Pipeline
    from bot.sources.fetcher import Fetcher

    async with Fetcher.from_settings(settings) as fetcher:
        return await Pipeline(store, fetcher).check_url(url, kind=kind)


@sources.command("remove")
@click.argument("ref")
@click.pass_context
def remove(ctx: click.Context, ref: str) -> None:
    """Stop following a source (by id or location). Its articles stay."""

    async def remove_it(repo: SourceRepository, source: Source) -> None:
        await repo.remove(source.id)

    source, _ = _with_source(ctx, ref, "remove", remove_it)
    click.echo(f"Removed source #{source.id}: {source.location}")


@sources.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def list_sources(ctx: click.Context, as_json: bool) -> None:
    """Every source with its status, failures and next poll (reads only)."""
    settings = get_settings(ctx)

    async def go() -> list[Source]:
        async with open_for_reading(settings) as store:
            return [] if store is None else await store.sources.all()

    found = run(go)
    if as_json:
        click.echo(json.dumps([_source_json(s) for s in found], ensure_ascii=False, indent=2))
        return
    if not found:
        click.echo("No sources yet; add one with `newsbot sources add URL`.")
        return
    now = dt.datetime.now(dt.UTC)
    for s in found:
        health = s.status if not s.failures else f"{s.status}, {plural(s.failures, 'failure')}"
        next_poll = (
            "not polled while paused"
            if s.paused
            else ("due now" if s.next_due_at <= now else f"next {_when(s.next_due_at)}")
        )
        click.echo(f"#{s.id:<4} {s.kind:6} {health:22} {next_poll:26}  {s.title or ''}".rstrip())
        click.echo(f"      {s.location}")
        if s.fetch_url:
            click.echo(f"      moved permanently to {s.fetch_url}")
        if s.pause_reason:
            click.echo(f"      paused: {s.pause_reason}")
        if s.last_error:
            # Labelled with its time: after a resume the failure count starts over, but this is still what the
            # last poll did, until the next one.
            click.echo(f"      last poll failed ({_when(s.last_error_at)}): {s.last_error}")


@sources.command("pause")
@click.argument("ref")
@click.option("--reason", help="Why; shown in `sources list`.")
@click.pass_context
def pause(ctx: click.Context, ref: str, reason: str | None) -> None:
    """Stop polling a source without forgetting it (a paused source cannot be paused again: resume it first)."""
    from bot.db.sources import SourceAlreadyPaused

    why = f"paused by operator: {reason}" if reason else "paused by operator"

    async def pause_it(repo: SourceRepository, source: Source) -> Source:
        try:
            return await repo.pause(source.id, why)
        except SourceAlreadyPaused as exc:
            raise NewsError(f"{exc} To give another reason, `newsbot sources resume {source.id}` first.") from exc

    source, _ = _with_source(ctx, ref, "pause", pause_it)
    click.echo(f"Paused source #{source.id}: {source.location}")


@sources.command("resume")
@click.argument("ref")
@click.pass_context
def resume(ctx: click.Context, ref: str) -> None:
    """Poll a paused source again, due now (its failure count starts over)."""
    before, after = _with_source(ctx, ref, "resume", lambda repo, source: repo.resume(source.id))
    if before.paused:
        click.echo(f"Resumed source #{after.id}: {after.location} (due now)")
    else:
        click.echo(f"Source #{after.id} was not paused; it is due now: {after.location}")


@sources.command("check")
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def check(ctx: click.Context, url: str, as_json: bool) -> None:
    """Fetch URL and report status, entries, new items and timing; nothing is stored (exit status 1 if it failed)."""
    from bot.news.identity import is_url

    settings = get_settings(ctx)
    if not is_url(url):
        raise click.BadParameter(
            f"{url!r} is not an http(s) URL (`newsbot parse FILE` reads a file).", param_hint="URL"
        )

    from bot.db.store import open_store

    async def go() -> IngestReport:
        async with open_for_reading(settings) as existing:
            if existing is not None:
                return await _check_url(existing, settings, url, None)
        # No store yet: every entry is new. An empty store in memory answers that, and nothing is created on disk.
        async with open_store(":memory:") as scratch:
            return await _check_url(scratch, settings, url, None)

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
        click.echo(f"       {plural(outcome.entries, 'entry', 'entries')}, {outcome.unseen:,} not stored yet")
        click.echo(
            f"       fetch {outcome.fetch_seconds * 1000:.0f} ms, parse {outcome.parse_seconds * 1000:.0f} ms,"
            f" total {outcome.seconds * 1000:.0f} ms"
        )
        for _, notice in outcome.notices:
            click.echo(f"       warning: {notice}")
    if outcome.status == "failed":
        ctx.exit(1)


@click.command()
@click.option("--once", is_flag=True, help="Poll the sources that are due, then exit (status 1 if any failed).")
@click.option("--json", "as_json", is_flag=True, help="With --once: print one JSON object per source.")
@click.pass_context
def poll(ctx: click.Context, once: bool, as_json: bool) -> None:
    """Poll due sources: once, or every poll interval until interrupted."""
    if as_json and not once:
        raise click.UsageError("--json needs --once: polling until interrupted reports in the log, not JSON.", ctx)
    settings = get_settings(ctx)
    if not once:
        log_progress(ctx)
    else:
        # The report below names every failure; the poller's warnings would say each one a second time.
        quiet_logger(ctx, "bot.sources.poller")

    import asyncio

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
    failed_sources = sum(1 for o in outcomes if o.error is not None)
    failed_items = sum(len(o.failed) for o in outcomes)
    if as_json:
        for o in outcomes:
            click.echo(json.dumps(o.to_json(), ensure_ascii=False))
    else:
        if not outcomes:
            click.echo("No sources are due.")
        for o in outcomes:
            click.echo(_outcome_line(o))
        for o in outcomes:
            for item, reason in o.failed:
                click.echo(f"failed: {item}: {reason}", err=True)
        total_new = sum(len(o.new) for o in outcomes)
        summary = (
            f"{plural(len(outcomes), 'source')} polled, {plural(total_new, 'new article')}, {failed_sources} failed"
        )
        if failed_items:
            summary += f"; {plural(failed_items, 'item')} could not be read or stored"
        click.echo(summary + ".")
    sys.exit(1 if failed_sources or failed_items else 0)
