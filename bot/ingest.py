"""The one ingest pipeline: every way an article arrives (a file, a folder, a feed file, a URL, a polled source) ends
in :meth:`Pipeline.store`, and every way reports in one :class:`IngestReport`.

Documents are parsed off the event loop (:func:`bot.sources.service.run_cpu`); a batch of files is parsed ahead of
storing (a window of parses in flight) so that parsing and storing overlap, and stored in batches. Storing happens in
chunks, each one unit of work: the articles, and whatever the registered store hooks write in reaction to them (the
announcement outbox), commit together or not at all. An item's failure is that item's one-line failure; a batch goes
on whatever happens to one of its items, even a bug.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from bot.db.articles import CHUNK, StoreResult
from bot.errors import NewsError, ParseError
from bot.news.identity import is_url
from bot.news.loader import ARTICLE_SUFFIXES, FEED_SUFFIXES, SNIFF_BYTES, load_article_file, sniff, walk_folder
from bot.news.models import ParsedArticle
from bot.sources.service import (
    DocumentKind,
    classify,
    enrich_entries,
    extract_page,
    file_scope,
    internal_error,
    page_aliases,
    parse_feed,
    parse_feed_file,
    run_cpu,
    scope_for,
)
from bot.workers import parse_ahead

if TYPE_CHECKING:
    from bot.db.sources import Source
    from bot.db.store import Store, Tx
    from bot.sources.fetcher import Fetcher, FetchResult

log = logging.getLogger(__name__)

ReportStatus = Literal["ok", "not_modified", "failed", "rate_limited"]

#: Local files read per parsing-worker call: one round trip costs about as much as parsing a small article.
PARSE_BATCH = 16
#: Parsed single-article files stored per unit of work.
STORE_BATCH = 100

INGEST_SUFFIXES = ARTICLE_SUFFIXES | FEED_SUFFIXES
"""What ``newsbot ingest`` picks up from a folder: article files and feed files."""


@dataclass(slots=True)
class IngestReport:
    """What one ingest, poll or check of a location did; reports of several locations merge into one."""

    location: str = ""
    status: ReportStatus = "ok"
    kind: DocumentKind | None = None
    title: str | None = None
    entries: int = 0
    new: list[int] = field(default_factory=list)
    known: int = 0
    unseen: int = 0
    """Entries not yet in the store (``check`` only; ingesting reports ``new``)."""
    full_text: int = 0
    """Pages fetched to replace an excerpt by the full article."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """(item, one-line reason) for items that could not be read or stored."""
    notices: list[tuple[str, str]] = field(default_factory=list)
    """(item, note): what an operator may want to know that is no failure (an excerpt kept, an encoding guessed)."""
    error: str | None = None
    """Why the location as a whole failed."""
    seconds: float = 0.0
    fetch_seconds: float = 0.0
    parse_seconds: float = 0.0
    final_url: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed

    def fail(self, error: str, status: ReportStatus = "failed") -> None:
        self.status, self.error = status, error

    def merge(self, other: IngestReport) -> None:
        """Fold another location's report into this batch report (its location-level error becomes an item)."""
        self.entries += other.entries
        self.new += other.new
        self.known += other.known
        self.unseen += other.unseen
        self.full_text += other.full_text
        self.failed += other.failed
        if other.error:
            self.failed.append((other.location, other.error))
        self.notices += other.notices
        if not self.ok:
            self.status = "failed"

    def summary(self) -> str:
        return f"{len(self.new)} new, {self.known} already known, {len(self.failed)} failed"

    def to_json(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data["new"] = len(self.new)
        data["new_ids"] = self.new
        data["failed"] = [list(f) for f in self.failed]
        data["notices"] = [list(n) for n in self.notices]
        return data


@dataclass(frozen=True, slots=True)
class StoredBatch:
    """What one unit of work stored, for store hooks: one result per article, in order."""

    articles: Sequence[ParsedArticle]
    results: Sequence[StoreResult]
    source: Source | None
    """The source the articles came from, as it was when the poll started (None: an operator's ingest)."""


StoreHook = Callable[["Tx", StoredBatch], Awaitable[None]]
"""Runs inside the unit of work that stored a batch: what it writes commits with the articles or not at all."""

CommitListener = Callable[[StoredBatch], Awaitable[None]]
"""Runs after a batch's unit of work committed (wake the sender, index the new articles for search). It must not
fail the ingest: an exception is logged and the batch stays stored."""


class Unusable(str):
    """A planned item that cannot be ingested (a link out of its folder, a folder that cannot be read): its
    location, and in ``reason`` why."""

    reason: str

    def __new__(cls, location: str, reason: str) -> Unusable:
        item = super().__new__(cls, location)
        item.reason = reason
        return item


def expand_paths(paths: Iterable[Path], suffixes: frozenset[str] = ARTICLE_SUFFIXES) -> Iterator[Path | Unusable]:
    """Files as given, and the matching files under each folder (sorted, hidden files skipped); folders never
    lead out of themselves (see :func:`bot.news.loader.walk_folder`), and what cannot be read is ``Unusable``."""
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        try:
            for found, reason in walk_folder(path, suffixes):
                yield found if reason is None else Unusable(str(found), reason)
        except (OSError, RuntimeError) as exc:
            yield Unusable(str(path), f"cannot read the folder ({getattr(exc, 'strerror', None) or exc}).")


def _existing_path(location: str) -> Path | None:
    try:
        path = Path(location)
        return path if path.exists() else None
    except (OSError, ValueError):  # a name too long for the file system, an embedded NUL byte …
        return None


def _unusable_location(location: str) -> str:
    if isinstance(location, Unusable):
        return location.reason
    if "://" in location:
        return "not a valid http(s) URL, and no such file or folder."
    return "no such file, folder or URL."


def _runs(planned: Iterable[str | Path]) -> Iterator[tuple[bool, list[Any]]]:
    """The planned items in order, grouped into runs of local files (True) and of anything else (False)."""
    run: list[Any] = []
    local = False
    for item in planned:
        is_local = isinstance(item, Path)
        if run and is_local != local:
            yield local, run
            run = []
        local = is_local
        run.append(item)
    if run:
        yield local, run


def plan_locations(locations: Iterable[str]) -> list[str | Path]:
    """Expand the command line: URLs stay as they are, folders become their files, missing paths stay strings."""
    planned: list[str | Path] = []
    for location in locations:
        path = None if is_url(location) else _existing_path(location)
        if path is None:
            planned.append(location)
            continue
        try:
            planned.extend(expand_paths([path], INGEST_SUFFIXES))
        except OSError as exc:
            # An unreadable folder is that location's failure, reported when it comes up (as a missing path).
            log.warning("Cannot list %s: %s", path, exc)
            planned.append(location)
    return planned


@dataclass(frozen=True, slots=True)
class ReadFile:
    """What one local file holds, as a worker read it: every entry of a feed, or one article."""

    articles: list[ParsedArticle]
    feed: bool
    title: str | None
    notice: str | None
    """A feed's warning, or how an article file was decoded when that was a guess."""


def read_file(path: Path) -> ReadFile:
    """Read a local file as what its content says it is (:func:`bot.news.loader.sniff`), not its name: a feed saved
    without an extension is a feed. Runs in a parsing worker; every failure is a ParseError with its reason."""
    try:
        with path.open("rb") as handle:
            head = handle.read(SNIFF_BYTES)
    except OSError as exc:
        raise ParseError(f"cannot read the file ({exc.strerror or exc}).") from exc
    if sniff(head) == "feed":
        feed = parse_feed_file(path)
        return ReadFile(feed.articles, True, feed.meta.title, feed.meta.warning)
    loaded = load_article_file(path)
    return ReadFile([loaded.article], False, loaded.article.title, loaded.notice)


@contextlib.asynccontextmanager
async def recorded(report: IngestReport) -> AsyncIterator[float]:
    """Time the work on ``report`` and turn any failure into ``report.error`` instead of raising.

    Expected failures (a refused fetch, an unparseable document, a store that cannot be reached) keep their sentence;
    anything else is a bug, logged with its traceback and shown as one line. Yields the start time.
    """
    started = time.perf_counter()
    try:
        yield started
    except NewsError as exc:
        report.fail(str(exc))
    except Exception as exc:
        log.error("Unexpected error with %s", report.location, exc_info=exc)
        report.fail(internal_error(exc))
    finally:
        report.seconds = time.perf_counter() - started


class Pipeline:
    """Parses and stores articles into ``store``; owned by the bot (and the CLI), shared by every caller."""

    def __init__(
        self,
        store: Store,
        fetcher: Fetcher | None = None,
        *,
        hooks: Sequence[StoreHook] = (),
        listeners: Sequence[CommitListener] = (),
        full_text_limit: int = 25,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.hooks: list[StoreHook] = list(hooks)
        self.listeners: list[CommitListener] = list(listeners)
        self.full_text_limit = full_text_limit

    # --- the one place articles are stored ----------------------------------------------------------------------

    async def store_articles(
        self,
        report: IngestReport,
        articles: Sequence[ParsedArticle],
        *,
        source: Source | None = None,
        scope: str | None = None,
        labels: Sequence[str] | None = None,
    ) -> list[StoreResult]:
        """Store ``articles`` (chunk by chunk, each with its hooks in one unit of work) and count them in ``report``.

        ``labels`` names each item in a failure line (default: its URL, GUID or title).
        """
        results: list[StoreResult] = []
        source_id = source.id if source is not None else None
        for start in range(0, len(articles), CHUNK):
            chunk = articles[start : start + CHUNK]

            async def unit(tx: Tx, chunk: Sequence[ParsedArticle] = chunk) -> list[StoreResult]:
                stored = await tx.articles.add_many(chunk, source_id=source_id, scope=scope)
                batch = StoredBatch(chunk, stored, source)
                for hook in self.hooks:
                    await hook(tx, batch)
                return stored

            done = await self.store.run(unit)
            results += done
            await self._committed(StoredBatch(chunk, done, source))
        for i, (article, stored) in enumerate(zip(articles, results, strict=True)):
            if stored.error is not None:
                label = labels[i] if labels is not None else (article.url or article.guid or article.title)
                report.failed.append((label, stored.error))
            elif stored.new:
                report.new.append(stored.article_id)
            else:
                report.known += 1
        return results

    async def _committed(self, batch: StoredBatch) -> None:
        for listener in self.listeners:
            try:
                await listener(batch)
            except Exception:
                log.exception("A listener failed after %d articles were stored; they stay stored", len(batch.results))

    # --- files ----------------------------------------------------------------------------------------------------

    async def ingest_file(self, path: Path, *, source: Source | None = None, scope: str | None = None) -> IngestReport:
        """An article file or a feed file, read off the loop (in a parsing worker) and stored."""
        report = IngestReport(location=str(path))
        async with recorded(report) as started:
            read = await run_cpu(read_file, path)
            report.parse_seconds = time.perf_counter() - started
            await self.store_file(report, path, read, source=source, scope=scope)
        return report

    async def store_file(
        self, report: IngestReport, path: Path, read: ReadFile, *, source: Source | None, scope: str | None = None
    ) -> None:
        """Store what :func:`read_file` read from ``path`` (a feed's entries under the file's scope) into ``report``."""
        report.kind = "feed" if read.feed else None
        report.entries += len(read.articles)
        report.title = report.title or read.title
        if read.notice:
            report.notices.append((str(path), read.notice))
        if read.feed:
            await self.store_articles(report, read.articles, source=source, scope=scope or file_scope(path))
        else:
            await self.store_articles(report, read.articles, source=source, scope=scope, labels=[str(path)])

    async def ingest_many(
        self,
        planned: Iterable[str | Path],
        *,
        source: Source | None = None,
        on_item: Callable[[str | Path, IngestReport], None] | None = None,
        fetch_full_text: bool = True,
    ) -> IngestReport:
        """Ingest what :func:`plan_locations` produced, in order, and report on the whole batch.

        Local files are read by the parsing workers ahead of storing (:func:`bot.workers.parse_ahead`, several small
        files per worker call), so parsing and storing overlap; single articles are stored :data:`STORE_BATCH` at a
        time. URLs are fetched one by one, after what came before them is stored.
        ``fetch_full_text=False`` stores a feed URL's entries as the feed gives them, without fetching their pages.
        """
        total = IngestReport()
        buffered: list[tuple[Path, ReadFile, float]] = []

        def done(item: str | Path, report: IngestReport) -> None:
            total.merge(report)
            if on_item is not None:
                on_item(item, report)

        async def flush() -> None:
            if not buffered:
                return
            batch = buffered[:]
            buffered.clear()
            reports = [IngestReport(location=str(path), parse_seconds=spent) for path, _, spent in batch]
            for (_, read, _), report in zip(batch, reports, strict=True):
                report.entries, report.title = 1, read.title
                if read.notice:
                    report.notices.append((report.location, read.notice))
            stored = IngestReport()
            try:
                results = await self.store_articles(
                    stored,
                    [read.articles[0] for _, read, _ in batch],
                    source=source,
                    labels=[str(p) for p, _, _ in batch],
                )
            except NewsError as exc:
                for report in reports:
                    report.fail(str(exc))
            else:
                for report, result in zip(reports, results, strict=True):
                    if result.error is not None:
                        report.failed.append((report.location, result.error))
                    elif result.new:
                        report.new.append(result.article_id)
                    else:
                        report.known += 1
            for (path, _, _), report in zip(batch, reports, strict=True):
                done(path, report)

        for local, run in _runs(planned):
            if not local:
                for item in run:
                    await flush()
                    done(item, await self._ingest_one(item, source, fetch_full_text=fetch_full_text))
                continue
            started = time.perf_counter()
            async for path, result in parse_ahead(read_file, run, batch=PARSE_BATCH):
                report = IngestReport(location=str(path))
                try:
                    read = await result
                except NewsError as exc:
                    report.fail(str(exc))
                    done(path, report)
                    continue
                except Exception as exc:
                    log.exception("Unexpected failure reading %s", path)
                    report.fail(internal_error(exc))
                    done(path, report)
                    continue
                spent, started = time.perf_counter() - started, time.perf_counter()
                if read.feed:
                    await flush()
                    async with recorded(report):
                        await self.store_file(report, path, read, source=source)
                    done(path, report)
                    continue
                buffered.append((path, read, spent))
                if len(buffered) >= STORE_BATCH:
                    await flush()
            await flush()
        await flush()
        return total

    async def _ingest_one(self, item: str | Path, source: Source | None, *, fetch_full_text: bool) -> IngestReport:
        if isinstance(item, Path):
            return await self.ingest_file(item, source=source)
        if is_url(item):
            if self.fetcher is None:
                return IngestReport(location=item, status="failed", error="URLs cannot be fetched here (no fetcher).")
            return await self.ingest_url(item, fetch_full_text=fetch_full_text)
        return IngestReport(location=item, status="failed", error=_unusable_location(item))

    async def seed_if_empty(self, articles_dir: Path) -> IngestReport | None:
        """A new install serves the embedded articles: ingest ``articles_dir`` when the store is empty."""
        if await self.store.articles.count() > 0:
            return None
        if not await asyncio.to_thread(articles_dir.is_dir):
            log.warning("No embedded articles at %s (NEWSBOT_ARTICLES_DIR); the store starts empty.", articles_dir)
            return None
        files = await asyncio.to_thread(lambda: list(expand_paths([articles_dir])))
        report = await self.ingest_many(files)
        log.info("Seeded the empty store from %s: %s", articles_dir, report.summary())
        for item, reason in report.failed:
            log.warning("Could not seed %s: %s", item, reason)
        return report

    # --- URLs -----------------------------------------------------------------------------------------------------

    def _fetcher(self) -> Fetcher:
        if self.fetcher is None:
            raise NewsError("URLs cannot be fetched here (no fetcher).")
        return self.fetcher

    async def ingest_url(self, url: str, *, fetch_full_text: bool = True) -> IngestReport:
        """Fetch a feed or page URL and store what it holds. Errors are in ``report.error``, never raised."""
        from bot.sources.fetcher import FEED_ACCEPT  # here: ingesting files never loads the HTTP stack

        report = IngestReport(location=url)
        async with recorded(report):
            result = await self._fetcher().fetch(url, accept=FEED_ACCEPT)
            await self.ingest_fetched(result, report, fetch_full_text=fetch_full_text, scope=scope_for(url))
        return report

    async def check_url(self, url: str, *, kind: DocumentKind | None = None) -> IngestReport:
        """Fetch and parse ``url`` and count entries not yet stored; nothing is written.

        ``kind`` reads it as a feed or a page whatever it looks like (as the poller reads a source of that kind).
        """
        from bot.sources.fetcher import FEED_ACCEPT, PAGE_ACCEPT

        report = IngestReport(location=url)
        async with recorded(report):
            result = await self._fetcher().fetch(url, accept=PAGE_ACCEPT if kind == "page" else FEED_ACCEPT)
            await self.ingest_fetched(result, report, scope=scope_for(url), store=False, kind=kind)
        return report

    async def ingest_fetched(
        self,
        result: FetchResult,
        report: IngestReport,
        *,
        fetch_full_text: bool = True,
        source: Source | None = None,
        scope: str | None = None,
        store: bool = True,
        kind: DocumentKind | None = None,
    ) -> None:
        """Recognise (unless ``kind`` says what it is), parse (off the loop) and store one fetched document."""
        report.final_url = result.url
        report.fetch_seconds = result.elapsed
        started = time.perf_counter()
        articles = self.store.articles
        if (kind or classify(result)) == "feed":
            feed = await run_cpu(parse_feed, result.body, result.url, content_type=result.content_type)
            report.parse_seconds = time.perf_counter() - started
            report.kind, report.title, report.entries = "feed", feed.meta.title, len(feed.entries)
            if feed.meta.warning:
                report.notices.append((report.location, feed.meta.warning))
            if not store:
                for article in feed.articles:
                    if await articles.known(article, scope=scope) is None:
                        report.unseen += 1
                return
            batch = feed.articles
            if fetch_full_text and self.fetcher is not None:
                kept: list[tuple[str, str]] = []
                batch, report.full_text = await enrich_entries(
                    feed.entries,
                    fetcher=self.fetcher,
                    is_known=lambda a: articles.known(a, scope=scope),
                    limit=self.full_text_limit,
                    kept=kept,
                )
                report.notices += [(url, f"kept the feed's excerpt: {reason}") for url, reason in kept]
            await self.store_articles(report, batch, source=source, scope=scope)
            return
        article = await extract_page(result)
        # The URL asked for (before redirects) names this page too: a feed linking to it finds the article.
        requested = report.location
        if requested != result.url:
            aliases = page_aliases(article, requested)
            if aliases != article.aliases:
                article = dataclasses.replace(article, aliases=aliases)
        report.parse_seconds = time.perf_counter() - started
        report.kind, report.title, report.entries = "page", article.title, 1
        if not store:
            report.unseen = int(await articles.known(article) is None)
            return
        await self.store_articles(report, [article], source=source, labels=[result.url])
        if report.failed:
            report.fail(report.failed[0][1])
