"""Several processes on one store at once, on every backend: migrations, big concurrent ingests, a killed writer.

These start real ``newsbot`` processes (``python -m bot``). ``NEWSBOT_STRESS_ROUNDS`` sets how many times the
migration race is repeated (CI runs it 20 times).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from xml.sax.saxutils import escape

from bot.db.maintenance import check_store
from bot.db.migrate import CODE_VERSION, MIGRATIONS
from bot.db.store import open_store
from bot.db.target import StoreTarget
from bot.news.models import ParsedArticle
from tests.conftest import REPO_ROOT

ROUNDS = int(os.environ.get("NEWSBOT_STRESS_ROUNDS", "3"))


def newsbot(target: StoreTarget, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "NEWSBOT_DB": target.location, "NEWSBOT_LOG_LEVEL": "WARNING"}
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(procs: list[subprocess.Popen[str]], timeout: float = 600) -> list[tuple[int, str, str]]:
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=timeout)
        results.append((proc.returncode, out, err))
    return results


async def test_ten_processes_upgrading_one_fresh_store_at_once_all_succeed(backend: str, make_target: object) -> None:
    for round_no in range(ROUNDS):
        target: StoreTarget = await make_target(backend)  # type: ignore[operator]
        procs = [newsbot(target, "db", "upgrade") for _ in range(10)]
        results = await asyncio.to_thread(finish, procs)
        for code, out, err in results:
            assert code == 0, f"round {round_no}: exit {code}: {err}"
            assert "Traceback" not in err and "already exists" not in err
            assert f"schema version {CODE_VERSION}" in out
        async with open_store(target, migrate=False) as store:
            rows = await store.executor.fetch("SELECT version FROM schema_version ORDER BY version")
            assert [int(r[0]) for r in rows] == [m.version for m in MIGRATIONS[store.dialect]]


def write_feed(path: Path, name: str, count: int) -> None:
    items = "".join(
        f"<item><title>{escape(name)} story {i}</title><link>https://{name}.example/story/{i}</link>"
        f"<guid>https://{name}.example/story/{i}</guid>"
        f"<description>Paragraph {i} of the {escape(name)} feed, long enough to be a body.</description></item>"
        for i in range(count)
    )
    path.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>{items}</channel></rss>',
        encoding="utf-8",
    )


async def test_four_processes_ingesting_10000_entry_feeds_at_once_all_succeed(
    store_target: StoreTarget, tmp_path: Path
) -> None:
    feeds = []
    for name in ("alpha", "beta", "gamma"):
        feeds.append(tmp_path / f"{name}.xml")
        write_feed(feeds[-1], name, 10_000)
    # Each process ingests every feed, in its own order, into the one store.
    orders = [feeds, feeds[::-1], feeds[1:] + feeds[:1], feeds[2:] + feeds[:2]]
    procs = [newsbot(store_target, "ingest", *map(str, order)) for order in orders]
    results = await asyncio.to_thread(finish, procs)
    for code, out, err in results:
        assert code == 0, err
        assert "0 failed" in out and "Traceback" not in err
    async with open_store(store_target) as store:
        assert await store.articles.count() == 30_000
        assert await store.executor.fetchval("SELECT COUNT(DISTINCT identity) FROM articles") == 30_000
        assert await check_store(store) == []
    new_counts = [int(out.split()[0]) for _, out, _ in results]
    assert sum(new_counts) == 30_000  # every article was new to exactly one process


KILLED_WRITER = textwrap.dedent(
    """
    import asyncio, sys, time
    from bot.db.store import open_store
    from bot.news.models import ParsedArticle

    async def main() -> None:
        async with open_store(sys.argv[1]) as store, store.transaction() as tx:
            await tx.sources.add("https://killed.example/feed", "feed")
            batch = [ParsedArticle(f"Half written {i}", "Body.", url=f"https://killed.example/{i}") for i in range(50)]
            await tx.articles.add_many(batch)
            print("inside", flush=True)
            time.sleep(60)  # killed here, before the commit

    asyncio.run(main())
    """
)


async def test_a_process_killed_inside_a_transaction_leaves_no_partial_rows(store_target: StoreTarget) -> None:
    async with open_store(store_target) as store:  # created and migrated beforehand, as a running bot would
        pass
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KILLED_WRITER, store_target.location, cwd=REPO_ROOT, stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 60)
        assert line.strip() == b"inside"
    finally:
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    async with open_store(store_target) as store:
        assert await store.articles.count() == 0
        assert await store.articles.key_count() == 0
        assert await store.sources.count() == 0
        assert await check_store(store) == []
        assert (await store.articles.add(ParsedArticle("After", "B."))).new
