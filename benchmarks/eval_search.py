"""Known-item search over real feed articles, padded to ``--scale`` documents: ours against a rapidfuzz scan and FTS5.

Usage: ``uv run python -m benchmarks.eval_search --corpus ../shared/corpus/feeds --scale 10000``

Corpus. Every file under ``--corpus`` is parsed with ``bot.news.feeds.parse_feed``; each entry (title, body,
published) is a real document (entries repeated with the same title and body are kept once). The rest, up to
``--scale``, is synthetic: titles and bodies of words drawn by frequency from the real titles' and bodies'
vocabularies, with real lengths (bodies capped at ``--synthetic-body-words``), dates drawn from the real date
range (a tenth undated).

Queries (seeded). Targets are real documents whose title is unique among real titles. Five kinds, in turn:
``phrase`` (2–4 consecutive title words), ``reordered`` (the same, shuffled), ``typo`` (one random edit in each
word of 5+ letters: substitution, deletion, insertion or adjacent transposition, at any position), ``prefix`` (the
last word cut to between half its length and one letter short of it), ``body`` (3–4 consecutive words from the
body's lead, its first 60 words, none of them in the title and at least two of them content words). Queries are
lowercase words joined by spaces. The index reads only the first ``BODY_CHARS`` characters of a body, so body
phrases from further down are not measured here: they would not be found.

Honesty checks. A query is *ambiguous* when another document's title holds the same words (the same phrase for
phrase/typo/prefix; the same words in any order for reordered) or, for body queries, another document holds the
phrase anywhere. Ambiguity is counted with FTS5 phrase queries over the full texts, independently of our index.
Metrics are given over all queries and over the unambiguous ones.

Engines, on the same queries:
- ``ours``: ``bot.news.search.SearchService`` fed by an in-memory ``DocumentSource`` (fresh strings, as a store
  would return). ``build_seconds`` is the first ``refresh()``; ``rss_mb`` is the process's resident-set growth
  across it; ``add_one_ms`` is the median of single-article ``add()`` calls afterwards; ``max_loop_block_ms`` is
  the largest overshoot of a probe task sleeping 1 ms while the build and the queries run.
- ``scan``: rapidfuzz ``token_set_ratio`` over pre-processed titles (``process.extract``, limit 10).
- ``fts5``: SQLite FTS5 over title and body (unicode61, diacritics removed), every query word quoted, all
  required, the last as a prefix, ranked by ``bm25(10, 1)``.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import itertools
import json
import math
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from array import array
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rapidfuzz import fuzz, process, utils

from benchmarks._metrics import percentile
from bot.errors import ParseError
from bot.news.feeds import parse_feed
from bot.news.search import SearchDoc, SearchService
from bot.news.search_index import FUNCTION_WORDS, words

KINDS = ("phrase", "reordered", "typo", "prefix", "body")
BODY_QUERY_WORDS = 60
TOP = 10
LETTERS = "abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True, slots=True)
class Query:
    kind: str
    text: str
    target: int
    source_words: tuple[str, ...]
    """The words the query was made from, before typos and truncation."""


# -- corpus ---------------------------------------------------------------------------------------------------


def _as_datetime(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if value is not None and hasattr(value, "year"):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)  # type: ignore[attr-defined]
    return None


def real_documents(root: Path) -> list[SearchDoc]:
    seen: set[tuple[str, str]] = set()
    docs: list[SearchDoc] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        try:
            feed = parse_feed(path.read_bytes(), "https://corpus.invalid/" + path.name)
        except ParseError:
            continue
        for article in feed.articles:
            key = (article.title, article.body)
            if not words(article.title) or key in seen:
                continue
            seen.add(key)
            docs.append(SearchDoc(len(docs) + 1, article.title, article.body, _as_datetime(article.published)))
    return docs


def synthetic_documents(real: Sequence[SearchDoc], count: int, rng: random.Random, body_cap: int) -> list[SearchDoc]:
    """Titles and bodies of words drawn by frequency from the real titles' and bodies' vocabularies, with real
    lengths. Drawing words one by one (not copying phrases) keeps real titles identifiable by their phrases, as
    known-item queries assume; the ambiguity that remains is counted."""
    title_vocab: dict[str, int] = defaultdict(int)
    body_vocab: dict[str, int] = defaultdict(int)
    title_lengths: list[int] = []
    body_lengths: list[int] = []
    for doc in real:
        tokens = doc.title.split()
        if tokens:
            title_lengths.append(len(tokens))
        for t in tokens:
            title_vocab[t] += 1
        tokens = doc.body.split()
        body_lengths.append(min(len(tokens), body_cap))
        for t in tokens:
            body_vocab[t] += 1
    t_words, t_weights = list(title_vocab), list(itertools.accumulate(title_vocab.values()))
    b_words, b_weights = list(body_vocab), list(itertools.accumulate(body_vocab.values()))
    dated = sorted(d.published for d in real if d.published is not None)
    low = dated[0] if dated else datetime(2020, 1, 1, tzinfo=UTC)
    span_seconds = max((dated[-1] - low).total_seconds(), 86400.0) if dated else 86400.0 * 365
    out: list[SearchDoc] = []
    first_id = len(real) + 1
    for i in range(count):
        title = rng.choices(t_words, cum_weights=t_weights, k=rng.choice(title_lengths))
        body = rng.choices(b_words, cum_weights=b_weights, k=rng.choice(body_lengths)) if b_words else []
        published = None if rng.random() < 0.1 else low + timedelta(seconds=rng.random() * span_seconds)
        out.append(SearchDoc(first_id + i, " ".join(title), " ".join(body), published))
    return out


class ListSource:
    """A ``DocumentSource`` over a list sorted by id; returns fresh strings, as rows from a store would be."""

    def __init__(self, docs: Sequence[SearchDoc]) -> None:
        self.docs = docs
        # An array, not a list: a list of a million ints would be the collector's to walk, not the engine's.
        self.ids = array("q", (d.id for d in docs))

    async def search_docs(self, *, after_id: int, limit: int) -> list[SearchDoc]:
        start = bisect.bisect_right(self.ids, after_id)
        return [
            SearchDoc(d.id, (d.title + " ")[:-1], (d.body + " ")[:-1], d.published)
            for d in self.docs[start : start + limit]
        ]


# -- queries --------------------------------------------------------------------------------------------------


def typo(word: str, rng: random.Random) -> str:
    while True:
        at = rng.randrange(len(word))
        op = rng.choice(("sub", "del", "ins", "swap"))
        if op == "sub":
            out = word[:at] + rng.choice(LETTERS) + word[at + 1 :]
        elif op == "del":
            out = word[:at] + word[at + 1 :]
        elif op == "ins":
            out = word[:at] + rng.choice(LETTERS) + word[at:]
        else:
            at = min(at, len(word) - 2)
            out = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
        if out != word:
            return out


def make_query(kind: str, doc: SearchDoc, rng: random.Random) -> Query | None:
    title = words(doc.title)
    if kind == "body":
        in_title = set(title)
        body = words(doc.body)[:BODY_QUERY_WORDS]
        size = rng.choice((3, 4))
        # A member recalls an article by what it is about: at least two content words, none from the title.
        starts = [
            i
            for i in range(len(body) - size + 1)
            if not any(w in in_title for w in body[i : i + size])
            and sum(len(w) >= 4 and w not in FUNCTION_WORDS for w in body[i : i + size]) >= 2
        ]
        if not starts:
            return None
        at = rng.choice(starts)
        phrase = tuple(body[at : at + size])
        return Query(kind, " ".join(phrase), doc.id, phrase)
    if len(title) < 2:
        return None
    size = rng.randint(2, min(4, len(title)))
    at = rng.randrange(len(title) - size + 1)
    source = tuple(title[at : at + size])
    chosen = list(source)
    if kind == "reordered":
        if len(set(chosen)) < 2:
            return None
        while chosen == list(source):
            rng.shuffle(chosen)
    elif kind == "typo":
        if not any(len(w) >= 5 for w in chosen):
            return None
        chosen = [typo(w, rng) if len(w) >= 5 else w for w in chosen]
    elif kind == "prefix":
        last = chosen[-1]
        if len(last) < 2:
            return None
        chosen[-1] = last[: rng.randint(max(1, math.ceil(len(last) / 2)), len(last) - 1)]
    return Query(kind, " ".join(chosen), doc.id, source)


def make_queries(
    real: Sequence[SearchDoc], count: int, rng: random.Random, is_ambiguous: Callable[[Query], bool]
) -> tuple[list[Query], list[Query]]:
    """``count`` queries that identify their target by exact match, in turn of kind; and those made on the way
    that did not (ambiguous), which are scored apart."""
    title_counts: dict[tuple[str, ...], int] = defaultdict(int)
    for doc in real:
        title_counts[tuple(words(doc.title))] += 1
    targets = [d for d in real if title_counts[tuple(words(d.title))] == 1]
    queries: list[Query] = []
    rejected: list[Query] = []
    attempts = 0
    while len(queries) < count and attempts < count * 50:
        kind = KINDS[len(queries) % len(KINDS)]
        attempts += 1
        made = make_query(kind, rng.choice(targets), rng)
        if made is None:
            continue
        (rejected if is_ambiguous(made) else queries).append(made)
    return queries, rejected


# -- FTS5: baseline and ambiguity oracle ----------------------------------------------------------------------


def build_fts(docs: Sequence[SearchDoc], path: Path) -> tuple[sqlite3.Connection, float]:
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, tokenize='unicode61 remove_diacritics 2')")
    with conn:
        conn.executemany(
            "INSERT INTO docs(rowid, title, body) VALUES (?, ?, ?)", ((d.id, d.title, d.body) for d in docs)
        )
    return conn, time.perf_counter() - started


def _quote(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def fts_search(conn: sqlite3.Connection, text: str) -> list[int]:
    found = words(text)
    if not found:
        return []
    match = " ".join(_quote(w) for w in found) + "*"
    rows = conn.execute(
        "SELECT rowid FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 10.0, 1.0) LIMIT ?", (match, TOP)
    ).fetchall()
    return [int(r[0]) for r in rows]


def ambiguous(conn: sqlite3.Connection, query: Query) -> bool:
    """Whether another document matches the query's own words exactly (see the module docstring)."""
    phrase = _quote(" ".join(query.source_words))
    if query.kind == "body":
        match = phrase
    elif query.kind == "reordered":
        match = "title : (" + " AND ".join(_quote(w) for w in query.source_words) + ")"
    elif query.kind == "prefix":
        # Cut short, the last word may also begin other titles' words.
        match = "title : " + _quote(query.text) + "*"
    else:
        match = "title : " + phrase
    row = conn.execute("SELECT COUNT(*) FROM docs WHERE docs MATCH ? AND rowid != ?", (match, query.target)).fetchone()
    return bool(row and row[0])


# -- measuring ------------------------------------------------------------------------------------------------


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        resident = int(f.read().split()[1])
    return resident * os.sysconf("SC_PAGE_SIZE") / 2**20


class LoopProbe:
    """Sleeps 1 ms over and over and records how late it wakes: the longest time the loop was blocked."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.001)
            late = time.perf_counter() - t0 - 0.001
            self.samples.append(late)
            self.worst = max(self.worst, late)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass


def score(ranked: Sequence[Sequence[int]], queries: Sequence[Query], keep: Callable[[int], bool]) -> dict[str, float]:
    r1 = r5 = rr = 0.0
    n = 0
    for i, (ids, query) in enumerate(zip(ranked, queries, strict=True)):
        if not keep(i):
            continue
        n += 1
        top = list(ids[:TOP])
        if query.target in top:
            rank = top.index(query.target) + 1
            r1 += rank == 1
            r5 += rank <= 5
            rr += 1.0 / rank
    if not n:
        return {"queries": 0}
    return {"queries": n, "r_at_1": round(r1 / n, 4), "r_at_5": round(r5 / n, 4), "mrr_at_10": round(rr / n, 4)}


def latency(samples: Sequence[float]) -> dict[str, float]:
    return {"p50_ms": round(percentile(samples, 50) * 1000, 3), "p95_ms": round(percentile(samples, 95) * 1000, 3)}


async def run_ours(
    docs: Sequence[SearchDoc], extra: Sequence[SearchDoc], queries: Sequence[Query]
) -> tuple[list[list[int]], dict[str, float]]:
    # The same probe with nothing else to do: how late a 1 ms sleep wakes on this (shared) machine anyway.
    idle = LoopProbe()
    idle.start()
    await asyncio.sleep(2.0)
    await idle.stop()
    gc.collect()
    before = rss_mb()
    service = SearchService(ListSource(docs))
    probe = LoopProbe()
    probe.start()
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    added = await service.refresh()
    build = time.perf_counter() - t0
    build_cpu = time.process_time() - cpu0
    gc.collect()
    grown = rss_mb() - before
    build_block = probe.worst
    assert added == len(docs), (added, len(docs))

    ranked: list[list[int]] = []
    times: list[float] = []
    for query in queries:
        t = time.perf_counter()
        hits = await service.search(query.text, limit=TOP)
        times.append(time.perf_counter() - t)
        ranked.append([h.article_id for h in hits])
    query_block = max(probe.worst, build_block)

    adds: list[float] = []
    for doc in extra:
        t = time.perf_counter()
        await service.add([doc])
        adds.append(time.perf_counter() - t)
    await probe.stop()
    service.close()
    figures = {
        **latency(times),
        "max_loop_block_ms": round(max(probe.worst, query_block) * 1000, 2),
        "max_loop_block_build_ms": round(build_block * 1000, 2),
        "loop_block_p99_ms": round(percentile(probe.samples, 99) * 1000, 2) if probe.samples else 0.0,
        "idle_loop_block_ms": round(idle.worst * 1000, 2),
        "build_seconds": round(build, 2),
        "build_cpu_seconds": round(build_cpu, 2),
        "add_one_ms": round(statistics.median(adds) * 1000, 3),
        "add_one_p95_ms": round(percentile(adds, 95) * 1000, 3),
        "rss_mb": round(grown, 1),
    }
    return ranked, figures


def run_scan(docs: Sequence[SearchDoc], queries: Sequence[Query]) -> tuple[list[list[int]], dict[str, float]]:
    t0 = time.perf_counter()
    processed = [utils.default_process(d.title) for d in docs]
    build = time.perf_counter() - t0
    ranked: list[list[int]] = []
    times: list[float] = []
    for query in queries:
        t = time.perf_counter()
        found = process.extract(
            utils.default_process(query.text), processed, scorer=fuzz.token_set_ratio, processor=None, limit=TOP
        )
        times.append(time.perf_counter() - t)
        ranked.append([docs[i].id for _, _, i in found])
    return ranked, {**latency(times), "build_seconds": round(build, 2)}


def run_fts(
    conn: sqlite3.Connection, build: float, queries: Sequence[Query]
) -> tuple[list[list[int]], dict[str, float]]:
    ranked: list[list[int]] = []
    times: list[float] = []
    for query in queries:
        t = time.perf_counter()
        ranked.append(fts_search(conn, query.text))
        times.append(time.perf_counter() - t)
    return ranked, {**latency(times), "build_seconds": round(build, 2)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--scale", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500, help="unambiguous queries to make")
    parser.add_argument("--seed", type=int, default=10)
    parser.add_argument("--synthetic-body-words", type=int, default=200)
    parser.add_argument("--show-misses", type=int, default=0, help="print this many of our misses to stderr")
    parser.add_argument("--no-scan", action="store_true", help="skip the rapidfuzz scan (slow at 1M)")
    parser.add_argument("--no-fts", action="store_true", help="skip the FTS5 baseline (ambiguity is still counted)")
    args = parser.parse_args()

    rng = random.Random(args.seed)
    t0 = time.perf_counter()
    real = real_documents(args.corpus)
    if not real:
        sys.exit(f"no feed entries under {args.corpus}")
    docs = real + synthetic_documents(real, max(args.scale - len(real), 0), rng, args.synthetic_body_words)
    extra = synthetic_documents(docs, 100, random.Random(args.seed + 1), args.synthetic_body_words)
    extra = [SearchDoc(len(docs) + i + 1, d.title, d.body, d.published) for i, d in enumerate(extra)]
    log(f"corpus: {len(real)} real + {len(docs) - len(real)} synthetic in {time.perf_counter() - t0:.1f} s")

    engines: dict[str, tuple[list[list[int]], dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        conn, fts_build = build_fts(docs, Path(tmp) / "fts.sqlite3")
        queries, rejected = make_queries(real, args.queries, rng, lambda q: ambiguous(conn, q))
        log(f"fts5 built in {fts_build:.1f} s; {len(queries)} queries, {len(rejected)} ambiguous ones set apart")
        everything = queries + rejected
        # The corpus lives in this process only for the benchmark (the bot reads it from the store): keep the
        # collector from walking it, or its pauses would be charged to the engines.
        gc.freeze()
        engines["ours"] = await run_ours(docs, extra, everything)
        log(f"ours: {engines['ours'][1]}")
        if not args.no_fts:
            engines["fts5"] = run_fts(conn, fts_build, everything)
        conn.close()
    if not args.no_scan:
        engines["scan"] = run_scan(docs, everything)

    titles = {d.id: d.title for d in docs}
    shown = 0
    for query, ids in zip(queries, engines["ours"][0], strict=False):
        if ids[:1] != [query.target] and shown < args.show_misses:
            shown += 1
            log(
                f"MISS {query.kind} {query.text!r} -> want {titles[query.target]!r}; got {[titles[i] for i in ids[:3]]}"
            )

    clear = len(queries)
    report: dict[str, object] = {
        "scale": len(docs),
        "real_docs": len(real),
        "queries": clear,
        "ambiguous_queries": len(rejected),
        "seed": args.seed,
    }
    by_kind: dict[str, dict[str, object]] = {}
    for name, (ranked, figures) in engines.items():
        report[name] = {
            **score(ranked, everything, lambda i: i < clear),
            **figures,
            "ambiguous": score(ranked, everything, lambda i: i >= clear),
        }
        for kind in KINDS:
            kind_score = score(ranked, everything, lambda i, k=kind: i < clear and everything[i].kind == k)  # type: ignore[misc]
            by_kind.setdefault(kind, {"queries": kind_score.pop("queries", 0)})[name] = kind_score
    report["by_kind"] = by_kind
    for name in engines:
        print(f"{name:5} {report[name]}")
    print(json.dumps(report))


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
