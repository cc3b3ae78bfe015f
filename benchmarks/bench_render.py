"""The renderer on real feed text: how much stays live, what escaping costs, how long a card and a reader take.

Usage: ``uv run python -m benchmarks.bench_render --corpus ../shared/corpus/feeds/real``

Every entry of every feed file under ``--corpus`` (parsed with ``bot.news.feeds.parse_feed``) becomes an article.
For its title and body the same run measures:

* the baseline, ``discord.utils.escape_markdown`` (what the code used before): how many titles and bodies it
  leaves with something Discord would still format, link or mention, judged by the independent model in
  ``tests/markup.py``; and its time per title;
* ours, ``bot.news.format.escape_markdown``: the same counts (the bar is 0), its time per title, and how many
  characters escaping adds (it counts against the embed limits);
* the whole card (``cogs.cards.article_card``, embed + buttons + limits) and one click in the reader
  (``cogs.cards.read_message``: the pages split afresh, one rendered) per article: median and p95 milliseconds;
* the same two on generated worst cases (2 MB bodies: one prose paragraph, one run of ``*``, one word without
  spaces, 150,000 short paragraphs): the median of three runs in milliseconds.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import json
import logging
import statistics
import sys
import time
from pathlib import Path

import discord

from benchmarks._metrics import latency_ms
from bot.errors import ParseError
from bot.news.feeds import parse_feed
from bot.news.format import escape_markdown, strip_control
from bot.news.models import Article
from cogs import cards, render
from tests.markup import live_markup


def load_articles(corpus: Path) -> list[Article]:
    out: list[Article] = []
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        try:
            feed = parse_feed(path.read_bytes(), f"https://corpus.invalid/{path.name}")
        except ParseError:
            continue
        for parsed in feed.articles:
            out.append(
                Article(
                    id=len(out) + 1,
                    identity=f"bench:{len(out) + 1}",
                    title=parsed.title,
                    body=parsed.body,
                    author=parsed.author,
                    published=parsed.published,
                    caption=parsed.caption,
                    url=parsed.url,
                    image_url=parsed.image_url,
                    site_name=parsed.site_name,
                    source_id=None,
                    ingested_at=dt.datetime.now(dt.UTC),
                    summary=parsed.summary,
                )
            )
    return out


def timed_per_item(function: object, items: list[str]) -> float:
    """Microseconds per item for ``function`` over ``items`` (best of three passes: the machine is shared)."""
    assert callable(function)
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for item in items:
            function(item)
        best = min(best, time.perf_counter() - started)
    return round(best / max(1, len(items)) * 1e6, 2)


async def measure(articles: list[Article]) -> dict[str, object]:
    titles = [strip_control(" ".join(a.title.split())) for a in articles]
    bodies = [strip_control(a.body) for a in articles if a.body]

    def live(texts: list[str], escape: object) -> int:
        assert callable(escape)
        return sum(1 for text in texts if live_markup(escape(text)))

    card_s: list[float] = []
    reader_s: list[float] = []
    pages_total = 0
    for article in articles:
        started = time.perf_counter()
        cards.article_card(article).payload()
        card_s.append(time.perf_counter() - started)
        # One click on Read or Next: the pages are split afresh (nothing is cached), then one is rendered.
        started = time.perf_counter()
        cards.read_message(article, 2).payload()
        reader_s.append(time.perf_counter() - started)
        pages_total += max(1, len(render.read_pages(article)))
    escaped_chars = sum(len(escape_markdown(t)) for t in titles)
    hostile = {
        "prose_paragraph": "Words go here and on. " * 90_000,
        "stars": "*" * 2_000_000,
        "one_word": "a" * 2_000_000,
        "short_paragraphs": "Short one.\n\n" * 150_000,
    }
    worst: dict[str, dict[str, float]] = {}
    for name, body in hostile.items():
        article = dataclasses.replace(articles[0], title="Hostile", body=body)
        card_runs, click_runs = [], []
        for _ in range(3):
            started = time.perf_counter()
            cards.article_card(article).payload()
            card_runs.append(time.perf_counter() - started)
            started = time.perf_counter()
            cards.read_message(article, 5).payload()
            click_runs.append(time.perf_counter() - started)
        worst[name] = {
            "card_ms": round(statistics.median(card_runs) * 1000, 1),
            "click_ms": round(statistics.median(click_runs) * 1000, 1),
        }
    return {
        "articles": len(articles),
        "titles_live_baseline": live(titles, discord.utils.escape_markdown),
        "titles_live_ours": live(titles, escape_markdown),
        "bodies": len(bodies),
        "bodies_live_baseline": live(bodies, discord.utils.escape_markdown),
        "bodies_live_ours": live(bodies, escape_markdown),
        "title_escape_us_baseline": timed_per_item(discord.utils.escape_markdown, titles),
        "title_escape_us_ours": timed_per_item(escape_markdown, titles),
        "title_chars_added_pct": round(100 * (escaped_chars / max(1, sum(map(len, titles))) - 1), 2),
        "card_ms": latency_ms(card_s),
        "reader_click_ms": latency_ms(reader_s),
        "reader_pages": pages_total,
        "hostile_2mb": worst,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus/feeds/real"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if not args.corpus.is_dir():
        print(json.dumps({"error": f"{args.corpus} is not a folder"}))
        sys.exit(2)
    articles = load_articles(args.corpus)
    report = asyncio.run(measure(articles))
    for key, value in report.items():
        print(f"{key}: {value}", file=sys.stderr)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
