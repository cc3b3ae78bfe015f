"""Article extraction benchmark on a corpus laid out like ``shared/corpus/aeb``.

    uv run python benchmarks/eval_extraction.py --corpus ../shared/corpus/aeb --mode html

Inputs: ``DIR/html/<id>.html.gz`` and ``DIR/ground-truth.json`` (id → {articleBody, url, pageText}).
Mode ``html`` extracts each page with :func:`bot.news.html.extract_html`; mode ``text`` cleans the
whole-page text with :func:`bot.news.text.clean_page_text`. Scores use the benchmark's 4-token shingle
metric (``benchmarks/_metrics.py``). Timing covers the extraction call only (not reading or gunzipping
the file). The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):
    # Run as a script (``python benchmarks/eval_extraction.py``): make the repo root importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._metrics import Overlap, aggregate, overlap, percentile
from bot.errors import ParseError

#: Strings that must never survive into an article body (the seed article's page furniture), matched
#: case-insensitively, and the upper-case photo credit "REUTERS/Name" (prose may say "a Reuters/Ipsos poll").
BOILERPLATE_MARKERS = ("share your thoughts", "bloggers like this", "news ticker")
PHOTO_CREDIT = re.compile(r"\bREUTERS/\s*[A-Z]")


@dataclass(frozen=True, slots=True)
class PageResult:
    id: str
    overlap: Overlap
    ms: float
    boilerplate: tuple[str, ...]
    error: str | None = None


def load_ground_truth(corpus: Path) -> dict[str, dict[str, str]]:
    data = json.loads((corpus / "ground-truth.json").read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise SystemExit(f"{corpus / 'ground-truth.json'}: expected an object keyed by page id")
    return data


def boilerplate_in(text: str) -> tuple[str, ...]:
    lowered = text.lower()
    found = [marker for marker in BOILERPLATE_MARKERS if marker in lowered]
    if PHOTO_CREDIT.search(text):
        found.append("REUTERS/ credit")
    return tuple(found)


def html_extractor() -> Callable[[str, dict[str, str], Path], tuple[str, Callable[[], str]]]:
    from bot.news.html import extract_html

    def prepare(page_id: str, truth: dict[str, str], corpus: Path) -> tuple[str, Callable[[], str]]:
        raw = gzip.decompress((corpus / "html" / f"{page_id}.html.gz").read_bytes())
        # Bytes, as a fetcher would hand them over: decoding is part of the timed extraction.
        return page_id, lambda: extract_html(raw, url=truth.get("url")).body

    return prepare


def text_extractor() -> Callable[[str, dict[str, str], Path], tuple[str, Callable[[], str]]]:
    from bot.news.text import clean_page_text

    def prepare(page_id: str, truth: dict[str, str], corpus: Path) -> tuple[str, Callable[[], str]]:
        page_text = truth.get("pageText") or ""
        return page_id, lambda: clean_page_text(page_text)

    return prepare


def run(corpus: Path, mode: str, ids: Iterable[str] | None = None, *, lowercase: bool = False) -> list[PageResult]:
    """Extract and score each page; ``ids`` limits the run to some pages (used by the tests)."""
    truths = load_ground_truth(corpus)
    prepare = html_extractor() if mode == "html" else text_extractor()
    selected: Sequence[str] = sorted(truths) if ids is None else list(ids)
    results: list[PageResult] = []
    for page_id in selected:
        truth = truths[page_id]
        _, extract = prepare(page_id, truth, corpus)
        error: str | None = None
        start = time.perf_counter()
        try:
            predicted = extract()
        except ParseError as exc:
            # A page we refuse counts as an empty prediction: zero recall, and no precision penalty.
            predicted, error = "", str(exc)
        elapsed = (time.perf_counter() - start) * 1000
        results.append(
            PageResult(
                id=page_id,
                overlap=overlap(truth.get("articleBody") or "", predicted, lowercase=lowercase),
                ms=elapsed,
                boilerplate=boilerplate_in(predicted),
                error=error,
            )
        )
    return results


def summarise(results: Sequence[PageResult], mode: str) -> dict[str, object]:
    scores = aggregate(r.overlap for r in results)
    times = [r.ms for r in results]
    return {
        "mode": mode,
        "pages": len(results),
        "f1": round(scores.f1, 4),
        "precision": round(scores.precision, 4),
        "recall": round(scores.recall, 4),
        "p50_ms": round(percentile(times, 50), 1) if times else 0.0,
        "p95_ms": round(percentile(times, 95), 1) if times else 0.0,
        "boilerplate_left": sum(1 for r in results if r.boilerplate),
        "errors": sum(1 for r in results if r.error),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, required=True, help="folder with html/ and ground-truth.json")
    parser.add_argument("--mode", choices=("html", "text"), default="html")
    parser.add_argument(
        "--lowercase",
        action="store_true",
        help="compare tokens case-insensitively (the upstream benchmark is case-sensitive)",
    )
    parser.add_argument("--verbose", action="store_true", help="one line per page, worst first")
    args = parser.parse_args(argv)

    results = run(args.corpus, args.mode, lowercase=args.lowercase)
    if args.verbose:
        for r in sorted(results, key=lambda r: (r.overlap.precision or 0) + (r.overlap.recall or 0)):
            print(
                f"{r.id[:12]}  P={r.overlap.precision or 0:.3f} R={r.overlap.recall or 0:.3f} "
                f"{r.ms:7.1f} ms {' '.join(r.boilerplate)} {r.error or ''}"
            )
    for r in results:
        if r.boilerplate:
            print(f"boilerplate left in {r.id}: {', '.join(r.boilerplate)}", file=sys.stderr)
    print(json.dumps(summarise(results, args.mode)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
