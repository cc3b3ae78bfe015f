"""ArticleRepository: each article stored once under all of its identity keys, with the full-text index in step.

Which keys identify an article is decided in :mod:`bot.news.identity` (pure); this module makes it hold when several
writers store the same articles at once, in one process or in many. The unique keys decide: an item is looked up by
its keys, inserted if unknown (``ON CONFLICT … DO NOTHING``), and when another writer was faster (its article holds
the identity or one of the keys), the winner is read back and this item's keys are merged into it. Nothing is ever
stored twice, and a race costs one item its "new" flag, never a batch.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace

from bot.db.core import Executor, Row, to_datetime, to_datetime_or_none, utcnow
from bot.news.identity import article_keys, guid_key, link_key, lookup_keys, shared_link_key
from bot.news.models import Article, ParsedArticle, published_from_parts, published_parts

log = logging.getLogger(__name__)

#: Articles per transaction when storing a big batch: long enough to amortise a commit, short enough that other
#: writers (another process ingesting, the bot recording a sent message) never wait long for the write lock.
CHUNK = 200
#: Keys per statement when looking keys up or inserting them (both backends cap bound parameters near 32,000).
KEY_BATCH = 500
#: Batches up to this size are keyed inline; larger ones in a worker thread.
_KEYS_INLINE = 32


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

    def match(self, known: dict[str, int]) -> tuple[int | None, list[str], list[str]]:
        """The stored article this item is (its GUID first, then its other keys), the keys to store, the lookup."""
        keys, lookup = self.chosen(known)
        if self.guid in keys and self.guid in known:
            return known[self.guid], keys, lookup
        return next((known[k] for k in lookup if k in known), None), keys, lookup

    def wanted(self) -> set[str]:
        wanted = set(self.lookup)
        if self.link is not None and self.shared is not None:
            wanted.add(shared_link_key(self.link))
            wanted.update(self.shared[1])
        return wanted

    @property
    def shared_link(self) -> str | None:
        """The link this item's feed shares between entries, to be remembered as such."""
        return link_key(self.article) if not self.article.link_is_identity else None


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


ARTICLE_COLUMNS = (
    "id, identity, url, title, body, summary, author, published_at, published_precision, caption, image_url,"
    " site_name, source_id, ingested_at"
)


def row_to_article(row: Row) -> Article:
    return Article(
        id=int(row["id"]),
        identity=row["identity"],
        title=row["title"],
        body=row["body"],
        author=row["author"],
        published=published_from_parts(to_datetime_or_none(row["published_at"]), row["published_precision"]),
        caption=row["caption"],
        url=row["url"],
        image_url=row["image_url"],
        site_name=row["site_name"],
        source_id=row["source_id"],
        ingested_at=to_datetime(row["ingested_at"]),
        summary=row["summary"],
    )


_FTS_TOKEN = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str, *, prefix_last: bool = True) -> str | None:
    """Free text as a safe FTS5 query: every word quoted (so ``"``, ``*``, ``-``, ``NEAR`` are inert)."""
    words = _FTS_TOKEN.findall(text)
    if not words:
        return None
    quoted = ['"' + w.replace('"', '""') + '"' for w in words]
    if prefix_last:
        quoted[-1] += "*"
    return " OR ".join(quoted)


def tsquery(text: str, *, prefix_last: bool = True) -> str | None:
    """Free text as a safe PostgreSQL ``to_tsquery`` argument: words only, each a quoted lexeme, OR-ed."""
    words = _FTS_TOKEN.findall(text)
    if not words:
        return None
    quoted = ["'" + w.replace("'", "''").replace("\\", "") + "'" for w in words]
    if prefix_last:
        quoted[-1] += ":*"
    return " | ".join(quoted)


class ArticleRepository:
    def __init__(self, ex: Executor) -> None:
        self.ex = ex

    # --- storing ----------------------------------------------------------------------------------------------

    async def add(
        self, article: ParsedArticle, *, source_id: int | None = None, scope: str | None = None
    ) -> StoreResult:
        [result] = await self.add_many([article], source_id=source_id, scope=scope)
        return result

    async def add_many(
        self, articles: Sequence[ParsedArticle], *, source_id: int | None = None, scope: str | None = None
    ) -> list[StoreResult]:
        """Store each article unless it is already known; one result per item, in order.

        An item is the article stored under its GUID key, else under any other of its keys (its canonical link, an
        alias). A link that some feed gave to several different entries is remembered as shared and never identifies
        an article afterwards, even when that feed later lists only one of them.

        Outside a transaction, a big batch is committed in chunks of :data:`CHUNK`, each retried on its own if it
        collides with another writer; inside one, everything belongs to the caller's transaction. Keys are computed
        before any transaction, so an item that cannot be keyed is skipped (its result has ``error``).
        """
        if not articles:
            return []
        results: list[StoreResult | None] = [None] * len(articles)
        if len(articles) > _KEYS_INLINE:
            # Hundreds of entries take tens of milliseconds to key: not on the event loop.
            keyed = await asyncio.to_thread(_key_all, articles, scope, results)
        else:
            keyed = _key_all(articles, scope, results)
        now = utcnow()
        for start in range(0, len(keyed), CHUNK):
            chunk = keyed[start : start + CHUNK]
            stored = await self.ex.run(lambda ex, chunk=chunk: _store_chunk(ex, chunk, source_id, now))  # type: ignore[misc]
            for i, result in stored:
                results[i] = result
        return [r for r in results if r is not None]

    async def known(self, article: ParsedArticle, *, scope: str | None = None) -> int | None:
        """The id of the stored article ``article`` matches, if any (no write); the same rules as :meth:`add_many`."""
        item = _key(article, scope)
        return item.match(await _lookup_keys(self.ex, item.wanted()))[0]

    # --- reading ----------------------------------------------------------------------------------------------

    async def get(self, article_id: int) -> Article | None:
        row = await self.ex.fetchrow(f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id = $1", article_id)
        return row_to_article(row) if row else None

    async def get_many(self, ids: Sequence[int]) -> dict[int, Article]:
        found: dict[int, Article] = {}
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), KEY_BATCH):
            chunk = wanted[start : start + KEY_BATCH]
            marks = ", ".join(f"${i}" for i in range(1, len(chunk) + 1))
            for row in await self.ex.fetch(f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id IN ({marks})", *chunk):
                found[int(row["id"])] = row_to_article(row)
        return found

    async def latest(self, limit: int = 10) -> list[Article]:
        """Newest published first; undated articles after every dated one."""
        rows = await self.ex.fetch(
            f"SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY published_at DESC NULLS LAST, id DESC LIMIT $1", limit
        )
        return [row_to_article(r) for r in rows]

    async def count(self) -> int:
        return int(await self.ex.fetchval("SELECT COUNT(*) FROM articles") or 0)

    async def key_count(self) -> int:
        return int(await self.ex.fetchval("SELECT COUNT(*) FROM article_keys") or 0)

    async def max_id(self) -> int:
        return int(await self.ex.fetchval("SELECT COALESCE(MAX(id), 0) FROM articles") or 0)

    async def revision(self) -> tuple[int, int]:
        """(count, highest id): changes whenever articles are added or removed, so caches know to rebuild."""
        row = await self.ex.fetchrow("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM articles")
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def titles(self) -> list[tuple[int, str]]:
        """Every (id, title), newest first: the candidate list for fuzzy autocomplete."""
        rows = await self.ex.fetch("SELECT id, title FROM articles ORDER BY published_at DESC NULLS LAST, id DESC")
        return [(int(r[0]), str(r[1])) for r in rows]

    async def after(self, after_id: int, limit: int) -> list[Article]:
        """Articles with ids above ``after_id``, in id order: how readers follow new arrivals incrementally."""
        rows = await self.ex.fetch(
            f"SELECT {ARTICLE_COLUMNS} FROM articles WHERE id > $1 ORDER BY id LIMIT $2", after_id, limit
        )
        return [row_to_article(r) for r in rows]

    async def full_text(self, text: str, *, limit: int = 25) -> list[int]:
        """Article ids matching ``text`` in title or body, best first (title weighted ten times the body)."""
        if self.ex.dialect == "postgres":
            query = tsquery(text)
            if query is None:
                return []
            rows = await self.ex.fetch(
                "SELECT id FROM articles, to_tsquery('english', $1) AS q WHERE search @@ q"
                " ORDER BY ts_rank('{0.1, 0.2, 0.4, 1.0}', search, q) DESC, id DESC LIMIT $2",
                query,
                limit,
            )
        else:
            query = fts_query(text)
            if query is None:
                return []
            rows = await self.ex.fetch(
                "SELECT rowid FROM articles_fts WHERE articles_fts MATCH $1"
                " ORDER BY bm25(articles_fts, 10.0, 1.0) LIMIT $2",
                query,
                limit,
            )
        return [int(r[0]) for r in rows]

    async def iterate(self, *, batch: int = 1000) -> AsyncIterator[list[Article]]:
        """Every article in id order, in batches, from one snapshot (copying a store, building an index)."""
        async with self.ex.stream(f"SELECT {ARTICLE_COLUMNS} FROM articles ORDER BY id", batch=batch) as rows:
            async for chunk in rows:
                yield [row_to_article(r) for r in chunk]

    async def iterate_keys(self, *, batch: int = 5000) -> AsyncIterator[list[tuple[str, int]]]:
        async with self.ex.stream("SELECT key, article_id FROM article_keys ORDER BY key", batch=batch) as rows:
            async for chunk in rows:
                yield [(str(r[0]), int(r[1])) for r in chunk]

    # --- copying between stores (newsbot db copy) ---------------------------------------------------------------

    async def import_rows(self, articles: Sequence[Article]) -> None:
        """Insert articles as they are, ids included (the destination of ``db copy`` is empty)."""
        rows = []
        for a in articles:
            published_at, precision = published_parts(a.published)
            rows.append(
                (
                    a.id,
                    a.identity,
                    a.url,
                    a.title,
                    a.body,
                    a.summary,
                    a.author,
                    published_at,
                    precision,
                    a.caption,
                    a.image_url,
                    a.site_name,
                    a.source_id,
                    a.ingested_at,
                )
            )
        await self.ex.executemany(
            f"INSERT INTO articles ({ARTICLE_COLUMNS})"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            rows,
        )

    async def import_keys(self, keys: Sequence[tuple[str, int]]) -> None:
        await self.ex.executemany("INSERT INTO article_keys (key, article_id) VALUES ($1, $2)", keys)


async def _lookup_keys(ex: Executor, keys: set[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), KEY_BATCH):
        chunk = ordered[start : start + KEY_BATCH]
        marks = ", ".join(f"${i}" for i in range(1, len(chunk) + 1))
        rows = await ex.fetch(f"SELECT key, article_id FROM article_keys WHERE key IN ({marks})", *chunk)
        found.update({str(row[0]): int(row[1]) for row in rows})
    return found


async def _insert_keys(ex: Executor, pairs: list[tuple[str, int]]) -> set[str]:
    """Insert (key, article_id) pairs, skipping keys that exist; the keys that were inserted."""
    inserted: set[str] = set()
    # Sorted, so two writers inserting overlapping keys take the unique-index locks in the same order.
    ordered = sorted(dict(pairs).items())
    for start in range(0, len(ordered), KEY_BATCH):
        chunk = ordered[start : start + KEY_BATCH]
        values = ", ".join(f"(${2 * i + 1}, ${2 * i + 2})" for i in range(len(chunk)))
        args = [v for pair in chunk for v in pair]
        rows = await ex.fetch(
            f"INSERT INTO article_keys (key, article_id) VALUES {values} ON CONFLICT (key) DO NOTHING RETURNING key",
            *args,
        )
        inserted.update(str(r[0]) for r in rows)
    return inserted


async def _store_chunk(
    ex: Executor, chunk: list[tuple[int, _Keyed]], source_id: int | None, now: dt.datetime
) -> list[tuple[int, StoreResult]]:
    """Store one chunk: look its keys up, insert the unknown articles in one statement, then their keys.

    Rows are inserted in sorted order (articles by identity, then keys), so two writers storing overlapping chunks
    take the unique-index locks in the same order and wait for each other instead of deadlocking.
    """
    wanted: set[str] = set()
    for _, item in chunk:
        wanted.update(item.wanted())
    known = await _lookup_keys(ex, wanted)
    # Articles to insert get provisional (negative) ids, so later items of this chunk can match them already.
    fresh: dict[int, tuple[str, ParsedArticle, _Keyed]] = {}
    planned: list[tuple[int, int, bool]] = []
    pending: list[tuple[str, int]] = []
    for i, item in chunk:
        existing, keys, _lookup = item.match(known)
        new = existing is None
        if existing is None:
            existing = -(len(fresh) + 1)
            fresh[existing] = (keys[0], item.article, item)
        shared = item.shared_link
        names = [*keys, shared_link_key(shared)] if shared is not None else keys
        # Keys we had not seen (a GUID that changed, a second source's URL) now name this article.
        unseen = [k for k in names if k not in known]
        pending.extend((k, existing) for k in unseen)
        known.update(dict.fromkeys(unseen, existing))
        planned.append((i, existing, new))
    ids = await _insert_articles(ex, fresh, source_id, now)
    created = {ids[p]: fresh[p][2] for p in fresh if ids[p] > 0}
    resolved = {p: abs(ids[p]) for p in fresh}
    inserted = await _insert_keys(ex, [(k, resolved.get(a, a)) for k, a in pending])
    out = [(i, StoreResult(resolved.get(a, a), new and ids.get(a, 0) > 0)) for i, a, new in planned]
    lost = {k for k, _ in pending if k not in inserted}
    if lost and created:
        merged = await _merge_losers(ex, created, lost)
        if merged:
            out = [
                (i, StoreResult(merged.get(r.article_id, r.article_id), r.new and r.article_id not in merged))
                for i, r in out
            ]
    return out


async def _insert_articles(
    ex: Executor, fresh: dict[int, tuple[str, ParsedArticle, _Keyed]], source_id: int | None, now: dt.datetime
) -> dict[int, int]:
    """Insert the chunk's new articles; {provisional id: real id}, negative when another writer stored that
    identity first (then it is that writer's article, and this item is not new)."""
    if not fresh:
        return {}
    by_identity = {identity: p for p, (identity, _, _) in fresh.items()}
    rows: list[tuple[object, ...]] = []
    for identity in sorted(by_identity):
        _, article, _ = fresh[by_identity[identity]]
        published_at, precision = published_parts(article.published)
        rows.append(
            (
                identity,
                article.url,
                article.title,
                article.body,
                article.summary,
                article.author,
                published_at,
                precision,
                article.caption,
                article.image_url,
                article.site_name,
                source_id,
                now,
            )
        )
    ids: dict[int, int] = {}
    width = len(rows[0])
    per_statement = max(1, 900 // width)
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        values = ", ".join(
            "(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")" for r in range(len(part))
        )
        got = await ex.fetch(
            "INSERT INTO articles (identity, url, title, body, summary, author, published_at, published_precision,"
            f" caption, image_url, site_name, source_id, ingested_at) VALUES {values}"
            " ON CONFLICT (identity) DO NOTHING RETURNING id, identity",
            *[v for row in part for v in row],
        )
        for row in got:
            ids[by_identity[str(row[1])]] = int(row[0])
    missing = [identity for identity, p in by_identity.items() if p not in ids]
    if missing:
        # Another writer stored these identities after our look-up: theirs are the articles.
        winners = await _lookup_identities(ex, missing)
        for identity in missing:
            log.debug("Another writer stored %s first (article %s)", identity, winners[identity])
            ids[by_identity[identity]] = -winners[identity]
    return ids


async def _lookup_identities(ex: Executor, identities: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(identities), KEY_BATCH):
        part = identities[start : start + KEY_BATCH]
        marks = ", ".join(f"${i}" for i in range(1, len(part) + 1))
        rows = await ex.fetch(f"SELECT identity, id FROM articles WHERE identity IN ({marks})", *part)
        found.update({str(r[0]): int(r[1]) for r in rows})
    return found


async def _merge_losers(ex: Executor, created: dict[int, _Keyed], lost: set[str]) -> dict[int, int]:
    """Keys that another writer stored between our look-up and our insert: where such a key would have matched one
    of the articles this chunk created (had the other writer been first, which it was), our article is a second copy
    of the winner's. Its keys move to the winner and our row goes; it was never committed, so nobody refers to it.

    Returns {our new id: the winner's id}.
    """
    owners = await _lookup_keys(ex, lost)
    merged: dict[int, int] = {}
    for article_id, item in created.items():
        winner = item.match({k: v for k, v in owners.items() if v != article_id})[0]
        if winner is None:
            continue
        log.info("Article %s was stored concurrently as %s; merged into it", article_id, winner)
        await ex.execute("UPDATE article_keys SET article_id = $1 WHERE article_id = $2", winner, article_id)
        await ex.execute("DELETE FROM articles WHERE id = $1", article_id)
        merged[article_id] = winner
    return merged
