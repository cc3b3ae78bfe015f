"""DeliveryRepository contract, on every backend: queued once, claimed once, outcomes guarded by the claim."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.db.deliveries import NewDelivery
from bot.db.errors import LeaseLost
from bot.db.store import Store

T0 = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
LEASE = dt.timedelta(minutes=2)


def article_to(channel_id: int, subject_id: int = 1, **extra: object) -> NewDelivery:
    return NewDelivery("article", subject_id, guild_id=10, channel_id=channel_id, **extra)  # type: ignore[arg-type]


async def test_each_kind_subject_and_channel_is_queued_once(store: Store) -> None:
    assert await store.deliveries.enqueue([article_to(100), article_to(200)], now=T0) == 2
    # Queuing the same again (the article arrived through a second source) changes nothing.
    assert await store.deliveries.enqueue([article_to(100), article_to(200), article_to(300)], now=T0) == 1
    rows = await store.deliveries.for_subject("article", 1)
    assert [r.channel_id for r in rows] == [100, 200, 300]
    assert all(r.status == "pending" and r.due_at == T0 and r.attempts == 0 for r in rows)
    # Another kind about the same subject id is another message.
    assert await store.deliveries.enqueue([NewDelivery("comment", 1, 10, 100)], now=T0) == 1


async def test_a_skip_is_recorded_with_its_reason_and_never_claimed(store: Store) -> None:
    await store.deliveries.enqueue(
        [article_to(100, status="skipped", reason="filtered", detail="excluded word: 'sport'")], now=T0
    )
    [row] = await store.deliveries.for_subject("article", 1)
    assert (row.status, row.reason, row.detail, row.due_at) == ("skipped", "filtered", "excluded word: 'sport'", None)
    assert await store.deliveries.claim(worker_id="w", limit=10, lease=LEASE, now=T0 + LEASE) == []


async def test_claim_send_and_the_nonce_is_stable(store: Store) -> None:
    await store.deliveries.enqueue([article_to(100), article_to(200, due_at=T0 + dt.timedelta(hours=1))], now=T0)
    [first] = await store.deliveries.claim(worker_id="a", limit=10, lease=LEASE, now=T0)
    assert first.channel_id == 100 and first.attempts == 1 and first.claimed_by == "a"
    assert len(first.nonce) <= 25 and first.nonce == (await store.deliveries.get(first.id)).nonce  # type: ignore[union-attr]
    assert await store.deliveries.claim(worker_id="b", limit=10, lease=LEASE, now=T0) == []  # claimed; other not due
    await store.deliveries.sent(first.id, worker_id="a", message_id=555, thread_id=777, now=T0)
    got = await store.deliveries.get(first.id)
    assert got is not None and (got.status, got.message_id, got.thread_id, got.sent_at) == ("sent", 555, 777, T0)
    assert got.claimed_by is None and got.due_at is None
    assert await store.deliveries.counts() == {"sent": 1, "pending": 1}


async def test_a_failure_is_retried_at_its_time_and_a_given_up_row_waits_for_retry(store: Store) -> None:
    await store.deliveries.enqueue([article_to(100)], now=T0)
    [row] = await store.deliveries.claim(worker_id="a", limit=1, lease=LEASE, now=T0)
    later = T0 + dt.timedelta(minutes=5)
    await store.deliveries.failed(
        row.id, worker_id="a", reason="http_500", detail="Discord answered 500", retry_at=later
    )
    assert await store.deliveries.claim(worker_id="a", limit=1, lease=LEASE, now=T0) == []
    assert await store.deliveries.next_due() == later
    [again] = await store.deliveries.claim(worker_id="b", limit=1, lease=LEASE, now=later)
    assert again.id == row.id and again.attempts == 2 and again.status == "failed" and again.detail
    await store.deliveries.failed(again.id, worker_id="b", reason="missing_permission", detail="x", retry_at=None)
    assert await store.deliveries.claim(worker_id="b", limit=1, lease=LEASE, now=later + LEASE * 100) == []
    assert await store.deliveries.retry([row.id], at=later) == 1
    assert [d.id for d in await store.deliveries.claim(worker_id="c", limit=1, lease=LEASE, now=later)] == [row.id]


async def test_an_expired_lease_is_claimed_again_and_the_late_worker_cannot_record(store: Store) -> None:
    await store.deliveries.enqueue([article_to(100)], now=T0)
    [row] = await store.deliveries.claim(worker_id="slow", limit=1, lease=LEASE, now=T0)
    assert await store.deliveries.claim(worker_id="fast", limit=1, lease=LEASE, now=T0 + LEASE / 2) == []
    [taken] = await store.deliveries.claim(worker_id="fast", limit=1, lease=LEASE, now=T0 + LEASE * 2)
    assert taken.id == row.id
    with pytest.raises(LeaseLost):
        await store.deliveries.sent(row.id, worker_id="slow", message_id=1)
    await store.deliveries.sent(row.id, worker_id="fast", message_id=2)
    got = await store.deliveries.get(row.id)
    assert got is not None and got.message_id == 2


async def test_release_gives_the_row_back_without_counting_the_attempt(store: Store) -> None:
    await store.deliveries.enqueue([article_to(100), article_to(200)], now=T0)
    claimed = await store.deliveries.claim(worker_id="a", limit=2, lease=LEASE, now=T0)
    assert await store.deliveries.release(claimed[0].id, worker_id="a")
    assert await store.deliveries.release_all(worker_id="a") == 1
    again = await store.deliveries.claim(worker_id="b", limit=2, lease=LEASE, now=T0)
    assert sorted(d.attempts for d in again) == [1, 1]


async def test_queued_in_the_same_unit_of_work_as_its_cause(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            await tx.deliveries.enqueue([article_to(100)], now=T0)
            raise RuntimeError("the article was not stored after all")
    assert await store.deliveries.counts() == {}


async def test_concurrent_senders_never_share_a_row(store: Store) -> None:
    await store.deliveries.enqueue([article_to(c) for c in range(1, 121)], now=T0)

    async def sender(name: str) -> list[int]:
        mine: list[int] = []
        while batch := await store.deliveries.claim(worker_id=name, limit=7, lease=LEASE, now=T0):
            for d in batch:
                await store.deliveries.sent(d.id, worker_id=name, message_id=d.id)
                mine.append(d.id)
            await asyncio.sleep(0)
        return mine

    a, b, c = await asyncio.gather(sender("a"), sender("b"), sender("c"))
    assert not (set(a) & set(b) or set(b) & set(c) or set(a) & set(c))
    assert len(a) + len(b) + len(c) == 120
    assert await store.deliveries.counts() == {"sent": 120}
