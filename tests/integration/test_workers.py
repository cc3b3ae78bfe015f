"""The parser pool: real worker processes, real budgets, real hostile documents (no mocks).

Functions sent to workers must be importable by name, so the helpers below are module-level.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.errors import ParseError
from bot.news.feeds import parse_feed
from bot.news.html import extract_html
from bot.workers import (
    ParseBudget,
    RemoteTraceback,
    WorkerPool,
    configure_workers,
    default_pool,
    parse_ahead,
    parse_untrusted,
    shutdown_workers,
)

TIGHT = ParseBudget(cpu_seconds=1, wall_seconds=2, memory_mb=128, workers=2)


def attribute_flood(attributes: int) -> bytes:
    """An RSS feed whose one ``<item>`` carries ``attributes`` attributes: fastfeedparser is quadratic in them."""
    attrs = " ".join(f'a{i}="v"' for i in range(attributes))
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Flood</title>'
        f"<item {attrs}><title>x</title><link>https://flood.example/1</link></item></channel></rss>"
    ).encode()


def double(x: int) -> int:
    return 2 * x


def refuse(message: str) -> None:
    raise ParseError(message)


def fail_with_bug() -> None:
    {}["missing"]  # a KeyError, as a parser bug would raise


def sleep_then(seconds: float, value: str) -> str:
    time.sleep(seconds)
    return value


def allocate(megabytes: int) -> int:
    return len(bytearray(megabytes * 1024 * 1024))


def crash() -> None:
    os.abort()


def kill_self() -> None:
    os.kill(os.getpid(), signal.SIGKILL)  # what the kernel's OOM killer does


def segfault() -> None:
    ctypes.string_at(0)


def pid() -> int:
    return os.getpid()


def log_and_return(value: str) -> str:
    logging.getLogger("bot.news.sample").warning("looked at %s", value)
    return value


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    # One pool for the module: it serves any event loop, and its workers are replaced after every refusal anyway.
    shared = WorkerPool(TIGHT)
    yield shared
    shared.close_now()


async def test_results_and_errors_come_back(pool: WorkerPool) -> None:
    assert await pool.run(double, 21) == 42
    with pytest.raises(ParseError, match=r"^not a feed$"):
        await pool.run(refuse, "not a feed")
    with pytest.raises(KeyError) as info:
        await pool.run(fail_with_bug)
    # A bug keeps the worker's traceback for the log.
    assert isinstance(info.value.__cause__, RemoteTraceback)
    assert "fail_with_bug" in str(info.value.__cause__)
    assert [r.outcome for r in pool.reports][-3:] == ["ok", "error", "error"]


async def test_attribute_flood_is_refused_on_cpu_while_the_loop_keeps_running(pool: WorkerPool) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    probe = asyncio.create_task(ticker())
    started = time.monotonic()
    try:
        with pytest.raises(ParseError, match="more than 1 s of CPU time to parse; refused"):
            await pool.run(parse_feed, attribute_flood(120_000))
    finally:
        probe.cancel()
    elapsed = time.monotonic() - started
    # fastfeedparser holds the GIL for the whole parse; in a thread the ticker would not have run at all.
    assert ticks >= 10 * elapsed * 0.5
    assert pool.reports[-1].outcome == "cpu"
    # The worker was replaced and the pool still serves.
    assert (await pool.run(parse_feed, attribute_flood(10))).entries[0].article.url == "https://flood.example/1"


async def test_wall_budget_kills_the_worker_and_the_pool_keeps_serving(pool: WorkerPool) -> None:
    first = await pool.run(pid)
    await pool.run(pid)  # both workers exist now
    with pytest.raises(ParseError, match=r"^the document took more than 2 s to parse; refused\.$"):
        await pool.run(sleep_then, 30, "never")
    assert pool.reports[-1].outcome == "wall"
    assert pool.reports[-1].peak_mb is not None
    pids = {await pool.run(pid) for _ in range(4)}
    assert len(pids) <= 2
    assert await pool.run(sleep_then, 0, "alive") == "alive"
    assert first in pids or len(pids) == 2


async def test_memory_budget_refuses_and_replaces_the_worker(pool: WorkerPool) -> None:
    assert await pool.run(allocate, 16) == 16 * 1024 * 1024
    with pytest.raises(ParseError, match="more than 128 MB of memory to parse; refused"):
        await pool.run(allocate, 1024)
    assert pool.reports[-1].outcome == "memory"
    assert await pool.run(allocate, 16) == 16 * 1024 * 1024


async def test_a_crash_is_a_refusal_of_that_document_only(pool: WorkerPool) -> None:
    results = await asyncio.gather(pool.run(crash), pool.run(double, 1), pool.run(double, 2), return_exceptions=True)
    assert isinstance(results[0], ParseError)
    assert "crashed on this document (SIGABRT)" in str(results[0])
    assert results[1:] == [2, 4]


async def test_a_segfault_or_an_oom_kill_is_named_and_the_pool_serves_on(pool: WorkerPool) -> None:
    with pytest.raises(ParseError, match=r"crashed on this document \(SIGSEGV\); refused"):
        await pool.run(segfault)
    with pytest.raises(ParseError, match=r"killed while reading this document \(out of memory\?\); refused"):
        await pool.run(kill_self)
    assert await pool.run(double, 4) == 8


async def test_cancelling_a_call_kills_its_worker_at_once(pool: WorkerPool) -> None:
    task = asyncio.create_task(pool.run(sleep_then, 30, "never"))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    started = time.monotonic()
    assert await pool.run(sleep_then, 0, "next") == "next"
    assert await pool.run(sleep_then, 0, "next") == "next"
    assert time.monotonic() - started < TIGHT.wall_seconds


async def test_worker_logs_reach_this_process_loggers(pool: WorkerPool, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        assert await pool.run(log_and_return, "a feed") == "a feed"
    record = next(r for r in caplog.records if r.name == "bot.news.sample")
    assert record.getMessage() == "looked at a feed"
    assert record.process != os.getpid()


async def test_parse_ahead_yields_in_order_and_keeps_errors_per_item(pool: WorkerPool) -> None:
    items = [1, 2, -1, 4]
    seen: list[tuple[int, int | str]] = []
    async for item, task in parse_ahead(double_positive, items, pool=pool):
        try:
            seen.append((item, await task))
        except ParseError as exc:
            seen.append((item, str(exc)))
    assert seen == [(1, 2), (2, 4), (-1, "negative"), (4, 8)]


def double_or_stall(x: int) -> int:
    if x == 0:
        time.sleep(30)
    if x < 0:
        raise ParseError("negative")
    if x == 13:
        raise KeyError("a bug")
    return 2 * x


async def test_parse_ahead_in_batches_refuses_only_the_document_at_fault(pool: WorkerPool) -> None:
    items = [1, 2, -1, 13, 0, 6, 7]
    seen: list[tuple[int, object]] = []
    async for item, result in parse_ahead(double_or_stall, items, batch=4, pool=pool):
        try:
            seen.append((item, await result))
        except ParseError as exc:
            seen.append((item, str(exc)))
        except KeyError as exc:
            assert isinstance(exc.__cause__, RemoteTraceback) and "double_or_stall" in str(exc.__cause__)
            seen.append((item, "bug"))
    # The batch [0, 6, 7] went over the wall budget as a whole; parsed one by one, only 0 is refused.
    assert seen == [
        (1, 2), (2, 4), (-1, "negative"), (13, "bug"),
        (0, "the document took more than 2 s to parse; refused."), (6, 12), (7, 14),
    ]  # fmt: skip


def double_positive(x: int) -> int:
    if x < 0:
        raise ParseError("negative")
    return 2 * x


def test_one_pool_serves_several_event_loops() -> None:
    pool = WorkerPool(TIGHT)
    try:
        assert asyncio.run(pool.run(double, 1)) == 2
        assert asyncio.run(pool.run(double, 2)) == 4
    finally:
        pool.close_now()
    with pytest.raises(RuntimeError, match="closed"):
        asyncio.run(pool.run(double, 3))


@pytest.fixture
def configured() -> Iterator[None]:
    yield
    asyncio.run(shutdown_workers())


def test_configured_budget_is_the_one_parse_untrusted_uses(configured: None) -> None:
    pool = configure_workers(ParseBudget(cpu_seconds=1, wall_seconds=1, memory_mb=128, workers=1))
    assert default_pool() is pool
    assert configure_workers(ParseBudget(cpu_seconds=1, wall_seconds=1, memory_mb=128, workers=1)) is pool
    with pytest.raises(ParseError, match="more than 1 s to parse"):
        asyncio.run(parse_untrusted(sleep_then, 10, "never"))
    assert asyncio.run(parse_untrusted(double, 5)) == 10


def test_a_page_that_needs_too_much_memory_is_refused_by_lxml_under_the_limit() -> None:
    # 40,000 small elements: libxml2 and trafilatura's copies of the tree need ~100 MB beyond the worker's start.
    rows = "".join(f'<div class="c"><a href="/p/{i}">item {i}</a></div>\n' for i in range(40_000))
    page = f"<!doctype html><html><head><title>Big</title></head><body><main>{rows}</main></body></html>".encode()
    pool = WorkerPool(ParseBudget(cpu_seconds=10, wall_seconds=20, memory_mb=64, workers=1))
    try:
        with pytest.raises(ParseError, match="more than 64 MB of memory to parse; refused"):
            asyncio.run(pool.run(extract_html, page))
        assert pool.reports[-1].outcome == "memory"
        prose = b"A sentence of an ordinary article page. " * 40
        small = b"<html><body><article><p>" + prose + b"</p></article></body>"
        assert asyncio.run(pool.run(extract_html, small)).body.startswith("A sentence")
    finally:
        pool.close_now()


def test_the_cli_applies_the_configured_budget(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured: None
) -> None:
    monkeypatch.chdir(tmp_path)
    rows = "".join(f'<div class="c"><a href="/p/{i}">item {i}</a></div>\n' for i in range(40_000))
    page = tmp_path / "big.html"
    page.write_text(f"<!doctype html><html><head><title>Big</title></head><body><main>{rows}</main></body></html>")
    env = {
        "NEWSBOT_DB": str(tmp_path / "store.sqlite3"),
        "NEWSBOT_ARTICLES_DIR": str(tmp_path / "none"),
        "NEWSBOT_PARSE_MEMORY_MB": "64",
    }
    result = CliRunner().invoke(cli, ["ingest", str(page)], env=env, catch_exceptions=False)
    assert result.exit_code == 1
    assert f"failed: {page}: the document needed more than 64 MB of memory to parse; refused." in result.stderr
    assert default_pool().budget.memory_mb == 64


def test_workers_forked_before_the_zygote_finished_loading_are_replaced_once_it_has() -> None:
    pool = WorkerPool(ParseBudget(workers=1))
    try:
        early = asyncio.run(pool.run(os.getpid))  # the first call does not wait for aiohttp and the store
        zygote = pool._zygote
        assert zygote is not None and zygote.wait_loaded(60)
        later = asyncio.run(pool.run(os.getpid))
        assert later != early
        assert asyncio.run(pool.run(os.getpid)) == later  # and that one stays
    finally:
        pool.close_now()
