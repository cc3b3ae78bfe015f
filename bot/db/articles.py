"""ArticleRepository: stores each article once under all of its identity keys, with FTS5 kept in sync."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import aiosqlite

from bot.db.connection import Database
from bot.news.identity import article_keys, guid_key, link_key, lookup_keys, shared_link_key
from bot.news.models import Article, ParsedArticle, parse_published, published_iso

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoreResult:
    article_id: int
    """The stored article's id; 0 when the item was skipped (see ``error``)."""
    new: bool
    error: str | None = None
    """Why the item was skipped (it could not be keyed); the rest of its batch is stored regardless."""

    @property
    def stored(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True)
class _Keyed:
    """An item's keys, computed before the transaction: as given, and as if its link were shared."""

    article: ParsedArticle
    keys: list[str]
    """Stored under these; ``keys[0]`` is the identity."""
    lookup: list[str]
    """Found by these, in order of precedence."""
    link: str | None
    """The canonical link when it counts as identity (so the store may still find it shared by other entries)."""
    shared: tuple[list[str], list[str]] | None
    """(keys, lookup) without the link, used when the store knows the link is shared by several entries."""
    guid: str | None

    def chosen(self, known: dict[str, int]) -> tuple[list[str], list[str]]:
        if self.link is not None and self.shared is not None and shared_link_key(self.link) in known:
            return self.shared  # some feed gave this link to several entries: it names no single article
        return self.keys, self.lookup

    def match(self, known: dict[str, int]) -> tuple[int | None, list[str]]:
        """The stored article this item is (its GUID first, then its other keys), and the keys to store."""
        keys, lookup = self.chosen(known)
        if self.guid in keys and self.guid in known:
            return known[self.guid], keys
        return next((known[k] for k in lookup if k in known), None), keys

    def wanted(self) -> set[str]:
        wanted = set(self.lookup)
        if self.link is not None and self.shared is not None:
            wanted.add(shared_link_key(self.link))
            wanted.update(self.shared[1])
        return wanted


#: Batches up to this size are keyed inline; larger ones in a worker thread.
_KEYS_INLINE = 32


def _key_all(
    articles: Sequence[ParsedArticle], scope: str | None, results: list[StoreResult | None]
) -> list[tuple[int, _Keyed]]:
    """Key every item; an item that cannot be keyed gets its failed result in ``results`` and is left out."""
    keyed: list[tuple[int, _Keyed]] = []
    for i, article in enumerate(articles):
        try:
            keyed.append((i, _key(article, scope)))
        except Exception as exc:  # a bug or hostile input in one entry must not cost the whole batch
            log.warning("Skipping %s: cannot compute its identity", _label(article), exc_info=True)
            results[i] = StoreResult(0, False, f"cannot compute its identity ({type(exc).__name__}: {exc})")
    return keyed


def _label(article: ParsedArticle) -> str:
    return article.url or article.guid or article.title[:80] or "an entry"


def _key(article: ParsedArticle, scope: str | None) -> _Keyed:
    link = link_key(article) if article.link_is_identity else None
    shared = None
    if link is not None:
        unlinked = replace(article, link_is_identity=False)
        shared = (article_keys(unlinked, scope=scope), lookup_keys(unlinked, scope=scope))
    guid = guid_key(article.guid, scope) if article.guid else None
    return _Keyed(article, article_keys(article, scope=scope), lookup_keys(article, scope=scope), link, shared, guid)


def utcnow_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _row_to_article(row: aiosqlite.Row) -> Article:
    return Article(
        id=row["id"],
        identity=row["identity"],
        title=row["title"],
        body=row["body"],
        author=row["author"],
        published=parse_published(row["published"]),
        caption=row["caption"],
        url=row["url"],
        image_url=row["image_url"],
        site_name=row["site_name"],
        source_id=row["source_id"],
        ingested_at=dt.datetime.fromisoformat(row["ingested_at"]),
        summary=row["summary"],
    )


_FTS_TOKEN = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str, *, prefix_last: bool = True) -> str | None:
    """Turn free text into a safe FTS5 query: every word quoted (so ``"``, ``*``, ``-``, ``NEAR`` are inert)."""
    words = _FTS_TOKEN.findall(text)
    if not words:
        return None
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    if prefix_last:
        quoted[-1] += "*"
    return " OR ".join(quoted)


class ArticleRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self, article: ParsedArticle, *, source_id: int | None = None, scope: str | None = None
    ) -> StoreResult:
        [result] = await self.add_many([article], source_id=source_id, scope=scope)
        return result

    async def add_many(
        self, articles: Sequence[ParsedArticle], *, source_id: int | None = None, scope: str | None = None
    ) -> list[StoreResult]:
        """Store each article unless it is already known; one result per item, in order; one transaction.

        An item is the article stored under its GUID key, else under any other of its keys (its canonical link,
        an alias). A link that some feed gave to several different entries is remembered as shared and never
        identifies an article afterwards, even when that feed later lists only one of them.

        Keys are computed before the transaction, so an item that cannot be keyed is skipped (its result has
        ``error``) instead of rolling back the batch; they are looked up in one query per batch (not one per
        article): a feed poll stores dozens of entries at a time, and per-article round trips dominated.
        """
        if not articles:
            return []
        now = utcnow_iso()
        results: list[StoreResult | None] = [None] * len(articles)
        if len(articles) > _KEYS_INLINE:
            # Hundreds of entries take tens of milliseconds to key: not on the event loop.
            keyed = await asyncio.to_thread(_key_all, articles, scope, results)
        else:
            keyed = _key_all(articles, scope, results)
        async with self.db.transaction() as conn:
            wanted: set[str] = set()
            for _, item in keyed:
                wanted.update(item.wanted())
            known = await self._lookup_keys(conn, wanted)
            # New keys are written in one statement at the end: one thread round trip per batch, not per article.
            pending: list[tuple[str, int]] = []
            for i, item in keyed:
                article = item.article
                existing, keys = item.match(known)
                shared_link = link_key(article) if not article.link_is_identity else None
                if existing is not None:
                    fresh = [k for k in keys if k not in known]
                    if shared_link is not None and shared_link_key(shared_link) not in known:
                        fresh.append(shared_link_key(shared_link))
                    # Remember keys we had not seen (a GUID that changed, a second source's URL).
                    pending.extend((k, existing) for k in fresh)
                    known.update(dict.fromkeys(fresh, existing))
                    results[i] = StoreResult(existing, False)
                    continue
                cursor = await conn.execute(
                    "INSERT INTO articles (identity, url, title, body, summary, author, published, caption,"
                    " image_url, site_name, source_id, ingested_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        keys[0],
                        article.url,
                        article.title,
                        article.body,
                        article.summary,
                        article.author,
                        published_iso(article.published),
                        article.caption,
                        article.image_url,
                        article.site_name,
                        source_id,
                        now,
                    ),
                )
                article_id = cursor.lastrowid
                assert article_id is not None
                new_keys = list(keys)
                if shared_link is not None:
                    new_keys.append(shared_link_key(shared_link))
                pending.extend((k, article_id) for k in new_keys)
                # A later item in this same batch with any of these keys is the same article.
                known.update(dict.fromkeys(new_keys, article_id))
                results[i] = StoreResult(article_id, True)
            if pending:
                await conn.executemany("INSERT OR IGNORE INTO article_keys (key, article_id) VALUES (?, ?)", pending)
        return [r for r in results if r is not None]

    @staticmethod
    async def _lookup_keys(conn: aiosqlite.Connection, keys: set[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        ordered = sorted(keys)
        # SQLite caps bound parameters (32766 since 3.32); stay far below it.
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            marks = ",".join("?" * len(chunk))
            cursor = await conn.execute(f"SELECT key, article_id FROM article_keys WHERE key IN ({marks})", chunk)
            found.update({str(row[0]): int(row[1]) for row in await cursor.fetchall()})
        return found

    async def known(self, article: ParsedArticle, *, scope: str | None = None) -> int | None:
        """The id of the stored article ``article`` matches, if any (no write); the same rules as :meth:`add_many`."""
        item = _key(article, scope)
        return item.match(await self._lookup_keys(self.db.conn, item.wanted()))[0]

    async def get(self, article_id: int) -> Article | None:
        cursor = await self.db.conn.execute("SELECT * FROM articles WHERE id = ?", (article_id,))
        row = await cursor.fetchone()
        return _row_to_article(row) if row else None

    async def latest(self, limit: int = 10) -> list[Article]:
        cursor = await self.db.conn.execute(
            "SELECT * FROM articles ORDER BY COALESCE(published, ingested_at) DESC, id DESC LIMIT ?", (limit,)
        )
        return [_row_to_article(r) for r in await cursor.fetchall()]

    async def count(self) -> int:
        cursor = await self.db.conn.execute("SELECT COUNT(*) FROM articles")
        row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def revision(self) -> tuple[int, int]:
        """(count, highest id): changes whenever articles are added or removed, so caches know to rebuild."""
        cursor = await self.db.conn.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM articles")
        row = await cursor.fetchone()
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def titles(self) -> list[tuple[int, str]]:
        """Every (id, title), newest first: the candidate list for fuzzy autocomplete."""
        cursor = await self.db.conn.execute(
            "SELECT id, title FROM articles ORDER BY COALESCE(published, ingested_at) DESC, id DESC"
        )
        return [(int(r[0]), str(r[1])) for r in await cursor.fetchall()]

    async def full_text(self, text: str, *, limit: int = 25) -> list[int]:
        """Article ids matching ``text`` in title or body, best first (title weighted 10x)."""
        query = fts_query(text)
        if query is None:
            return []
        cursor = await self.db.conn.execute(
            "SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY bm25(articles_fts, 10.0, 1.0) LIMIT ?",
            (query, limit),
        )
        return [int(r[0]) for r in await cursor.fetchall()]
