"""Turning fetched or saved documents into stored articles: feeds, pages, article files.

The entry points for other parts of newsbot:

* :func:`parse_feed_file` — a feed file on disk (``.xml``, ``.rss``, ``.atom``, ``.json``, ``.rdf``) → ParsedFeed.
* :func:`ingest_url` — a URL of a feed or a page: fetched, recognised, parsed off the event loop, stored once.
* :func:`ingest_feed_file` — a feed file on disk, parsed and stored.
* :func:`check_url` — what ``ingest_url`` would do, without storing anything (for ``newsbot sources check``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, ParamSpec, TypeVar

from bot.db.articles import ArticleRepository
from bot.errors import FetchError, NewsError, ParseError
from bot.news.feeds import (
    FeedEntry,
    ParsedFeed,
    content_type_charset,
    looks_like_feed,
    looks_like_html,
    parse_feed,
)
from bot.news.identity import canonical_url, is_url, same_site
from bot.news.models import ParsedArticle
from bot.sources.fetcher import FEED_ACCEPT, PAGE_ACCEPT, Fetcher, FetchResult
from bot.workers import parse_untrusted

log = logging.getLogger(__name__)

MAX_FEED_FILE_BYTES = 50 * 1024 * 1024
#: Pages fetched for full text per poll of one feed: polite to the publisher, and the newest entries come first.
FULL_TEXT_LIMIT = 25

OutcomeStatus = Literal["ok", "not_modified", "failed", "rate_limited"]
DocumentKind = Literal["feed", "page"]

_FEED_TYPES = ("rss", "atom", "rdf", "feed+json", "/xml", "+xml", "/json")

P = ParamSpec("P")
T = TypeVar("T")


async def run_cpu(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run the parser ``fn`` on untrusted input in a worker process, under the configured budget."""
    return await parse_untrusted(fn, *args, **kwargs)


@dataclass(slots=True)
class Outcome:
    """What one poll, check or ingest of a location did."""

    location: str
    status: OutcomeStatus = "ok"
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
    """Items inside the location that could not be read (a bad file in a folder)."""
    excerpts_kept: list[tuple[str, str]] = field(default_factory=list)
    """Entries stored with the feed's excerpt because their page could not be fetched: (page URL, reason)."""
    error: str | None = None
    seconds: float = 0.0
    fetch_seconds: float = 0.0
    parse_seconds: float = 0.0
    final_url: str | None = None
    warning: str | None = None

    def to_json(self) -> dict[str, object]:
        data = dataclasses.asdict(self)
        data["new"] = len(self.new)
        data["new_ids"] = self.new
        return data


def scope_for(location: str) -> str:
    """The namespace for a source's non-URL GUIDs; the same feed over http and https is one scope."""
    return canonical_url(location) if is_url(location) else location


def file_scope(path: Path) -> str:
    """The scope of a feed file: its resolved absolute path, so ``feed.xml``, ``./feed.xml`` and
    ``/abs/feed.xml`` are one feed (and match the absolute paths the folder poller uses)."""
    try:
        return str(path.resolve())
    except (OSError, RuntimeError):  # a symlink loop: the absolute path is the best we have
        return str(path.absolute())


def names_a_page(url: str | None) -> bool:
    """Whether ``url`` can stand for one article: an http(s) URL that is not a site's bare home page."""
    if not url or not is_url(url):
        return False
    key = canonical_url(url)
    return not key.endswith("/") or key.count("/") > 3 or "?" in key


def page_aliases(page: ParsedArticle, final_url: str) -> tuple[str, ...]:
    """Where a page fetch ended up (``final_url``, after redirects), when that is not already the page's URL."""
    if not names_a_page(final_url) or (page.url and canonical_url(page.url) == canonical_url(final_url)):
        return page.aliases
    return (*page.aliases, final_url)


def parse_feed_file(path: Path, *, url: str | None = None) -> ParsedFeed:
    """Parse a feed saved on disk. ``url`` (where it came from) resolves relative links when known."""
    try:
        size = path.stat().st_size
        if size > MAX_FEED_FILE_BYTES:
            raise ParseError(f"{path.name} is too large for a feed ({size / 1_048_576:.0f} MB).")
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"Cannot read {path} ({exc.strerror or exc}).") from exc
    return parse_feed(data, url)


def classify(result: FetchResult) -> DocumentKind:
    """Feed or page, by content first (servers mislabel feeds as text/html and text/plain) then by type."""
    body = result.body
    if looks_like_feed(body):
        return "feed"
    if looks_like_html(body):
        return "page"
    mime = result.mime_type
    if any(t in mime for t in _FEED_TYPES):
        return "feed"
    return "page"


def entry_aliases(entry: ParsedArticle, page: ParsedArticle) -> tuple[str, ...]:
    """Extra identity keys for a feed entry whose page was fetched: the URL its link redirected to, and the
    page's own canonical URL when it is on the same site.

    A site's home page is never an alias, and aliases only ever match other items' links (see
    :func:`bot.news.identity.article_keys`), so entries whose links all land on one login, consent or "subscribe"
    page are not taken for one article.
    """
    if not entry.link_is_identity:
        return entry.aliases
    final = page.aliases[-1] if page.aliases else page.url
    candidates = [final]
    if page.url and final and page.url != final and same_site(page.url, final):
        candidates.append(page.url)
    own = canonical_url(entry.url) if entry.url else None
    fresh = [c for c in candidates if c and names_a_page(c) and canonical_url(c) != own and c not in entry.aliases]
    return (*entry.aliases, *fresh)


def merge_full_text(entry: ParsedArticle, page: ParsedArticle) -> ParsedArticle:
    """The feed's entry with the page's text: identity, title and date stay the feed's; where the page really
    lives (after redirects) becomes an alias, so the same article linked directly elsewhere is stored once."""
    aliases = entry_aliases(entry, page)
    if len(page.body) <= len(entry.body):
        return entry if aliases == entry.aliases else dataclasses.replace(entry, aliases=aliases)
    return dataclasses.replace(
        entry,
        aliases=aliases,
        body=page.body,
        summary=entry.summary or entry.body or None,
        author=entry.author or page.author,
        image_url=entry.image_url or page.image_url,
        caption=entry.caption or page.caption,
        published=entry.published or page.published,
        site_name=entry.site_name or page.site_name,
    )


def _extract(result: FetchResult) -> ParsedArticle:
    if result.mime_type == "text/plain" and not looks_like_html(result.body):
        from bot.news.text import parse_text

        # Charset detection and decoding a large body are CPU work too: they stay off the event loop.
        article = parse_text(result.text(), url=result.url)
    else:
        from bot.news.html import extract_html

        article = extract_html(result.body, url=result.url, encoding=content_type_charset(result.content_type))
    aliases = page_aliases(article, result.url)
    return article if aliases == article.aliases else dataclasses.replace(article, aliases=aliases)


async def extract_page(result: FetchResult) -> ParsedArticle:
    """Extract the article from a fetched page, off the event loop (plain text goes to the text parser).

    The final URL after redirects is kept as an alias when the page names another canonical URL.
    """
    return await run_cpu(_extract, result)


async def fetch_page_article(fetcher: Fetcher, url: str) -> ParsedArticle:
    result = await fetcher.fetch(url, accept=PAGE_ACCEPT)
    return await extract_page(result)


async def enrich_entries(
    entries: list[FeedEntry],
    *,
    fetcher: Fetcher,
    articles: ArticleRepository,
    scope: str | None,
    limit: int = FULL_TEXT_LIMIT,
    outcome: Outcome | None = None,
) -> list[ParsedArticle]:
    """Feed entries as articles, with the full text fetched for new entries that only carry an excerpt."""
    out = [e.article for e in entries]
    wanted: list[int] = []
    for i, entry in enumerate(entries):
        if len(wanted) >= limit:
            break
        if entry.excerpt_only and entry.article.url and await articles.known(entry.article, scope=scope) is None:
            wanted.append(i)
    if not wanted:
        return out

    async def one(i: int) -> None:
        url = out[i].url
        assert url is not None
        try:
            page = await fetch_page_article(fetcher, url)
            merged = merge_full_text(out[i], page)
        except NewsError as exc:
            # The excerpt is still worth storing; the page may be paywalled, gone or not an article.
            log.info("Keeping the feed's excerpt for %s: %s", url, exc)
            if outcome is not None:
                outcome.excerpts_kept.append((url, str(exc)))
            return
        except Exception as exc:
            # A bug in fetching or extraction costs this entry its full text, never the feed's poll.
            log.exception("Keeping the feed's excerpt for %s after an unexpected error", url)
            if outcome is not None:
                outcome.excerpts_kept.append((url, internal_error(exc)))
            return
        out[i] = merged
        if outcome is not None:
            outcome.full_text += 1

    await asyncio.gather(*(one(i) for i in wanted))
    return _drop_shared_aliases(out)


def _drop_shared_aliases(batch: list[ParsedArticle]) -> list[ParsedArticle]:
    """An alias that several entries of one feed reached (links that all redirect to one page) names none of them."""
    owners: dict[str, set[str]] = {}
    for article in batch:
        for alias in article.aliases:
            owners.setdefault(canonical_url(alias), set()).add(canonical_url(article.url or ""))
    shared = {alias for alias, links in owners.items() if len(links) > 1}
    if not shared:
        return batch
    return [
        dataclasses.replace(a, aliases=tuple(x for x in a.aliases if canonical_url(x) not in shared))
        if any(canonical_url(x) in shared for x in a.aliases)
        else a
        for a in batch
    ]


async def store_feed(
    feed: ParsedFeed,
    *,
    articles: ArticleRepository,
    outcome: Outcome,
    fetcher: Fetcher | None = None,
    fetch_full_text: bool = False,
    source_id: int | None = None,
    scope: str | None = None,
    full_text_limit: int = FULL_TEXT_LIMIT,
) -> None:
    outcome.kind = "feed"
    outcome.title = feed.meta.title
    outcome.entries = len(feed.entries)
    outcome.warning = feed.meta.warning
    if fetch_full_text and fetcher is not None:
        batch = await enrich_entries(
            feed.entries, fetcher=fetcher, articles=articles, scope=scope, limit=full_text_limit, outcome=outcome
        )
    else:
        batch = feed.articles
    for article, stored in zip(batch, await articles.add_many(batch, source_id=source_id, scope=scope), strict=True):
        if stored.error is not None:
            outcome.failed.append((article.url or article.guid or article.title, stored.error))
        elif stored.new:
            outcome.new.append(stored.article_id)
        else:
            outcome.known += 1


async def ingest_fetched(
    result: FetchResult,
    *,
    articles: ArticleRepository,
    fetcher: Fetcher,
    outcome: Outcome,
    fetch_full_text: bool = True,
    source_id: int | None = None,
    scope: str | None = None,
    store: bool = True,
    kind: DocumentKind | None = None,
) -> None:
    """Recognise (unless ``kind`` says what it is), parse (off the loop) and store one fetched document."""
    outcome.final_url = result.url
    outcome.fetch_seconds = result.elapsed
    started = time.perf_counter()
    if (kind or classify(result)) == "feed":
        feed = await run_cpu(parse_feed, result.body, result.url, content_type=result.content_type)
        outcome.parse_seconds = time.perf_counter() - started
        if store:
            await store_feed(
                feed,
                articles=articles,
                outcome=outcome,
                fetcher=fetcher,
                fetch_full_text=fetch_full_text,
                source_id=source_id,
                scope=scope,
            )
        else:
            outcome.kind, outcome.title, outcome.entries = "feed", feed.meta.title, len(feed.entries)
            outcome.warning = feed.meta.warning
            for article in feed.articles:
                if await articles.known(article, scope=scope) is None:
                    outcome.unseen += 1
        return
    article = await extract_page(result)
    # The URL asked for (before redirects) names this page too: a feed linking to it finds the article.
    requested = outcome.location
    if requested != result.url:
        aliases = page_aliases(article, requested)
        if aliases != article.aliases:
            article = dataclasses.replace(article, aliases=aliases)
    outcome.parse_seconds = time.perf_counter() - started
    outcome.kind, outcome.title, outcome.entries = "page", article.title, 1
    if not store:
        outcome.unseen = int(await articles.known(article) is None)
        return
    stored = await articles.add(article, source_id=source_id)
    if stored.error is not None:
        outcome.status, outcome.error = "failed", stored.error
        outcome.failed.append((result.url, stored.error))
    elif stored.new:
        outcome.new.append(stored.article_id)
    else:
        outcome.known += 1


def internal_error(exc: BaseException) -> str:
    """One line for a user about an unexpected exception (the traceback goes to the log)."""
    first_line = (str(exc).strip().splitlines() or [""])[0][:200]
    return (
        f"internal error ({type(exc).__name__}: {first_line})"
        if first_line
        else f"internal error ({type(exc).__name__})"
    )


@contextlib.asynccontextmanager
async def _recorded(outcome: Outcome) -> AsyncIterator[float]:
    """Time the work on ``outcome`` and turn any failure into ``outcome.error`` instead of raising.

    Expected failures (a refused fetch, an unparseable document) keep their sentence; anything else is a bug,
    logged with its traceback and shown as one line. Yields the start time for finer timings.
    """
    started = time.perf_counter()
    try:
        yield started
    except NewsError as exc:
        outcome.status, outcome.error = "failed", str(exc)
    except Exception as exc:
        log.error("Unexpected error with %s", outcome.location, exc_info=exc)
        outcome.status, outcome.error = "failed", internal_error(exc)
    finally:
        outcome.seconds = time.perf_counter() - started


async def ingest_url(
    url: str,
    *,
    fetcher: Fetcher,
    articles: ArticleRepository,
    fetch_full_text: bool = True,
    source_id: int | None = None,
) -> Outcome:
    """Fetch a feed or page URL and store what it holds. Errors are in ``Outcome.error``, never raised."""
    outcome = Outcome(location=url)
    async with _recorded(outcome):
        result = await fetcher.fetch(url, accept=FEED_ACCEPT)
        await ingest_fetched(
            result,
            articles=articles,
            fetcher=fetcher,
            outcome=outcome,
            fetch_full_text=fetch_full_text,
            source_id=source_id,
            scope=scope_for(url),
        )
    return outcome


async def check_url(url: str, *, fetcher: Fetcher, articles: ArticleRepository) -> Outcome:
    """Fetch and parse ``url`` and count entries not yet stored; nothing is written."""
    outcome = Outcome(location=url)
    async with _recorded(outcome):
        result = await fetcher.fetch(url, accept=FEED_ACCEPT)
        await ingest_fetched(
            result, articles=articles, fetcher=fetcher, outcome=outcome, scope=scope_for(url), store=False
        )
    return outcome


async def ingest_feed_file(
    path: Path, *, articles: ArticleRepository, url: str | None = None, source_id: int | None = None
) -> Outcome:
    """Parse a feed file on disk (off the loop) and store its entries. Errors are in ``Outcome.error``."""
    outcome = Outcome(location=str(path))
    async with _recorded(outcome) as started:
        feed = await run_cpu(parse_feed_file, path, url=url)
        outcome.parse_seconds = time.perf_counter() - started
        await store_feed(
            feed,
            articles=articles,
            outcome=outcome,
            source_id=source_id,
            scope=scope_for(url) if url else file_scope(path),
        )
    return outcome


__all__ = [
    "FetchError",
    "Outcome",
    "check_url",
    "classify",
    "file_scope",
    "ingest_feed_file",
    "ingest_url",
    "merge_full_text",
    "parse_feed_file",
    "scope_for",
]
