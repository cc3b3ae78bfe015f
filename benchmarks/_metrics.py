"""Scoring helpers shared by the benchmarks.

The extraction score re-implements the Zyte/ScrapingHub article-extraction-benchmark metric from its
description: texts become ``\\w+`` tokens, then multisets of 4-token shingles; each document gets true
positives, false positives and false negatives from the shingle counts, scaled so that every document
weighs the same; precision and recall are averaged over documents and F1 is their harmonic mean.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+")

SHINGLE_SIZE = 4


@dataclass(frozen=True, slots=True)
class Overlap:
    """One document's shingle overlap, scaled to sum to 1 (all zero when both texts are empty)."""

    tp: float
    fp: float
    fn: float

    @property
    def precision(self) -> float | None:
        """None when nothing was predicted: such a document does not count towards precision."""
        if self.tp + self.fp == 0:
            return None
        return self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float | None:
        """None when the truth is empty: such a document does not count towards recall."""
        if self.tp + self.fn == 0:
            return None
        return self.tp / (self.tp + self.fn)


@dataclass(frozen=True, slots=True)
class Scores:
    documents: int
    precision: float
    recall: float
    f1: float


def tokenize(text: str, *, lowercase: bool = False) -> list[str]:
    # The upstream benchmark compares tokens case-sensitively; lowercasing is offered for callers that
    # want to forgive case-only differences (e.g. all-caps headings), but it is not the benchmark's rule.
    tokens = _TOKEN.findall(text or "")
    return [t.lower() for t in tokens] if lowercase else tokens


def shingles(text: str, n: int = SHINGLE_SIZE, *, lowercase: bool = False) -> Counter[tuple[str, ...]]:
    """Multiset of ``n``-token shingles. A text shorter than ``n`` tokens is one short shingle, so a
    three-word prediction still counts; an empty text has no shingles at all."""
    tokens = tokenize(text, lowercase=lowercase)
    if not tokens:
        return Counter()
    if len(tokens) <= n:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def overlap(truth: str, prediction: str, n: int = SHINGLE_SIZE, *, lowercase: bool = False) -> Overlap:
    true_counts = shingles(truth, n, lowercase=lowercase)
    pred_counts = shingles(prediction, n, lowercase=lowercase)
    # Counter arithmetic keeps only positive counts, which is exactly min / surplus / shortfall.
    tp = sum((true_counts & pred_counts).values())
    fp = sum((pred_counts - true_counts).values())
    fn = sum((true_counts - pred_counts).values())
    total = tp + fp + fn
    if total == 0:
        return Overlap(0.0, 0.0, 0.0)
    # Scaling per document stops one long article from dominating the corpus figure.
    return Overlap(tp / total, fp / total, fn / total)


def aggregate(overlaps: Iterable[Overlap]) -> Scores:
    """Average per-document precision and recall; F1 is the harmonic mean of those two averages.

    A document with an empty prediction counts for recall (as 0) but not for precision, and one with an
    empty truth counts for precision but not for recall, as in the benchmark.
    """
    items: Sequence[Overlap] = list(overlaps)
    precisions = [p for p in (o.precision for o in items) if p is not None]
    recalls = [r for r in (o.recall for o in items) if r is not None]
    precision = math.fsum(precisions) / len(precisions) if precisions else 0.0
    recall = math.fsum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return Scores(len(items), precision, recall, f1)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (``q`` in 0..100) of a non-empty sequence."""
    if not values:
        raise ValueError("percentile of an empty sequence")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_ms(samples: Sequence[float]) -> dict[str, float]:
    """Median and p95 of durations in seconds, as milliseconds rounded for a JSON report."""
    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered) * 1000, 2),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000, 2),
    }
