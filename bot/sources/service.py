"""Turning fetched or saved documents into articles: recognising feeds and pages, extracting, fetching full text.

Storing is :mod:`bot.ingest`'s job (the one pipeline); this module only reads documents, off the event loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, ParamSpec, TypeVar

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
from bot.workers import parse_untrusted

if TYPE_CHECKING:
    # The HTTP stack (aiohttp, ~90 ms to import) is loaded by whoever fetches, not by `newsbot ingest` of files.
    from bot.sources.fetcher import Fetcher, FetchResult

log = logging.getLogger(__name__)

MAX_FEED_FILE_BYTES = 50 * 1024 * 1024
#: Pages fetched for full text per poll of one feed: polite to the publisher, and the newest entries come first.
FULL_TEXT_LIMIT = 25

DocumentKind = Literal["feed", "page"]

_FEED_TYPES = ("rss", "atom", "rdf", "feed+json", "/xml", "+xml", "/json")

P = ParamSpec("P")
T = TypeVar("T")


async def run_cpu(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run the parser ``fn`` on untrusted input in a worker process, under the configured budget."""
    return await parse_untrusted(fn, *args, **kwargs)


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
    from bot.sources.fetcher import PAGE_ACCEPT

    result = await fetcher.fetch(url, accept=PAGE_ACCEPT)
    return await extract_page(result)


async def enrich_entries(
    entries: list[FeedEntry],
    *,
    fetcher: Fetcher,
    is_known: Callable[[ParsedArticle], Awaitable[int | None]],
    limit: int = FULL_TEXT_LIMIT,
    kept: list[tuple[str, str]] | None = None,
) -> tuple[list[ParsedArticle], int]:
    """Feed entries as articles, with the full text fetched for new entries that only carry an excerpt.

    Returns the articles and how many pages were fetched; ``kept`` collects (page URL, reason) for entries whose page
    could not be used, so they keep the feed's excerpt.
    """
    out = [e.article for e in entries]
    wanted: list[int] = []
    for i, entry in enumerate(entries):
        if len(wanted) >= limit:
            break
        if entry.excerpt_only and entry.article.url and await is_known(entry.article) is None:
            wanted.append(i)
    if not wanted:
        return out, 0
    fetched = 0

    async def one(i: int) -> None:
        nonlocal fetched
        url = out[i].url
        assert url is not None
        try:
            page = await fetch_page_article(fetcher, url)
            merged = merge_full_text(out[i], page)
        except NewsError as exc:
            # The excerpt is still worth storing; the page may be paywalled, gone or not an article.
            log.info("Keeping the feed's excerpt for %s: %s", url, exc)
            if kept is not None:
                kept.append((url, str(exc)))
            return
        except Exception as exc:
            # A bug in fetching or extraction costs this entry its full text, never the feed's poll.
            log.exception("Keeping the feed's excerpt for %s after an unexpected error", url)
            if kept is not None:
                kept.append((url, internal_error(exc)))
            return
        out[i] = merged
        fetched += 1

    await asyncio.gather(*(one(i) for i in wanted))
    return _drop_shared_aliases(out), fetched


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


def internal_error(exc: BaseException) -> str:
    """One line for a user about an unexpected exception (the traceback goes to the log)."""
    first_line = (str(exc).strip().splitlines() or [""])[0][:200]
    return (
        f"internal error ({type(exc).__name__}: {first_line})"
        if first_line
        else f"internal error ({type(exc).__name__})"
    )


__all__ = [
    "DocumentKind",
    "FetchError",
    "classify",
    "enrich_entries",
    "extract_page",
    "file_scope",
    "internal_error",
    "merge_full_text",
    "page_aliases",
    "parse_feed",
    "parse_feed_file",
    "run_cpu",
    "scope_for",
]
