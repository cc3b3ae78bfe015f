"""SourceRepository on a real SQLite file: lifecycle, due list, failure counting and pausing, seen files."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.db import Database
from bot.db.articles import ArticleRepository
from bot.db.sources import SeenFile, SourceExists, SourceNotFound, SourceRepository
from bot.sources.poller import backoff_delay
from bot.sources.service import scope_for

T0 = dt.datetime(2024, 1, 1, 12, 0, tzinfo=dt.UTC)


async def test_add_get_resolve_list_remove(db: Database) -> None:
    repo = SourceRepository(db)
    src = await repo.add("https://example.com/feed", "feed", now=T0)
    assert src.status == "active" and src.fetch_full_text and src.failures == 0
    assert src.next_due_at == T0 and src.next_due_at.tzinfo is not None
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


async def test_due_pause_resume(db: Database) -> None:
    repo = SourceRepository(db)
    a = await repo.add("https://a.example/feed", "feed", now=T0)
    b = await repo.add("https://b.example/feed", "feed", now=T0 + dt.timedelta(hours=1))
    assert [s.id for s in await repo.due(T0)] == [a.id]
    assert [s.id for s in await repo.due(T0 + dt.timedelta(hours=2))] == [a.id, b.id]
    paused = await repo.pause(a.id, "operator says so")
    assert paused.paused and paused.last_error == "operator says so"
    assert [s.id for s in await repo.due(T0 + dt.timedelta(hours=2))] == [b.id]
    resumed = await repo.resume(a.id, now=T0)
    assert resumed.status == "active" and resumed.failures == 0 and resumed.next_due_at == T0


async def test_success_keeps_validators_and_resets_failures(db: Database) -> None:
    repo = SourceRepository(db)
    src = await repo.add("https://a.example/feed", "feed", now=T0)
    await repo.record_failure(src.id, error="boom", polled_at=T0, next_due_at=T0 + dt.timedelta(minutes=5))
    await repo.record_success(
        src.id,
        polled_at=T0,
        next_due_at=T0 + dt.timedelta(minutes=5),
        etag='"v1"',
        last_modified="Mon, 01 Jan 2024 00:00:00 GMT",
        title="A feed",
    )
    got = await repo.get(src.id)
    assert (got.etag, got.last_modified, got.title) == ('"v1"', "Mon, 01 Jan 2024 00:00:00 GMT", "A feed")
    assert got.failures == 0 and got.last_error is None and got.last_polled_at == T0


async def test_ten_failures_pause_with_reason(db: Database) -> None:
    repo = SourceRepository(db)
    src = await repo.add("https://a.example/feed", "feed", now=T0)
    for i in range(1, 11):
        got = await repo.record_failure(src.id, error=f"HTTP 500 #{i}", polled_at=T0, next_due_at=T0, pause_after=10)
        assert got.failures == i
        assert got.paused == (i == 10)
    assert got.last_error == "paused after 10 consecutive failures; last: HTTP 500 #10"


async def test_uncounted_failure_does_not_pause(db: Database) -> None:
    repo = SourceRepository(db)
    src = await repo.add("https://a.example/feed", "feed", now=T0)
    for _ in range(12):
        got = await repo.record_failure(src.id, error="429", polled_at=T0, next_due_at=T0, count=False, pause_after=10)
    assert got.failures == 0 and not got.paused


def test_backoff_is_exponential_and_capped() -> None:
    delays = [backoff_delay(n) for n in range(1, 12)]
    assert delays[:4] == [300, 600, 1200, 2400]
    assert max(delays) == 6 * 3600
    assert backoff_delay(0) == 0


async def test_seen_files(db: Database) -> None:
    repo = SourceRepository(db)
    src = await repo.add("/srv/articles", "folder")
    await repo.mark_files_seen(src.id, [SeenFile("a.txt", 10, 1), SeenFile("b.html", 20, 2)], now=T0)
    await repo.mark_files_seen(src.id, [SeenFile("a.txt", 11, 3)], now=T0)
    assert await repo.seen_files(src.id) == {"a.txt": SeenFile("a.txt", 11, 3), "b.html": SeenFile("b.html", 20, 2)}
    await repo.remove(src.id)  # cascades to its files
    assert await repo.seen_files(src.id) == {}


async def test_removing_a_source_keeps_its_articles(db: Database, articles: ArticleRepository) -> None:
    from bot.news.models import ParsedArticle

    repo = SourceRepository(db)
    src = await repo.add("https://a.example/feed", "feed")
    stored = await articles.add(
        ParsedArticle(title="T", body="B", url="https://a.example/1"), source_id=src.id, scope=scope_for(src.location)
    )
    await repo.remove(src.id)
    kept = await articles.get(stored.article_id)
    assert kept is not None and kept.source_id is None
