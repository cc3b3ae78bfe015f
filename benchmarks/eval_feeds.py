"""Feed robustness and speed: parse every file under ``--corpus`` as served, store it twice, then poll it.

Usage: ``uv run python -m benchmarks.eval_feeds --corpus ../shared/corpus/feeds``

1. Parse + store, first pass: every file (recursively) is parsed from its bytes with ``bot.news.feeds.parse_feed``
   and stored in a scratch SQLite store, parsing in a worker thread overlapped with storing the previous file
   (as the poller does: parsing never runs on the event loop). Each file is parsed as if served at ``https://corpus.invalid/<relative
   path>``, which is the base for relative links that the feed itself does not resolve. ``seconds`` covers this
   pass. A file that is not a feed (e.g. an expected-output JSON) is *rejected* with a ParseError, which is the
   intended behaviour; any other exception is a *crash*.
   Honesty checks on that pass: ``relative_links_left`` counts links left relative *and* links the feed gave that
   resolved to nothing usable (also shown alone as ``links_unresolved``); ``merged_distinct_entries`` counts entries
   whose identity keys collide with a differently titled entry of the same feed (the store would drop them), and
   ``stored_rows`` sits beside ``entries`` so a shortfall shows.
2. Re-ingest: the same files again; ``new_rows_on_reingest`` must be 0.
3. feedparser alone over the same bytes (``feedparser_only_seconds``), for comparison.
4. Poll: the feeds under ``--poll-corpus`` (default ``<corpus>/real`` if it exists) are served by a local aiohttp
   server on 127.0.0.1 and polled once as sources through the real fetcher (address guard on, loopback allowed),
   while a probe task sleeping 10 ms records how late it wakes up: ``max_loop_lag_ms``.

The last line printed is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

from aiohttp import web

from bot.config import Settings
from bot.db.articles import ArticleRepository
from bot.db.store import open_store
from bot.errors import ParseError
from bot.ingest import Pipeline
from bot.news.feeds import ParsedFeed, parse_feed
from bot.news.identity import article_keys, is_url
from bot.sources.fetcher import Fetcher
from bot.sources.guard import AddressGuard
from bot.sources.poller import Poller, PollSettings
from bot.sources.service import scope_for

BASE = "https://corpus.invalid/"


def corpus_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def _parse_one(rel: str, data: bytes) -> tuple[ParsedFeed | None, float, str | None]:
    """Parse one file: (feed or None, seconds, crash description or None)."""
    t0 = time.perf_counter()
    try:
        feed = parse_feed(data, BASE + rel)
    except ParseError:
        return None, time.perf_counter() - t0, None
    except Exception as exc:
        return None, time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"
    return feed, time.perf_counter() - t0, None


async def ingest_pass(
    files: list[tuple[str, bytes]], repo: ArticleRepository, stats: dict[str, int]
) -> tuple[float, list[float], float]:
    """Parse and store every file, the way the poller does: parsing in a worker thread, overlapped with storing
    the previous file. Returns (wall seconds, per-file parse seconds, seconds spent awaiting the store)."""
    started = time.perf_counter()
    per_file: list[float] = []
    store_seconds = 0.0
    pending = asyncio.create_task(asyncio.to_thread(_parse_one, *files[0])) if files else None
    for i, (rel, _data) in enumerate(files):
        assert pending is not None
        feed, parse_seconds, crash = await pending
        pending = asyncio.create_task(asyncio.to_thread(_parse_one, *files[i + 1])) if i + 1 < len(files) else None
        per_file.append(parse_seconds)
        if crash is not None:
            stats["crashes"] += 1
            print(f"CRASH parsing {rel}: {crash}", file=sys.stderr)
            continue
        if feed is None:
            stats["rejected"] += 1
            continue
        stats["entries"] += len(feed.entries)
        if feed.meta.format == "json":
            stats["json_feed_items"] += len(feed.entries)
        scope = scope_for(BASE + rel)
        for entry in feed.entries:
            if not entry.entry_id:
                stats["entries_without_id"] += 1
            for link in (entry.article.url, entry.article.image_url):
                if link is not None and not is_url(link):
                    stats["relative_links_left"] += 1
            if entry.raw_link and not is_url(entry.article.url):
                # The feed gave a link and we could not make a web URL of it: as bad as leaving it relative.
                stats["links_unresolved"] += 1
        stats["merged_distinct_entries"] += merged_distinct_entries(feed, scope)
        t0 = time.perf_counter()
        try:
            await repo.add_many(feed.articles, scope=scope)
        except Exception as exc:
            stats["crashes"] += 1
            print(f"CRASH storing {rel}: {type(exc).__name__}: {exc}", file=sys.stderr)
        store_seconds += time.perf_counter() - t0
    return time.perf_counter() - started, per_file, store_seconds


def merged_distinct_entries(feed: ParsedFeed, scope: str) -> int:
    """Entries that share an identity key with an earlier entry of the same feed that has a different title:
    the store would take them for that entry and drop them (data loss, not deduplication)."""
    first_title: dict[str, str] = {}
    merged = 0
    for entry in feed.entries:
        title = entry.article.title
        keys = article_keys(entry.article, scope=scope)
        if any(k in first_title and first_title[k] != title for k in keys):
            merged += 1
        for key in keys:
            first_title.setdefault(key, title)
    return merged


def feedparser_only(files: list[tuple[str, bytes]]) -> float:
    import feedparser

    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rel, data in files:
            feedparser.parse(data, response_headers={"content-location": BASE + rel})
    return time.perf_counter() - started


async def poll_benchmark(root: Path, workdir: Path) -> dict[str, float | int]:
    """Serve ``root`` on loopback, add every file as a feed source, poll once, and probe the loop's lag."""
    served = {p.relative_to(root).as_posix(): p.read_bytes() for p in corpus_files(root)}

    async def handler(request: web.Request) -> web.Response:
        body = served.get(request.match_info["name"])
        if body is None:
            raise web.HTTPNotFound()
        return web.Response(body=body, content_type="application/xml")

    app = web.Application()
    app.router.add_get("/{name:.+}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    lags: list[float] = []
    stop = asyncio.Event()

    async def probe() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(0.010)
            lags.append(time.perf_counter() - t0 - 0.010)

    try:
        settings = Settings(allow_private_addresses=False, http_timeout=30.0)
        async with open_store(workdir / "poll.sqlite3") as store:
            repo = store.sources
            for name in served:
                # No full-text fetches: the entries link to the public web, and the benchmark stays on loopback.
                await repo.add(f"http://127.0.0.1:{port}/{name}", "feed", fetch_full_text=False)
            guard = AddressGuard(enabled=True, allow=["127.0.0.0/8"])
            async with Fetcher(user_agent=settings.user_agent, timeout=30.0, guard=guard, per_host=8) as fetcher:
                poller = Poller(Pipeline(store, fetcher), PollSettings(concurrency=16))
                task = asyncio.create_task(probe())
                await asyncio.sleep(0.05)
                t0 = time.perf_counter()
                outcomes = await poller.poll_due()
                poll_seconds = time.perf_counter() - t0
                await asyncio.sleep(0.05)
                stop.set()
                await task
    finally:
        await runner.cleanup()
    return {
        "poll_sources": len(outcomes),
        "poll_failed": sum(1 for o in outcomes if o.status == "failed"),
        "poll_new": sum(len(o.new) for o in outcomes),
        "poll_seconds": round(poll_seconds, 3),
        "max_loop_lag_ms": round(max(lags) * 1000, 1) if lags else 0.0,
        "p99_loop_lag_ms": round(sorted(lags)[int(0.99 * (len(lags) - 1))] * 1000, 1) if lags else 0.0,
    }


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    root: Path = args.corpus
    paths = corpus_files(root)
    files = [(p.relative_to(root).as_posix(), p.read_bytes()) for p in paths]
    stats = dict.fromkeys(
        (
            "crashes",
            "rejected",
            "entries",
            "entries_without_id",
            "relative_links_left",
            "links_unresolved",
            "merged_distinct_entries",
            "json_feed_items",
        ),
        0,
    )
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        async with open_store(workdir / "scratch.sqlite3") as store:
            repo = store.articles
            seconds, per_file, store_seconds = await ingest_pass(files, repo, stats)
            rows = await repo.count()
            again = dict.fromkeys(stats, 0)
            await ingest_pass(files, repo, again)
            new_rows = await repo.count() - rows
        fp_seconds = feedparser_only(files) if not args.skip_feedparser else None
        poll_root: Path | None = args.poll_corpus
        if poll_root is None:
            poll_root = root / "real" if (root / "real").is_dir() else root
        polled = await poll_benchmark(poll_root, workdir) if not args.no_poll else {}
    return {
        "files": len(files),
        "crashes": stats["crashes"] + again["crashes"],
        "rejected": stats["rejected"],
        "entries": stats["entries"],
        "entries_without_id": stats["entries_without_id"],
        "new_rows_on_reingest": new_rows,
        # Links left relative plus links the feed gave that could not be resolved to a web URL.
        "relative_links_left": stats["relative_links_left"] + stats["links_unresolved"],
        "links_unresolved": stats["links_unresolved"],
        "merged_distinct_entries": stats["merged_distinct_entries"],
        "seconds": round(seconds, 3),
        "stored_rows": rows,
        "parse_seconds_total": round(sum(per_file), 3),
        "store_seconds_total": round(store_seconds, 3),
        "parse_p50_ms": round(statistics.median(per_file) * 1000, 2) if per_file else 0.0,
        "parse_p95_ms": round(sorted(per_file)[int(0.95 * (len(per_file) - 1))] * 1000, 2) if per_file else 0.0,
        "feedparser_only_seconds": round(fp_seconds, 3) if fp_seconds is not None else None,
        "json_feed_items": stats["json_feed_items"],
        **polled,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=Path("../shared/corpus/feeds"))
    parser.add_argument("--poll-corpus", type=Path, default=None, help="Feeds to poll (default: CORPUS/real).")
    parser.add_argument("--no-poll", action="store_true", help="Skip the polling / loop-lag part.")
    parser.add_argument("--skip-feedparser", action="store_true", help="Skip the feedparser-only comparison.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    if not args.corpus.is_dir():
        parser.error(f"{args.corpus} is not a folder")
    result = asyncio.run(main_async(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
