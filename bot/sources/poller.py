"""Polling: due sources fetched concurrently, failures backed off, dead sources paused with their reason.

A round never fails as a whole: each source's problem is recorded against that source, and a problem of the store
itself (a busy database) is not held against any source; they stay due and are tried again next round.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import stat as stat_mode
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.db.errors import StoreError
from bot.db.sources import SeenFile, Source, SourceNotFound
from bot.errors import NewsError
from bot.ingest import IngestReport, Pipeline, read_file
from bot.news.loader import ARTICLE_SUFFIXES, FEED_SUFFIXES, walk_folder
from bot.sources.fetcher import FEED_ACCEPT, PAGE_ACCEPT, Fetcher, RateLimited
from bot.sources.service import file_scope, internal_error, run_cpu, scope_for

log = logging.getLogger(__name__)

BACKOFF_BASE = 5 * 60.0
BACKOFF_CAP = 6 * 3600.0
PAUSE_AFTER = 10
#: A file modified more recently than this may still be being copied into a folder source.
SETTLE_SECONDS = 2.0
#: How long a claimed source is this poller's: far longer than a poll takes (fetch timeouts, full-text pages), so
#: that only a poller that died loses its claims.
CLAIM_LEASE = dt.timedelta(minutes=15)
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


class Poller:
    """Polls the sources that are due, as one of any number of pollers sharing the store.

    Each round claims due sources (a lease of :data:`CLAIM_LEASE`), polls them concurrently and records each result,
    which ends the claim; a poller that dies leaves its claims to expire, and then another poller takes them.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        settings: PollSettings | None = None,
        *,
        clock: Callable[[], dt.datetime] = _utcnow,
    ) -> None:
        if pipeline.fetcher is None:
            raise ValueError("the poller needs a pipeline with a fetcher")
        self.pipeline = pipeline
        self.store = pipeline.store
        self.sources = pipeline.store.sources
        self.fetcher: Fetcher = pipeline.fetcher
        self.settings = settings or PollSettings()
        self.clock = clock
        self.worker_id = pipeline.store.worker_id
        self._unreleased: set[int] = set()

    async def poll_due(self) -> list[IngestReport]:
        """Claim and poll every source that is due now, concurrently; one report per source."""
        reports: list[IngestReport] = []
        gate = asyncio.Semaphore(self.settings.concurrency)

        async def guarded(source: Source) -> IngestReport:
            async with gate:
                return await self.poll_source(source)

        await self._release_leftovers()
        while True:
            try:
                claimed = await self.sources.claim_due(
                    worker_id=self.worker_id, limit=self.settings.concurrency * 2, lease=CLAIM_LEASE, now=self.clock()
                )
            except StoreError as exc:
                # The store itself is busy or away: no source is to blame, and all of them stay due.
                log.warning("Could not claim due sources (%s); trying again next round.", exc)
                return reports
            if not claimed:
                return reports
            results = await asyncio.gather(*(guarded(s) for s in claimed), return_exceptions=True)
            for source, result in zip(claimed, results, strict=True):
                if isinstance(result, IngestReport):
                    reports.append(result)
                elif isinstance(result, Exception):
                    # poll_source records its own failures; this is a bug in doing so, and stays with this source.
                    log.error("Polling %s failed unexpectedly", source.location, exc_info=result)
                    await self._release(source)
                    reports.append(
                        IngestReport(location=source.location, status="failed", error=internal_error(result))
                    )
                else:  # CancelledError, KeyboardInterrupt …: not ours to swallow
                    raise result

    async def run(self, stop: asyncio.Event) -> None:
        """Poll due sources until ``stop`` is set; never dies on one round's failure."""
        try:
            while not stop.is_set():
                try:
                    reports = await self.poll_due()
                    if reports:
                        new = sum(len(r.new) for r in reports)
                        log.info("Polled %d sources: %d new articles", len(reports), new)
                except Exception:
                    # A bug or a store outage in one round must not stop polling for good (peers' #1 complaint).
                    log.exception("Polling round failed")
                try:
                    await asyncio.wait_for(stop.wait(), timeout=min(60.0, self.settings.interval))
                except TimeoutError:
                    pass
        finally:
            # Whatever this poller still holds, others may take at once instead of after the lease.
            try:
                await asyncio.shield(self.sources.release_all(worker_id=self.worker_id))
            except (StoreError, asyncio.CancelledError):
                log.info("Could not hand back claimed sources; their leases will run out instead.")

    async def _release(self, source: Source) -> None:
        """Hand a source back unpolled; if even that fails, it is handed back at the start of the next round."""
        try:
            await self.sources.release(source.id, worker_id=self.worker_id)
        except StoreError as exc:
            log.info("Could not release source #%d yet (%s); trying again next round.", source.id, exc)
            self._unreleased.add(source.id)

    async def _release_leftovers(self) -> None:
        for source_id in sorted(self._unreleased):
            try:
                await self.sources.release(source_id, worker_id=self.worker_id)
            except StoreError:
                return  # still unusable; the claim round below will say so
            self._unreleased.discard(source_id)

    async def poll_source(self, source: Source) -> IngestReport:
        """Poll one (claimed) source and record the result (validators and schedule, or the failure and backoff)."""
        started = time.perf_counter()
        report = IngestReport(location=source.location)
        now = self.clock()
        try:
            if source.kind in ("feed", "page"):
                await self._poll_url(source, report)
            elif source.kind == "folder":
                await self._poll_folder(source, report, now)
            else:
                await self._poll_file(source, report, now)
        except RateLimited as exc:
            report.fail(str(exc), "rate_limited")
            wait = max(exc.retry_after, 60.0)
            await self._record_failure(
                source, error=str(exc), polled_at=now, next_due_at=now + dt.timedelta(seconds=wait), count=False
            )
        except StoreError as exc:
            # A busy or unreachable store is the store's problem, not the source's: nothing is counted or
            # rescheduled, so the source is still due and is tried again next round.
            report.fail(f"the database could not be used ({exc}); will retry next round.")
            log.warning("Source #%d %s not polled: %s", source.id, source.location, report.error)
            await self._release(source)
            report.seconds = time.perf_counter() - started
            return report
        except NewsError as exc:
            report.fail(str(exc))
            await self._failed(source, str(exc), now)
        except Exception as exc:
            # An unexpected error is a failure of this source, never of the whole round.
            log.exception("Unexpected error polling %s", source.location)
            report.fail(internal_error(exc))
            await self._failed(source, report.error or "internal error", now)
        report.seconds = time.perf_counter() - started
        if report.status == "failed":
            log.warning("Source #%d %s failed: %s", source.id, source.location, report.error)
        return report

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
            log.warning("Source #%d %s paused: %s", source.id, source.location, updated.pause_reason)

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
                worker_id=self.worker_id,
            )
        except SourceNotFound:
            log.info("Source #%d %s was removed while it was polled; nothing to record.", source.id, source.location)
        except StoreError as exc:
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
        recorded = await self.sources.record_success(
            source.id,
            polled_at=now,
            next_due_at=now + dt.timedelta(seconds=self.settings.interval),
            etag=etag,
            last_modified=last_modified,
            title=title,
            worker_id=self.worker_id,
        )
        if not recorded:
            log.info("Source #%d %s was removed or taken over while it was polled.", source.id, source.location)

    async def _poll_url(self, source: Source, report: IngestReport) -> None:
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
            report.status, report.final_url = "not_modified", result.url
            report.kind = "feed" if source.kind == "feed" else "page"
            report.fetch_seconds = result.elapsed
            await self._succeeded(source, now, etag=source.etag, last_modified=source.last_modified)
            return
        await self.pipeline.ingest_fetched(
            result,
            report,
            fetch_full_text=source.fetch_full_text,
            source=source,
            scope=scope_for(source.location),
            # A page source is a page even when its server says otherwise; a feed source may have become a page.
            kind="page" if source.kind == "page" else None,
        )
        await self._succeeded(source, now, etag=result.etag, last_modified=result.last_modified, title=report.title)

    async def _store_file(self, path: Path, source: Source, report: IngestReport) -> None:
        read = await run_cpu(read_file, path)
        await self.pipeline.store_file(report, path, read, source=source, scope=file_scope(path))

    async def _poll_folder(self, source: Source, report: IngestReport, now: dt.datetime) -> None:
        folder = Path(source.location)
        if not await asyncio.to_thread(folder.is_dir):
            raise NewsError(f"{folder} is not a folder (moved or deleted?).")
        report.kind = None
        files = await asyncio.to_thread(_scan_folder, folder)
        seen = await self.sources.seen_files(source.id)
        fresh = [f for f in files if seen.get(f.path) != f]  # new, or changed in size or modification time
        fresh = await self._settled(folder, fresh)
        done: list[SeenFile] = []
        for info in fresh:
            path = folder / info.path
            try:
                read = await run_cpu(read_file, path)
            except NewsError as exc:
                if not await asyncio.to_thread(path.exists):
                    log.info("%s disappeared before it could be read; skipped.", path)
                    continue
                # A bad file is reported once and not re-read until it changes; the folder itself is fine.
                report.failed.append((str(path), str(exc)))
                log.warning("Skipping %s: %s", path, exc)
            except Exception as exc:
                # A parser bug on one file is that file's failure, reported once, not the folder's.
                log.exception("Unexpected error reading %s", path)
                report.failed.append((str(path), f"internal error ({type(exc).__name__}); see the log."))
            else:
                # Storing errors (a busy database) propagate: the file is not marked seen and is read again.
                await self.pipeline.store_file(report, path, read, source=source, scope=file_scope(path))
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

    async def _poll_file(self, source: Source, report: IngestReport, now: dt.datetime) -> None:
        path = Path(source.location)
        try:
            stat = await asyncio.to_thread(os.stat, path)
        except OSError as exc:
            raise NewsError(f"Cannot read {path} ({exc.strerror or exc}).") from exc
        info = SeenFile("", stat.st_size, stat.st_mtime_ns)
        old = (await self.sources.seen_files(source.id)).get("")
        if old is not None and (old.size, old.mtime_ns) == (info.size, info.mtime_ns):
            report.status = "not_modified"
        elif await self._settled(path, [info]):  # path / "" is the file itself
            await self._store_file(path, source, report)
            await self.sources.mark_files_seen(source.id, [info], now=now)
        await self._succeeded(source, now, title=source.title or path.name)
