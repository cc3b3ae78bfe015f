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
import collections
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from bot.db.articles import CHUNK, StoreResult
from bot.errors import NewsError
from bot.news.identity import is_url
from bot.news.loader import ARTICLE_SUFFIXES, FEED_SUFFIXES, Loaded, load_article_file
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

if TYPE_CHECKING:
    from bot.db.sources import Source
    from bot.db.store import Store, Tx
    from bot.sources.fetcher import Fetcher, FetchResult

log = logging.getLogger(__name__)

ReportStatus = Literal["ok", "not_modified", "failed", "rate_limited"]

#: Files parsed ahead of the one being stored.
PARSE_WINDOW = 32
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


def expand_paths(paths: Iterable[Path], suffixes: frozenset[str] = ARTICLE_SUFFIXES) -> Iterator[Path]:
    """Files as given, and the matching files under each folder (sorted, hidden files skipped)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                if child.is_file() and child.suffix.lower() in suffixes and not child.name.startswith("."):
                    yield child
        else:
            yield path


def _existing_path(location: str) -> Path | None:
    try:
        path = Path(location)
        return path if path.exists() else None
    except (OSError, ValueError):  # a name too long for the file system, an embedded NUL byte …
        return None


def _unusable_location(location: str) -> str:
    if "://" in location:
        return "not a valid http(s) URL, and no such file or folder."
    return "no such file, folder or URL."


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


def is_feed_file(path: Path) -> bool:
    return path.suffix.lower() in FEED_SUFFIXES


def read_article_file(path: Path) -> list[ParsedArticle]:
    """Articles in one file: every entry of a feed file, or the one article of a text or HTML file."""
    if is_feed_file(path):
        return parse_feed_file(path).articles
    return [load_article_file(path).article]


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
        """An article file or a feed file, parsed off the loop and stored."""
        report = IngestReport(location=str(path), kind="feed" if is_feed_file(path) else None)
        async with recorded(report) as started:
            if is_feed_file(path):
                feed = await run_cpu(parse_feed_file, path)
                report.parse_seconds = time.perf_counter() - started
                report.title, report.entries = feed.meta.title, len(feed.entries)
                if feed.meta.warning:
                    report.notices.append((str(path), feed.meta.warning))
                await self.store_articles(report, feed.articles, source=source, scope=scope or file_scope(path))
            else:
                loaded = await run_cpu(load_article_file, path)
                report.parse_seconds = time.perf_counter() - started
                self._file_parsed(report, path, loaded)
                await self.store_articles(report, [loaded.article], source=source, scope=scope, labels=[str(path)])
        return report

    @staticmethod
    def _file_parsed(report: IngestReport, path: Path, loaded: Loaded) -> None:
        report.entries += 1
        report.title = report.title or loaded.article.title
        if loaded.notice:
            report.notices.append((str(path), loaded.notice))

    async def ingest_many(
        self,
        planned: Iterable[str | Path],
        *,
        source: Source | None = None,
        on_item: Callable[[str | Path, IngestReport], None] | None = None,
        fetch_full_text: bool = True,
    ) -> IngestReport:
        """Ingest what :func:`plan_locations` produced, in order, and report on the whole batch.

        Article files are parsed ahead (up to :data:`PARSE_WINDOW` at once) and stored :data:`STORE_BATCH` at a
        time, so parsing and storing overlap; feed files and URLs are big batches of their own, handled one by one.
        ``fetch_full_text=False`` stores a feed URL's entries as the feed gives them, without fetching their pages.
        """
        total = IngestReport()
        window: collections.deque[tuple[str | Path, asyncio.Task[Loaded] | None]] = collections.deque()
        buffered: list[tuple[Path, Loaded, float]] = []
        items = iter(planned)

        def refill() -> None:
            while len(window) < PARSE_WINDOW:
                item = next(items, None)
                if item is None:
                    return
                if isinstance(item, Path) and not is_feed_file(item):
                    window.append((item, asyncio.ensure_future(run_cpu(load_article_file, item))))
                else:
                    window.append((item, None))

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
            for (path, loaded, _), report in zip(batch, reports, strict=True):
                self._file_parsed(report, path, loaded)
            stored = IngestReport()
            try:
                results = await self.store_articles(
                    stored,
                    [loaded.article for _, loaded, _ in batch],
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

        refill()
        try:
            while window:
                item, task = window.popleft()
                refill()
                if task is None:
                    await flush()  # keep the batch in order: what was parsed before this item is stored first
                    done(item, await self._ingest_one(item, source, fetch_full_text=fetch_full_text))
                    continue
                assert isinstance(item, Path)
                started = time.perf_counter()
                report = IngestReport(location=str(item))
                try:
                    loaded = await task
                except NewsError as exc:
                    report.fail(str(exc))
                    done(item, report)
                    continue
                except Exception as exc:
                    log.exception("Unexpected failure parsing %s", item)
                    report.fail(internal_error(exc))
                    done(item, report)
                    continue
                buffered.append((item, loaded, time.perf_counter() - started))
                if len(buffered) >= STORE_BATCH:
                    await flush()
            await flush()
        finally:
            for _, task in window:
                if task is not None:
                    task.cancel()
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
