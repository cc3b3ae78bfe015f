"""ArticleRepository: stores each article once under all of its identity keys, with FTS5 kept in sync."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

from bot.db.connection import Database
from bot.news.identity import article_keys
from bot.news.models import Article, ParsedArticle, parse_published, published_iso


@dataclass(frozen=True, slots=True)
class StoreResult:
    article_id: int
    new: bool


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
        """Store each article unless one of its keys is already known; all in one transaction.

        Keys are looked up in one query per batch (not one per article): a feed poll stores dozens of entries at a
        time, and the per-article round trips through aiosqlite's thread dominated the store time.
        """
        if not articles:
            return []
        now = utcnow_iso()
        keyed = [(article, article_keys(article, scope=scope)) for article in articles]
        results: list[StoreResult] = []
        async with self.db.transaction() as conn:
            known = await self._lookup_keys(conn, {k for _, keys in keyed for k in keys})
            for article, keys in keyed:
                existing = next((known[k] for k in keys if k in known), None)
                if existing is not None:
                    fresh = [k for k in keys if k not in known]
                    if fresh:
                        # Remember keys we had not seen (a GUID that changed, a second source's URL).
                        await conn.executemany(
                            "INSERT OR IGNORE INTO article_keys (key, article_id) VALUES (?, ?)",
                            [(k, existing) for k in fresh],
                        )
                        known.update(dict.fromkeys(fresh, existing))
                    results.append(StoreResult(existing, False))
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
                await conn.executemany(
                    "INSERT OR IGNORE INTO article_keys (key, article_id) VALUES (?, ?)",
                    [(k, article_id) for k in keys],
                )
                # A later item in this same batch with any of these keys is the same article.
                known.update(dict.fromkeys(keys, article_id))
                results.append(StoreResult(article_id, True))
        return results

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

    @staticmethod
    async def _find_by_keys(conn: aiosqlite.Connection, keys: Iterable[str]) -> int | None:
        keys = list(keys)
        marks = ",".join("?" * len(keys))
        cursor = await conn.execute(f"SELECT article_id FROM article_keys WHERE key IN ({marks}) LIMIT 1", keys)
        row = await cursor.fetchone()
        return int(row[0]) if row else None

    async def known(self, article: ParsedArticle, *, scope: str | None = None) -> int | None:
        """The id of the stored article ``article`` matches, if any (no write)."""
        return await self._find_by_keys(self.db.conn, article_keys(article, scope=scope))

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
