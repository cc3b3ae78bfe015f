"""Polling: due sources fetched concurrently, failures backed off, dead sources paused with their reason."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.db.articles import ArticleRepository
from bot.db.connection import Database
from bot.db.sources import SeenFile, Source, SourceRepository
from bot.errors import NewsError, ParseError
from bot.news.models import ParsedArticle
from bot.sources.fetcher import FEED_ACCEPT, PAGE_ACCEPT, Fetcher, RateLimited
from bot.sources.service import Outcome, extract_page, ingest_fetched, parse_feed_file, run_cpu, scope_for

log = logging.getLogger(__name__)

BACKOFF_BASE = 5 * 60.0
BACKOFF_CAP = 6 * 3600.0
PAUSE_AFTER = 10
FEED_FILE_SUFFIXES = frozenset({".xml", ".rss", ".atom", ".json", ".rdf"})
ARTICLE_FILE_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".text", ".html", ".htm", ".xhtml"})


def backoff_delay(failures: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Seconds before the next try after ``failures`` consecutive failures: base, 2×base, 4×base … capped."""
    if failures <= 0:
        return 0.0
    return min(cap, base * 2.0 ** min(failures - 1, 32))


@dataclass(frozen=True, slots=True)
class PollSettings:
    interval: float = 300.0
    """Seconds between polls of a healthy source."""
    concurrency: int = 16
    """Sources fetched at once (the fetcher also limits connections per host)."""
    backoff_base: float = BACKOFF_BASE
    backoff_cap: float = BACKOFF_CAP
    pause_after: int = PAUSE_AFTER
    full_text_limit: int = 25


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _scan_folder(folder: Path) -> list[SeenFile]:
    files: list[SeenFile] = []
    for path in folder.rglob("*"):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() not in FEED_FILE_SUFFIXES | ARTICLE_FILE_SUFFIXES:
            continue
        stat = path.stat()
        files.append(SeenFile(str(path.relative_to(folder)), stat.st_size, stat.st_mtime_ns))
    files.sort(key=lambda f: f.path)
    return files


def read_article_file(path: Path) -> list[ParsedArticle]:
    """Articles in one file: every entry of a feed file, or the one article of a text or HTML file."""
    if path.suffix.lower() in FEED_FILE_SUFFIXES:
        return parse_feed_file(path).articles
    from bot.news.loader import load_article_file

    return [load_article_file(path).article]


class Poller:
    def __init__(
        self,
        db: Database,
        fetcher: Fetcher,
        settings: PollSettings | None = None,
        *,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        self.sources = SourceRepository(db)
        self.articles = ArticleRepository(db)
        self.fetcher = fetcher
        self.settings = settings or PollSettings()
        self.clock = clock

    async def poll_due(self) -> list[Outcome]:
        """Poll every source that is due now, concurrently; one outcome per source."""
        due = await self.sources.due(self.clock())
        if not due:
            return []
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def guarded(source: Source) -> Outcome:
            async with gate:
                return await self.poll_source(source)

        return list(await asyncio.gather(*(guarded(s) for s in due)))

    async def run(self, stop: asyncio.Event) -> None:
        """Poll due sources until ``stop`` is set; never dies on one round's failure."""
        while not stop.is_set():
            try:
                outcomes = await self.poll_due()
                if outcomes:
                    new = sum(len(o.new) for o in outcomes)
                    log.info("Polled %d sources: %d new articles", len(outcomes), new)
            except Exception:
                # A bug or a database hiccup in one round must not stop polling for good (peers' #1 complaint).
                log.exception("Polling round failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=min(60.0, self.settings.interval))
            except TimeoutError:
                pass

    async def poll_source(self, source: Source) -> Outcome:
        """Poll one source and record the result (validators and schedule, or the failure and backoff)."""
        started = time.perf_counter()
        outcome = Outcome(location=source.location)
        now = self.clock()
        try:
            if source.kind in ("feed", "page"):
                await self._poll_url(source, outcome)
            elif source.kind == "folder":
                await self._poll_folder(source, outcome, now)
            else:
                await self._poll_file(source, outcome, now)
        except RateLimited as exc:
            outcome.status, outcome.error = "rate_limited", str(exc)
            wait = max(exc.retry_after, 60.0)
            await self.sources.record_failure(
                source.id, error=str(exc), polled_at=now, next_due_at=now + dt.timedelta(seconds=wait), count=False
            )
        except NewsError as exc:
            outcome.status, outcome.error = "failed", str(exc)
            await self._failed(source, str(exc), now)
        except Exception as exc:
            # An unexpected error is a failure of this source, never of the whole round.
            log.exception("Unexpected error polling %s", source.location)
            outcome.status, outcome.error = "failed", f"internal error ({type(exc).__name__}: {exc})"
            await self._failed(source, outcome.error, now)
        outcome.seconds = time.perf_counter() - started
        if outcome.status == "failed":
            log.warning("Source #%d %s failed: %s", source.id, source.location, outcome.error)
        return outcome

    async def _failed(self, source: Source, error: str, now: dt.datetime) -> None:
        failures = source.failures + 1
        delay = backoff_delay(failures, base=self.settings.backoff_base, cap=self.settings.backoff_cap)
        updated = await self.sources.record_failure(
            source.id,
            error=error,
            polled_at=now,
            next_due_at=now + dt.timedelta(seconds=delay),
            pause_after=self.settings.pause_after,
        )
        if updated.paused:
            log.warning("Source #%d %s paused: %s", source.id, source.location, updated.last_error)

    async def _succeeded(
        self,
        source: Source,
        now: dt.datetime,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        title: str | None = None,
    ) -> None:
        await self.sources.record_success(
            source.id,
            polled_at=now,
            next_due_at=now + dt.timedelta(seconds=self.settings.interval),
            etag=etag,
            last_modified=last_modified,
            title=title,
        )

    async def _poll_url(self, source: Source, outcome: Outcome) -> None:
        now = self.clock()
        result = await self.fetcher.fetch(
            source.location,
            etag=source.etag,
            last_modified=source.last_modified,
            accept=FEED_ACCEPT if source.kind == "feed" else PAGE_ACCEPT,
        )
        if result.not_modified:
            # Nothing changed: no parse, no writes beyond the schedule.
            outcome.status, outcome.final_url = "not_modified", result.url
            outcome.kind = "feed" if source.kind == "feed" else "page"
            outcome.fetch_seconds = result.elapsed
            await self._succeeded(source, now, etag=source.etag, last_modified=source.last_modified)
            return
        if source.kind == "page":
            article = await extract_page(result)
            stored = await self.articles.add(article, source_id=source.id)
            outcome.kind, outcome.title, outcome.entries = "page", article.title, 1
            if stored.new:
                outcome.new.append(stored.article_id)
            else:
                outcome.known += 1
        else:
            await ingest_fetched(
                result,
                articles=self.articles,
                fetcher=self.fetcher,
                outcome=outcome,
                fetch_full_text=source.fetch_full_text,
                source_id=source.id,
                scope=scope_for(source.location),
            )
        await self._succeeded(source, now, etag=result.etag, last_modified=result.last_modified, title=outcome.title)

    async def _store_file(self, path: Path, source: Source, outcome: Outcome) -> None:
        batch = await run_cpu(read_article_file, path)
        outcome.entries += len(batch)
        for stored in await self.articles.add_many(batch, source_id=source.id, scope=str(path)):
            if stored.new:
                outcome.new.append(stored.article_id)
            else:
                outcome.known += 1

    async def _poll_folder(self, source: Source, outcome: Outcome, now: dt.datetime) -> None:
        folder = Path(source.location)
        if not await asyncio.to_thread(folder.is_dir):
            raise NewsError(f"{folder} is not a folder (moved or deleted?).")
        outcome.kind = None
        files = await asyncio.to_thread(_scan_folder, folder)
        seen = await self.sources.seen_files(source.id)
        fresh = [f for f in files if seen.get(f.path) != f]  # new, or changed in size or modification time
        done: list[SeenFile] = []
        for info in fresh:
            path = folder / info.path
            try:
                await self._store_file(path, source, outcome)
            except ParseError as exc:
                # A bad file is reported once and not re-read until it changes; the folder itself is fine.
                outcome.failed.append((str(path), str(exc)))
                log.warning("Skipping %s: %s", path, exc)
            done.append(info)
        await self.sources.mark_files_seen(source.id, done, now=now)
        await self._succeeded(source, now, title=source.title or folder.name)

    async def _poll_file(self, source: Source, outcome: Outcome, now: dt.datetime) -> None:
        path = Path(source.location)
        try:
            stat = await asyncio.to_thread(os.stat, path)
        except OSError as exc:
            raise NewsError(f"Cannot read {path} ({exc.strerror or exc}).") from exc
        info = SeenFile("", stat.st_size, stat.st_mtime_ns)
        old = (await self.sources.seen_files(source.id)).get("")
        if old is None or (old.size, old.mtime_ns) != (info.size, info.mtime_ns):
            await self._store_file(path, source, outcome)
            await self.sources.mark_files_seen(source.id, [info], now=now)
        else:
            outcome.status = "not_modified"
        await self._succeeded(source, now, title=source.title or path.name)
