"""Polling robustness against a real SQLite store, real folders and a local aiohttp server.

One source's trouble stays with that source: a file that vanishes mid-scan, a file still being copied, a source
removed while it is polled, a busy database. None of them may fail the round or be held against the source.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.db.store import Store
from bot.errors import FetchError
from bot.ingest import Pipeline
from bot.news.loader import ARTICLE_SUFFIXES, FEED_SUFFIXES
from bot.sources import poller as poller_module
from bot.sources.fetcher import Fetcher
from bot.sources.guard import AddressGuard
from bot.sources.poller import Poller, PollSettings

T0 = dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.UTC)
NO_SETTLE = PollSettings(settle_seconds=0)


def article_text(title: str) -> str:
    return (
        f"# {title}\n\nBy Sam Lee\n\n"
        "The city council voted on Tuesday to extend the tram line to the new hospital in the east.\n\n"
        "Work starts next spring and should take about three years, the transport office said.\n"
    )


def write_settled(path: Path, text: str) -> None:
    """Write ``path`` and date it a minute back, as a file copied in well before the poll."""
    path.write_text(text, encoding="utf-8")
    old = time.time() - 60
    os.utime(path, (old, old))


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    guard = AddressGuard(enabled=True, allow=["127.0.0.0/8"])
    async with Fetcher(user_agent="newsbot-test/1.0", timeout=2.0, guard=guard) as f:
        yield f


@pytest.fixture
def removals() -> dict[str, Any]:
    return {}


@pytest.fixture
async def server(store: Store, removals: dict[str, Any]) -> AsyncIterator[TestServer]:
    async def bad_location(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "http://[::1/x"})

    async def removed_while_polled(request: web.Request) -> web.Response:
        # The operator removes the source while its poll is in flight; then the fetch fails.
        await store.sources.remove(removals["source_id"])
        return web.Response(status=500, text="internal error")

    app = web.Application()
    app.router.add_get("/bad-location", bad_location)
    app.router.add_get("/removed", removed_while_polled)
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    try:
        yield srv
    finally:
        await srv.close()


async def test_redirect_to_malformed_location_is_a_fetch_error(server: TestServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="redirected to an invalid URL"):
        await fetcher.fetch(str(server.make_url("/bad-location")))


async def test_unencodable_host_is_a_fetch_error_even_without_the_guard() -> None:
    async with Fetcher(user_agent="t", timeout=2.0, guard=AddressGuard(enabled=False)) as open_fetcher:
        with pytest.raises(FetchError, match="not a valid URL"):
            await open_fetcher.fetch("http://a..b/")


def test_poller_reads_the_loaders_file_kinds() -> None:
    assert poller_module._FOLDER_SUFFIXES == FEED_SUFFIXES | ARTICLE_SUFFIXES


async def test_file_vanishing_during_the_scan_is_skipped(
    tmp_path: Path, fetcher: Fetcher, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    write_settled(folder / "good.md", article_text("Tram Line Extended"))
    vanishing = folder / "vanishing.md"
    write_settled(vanishing, article_text("Deleted Mid-Scan"))

    real_stat: Callable[..., os.stat_result] = os.stat
    deleted: list[Path] = []

    def stat_then_vanish(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        # The file is there when first looked at, and deleted (by another process) right after.
        result = real_stat(path, *args, **kwargs)
        if not deleted and os.fspath(path) == os.fspath(vanishing):
            deleted.append(vanishing)
            os.unlink(vanishing)
        return result

    monkeypatch.setattr(os, "stat", stat_then_vanish)
    src = await store.sources.add(str(folder), "folder", now=T0)
    [outcome] = await Poller(Pipeline(store, fetcher), NO_SETTLE, clock=Clock()).poll_due()
    assert outcome.status == "ok", outcome.error
    assert len(outcome.new) == 1 and outcome.failed == []
    assert deleted == [vanishing]
    assert (await store.sources.get(src.id)).failures == 0


async def test_file_still_being_copied_waits_for_the_next_round(tmp_path: Path, fetcher: Fetcher, store: Store) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    copying = folder / "copying.md"
    copying.write_text("# Half-Copied Story\n\nThe first paragraph arrived", encoding="utf-8")
    stop = asyncio.Event()

    async def keep_writing() -> None:
        # A slow copy: the file grows every 50 ms until the test says the copy is done.
        n = 0
        while not stop.is_set():
            await asyncio.sleep(0.05)
            n += 1
            with copying.open("a", encoding="utf-8") as handle:
                handle.write(f" and more of sentence {n} arrived")

    clock = Clock()
    await store.sources.add(str(folder), "folder", now=clock.now)
    poller = Poller(Pipeline(store, fetcher), PollSettings(settle_seconds=0.5), clock=clock)
    writer = asyncio.create_task(keep_writing())
    try:
        [first] = await poller.poll_due()
    finally:
        stop.set()
        await writer
    assert first.status == "ok" and first.new == [] and first.failed == [] and first.entries == 0

    write_settled(copying, article_text("Half-Copied Story"))
    clock.now += dt.timedelta(minutes=5)
    [second] = await poller.poll_due()
    assert second.status == "ok" and len(second.new) == 1

    # A file that is new but not changing is read in the same round, after a short settling wait.
    (folder / "fresh.md").write_text(article_text("Fresh Story"), encoding="utf-8")
    clock.now += dt.timedelta(minutes=5)
    [third] = await poller.poll_due()
    assert third.status == "ok" and len(third.new) == 1


async def test_source_removed_during_its_poll_does_not_fail_the_round(
    tmp_path: Path, server: TestServer, fetcher: Fetcher, store: Store, removals: dict[str, Any]
) -> None:
    sources = store.sources
    doomed = await sources.add(str(server.make_url("/removed")), "page", now=T0)
    removals["source_id"] = doomed.id
    folder = tmp_path / "inbox"
    folder.mkdir()
    write_settled(folder / "good.md", article_text("Tram Line Extended"))
    await sources.add(str(folder), "folder", now=T0)

    outcomes = await Poller(Pipeline(store, fetcher), NO_SETTLE, clock=Clock()).poll_due()
    by_location = {o.location: o for o in outcomes}
    assert by_location[doomed.location].status == "failed"
    assert "500" in (by_location[doomed.location].error or "")
    assert by_location[str(folder)].status == "ok" and len(by_location[str(folder)].new) == 1
    assert [s.location for s in await sources.all()] == [str(folder)]


async def test_busy_database_is_not_the_sources_failure(
    tmp_path: Path, fetcher: Fetcher, store: Store, sqlite_only: None
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    write_settled(folder / "good.md", article_text("Tram Line Extended"))
    sources = store.sources
    src = await sources.add(str(folder), "folder", now=T0)
    # Fail fast instead of after the usual minutes of retrying.
    async with store.transaction() as tx:
        await tx.executor.execute("PRAGMA busy_timeout = 50")
    store.backend.busy_deadline = 0.3  # type: ignore[union-attr]

    # Another process holds a long write transaction on the same database file.
    other = sqlite3.connect(store.target.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        clock = Clock()
        poller = Poller(Pipeline(store, fetcher), NO_SETTLE, clock=clock)
        assert await poller.poll_due() == []  # nothing could be claimed: the round polls nothing
    finally:
        other.rollback()
        other.close()
    after = await sources.get(src.id)
    assert after.failures == 0 and after.last_error is None and after.next_due_at == src.next_due_at
    assert await store.articles.count() == 0

    # Next round, with the database free again, the file is stored: it was not marked as seen.
    clock.now += dt.timedelta(minutes=1)
    [ok] = await poller.poll_due()
    assert ok.status == "ok" and len(ok.new) == 1
