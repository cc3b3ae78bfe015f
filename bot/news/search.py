"""Article search for autocomplete, free-text article options, the CLI and commands. Pure: no discord, no SQL.

:class:`SearchService` is the search engine: one per bot, shared by every cog and the CLI, fed from the store
through :class:`DocumentSource` and updated as articles arrive. :class:`HeadlineIndex` is the older per-cog
rapidfuzz scan, kept until the cogs are switched over.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeVar

from rapidfuzz import fuzz, process, utils

from bot.news.search_index import Query, WordIndex

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Below this partial_ratio a title is not offered; typo'd partial queries of real titles score 70+.
MIN_SCORE = 60.0
#: Longer queries add nothing to a headline match and cost time proportional to their length.
MAX_QUERY_CHARS = 100
#: Candidates re-ranked per query: enough that ties at the cut-off still reach the final list.
RERANK_POOL = 100


@dataclass(frozen=True, slots=True)
class Match:
    article_id: int
    title: str
    score: float


class HeadlineIndex:
    """Titles pre-processed once, so each keystroke costs one rapidfuzz scan and no re-normalisation.

    ``partial_ratio`` beats WRatio for short partial queries against headlines (R@1 0.82 vs 0.28 in our notes).
    """

    def __init__(self, items: Sequence[tuple[int, str]] = ()) -> None:
        self._ids = [i for i, _ in items]
        self._titles = [t for _, t in items]
        self._processed = [utils.default_process(t) for t in self._titles]

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: str, *, limit: int = 25) -> list[Match]:
        """Best matches first; with an empty query, the first ``limit`` items (newest first by construction)."""
        text = utils.default_process(query[:MAX_QUERY_CHARS])
        if not text:
            return [Match(i, t, 100.0) for i, t in zip(self._ids[:limit], self._titles[:limit], strict=True)]
        found = process.extract(
            text,
            self._processed,
            scorer=fuzz.partial_ratio,
            processor=None,
            limit=max(limit, RERANK_POOL),
            score_cutoff=MIN_SCORE,
        )
        # Ties on partial_ratio are common for short queries; prefer the title closest overall, then newest.
        found.sort(key=lambda hit: (-hit[1], -fuzz.ratio(text, hit[0]), hit[2]))
        return [Match(self._ids[idx], self._titles[idx], score) for _, score, idx in found[:limit]]

    def best(self, query: str) -> Match | None:
        hits = self.search(query, limit=1)
        return hits[0] if hits else None


@dataclass(frozen=True, slots=True)
class SearchDoc:
    """What the search engine needs of one article."""

    id: int
    title: str
    body: str
    published: datetime | None
    """Aware UTC; ``None`` for an undated article, which ranks after dated ones on ties."""


@dataclass(frozen=True, slots=True)
class Hit:
    article_id: int
    title: str
    score: float
    """0–100, a summary of how well the article matched (share of words matched, less typos and gaps); the
    order of a result list follows the ranking rules, not this number alone."""


class DocumentSource(Protocol):
    """What the store provides to the search engine (both backends implement it)."""

    async def search_docs(self, *, after_id: int, limit: int) -> list[SearchDoc]:
        """Up to ``limit`` articles with ``id > after_id``, in ascending id order (an empty list when there are
        no more). The service pages through the store with it, so one call must stay cheap at any store size:
        ``WHERE id > ? ORDER BY id LIMIT ?`` on the primary key. ``body`` may be cut to its first few thousand
        characters; the index reads no further than :data:`bot.news.search_index.BODY_CHARS`."""
        ...


#: Documents asked of the store per call while refreshing.
PAGE_SIZE = 1000
#: Documents indexed per job on the worker thread: small enough that a search queued behind a refresh waits
#: only a few milliseconds.
SLICE_SIZE = 250


class SearchService:
    """Typo-tolerant, prefix-aware article search (see :mod:`bot.news.search_index` for the ranking).

    Every index operation runs on one worker thread of the service's own, in order, so the event loop never
    waits on the index and searches interleave with a long build. Call :meth:`close` when done.
    """

    def __init__(
        self,
        source: DocumentSource | None = None,
        *,
        page_size: int = PAGE_SIZE,
        slice_size: int = SLICE_SIZE,
    ) -> None:
        self._source = source
        self._page_size = page_size
        self._slice_size = slice_size
        self._index = WordIndex()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="search")
        self._pulled = 0
        self._refresh_lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._index)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self, func: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    async def refresh(self) -> int:
        """Pull the source's articles with ids above the highest pulled so far; returns how many were added."""
        if self._source is None:
            return 0
        async with self._refresh_lock:
            started = time.perf_counter()
            added = 0
            while True:
                page = await self._source.search_docs(after_id=self._pulled, limit=self._page_size)
                if not page:
                    break
                self._pulled = max(self._pulled, max(doc.id for doc in page))
                added += await self._index_docs(page, replace=False)
                if len(page) < self._page_size:
                    break
            if added:
                log.info(
                    "search index: %d articles added in %.2f s (%d indexed)",
                    added,
                    time.perf_counter() - started,
                    len(self),
                )
            return added

    async def add(self, docs: Iterable[SearchDoc]) -> None:
        """Index ``docs``; an article already indexed is replaced by its new version."""
        await self._index_docs(list(docs), replace=True)

    async def remove(self, article_id: int) -> None:
        await self._run(self._index.remove, article_id)

    async def _index_docs(self, docs: Sequence[SearchDoc], *, replace: bool) -> int:
        added = 0
        for start in range(0, len(docs), self._slice_size):
            added += await self._run(self._add_slice, docs[start : start + self._slice_size], replace)
        return added

    def _add_slice(self, docs: Sequence[SearchDoc], replace: bool) -> int:
        index = self._index
        added = 0
        for doc in docs:
            # A refresh may meet articles that add() indexed already: those are current, not new.
            if replace or doc.id not in index:
                index.add(doc.id, doc.title, doc.body, doc.published)
                added += 1
        return added

    async def search(self, query: str, *, limit: int = 25) -> list[Hit]:
        """The best matches for ``query``, best first; empty when it has no words or nothing matches well."""
        return await self._run(self._search, query, limit)

    def _search(self, text: str, limit: int) -> list[Hit]:
        query = Query.parse(text)
        ranked = self._index.search(query, limit=limit)
        return [Hit(r.article_id, r.title, r.score(len(query.words))) for r in ranked]

    async def best(self, query: str) -> Hit | None:
        hits = await self.search(query, limit=1)
        return hits[0] if hits else None
