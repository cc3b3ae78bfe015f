"""Question-answering benchmark over a small labelled question set.

    uv run python benchmarks/eval_ask.py [--corpus ../shared/corpus/realsumm] [--aeb ../shared/corpus/aeb]
                                         [--set dev|check] [--verbose]

Two question sets live in ``tests/fixtures/ask/``: ``dev`` (questions.json), which ask.py was developed
against, and ``check`` (questions-check.json), written afterwards and never used for tuning, so its figures
are the honest estimate. Each names a pool of articles (the project's seed article, CNN/Daily Mail articles
from ``DIR/cnndm.jsonl`` by id, web articles from the AEB ground truth by id prefix; corpus articles are
skipped with their questions when the corpus is absent) and, per question, the
article that answers it and substrings one of the answer's sentences must contain, or ``null`` when nothing in
the pool answers it. Two settings:

- **pool**: every question is asked over the whole pool, as after a search that found several articles;
- **named**: each answerable question is asked of its own article only, as when a member names it.

An answer is *right* when it comes from the labelled article and one of its sentences contains one of the
expected substrings (case-insensitive); *wrong* when it answers otherwise; declining ("I don't know") is right
exactly for the unanswerable questions. ``false_answer_rate`` is wrong answers over all answers given.

The baseline, measured on the same questions, is plain word overlap: the sentence sharing the most content
words with the question, answered whenever it shares at least one. The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._metrics import percentile
from bot.news.ask import Answer, ArticleText, answer
from bot.news.loader import load_article_file
from bot.news.sentences import split_sentences
from bot.news.summarize import terms

REPO = Path(__file__).resolve().parents[1]
QUESTION_SETS = {
    "dev": REPO / "tests" / "fixtures" / "ask" / "questions.json",
    "check": REPO / "tests" / "fixtures" / "ask" / "questions-check.json",
}
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "realsumm"
DEFAULT_AEB = REPO.parent / "shared" / "corpus" / "aeb"
_TAG = re.compile(r"</?t>")

Answerer = Callable[[str, Sequence[ArticleText]], Answer | None]


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    article: str | None
    expect: tuple[str, ...]


def load_pool(spec: dict[str, dict[str, object]], corpus: Path, aeb: Path = DEFAULT_AEB) -> dict[str, ArticleText]:
    """Articles by key; corpus articles are left out when their corpus is not there."""
    realsumm: dict[int, str] = {}
    path = corpus / "cnndm.jsonl"
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                realsumm[int(row["id"])] = _TAG.sub(" ", row["article"]).strip()
    web: dict[str, str] = {}
    truth = aeb / "ground-truth.json"
    if truth.is_file():
        web = {key: item["articleBody"] for key, item in json.loads(truth.read_text(encoding="utf-8")).items()}
    pool: dict[str, ArticleText] = {}
    for number, (key, source) in enumerate(spec.items(), 1):
        if "file" in source:
            parsed = load_article_file(REPO / str(source["file"])).article
            pool[key] = ArticleText(number, parsed.title, parsed.body, parsed.url)
        elif "realsumm" in source:
            doc_id = int(str(source["realsumm"]))
            if doc_id in realsumm:
                # The corpus has no titles; an empty one gives no help.
                pool[key] = ArticleText(number, "", realsumm[doc_id], None)
        elif "aeb" in source:
            prefix = str(source["aeb"])
            found = [body for item_id, body in web.items() if item_id.startswith(prefix)]
            if found:
                pool[key] = ArticleText(number, "", found[0], None)
        else:
            raise SystemExit(f"article {key!r}: give 'file', 'realsumm' or 'aeb'")
    return pool


def load_questions(path: Path) -> tuple[dict[str, dict[str, object]], list[Question]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    questions = [Question(q["q"], q.get("article"), tuple(q.get("expect", ()))) for q in data["questions"]]
    return data["articles"], questions


def overlap_baseline(question: str, candidates: Sequence[ArticleText]) -> Answer | None:
    asked = set(terms(question))
    best: tuple[int, int, str] | None = None
    for index, candidate in enumerate(candidates):
        for sentence in split_sentences(candidate.body):
            shared = len(asked & set(terms(sentence)))
            if shared and (best is None or shared > best[0]):
                best = (shared, index, sentence)
    if best is None:
        return None
    chosen = candidates[best[1]]
    return Answer(chosen.id, [best[2]], float(best[0]), chosen.url, chosen.title)


def judge(question: Question, got: Answer | None, pool: dict[str, ArticleText]) -> str:
    """'right', 'wrong' (answered badly, or answered what nothing answers), or 'declined'."""
    if got is None:
        return "right" if question.article is None else "declined"
    if question.article is None:
        return "wrong"
    expected_id = pool[question.article].id
    text = " ".join(got.sentences).lower()
    ok = got.article_id == expected_id and any(e.lower() in text for e in question.expect)
    return "right" if ok else "wrong"


def evaluate(
    answerer: Answerer,
    questions: Sequence[Question],
    pool: dict[str, ArticleText],
    *,
    named: bool,
    verbose: bool = False,
    label: str = "",
) -> dict[str, object]:
    everything = list(pool.values())
    asked = [q for q in questions if not (named and q.article is None)]
    counts = {"answered_right": 0, "answered_wrong": 0, "declined_answerable": 0, "unanswerable_answered": 0}
    times: list[float] = []
    for question in asked:
        candidates = [pool[question.article]] if named and question.article else everything
        start = time.perf_counter()
        got = answerer(question.text, candidates)
        times.append(time.perf_counter() - start)
        outcome = judge(question, got, pool)
        if question.article is None:
            counts["unanswerable_answered"] += outcome == "wrong"
        else:
            counts[
                {"right": "answered_right", "wrong": "answered_wrong", "declined": "declined_answerable"}[outcome]
            ] += 1
        if verbose and outcome != "right":
            said = " | ".join(s[:90] for s in got.sentences) if got else "(I don't know)"
            print(f"{label:>10} {outcome:>8}  {question.text!r} -> {said}")
    unanswerable = sum(1 for q in asked if q.article is None)
    right = counts["answered_right"] + unanswerable - counts["unanswerable_answered"]
    answers = counts["answered_right"] + counts["answered_wrong"] + counts["unanswerable_answered"]
    false_answers = counts["answered_wrong"] + counts["unanswerable_answered"]
    return {
        "questions": len(asked),
        "answerable": len(asked) - unanswerable,
        "unanswerable": unanswerable,
        "accuracy": round(right / len(asked), 3) if asked else 0.0,
        **counts,
        "false_answer_rate": round(false_answers / answers, 3) if answers else 0.0,
        "p95_ms": round(percentile([t * 1000 for t in times], 95), 2) if times else 0.0,
        "median_ms": round(statistics.median(times) * 1000, 2) if times else 0.0,
    }


def run_set(path: Path, corpus: Path, aeb: Path, *, verbose: bool) -> dict[str, object]:
    spec, questions = load_questions(path)
    pool = load_pool(spec, corpus, aeb)
    usable = [q for q in questions if q.article is None or q.article in pool]
    skipped = len(questions) - len(usable)
    if skipped:
        print(f"note: {path.name}: {skipped} questions skipped (their corpus is absent)", file=sys.stderr)
    return {
        "articles": len(pool),
        "skipped": skipped,
        "ours": {
            "pool": evaluate(answer, usable, pool, named=False, verbose=verbose, label="ours/pool"),
            "named": evaluate(answer, usable, pool, named=True, verbose=verbose, label="ours/named"),
        },
        "overlap_baseline": {
            "pool": evaluate(overlap_baseline, usable, pool, named=False),
            "named": evaluate(overlap_baseline, usable, pool, named=True),
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder with cnndm.jsonl")
    parser.add_argument("--aeb", type=Path, default=DEFAULT_AEB, help="folder with ground-truth.json")
    parser.add_argument("--set", choices=sorted(QUESTION_SETS), action="append", help="question sets (default: all)")
    parser.add_argument("--verbose", action="store_true", help="print every question not answered right")
    args = parser.parse_args(argv)
    result = {}
    for name in args.set or list(QUESTION_SETS):
        if args.verbose:
            print(f"--- {name}")
        result[name] = run_set(QUESTION_SETS[name], args.corpus, args.aeb, verbose=args.verbose)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
