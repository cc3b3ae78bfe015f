"""SourceRepository contract, on every backend: lifecycle, due list, claims with leases, failures and pausing."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.db.articles import ArticleRepository
from bot.db.sources import SeenFile, SourceAlreadyPaused, SourceExists, SourceNotFound
from bot.db.store import Store
from bot.news.models import ParsedArticle
from bot.sources.poller import backoff_delay
from bot.sources.service import scope_for

T0 = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=15)


async def test_add_get_resolve_list_remove(store: Store) -> None:
    repo = store.sources
    src = await repo.add("https://example.com/feed", "feed", now=T0)
    assert src.status == "active" and src.fetch_full_text and src.failures == 0
    assert src.next_due_at == T0 and src.next_due_at.tzinfo is not None
    assert src.last_success_at is None
    assert (await repo.resolve(str(src.id))).id == src.id
    assert (await repo.resolve(f"#{src.id}")).id == src.id
    assert (await repo.resolve("https://example.com/feed")).id == src.id
    with pytest.raises(SourceExists):
        await repo.add("https://example.com/feed", "feed")
    folder = await repo.add("/srv/articles", "folder", fetch_full_text=False)
    assert [s.id for s in await repo.all()] == [src.id, folder.id]
    await repo.remove(src.id)
    with pytest.raises(SourceNotFound):
        await repo.get(src.id)
    with pytest.raises(SourceNotFound):
        await repo.resolve("https://nowhere.example/")
    with pytest.raises(SourceNotFound):
        await repo.resolve("#99999999999999999999999")  # too big for an id: not found, not an overflow


async def test_ids_are_never_reused(store: Store) -> None:
    repo = store.sources
    first = await repo.add("https://a.example/feed", "feed")
    second = await repo.add("https://b.example/feed", "feed")
    await repo.remove(second.id)
    third = await repo.add("https://c.example/feed", "feed")
    assert third.id > second.id > first.id


async def test_due_pause_resume(store: Store) -> None:
    repo = store.sources
    a = await repo.add("https://a.example/feed", "feed", now=T0)
    b = await repo.add("https://b.example/feed", "feed", now=T0 + dt.timedelta(hours=1))
    assert [s.id for s in await repo.due(T0)] == [a.id]
    assert [s.id for s in await repo.due(T0 + dt.timedelta(hours=2))] == [a.id, b.id]
    paused = await repo.pause(a.id, "operator says so")
    assert paused.paused and paused.pause_reason == "operator says so" and paused.last_error is None
    with pytest.raises(SourceAlreadyPaused, match="operator says so"):
        await repo.pause(a.id, "a second reason")
    assert (await repo.get(a.id)).pause_reason == "operator says so"
    assert [s.id for s in await repo.due(T0 + dt.timedelta(hours=2))] == [b.id]
    resumed = await repo.resume(a.id, now=T0)
    assert resumed.status == "active" and resumed.failures == 0 and resumed.next_due_at == T0
    assert resumed.pause_reason is None


async def test_success_keeps_validators_and_resets_failures(store: Store) -> None:
    repo = store.sources
    src = await repo.add("https://a.example/feed", "feed", now=T0)
    await repo.record_failure(src.id, error="boom", polled_at=T0, next_due_at=T0 + dt.timedelta(minutes=5))
    assert await repo.record_success(
        src.id,
        polled_at=T0,
        next_due_at=T0 + dt.timedelta(minutes=5),
        etag='"v1"',
        last_modified="Mon, 01 Jan 2024 00:00:00 GMT",
        title="A feed",
    )
    got = await repo.get(src.id)
    assert (got.etag, got.last_modified, got.title) == ('"v1"', "Mon, 01 Jan 2024 00:00:00 GMT", "A feed")
    assert got.failures == 0 and got.last_error is None and got.last_polled_at == T0 and got.last_success_at == T0


async def test_ten_failures_pause_with_reason(store: Store) -> None:
    repo = store.sources
    src = await repo.add("https://a.example/feed", "feed", now=T0)
    for i in range(1, 11):
        got = await repo.record_failure(src.id, error=f"HTTP 500 #{i}", polled_at=T0, next_due_at=T0, pause_after=10)
        assert got.failures == i
        assert got.paused == (i == 10)
    assert got.pause_reason == "paused after 10 consecutive failures; last: HTTP 500 #10"
    assert got.last_error == "HTTP 500 #10"


async def test_uncounted_failure_does_not_pause(store: Store) -> None:
    repo = store.sources
    src = await repo.add("https://a.example/feed", "feed", now=T0)
    for _ in range(12):
        got = await repo.record_failure(src.id, error="429", polled_at=T0, next_due_at=T0, count=False, pause_after=10)
    assert got.failures == 0 and not got.paused


def test_backoff_is_exponential_and_capped() -> None:
    delays = [backoff_delay(n) for n in range(1, 12)]
    assert delays[:4] == [300, 600, 1200, 2400]
    assert max(delays) == 6 * 3600
    assert backoff_delay(0) == 0


async def test_seen_files(store: Store) -> None:
    repo = store.sources
    src = await repo.add("/srv/articles", "folder")
    await repo.mark_files_seen(src.id, [SeenFile("a.txt", 10, 1), SeenFile("b.html", 20, 2)], now=T0)
    await repo.mark_files_seen(src.id, [SeenFile("a.txt", 11, 3)], now=T0)
    assert await repo.seen_files(src.id) == {"a.txt": SeenFile("a.txt", 11, 3), "b.html": SeenFile("b.html", 20, 2)}
    await repo.remove(src.id)  # cascades to its files
    assert await repo.seen_files(src.id) == {}


async def test_removing_a_source_keeps_its_articles(store: Store, articles: ArticleRepository) -> None:
    repo = store.sources
    src = await repo.add("https://a.example/feed", "feed")
    stored = await articles.add(
        ParsedArticle(title="T", body="B", url="https://a.example/1"), source_id=src.id, scope=scope_for(src.location)
    )
    await repo.remove(src.id)
    kept = await articles.get(stored.article_id)
    assert kept is not None and kept.source_id is None


# --- claims -----------------------------------------------------------------------------------------------------


async def _sources(store: Store, n: int) -> list[int]:
    return [(await store.sources.add(f"https://s{i}.example/feed", "feed", now=T0)).id for i in range(n)]


async def test_a_claimed_source_is_nobody_elses_until_its_lease_runs_out(store: Store) -> None:
    [sid] = await _sources(store, 1)
    now = T0 + dt.timedelta(minutes=1)
    mine = await store.sources.claim_due(worker_id="a", limit=10, lease=LEASE, now=now)
    assert [s.id for s in mine] == [sid] and mine[0].claimed_by == "a"
    assert await store.sources.claim_due(worker_id="b", limit=10, lease=LEASE, now=now) == []
    # The lease runs out (worker a died): anyone takes it again.
    later = now + LEASE + dt.timedelta(seconds=1)
    theirs = await store.sources.claim_due(worker_id="b", limit=10, lease=LEASE, now=later)
    assert [s.id for s in theirs] == [sid] and theirs[0].claimed_by == "b"
    # Worker a comes back late: its record must not end b's claim.
    assert not await store.sources.record_success(sid, polled_at=later, next_due_at=later, worker_id="a")
    assert (await store.sources.get(sid)).claimed_by == "b"
    assert await store.sources.record_success(sid, polled_at=later, next_due_at=later, worker_id="b")
    after = await store.sources.get(sid)
    assert after.claimed_by is None and after.last_success_at == later


async def test_claims_respect_due_order_limit_and_release(store: Store) -> None:
    ids = await _sources(store, 5)
    now = T0 + dt.timedelta(hours=1)
    first = await store.sources.claim_due(worker_id="a", limit=2, lease=LEASE, now=now)
    assert [s.id for s in first] == ids[:2]
    assert await store.sources.release(ids[0], worker_id="a")
    assert not await store.sources.release(ids[0], worker_id="a")  # no longer ours
    second = await store.sources.claim_due(worker_id="b", limit=10, lease=LEASE, now=now)
    assert sorted(s.id for s in second) == [ids[0], *ids[2:]]
    assert await store.sources.release_all(worker_id="b") == 4


async def test_paused_and_future_sources_are_not_claimed(store: Store) -> None:
    a, b = await _sources(store, 2)
    await store.sources.pause(a)
    late = await store.sources.add("https://later.example/feed", "feed", now=T0 + dt.timedelta(days=1))
    got = await store.sources.claim_due(worker_id="w", limit=10, lease=LEASE, now=T0)
    assert [s.id for s in got] == [b]
    assert late.id not in [s.id for s in got]


async def test_two_workers_claiming_at_once_get_disjoint_sources(store: Store) -> None:
    await _sources(store, 40)
    now = T0 + dt.timedelta(hours=1)

    async def worker(name: str) -> list[int]:
        got: list[int] = []
        while True:
            batch = await store.sources.claim_due(worker_id=name, limit=3, lease=LEASE, now=now)
            if not batch:
                return got
            got += [s.id for s in batch]
            await asyncio.sleep(0)

    a, b = await asyncio.gather(worker("a"), worker("b"))
    assert not set(a) & set(b)
    assert len(a) + len(b) == 40
