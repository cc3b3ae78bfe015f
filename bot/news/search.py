"""Fuzzy headline matching for autocomplete and free-text article options. Pure: no discord, no SQL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process, utils

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
