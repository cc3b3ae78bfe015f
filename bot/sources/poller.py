"""Polling: due sources fetched concurrently, failures backed off, dead sources paused with their reason.

A round never fails as a whole: each source's problem is recorded against that source, and a problem of the store
itself (a busy database) is not held against any source; they stay due and are tried again next round.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import sqlite3
import stat as stat_mode
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.db.articles import ArticleRepository
from bot.db.connection import Database
from bot.db.sources import SeenFile, Source, SourceNotFound, SourceRepository
from bot.errors import NewsError
from bot.news.loader import ARTICLE_SUFFIXES, FEED_SUFFIXES, load_article_file, walk_folder
from bot.news.models import ParsedArticle
from bot.sources.fetcher import FEED_ACCEPT, PAGE_ACCEPT, Fetcher, RateLimited
from bot.sources.service import Outcome, file_scope, ingest_fetched, parse_feed_file, run_cpu, scope_for

log = logging.getLogger(__name__)

BACKOFF_BASE = 5 * 60.0
BACKOFF_CAP = 6 * 3600.0
PAUSE_AFTER = 10
#: A file modified more recently than this may still be being copied into a folder source.
SETTLE_SECONDS = 2.0
_FOLDER_SUFFIXES = FEED_SUFFIXES | ARTICLE_SUFFIXES


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
    settle_seconds: float = SETTLE_SECONDS
    """A folder's file is read only once it has not changed for this long (a copy in progress is not stored)."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _file_info(path: Path, name: str) -> SeenFile | None:
    """Size and modification time of a regular file, or None if it is gone (or not a regular file, or a link)."""
    try:
        info = os.stat(path, follow_symlinks=False)
    except OSError:
        # Deleted or renamed since the directory was listed, no permission: skip it this round.
        return None
    if not stat_mode.S_ISREG(info.st_mode):
        return None
    return SeenFile(name, info.st_size, info.st_mtime_ns)


#: Problems already logged, so that every poll of a folder does not repeat them.
_REPORTED: set[tuple[Path, str]] = set()


def _scan_folder(folder: Path) -> list[SeenFile]:
    """Article and feed files under ``folder`` (hidden files skipped), never through a link that leads out of it
    (:func:`bot.news.loader.walk_folder`). Files that vanish while the folder is being listed are left out; a
    subfolder that cannot be read and a link out of the folder are left out and logged once; a folder that cannot
    be read at all is the source's failure."""
    files: list[SeenFile] = []
    try:
        entries = list(walk_folder(folder, _FOLDER_SUFFIXES))
    except (OSError, RuntimeError) as exc:
        raise NewsError(f"Cannot read the folder {folder} ({getattr(exc, 'strerror', None) or exc}).") from exc
    for path, problem in entries:
        if problem is not None:
            if (path, problem) not in _REPORTED:
                if len(_REPORTED) < 10_000:  # bounded: past that, problems are logged at every poll again
                    _REPORTED.add((path, problem))
                log.warning("Not reading %s: %s", path, problem)
            continue
        info = _file_info(path, str(path.relative_to(folder)))
        if info is not None:
            files.append(info)
    files.sort(key=lambda f: f.path)
    return files


def _unsettled(files: list[SeenFile], settle: float, now_ns: int) -> list[SeenFile]:
    limit = now_ns - int(settle * 1e9)
    return [f for f in files if f.mtime_ns > limit]


def _restat(folder: Path, files: list[SeenFile]) -> list[SeenFile]:
    """Those of ``files`` whose size and modification time have not changed since they were listed."""
    return [f for f in files if _file_info(folder / f.path, f.path) == f]


def read_article_file(path: Path) -> list[ParsedArticle]:
    """Articles in one file: every entry of a feed file, or the one article of a text or HTML file."""
    if path.suffix.lower() in FEED_SUFFIXES:
        return parse_feed_file(path).articles
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

        results = await asyncio.gather(*(guarded(s) for s in due), return_exceptions=True)
        outcomes: list[Outcome] = []
        for source, result in zip(due, results, strict=True):
            if isinstance(result, Outcome):
                outcomes.append(result)
            elif isinstance(result, Exception):
                # poll_source records its own failures; this is a bug in doing so, and stays with this source.
                log.error("Polling %s failed unexpectedly", source.location, exc_info=result)
                outcomes.append(
                    Outcome(
                        location=source.location, status="failed", error=f"internal error ({type(result).__name__})"
                    )
                )
            else:  # CancelledError, KeyboardInterrupt …: not ours to swallow
                raise result
        return outcomes

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
            await self._record_failure(
                source, error=str(exc), polled_at=now, next_due_at=now + dt.timedelta(seconds=wait), count=False
            )
        except sqlite3.OperationalError as exc:
            # "database is locked" (another process holds a long write), a full disk …: the store's problem, not
            # the source's. Nothing is counted or rescheduled, so the source is still due and is tried next round.
            outcome.status, outcome.error = "failed", f"the database could not be used ({exc}); will retry next round."
            log.warning("Source #%d %s not polled: %s", source.id, source.location, outcome.error)
            outcome.seconds = time.perf_counter() - started
            return outcome
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
        updated = await self._record_failure(
            source,
            error=error,
            polled_at=now,
            next_due_at=now + dt.timedelta(seconds=delay),
            pause_after=self.settings.pause_after,
        )
        if updated is not None and updated.paused:
            log.warning("Source #%d %s paused: %s", source.id, source.location, updated.last_error)

    async def _record_failure(
        self,
        source: Source,
        *,
        error: str,
        polled_at: dt.datetime,
        next_due_at: dt.datetime,
        count: bool = True,
        pause_after: int | None = None,
    ) -> Source | None:
        """``record_failure`` that never raises: it runs inside an exception handler, and whatever goes wrong in
        recording one source's failure must not escape into the round."""
        try:
            return await self.sources.record_failure(
                source.id,
                error=error,
                polled_at=polled_at,
                next_due_at=next_due_at,
                count=count,
                pause_after=pause_after,
            )
        except SourceNotFound:
            log.info("Source #%d %s was removed while it was polled; nothing to record.", source.id, source.location)
        except sqlite3.Error as exc:
            log.warning(
                "Could not record the failure of source #%d %s (%s); it stays due.", source.id, source.location, exc
            )
        except Exception:
            log.exception("Could not record the failure of source #%d %s", source.id, source.location)
        return None

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
            source.url,
            etag=source.etag,
            last_modified=source.last_modified,
            accept=FEED_ACCEPT if source.kind == "feed" else PAGE_ACCEPT,
        )
        if result.moved_to is not None:
            # Fetch the new address from now on; the location stays the source's identity and GUID scope.
            log.info("Source #%d %s moved permanently to %s", source.id, source.location, result.moved_to)
            await self.sources.move(source.id, result.moved_to)
        if result.not_modified:
            # Nothing changed: no parse, no writes beyond the schedule.
            outcome.status, outcome.final_url = "not_modified", result.url
            outcome.kind = "feed" if source.kind == "feed" else "page"
            outcome.fetch_seconds = result.elapsed
            await self._succeeded(source, now, etag=source.etag, last_modified=source.last_modified)
            return
        await ingest_fetched(
            result,
            articles=self.articles,
            fetcher=self.fetcher,
            outcome=outcome,
            fetch_full_text=source.fetch_full_text,
            source_id=source.id,
            scope=scope_for(source.location),
            # A page source is a page even when its server says otherwise; a feed source may have become a page.
            kind="page" if source.kind == "page" else None,
        )
        await self._succeeded(source, now, etag=result.etag, last_modified=result.last_modified, title=outcome.title)

    async def _store_file(self, path: Path, source: Source, outcome: Outcome) -> None:
        batch = await run_cpu(read_article_file, path)
        await self._store_batch(batch, path, source, outcome)

    async def _store_batch(self, batch: list[ParsedArticle], path: Path, source: Source, outcome: Outcome) -> None:
        outcome.entries += len(batch)
        for article, stored in zip(
            batch, await self.articles.add_many(batch, source_id=source.id, scope=file_scope(path)), strict=True
        ):
            if stored.error is not None:
                outcome.failed.append((f"{path}: {article.title}", stored.error))
            elif stored.new:
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
        fresh = await self._settled(folder, fresh)
        done: list[SeenFile] = []
        for info in fresh:
            path = folder / info.path
            try:
                batch = await run_cpu(read_article_file, path)
            except NewsError as exc:
                if not await asyncio.to_thread(path.exists):
                    log.info("%s disappeared before it could be read; skipped.", path)
                    continue
                # A bad file is reported once and not re-read until it changes; the folder itself is fine.
                outcome.failed.append((str(path), str(exc)))
                log.warning("Skipping %s: %s", path, exc)
            except Exception as exc:
                # A parser bug on one file is that file's failure, reported once, not the folder's.
                log.exception("Unexpected error reading %s", path)
                outcome.failed.append((str(path), f"internal error ({type(exc).__name__}); see the log."))
            else:
                # Storing errors (a busy database) propagate: the file is not marked seen and is read again.
                await self._store_batch(batch, path, source, outcome)
            done.append(info)
        await self.sources.mark_files_seen(source.id, done, now=now)
        await self._succeeded(source, now, title=source.title or folder.name)

    async def _settled(self, folder: Path, files: list[SeenFile]) -> list[SeenFile]:
        """``files`` without those still being written: a file modified within the last ``settle_seconds`` is
        looked at again after that long, and left for the next round if its size or modification time changed."""
        settle = self.settings.settle_seconds
        if settle <= 0 or not files:
            return files
        recent = _unsettled(files, settle, time.time_ns())
        if not recent:
            return files
        newest = max(f.mtime_ns for f in recent)
        wait = min(settle, max(0.0, (newest - time.time_ns()) / 1e9 + settle))
        await asyncio.sleep(wait)
        stable = {f.path for f in await asyncio.to_thread(_restat, folder, recent)}
        for f in recent:
            if f.path not in stable:
                log.info("%s is still changing (being copied?); left for the next round.", folder / f.path)
        return [f for f in files if f not in recent or f.path in stable]

    async def _poll_file(self, source: Source, outcome: Outcome, now: dt.datetime) -> None:
        path = Path(source.location)
        try:
            stat = await asyncio.to_thread(os.stat, path)
        except OSError as exc:
            raise NewsError(f"Cannot read {path} ({exc.strerror or exc}).") from exc
        info = SeenFile("", stat.st_size, stat.st_mtime_ns)
        old = (await self.sources.seen_files(source.id)).get("")
        if old is not None and (old.size, old.mtime_ns) == (info.size, info.mtime_ns):
            outcome.status = "not_modified"
        elif await self._settled(path, [info]):  # path / "" is the file itself
            await self._store_file(path, source, outcome)
            await self.sources.mark_files_seen(source.id, [info], now=now)
        await self._succeeded(source, now, title=source.title or path.name)
