"""Store speed: ``newsbot ingest`` of generated article files against plain sqlite3 + FTS5 (the floor).

Generates ``--articles`` text files of about 600 words (title, byline, date, paragraphs) from a seeded vocabulary,
then times the whole ``newsbot ingest DIR`` process into a fresh SQLite store (interpreter start-up, parsing,
identity, the full-text index, commit), and in the same run inserts the same titles and bodies with plain
``sqlite3`` into an articles table and an FTS5 index of the same configuration, in one transaction: the least any
store of these rows can cost. The last line is one JSON object:
``articles``, ``seconds``, ``articles_per_s``, ``floor_seconds``, ``floor_articles_per_s`` and ``ratio``.

    uv run python benchmarks/bench_store.py --articles 2000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]

SYLLABLES = [
    "ba",
    "be",
    "bi",
    "bo",
    "bu",
    "ca",
    "ce",
    "ci",
    "co",
    "cu",
    "da",
    "de",
    "di",
    "do",
    "du",
    "fa",
    "fe",
    "fi",
    "fo",
    "ga",
    "ge",
    "gi",
    "go",
    "ha",
    "he",
    "hi",
    "ho",
    "ka",
    "ke",
    "ki",
    "ko",
    "la",
    "le",
    "li",
    "lo",
    "lu",
    "ma",
    "me",
    "mi",
    "mo",
    "mu",
    "na",
    "ne",
    "ni",
    "no",
    "nu",
    "pa",
    "pe",
    "pi",
    "po",
    "ra",
    "re",
    "ri",
    "ro",
    "ru",
    "sa",
    "se",
    "si",
    "so",
    "su",
    "ta",
    "te",
    "ti",
    "to",
    "tu",
    "va",
    "ve",
    "vi",
    "vo",
    "za",
    "ze",
    "zo",
    "bar",
    "ber",
    "tor",
    "ton",
    "son",
    "man",
    "ner",
    "ley",
    "ing",
    "tion",
    "ment",
    "ers",
    "est",
    "ist",
    "ard",
    "ward",
    "land",
    "ford",
    "burg",
    "ville",
]
VOCABULARY = 30_000


def vocabulary(rng: random.Random) -> list[str]:
    """Pseudo-words, so that the full-text index sees a news-sized vocabulary rather than a hundred words."""
    words: set[str] = set()
    while len(words) < VOCABULARY:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words)


class Text:
    """Words drawn by Zipf's law (rank r has weight 1/r), as in real prose."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = vocabulary(rng)
        self.weights = [1 / (rank + 1) for rank in range(len(self.words))]

    def sentence(self) -> str:
        words = self.rng.choices(self.words, self.weights, k=self.rng.randint(12, 24))
        return " ".join(words).capitalize() + "."


def article_text(text: Text, n: int) -> tuple[str, str]:
    rng = text.rng
    title = f"{text.sentence().rstrip('.').title()[:80]} {n}"
    paragraphs = []
    words = 0
    while words < 600:
        paragraph = " ".join(text.sentence() for _ in range(rng.randint(2, 4)))
        words += len(paragraph.split())
        paragraphs.append(paragraph)
    body = "\n\n".join(paragraphs)
    day = 1 + n % 28
    text = f"{title}\n\nby Reporter {n % 37}\n\nPublished: 2024-03-{day:02d}\n\n{body}\n"
    return title, text


def generate(folder: Path, count: int, seed: int = 7) -> list[tuple[str, str]]:
    source = Text(random.Random(seed))
    rows = []
    for n in range(count):
        title, text = article_text(source, n)
        (folder / f"article-{n:05d}.txt").write_text(text, encoding="utf-8")
        rows.append((title, text))
    return rows


def run_ingest(folder: Path, db: Path) -> float:
    env = {**os.environ, "NEWSBOT_DB": str(db), "NEWSBOT_LOG_LEVEL": "WARNING"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ingest", str(folder)], env=env, cwd=REPO_ROOT, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"newsbot ingest failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds


def floor(rows: list[tuple[str, str]], db: Path) -> float:
    """Plain sqlite3: the same rows and an FTS5 index configured as newsbot's, in one transaction."""
    started = time.perf_counter()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE articles (id INTEGER PRIMARY KEY, identity TEXT NOT NULL UNIQUE, title TEXT, body TEXT)")
    conn.execute(
        "CREATE VIRTUAL TABLE articles_fts USING fts5 (title, body, content = 'articles', content_rowid = 'id',"
        " tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3')"
    )
    conn.execute("BEGIN")
    for n, (title, text) in enumerate(rows):
        cursor = conn.execute(
            "INSERT INTO articles (identity, title, body) VALUES (?, ?, ?)", (f"sha256:{n:032x}", title, text)
        )
        conn.execute("INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)", (cursor.lastrowid, title, text))
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; medians are reported")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "articles"
        folder.mkdir()
        rows = generate(folder, args.articles)
        ours, floors = [], []
        for i in range(args.repeat):
            db = Path(tmp) / f"ours-{i}.sqlite3"
            ours.append(run_ingest(folder, db))
            stored = sqlite3.connect(db).execute("SELECT COUNT(*) FROM articles").fetchone()[0]
            if stored != args.articles:
                raise SystemExit(f"newsbot stored {stored} articles, not {args.articles}")
            floors.append(floor(rows, Path(tmp) / f"floor-{i}.sqlite3"))
    seconds, floor_seconds = statistics.median(ours), statistics.median(floors)
    result = {
        "articles": args.articles,
        "seconds": round(seconds, 3),
        "articles_per_s": round(args.articles / seconds, 1),
        "floor_seconds": round(floor_seconds, 3),
        "floor_articles_per_s": round(args.articles / floor_seconds, 1),
        "ratio": round(seconds / floor_seconds, 2),
        "runs": [round(s, 3) for s in ours],
        "floor_runs": [round(s, 3) for s in floors],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
