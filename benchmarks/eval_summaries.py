"""Extractive summary benchmark on CNN/Daily Mail articles laid out like ``shared/corpus/realsumm``.

    uv run python benchmarks/eval_summaries.py --corpus ../shared/corpus/realsumm [--cv]

Input: ``DIR/cnndm.jsonl``, one ``{id, article, highlights}`` object per line, lower-cased and PTB-tokenised.
The article is wrapped in one ``<t> … </t>`` pair (it carries no sentence marks); the highlights mark their
sentences with ``<t> … </t>`` and glue them with `` .``.

- **Ours**: :func:`bot.news.summarize.summarize` at its default length (medium, 3 sentences) on the article
  text with the wrapping tags removed. It splits the raw text with its own splitter; no corpus marker is used.
- **Lead-3**, the conventional way: the first three sentences, cut after every ``.``, ``!`` and ``?`` token
  (the text is tokenised, so each sentence-final mark is its own token), as in See et al. (2017) and in
  ``shared/notes/quality-yardsticks.md`` §3.2.
- **Reference**: the highlight sentences, one per line.

Scores are rouge-score F1 × 100 with the Porter stemmer on: ``rouge1``, ``rouge2``, ``rougeL`` (over the flat
text) and ``rougeLsum`` (summary-level, sentences on separate lines; the figure usually quoted for CNN/DM).
``p95_ms`` is the 95th percentile over documents of each document's median time over ``--repeat`` runs of
the summary call alone. ``dangling_openers`` counts summaries whose first sentence leans on one left out.

``--cv`` adds the cross-validation check: every document is scored under a grid of the summariser's two
weights; over ``--splits`` seeded random halvings, the weights with the best train-half ROUGE-1 + ROUGE-2 are
scored on the other half beside Lead-3 on that same half. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script (``python benchmarks/eval_summaries.py``): make the repo root importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rouge_score import rouge_scorer

from benchmarks._metrics import percentile
from bot.news.sentences import split_with_context
from bot.news.summarize import MAX_BODY_CHARS, MAX_CANDIDATES, Weights, leans_on_previous, select_sentences, summarize

_TAG = re.compile(r"</?t>")
_HIGHLIGHT_BREAK = re.compile(r" \.(?=\S)| \.\s*$")
_SENTENCE_TOKENS = frozenset({".", "!", "?"})
_METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum")

POSITION_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
REDUNDANCY_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    article: str
    reference: list[str]


def load(corpus: Path) -> list[Document]:
    path = corpus / "cnndm.jsonl"
    if not path.is_file():
        raise SystemExit(f"{path}: not found (pass --corpus pointing at shared/corpus/realsumm)")
    docs: list[Document] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                article = _TAG.sub(" ", row["article"]).strip()
                highlights = _TAG.sub(" ", row["highlights"]).strip()
            except (ValueError, KeyError, TypeError) as exc:
                raise SystemExit(f"{path}:{number}: not a {{id, article, highlights}} object ({exc})") from exc
            reference = [part.strip() for part in _HIGHLIGHT_BREAK.split(highlights) if part.strip()]
            docs.append(Document(str(row.get("id", number)), article, reference))
    return docs


def lead3(article: str) -> list[str]:
    sentences: list[str] = []
    current: list[str] = []
    for token in article.split():
        current.append(token)
        if token in _SENTENCE_TOKENS:
            sentences.append(" ".join(current))
            current = []
            if len(sentences) == 3:
                return sentences
    if current:
        sentences.append(" ".join(current))
    return sentences[:3]


_SCORER = rouge_scorer.RougeScorer(list(_METRICS), use_stemmer=True)


def rouge(summary: Sequence[str], reference: Sequence[str]) -> dict[str, float]:
    scores = _SCORER.score("\n".join(reference), "\n".join(summary))
    return {name: scores[name].fmeasure for name in _METRICS}


def opens_dangling(summary: Sequence[str], article: str) -> bool:
    """Whether the summary's first sentence needs a sentence before it that the summary left out."""
    if not summary:
        return False
    split = split_with_context(article)
    for i, sentence in enumerate(split):
        if sentence.text == summary[0]:
            return i > 0 and (sentence.in_quote or leans_on_previous(sentence.text))
    return False


def mean_scores(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    return {name: round(100 * statistics.fmean(r[name] for r in rows), 2) for name in _METRICS}


def timed(fn: Callable[[str], object], article: str, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(article)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def system_report(
    docs: Sequence[Document], summaries: Sequence[list[str]], times: Sequence[float], dangling: Sequence[bool]
) -> tuple[dict[str, object], list[dict[str, float]]]:
    """Mean scores and timing; ``dangling[i]`` says summary ``i`` opens with a sentence leaning on one left out."""
    rows = [rouge(s, d.reference) for s, d in zip(summaries, docs, strict=True)]
    report: dict[str, object] = dict(mean_scores(rows))
    report["p95_ms"] = round(percentile([t * 1000 for t in times], 95), 2)
    report["median_ms"] = round(statistics.median(times) * 1000, 2)
    report["words"] = round(statistics.fmean(sum(len(s.split()) for s in summary) for summary in summaries), 1)
    report["dangling_openers"] = sum(dangling)
    return report, rows


def cross_validate(
    docs: Sequence[Document], lead_rows: Sequence[dict[str, float]], splits: int, seed: int
) -> dict[str, object]:
    grid = [Weights(p, r) for p in POSITION_GRID for r in REDUNDANCY_GRID]
    split_docs = [split_with_context(d.article[:MAX_BODY_CHARS])[:MAX_CANDIDATES] for d in docs]
    per_config: list[list[tuple[float, float]]] = []
    for weights in grid:
        rows = []
        for split, doc in zip(split_docs, docs, strict=True):
            parts = [s.text for s in split]
            picked = select_sentences(parts, 3, weights=weights, in_quote=[s.in_quote for s in split])
            chosen = [parts[i] for i in picked]
            scores = rouge(chosen, doc.reference)
            rows.append((scores["rouge1"], scores["rouge2"]))
        per_config.append(rows)
    lead = [(r["rouge1"], r["rouge2"]) for r in lead_rows]

    def mean(rows: Sequence[tuple[float, float]], idx: Sequence[int], k: int) -> float:
        return 100 * statistics.fmean(rows[i][k] for i in idx)

    beats_full = sum(
        1
        for rows in per_config
        if mean(rows, range(len(docs)), 0) > mean(lead, range(len(docs)), 0)
        and mean(rows, range(len(docs)), 1) > mean(lead, range(len(docs)), 1)
    )
    rng = random.Random(seed)
    indices = list(range(len(docs)))
    wins = 0
    chosen_counts: Counter[str] = Counter()
    ours1, ours2, lead1, lead2 = [], [], [], []
    for _ in range(splits):
        rng.shuffle(indices)
        train, test = indices[: len(indices) // 2], indices[len(indices) // 2 :]
        best = max(range(len(grid)), key=lambda c: mean(per_config[c], train, 0) + mean(per_config[c], train, 1))
        chosen_counts[f"position={grid[best].position},redundancy={grid[best].redundancy}"] += 1
        o1, o2 = mean(per_config[best], test, 0), mean(per_config[best], test, 1)
        l1, l2 = mean(lead, test, 0), mean(lead, test, 1)
        wins += o1 > l1 and o2 > l2
        ours1.append(o1)
        ours2.append(o2)
        lead1.append(l1)
        lead2.append(l2)
    return {
        "grid": len(grid),
        "grid_beating_lead3_on_all_docs": beats_full,
        "splits": splits,
        "test_half_wins_both": round(wins / splits, 3),
        "test_half_ours": {"rouge1": round(statistics.fmean(ours1), 2), "rouge2": round(statistics.fmean(ours2), 2)},
        "test_half_lead3": {"rouge1": round(statistics.fmean(lead1), 2), "rouge2": round(statistics.fmean(lead2), 2)},
        "test_half_rouge1_margin_p5": round(percentile([o - b for o, b in zip(ours1, lead1, strict=True)], 5), 2),
        "test_half_rouge2_margin_p5": round(percentile([o - b for o, b in zip(ours2, lead2, strict=True)], 5), 2),
        "chosen_most_often": chosen_counts.most_common(3),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, required=True, help="folder with cnndm.jsonl")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per document (median kept)")
    parser.add_argument("--cv", action="store_true", help="also run the cross-validation check")
    parser.add_argument("--splits", type=int, default=1000, help="random halvings for --cv")
    parser.add_argument("--seed", type=int, default=20240705)
    parser.add_argument("--verbose", action="store_true", help="one line per document, worst margin first")
    args = parser.parse_args(argv)

    docs = load(args.corpus)
    if not docs:
        raise SystemExit(f"{args.corpus / 'cnndm.jsonl'}: no documents")
    ours = [summarize(d.article) for d in docs]
    ours_times = [timed(summarize, d.article, args.repeat) for d in docs]
    leads = [lead3(d.article) for d in docs]
    lead_times = [timed(lead3, d.article, args.repeat) for d in docs]
    ours_report, ours_rows = system_report(
        docs, ours, ours_times, [opens_dangling(s, d.article) for s, d in zip(ours, docs, strict=True)]
    )
    # Lead-3 opens with the article's first sentence, which has nothing before it to lean on.
    lead_report, lead_rows = system_report(docs, leads, lead_times, [False] * len(docs))

    margins = [o["rouge1"] - lead["rouge1"] for o, lead in zip(ours_rows, lead_rows, strict=True)]
    ours_report["docs_better_rouge1"] = sum(1 for m in margins if m > 1e-9)
    ours_report["docs_worse_rouge1"] = sum(1 for m in margins if m < -1e-9)
    if args.verbose:
        for margin, doc, summary in sorted(zip(margins, docs, ours, strict=True), key=lambda t: t[0]):
            print(f"{doc.id:>5} {100 * margin:+6.1f}  {' | '.join(s[:60] for s in summary)}")
    result: dict[str, object] = {"docs": len(docs), "ours": ours_report, "lead3": lead_report}
    if args.cv:
        result["cv"] = cross_validate(docs, lead_rows, args.splits, args.seed)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
