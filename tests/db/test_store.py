"""The store's contract, on every backend: migrations, units of work, isolation, identity, full-text search.

Every test that takes ``store`` runs once on a SQLite file and once on a fresh PostgreSQL schema (see conftest).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from bot.db.articles import ArticleRepository, fts_query, tsquery
from bot.db.errors import StoreError, StoreIntegrityError
from bot.db.maintenance import TABLES, backup, inspect_version
from bot.db.migrate import CODE_VERSION, MIGRATIONS, split_statements
from bot.db.store import NestedTransactionError, Store, open_store
from bot.db.target import StoreTarget
from bot.errors import DatabaseVersionError
from bot.ingest import Pipeline
from bot.news.identity import MAX_KEY_BYTES
from bot.news.models import ParsedArticle
from tests.conftest import FIXTURES

# --- migrations -----------------------------------------------------------------------------------------------


async def test_migrations_record_version(store: Store) -> None:
    assert await store.executor.fetchval("SELECT MAX(version) FROM schema_version") == CODE_VERSION
    assert await inspect_version(store.target) == CODE_VERSION


async def test_sqlite_pragmas(store: Store, sqlite_only: None) -> None:
    async with store.transaction() as tx:  # the writing connection
        assert await tx.executor.fetchval("PRAGMA journal_mode") == "wal"
        assert await tx.executor.fetchval("PRAGMA foreign_keys") == 1
        assert await tx.executor.fetchval("PRAGMA busy_timeout") >= 1000


def test_both_dialects_end_at_the_code_version() -> None:
    assert MIGRATIONS["sqlite"][-1].version == MIGRATIONS["postgres"][-1].version == CODE_VERSION


async def test_every_table_is_copied_by_db_copy(store: Store) -> None:
    if store.dialect == "sqlite":
        rows = await store.executor.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            " AND name NOT LIKE 'articles_fts%'"
        )
    else:
        rows = await store.executor.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )
    assert {str(r[0]) for r in rows} - {"schema_version"} == set(TABLES)


async def test_reopening_applies_nothing_twice(store_target: StoreTarget) -> None:
    async with open_store(store_target) as first:
        await first.articles.add(ParsedArticle("A title", "Body."))
    async with open_store(store_target) as second:
        assert await second.executor.fetchval("SELECT COUNT(*) FROM schema_version") == len(MIGRATIONS[second.dialect])
        assert await second.articles.count() == 1


async def test_newer_database_is_refused_and_left_untouched(store_target: StoreTarget) -> None:
    async with open_store(store_target) as opened:
        await opened.executor.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, 'from_the_future', $2)",
            CODE_VERSION + 5,
            dt.datetime.now(dt.UTC),
        )
    before = hashlib.sha256(store_target.path.read_bytes()).hexdigest() if store_target.kind == "sqlite" else None
    with pytest.raises(DatabaseVersionError, match=rf"version {CODE_VERSION + 5}"):
        async with open_store(store_target):
            pass
    if before is not None:
        assert hashlib.sha256(store_target.path.read_bytes()).hexdigest() == before
    assert await inspect_version(store_target) == CODE_VERSION + 5


async def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(DatabaseVersionError, match="not a newsbot database"):
        async with open_store(path):
            pass
    assert path.read_text().startswith("these are my notes")


@pytest.mark.parametrize("name", ["news#1.sqlite3", "news?x.sqlite3", "news%23.sqlite3"])
async def test_newer_database_with_uri_characters_in_its_name_is_refused_untouched(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "data"
    path = folder / name
    async with open_store(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version (version, name, applied_at) VALUES (99, 'future', 'x')")
    conn.close()

    def listing_now() -> list[str]:
        # A read-only reader of a WAL database may create its (empty) -wal and -shm companions; nothing else.
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith(f"{name}-"))

    listing = listing_now()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(DatabaseVersionError, match="version 99"):
        async with open_store(path):
            pass
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert listing_now() == listing == [name]  # no stray 'news' file beside it
    wal = folder / f"{name}-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    assert await inspect_version(StoreTarget.parse(path)) == 99
    assert listing_now() == listing


def _make_version_3(path: Path) -> None:
    """A store as the previous release wrote it (schema 3), with data of every kind."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT)")
    for migration in MIGRATIONS["sqlite"][:3]:
        for statement in split_statements(migration.sql):
            conn.execute(statement)
        conn.execute(
            "INSERT INTO schema_version VALUES (?, ?, '2026-11-20T10:00:00.000Z')", (migration.version, migration.name)
        )
    conn.executemany(
        "INSERT INTO sources (id, location, kind, title, next_due_at, last_polled_at, failures, status, last_error,"
        " created_at, fetch_url) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (1, "https://a.example/feed", "feed", "A", "2026-11-20T10:05:00+00:00", "2026-11-20T10:00:00+00:00", 0,
             "active", None, "2026-11-01T09:00:00+00:00", None),
            (3, "https://b.example/feed", "feed", None, "2026-11-20T11:00:00+00:00", "2026-11-20T10:00:00+00:00", 10,
             "paused", "paused after 10 consecutive failures; last: HTTP 500", "2026-11-02T09:00:00+00:00",
             "https://b.example/new-feed"),
        ],
    )  # fmt: skip
    long_url = "https://c.example/" + "x" * (MAX_KEY_BYTES + 100)
    conn.executemany(
        "INSERT INTO articles (id, identity, url, title, body, author, published, source_id, ingested_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (1, "https://a.example/1", "https://a.example/1", "Dated by day", "Body one.", "Ann", "2017-07-07", 1,
             "2026-11-20T10:00:00+00:00"),
            (2, "https://a.example/2", "https://a.example/2", "Dated to the second", "Body two about Hamburg.", None,
             "2024-03-05T08:30:00+00:00", 1, "2026-11-20T10:00:01+00:00"),
            (5, long_url, long_url, "Undated, long URL", "Body five.", None, None, None, "2026-11-20T10:00:02+00:00"),
        ],
    )  # fmt: skip
    conn.executemany(
        "INSERT INTO article_keys (key, article_id) VALUES (?, ?)",
        [("https://a.example/1", 1), ("guid:https://a.example/feed#1", 1), ("https://a.example/2", 2),
         (long_url, 5)],
    )  # fmt: skip
    conn.execute("INSERT INTO source_files VALUES (1, 'x.txt', 10, 20, '2026-11-20T10:00:00+00:00')")
    conn.commit()
    conn.close()


async def test_a_version_3_file_upgrades_in_place_with_nothing_lost(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    _make_version_3(path)
    async with open_store(path) as store:
        assert await inspect_version(store.target) == CODE_VERSION
        a, b = await store.sources.get(1), await store.sources.get(3)
        assert a.next_due_at == dt.datetime(2026, 11, 20, 10, 5, tzinfo=dt.UTC)
        assert a.last_success_at == dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
        assert b.paused and b.pause_reason and "HTTP 500" in b.pause_reason and b.last_error is None
        assert b.fetch_url == "https://b.example/new-feed" and b.last_success_at is None
        one, two, five = [await store.articles.get(i) for i in (1, 2, 5)]
        assert one is not None and one.published == dt.date(2017, 7, 7) and one.author == "Ann"
        assert two is not None and two.published == dt.datetime(2024, 3, 5, 8, 30, tzinfo=dt.UTC)
        assert five is not None and five.published is None
        assert [x.id for x in await store.articles.latest(10)] == [2, 1, 5]  # undated last
        assert await store.articles.full_text("hamburg") == [2]
        assert await store.articles.key_count() == 4
        # Old keys still find their articles, the too-long one through its digest.
        known = ParsedArticle("Dated by day", "", url="https://a.example/1", guid="1")
        assert await store.articles.known(known, scope="https://a.example/feed") == 1
        assert await store.articles.known(ParsedArticle("x", "", url=five.url)) == 5
        assert await store.sources.seen_files(1) != {}
        # Ids continue after the highest ever used: a new source is not #2 or #3.
        assert (await store.sources.add("https://new.example/feed", "feed")).id == 4
        assert (await store.articles.add(ParsedArticle("New", "Body."))).article_id == 6
    async with open_store(path) as again:  # and it opens as a current store from then on
        assert await again.articles.count() == 4


# --- units of work ----------------------------------------------------------------------------------------------


async def test_a_repository_call_inside_a_transaction_commits_with_it(store: Store) -> None:
    async with store.transaction() as tx:
        src = await tx.sources.add("https://a.example/feed", "feed")
        stored = await tx.articles.add(ParsedArticle("One", "Body."), source_id=src.id)
        # Calls through the store itself from the same task join the transaction instead of deadlocking.
        second = await store.articles.add(ParsedArticle("Two", "Body two."))
        assert await store.articles.count() == 2  # the transaction sees its own writes
    assert await store.articles.count() == 2
    got = await store.articles.get(stored.article_id)
    assert got is not None and got.source_id == src.id and second.new


async def test_a_task_spawned_inside_a_transaction_gets_a_clear_error_not_a_deadlock(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.articles.add(ParsedArticle("One", "Body."))
        with pytest.raises(NestedTransactionError, match="another task's open transaction"):
            await asyncio.wait_for(store.articles.count(), 10)
    # Once the transaction is over, tasks created inside it use the store normally.
    assert await asyncio.wait_for(store.articles.count(), 10) == 1


async def test_an_uncommitted_write_is_invisible_to_other_readers(store: Store) -> None:
    inside = asyncio.Event()
    release = asyncio.Event()

    async def writer() -> None:
        async with store.transaction() as tx:
            await tx.articles.add(ParsedArticle("Pending", "Body."))
            inside.set()
            await release.wait()
            raise RuntimeError("roll it back")

    task = asyncio.create_task(writer())
    await inside.wait()
    assert await store.articles.count() == 0  # another task reads committed data only
    assert await store.articles.full_text("pending") == []
    release.set()
    with pytest.raises(RuntimeError):
        await task
    assert await store.articles.count() == 0


async def test_an_exception_rolls_everything_back(store: Store) -> None:
    with pytest.raises(ZeroDivisionError):
        async with store.transaction() as tx:
            await tx.sources.add("https://a.example/feed", "feed")
            await tx.articles.add(ParsedArticle("One", "Body."))
            _ = 1 / 0
    assert await store.articles.count() == 0 and await store.sources.count() == 0
    assert await store.articles.key_count() == 0


async def test_nested_transactions_are_savepoints(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.articles.add(ParsedArticle("Outer", "Body."))
        with pytest.raises(KeyError):
            async with store.transaction() as inner:
                await inner.articles.add(ParsedArticle("Inner", "Body inner."))
                raise KeyError("undo only the inner part")
        assert await tx.articles.count() == 1
    assert [a.title for a in await store.articles.latest()] == ["Outer"]


async def test_another_tasks_transaction_waits_and_does_not_join(store: Store) -> None:
    order: list[str] = []
    first_in = asyncio.Event()

    async def first() -> None:
        async with store.transaction() as tx:
            await tx.articles.add(ParsedArticle("First", "Body one."))
            first_in.set()
            await asyncio.sleep(0.2)
            order.append("first commits")

    async def second() -> None:
        await first_in.wait()
        await store.articles.add(ParsedArticle("Second", "Body two."))
        order.append("second stored")

    await asyncio.wait_for(asyncio.gather(first(), second()), 30)
    assert await store.articles.count() == 2
    if store.dialect == "sqlite":  # one writer at a time: the second waited for the first
        assert order == ["first commits", "second stored"]


async def test_run_retries_a_unit_of_work_that_collided(store: Store) -> None:
    from bot.db.errors import StoreConflict

    attempts = 0

    async def flaky(tx: object) -> int:
        nonlocal attempts
        attempts += 1
        if attempts < 3:
            raise StoreConflict("simulated deadlock")
        return attempts

    assert await store.run(flaky) == 3  # type: ignore[arg-type]


# --- identity -----------------------------------------------------------------------------------------------------


async def test_same_url_is_one_article_across_scheme_tracking_and_fragment(articles: ArticleRepository) -> None:
    first = await articles.add(ParsedArticle("Title", "Body one.", url="http://Example.com/post/1?utm_source=rss#c"))
    second = await articles.add(ParsedArticle("Title (updated)", "Body two.", url="https://example.com/post/1"))
    assert first.new and not second.new
    assert second.article_id == first.article_id
    assert await articles.count() == 1


async def test_guid_flip_and_second_source_do_not_duplicate(articles: ArticleRepository) -> None:
    one = ParsedArticle("Post", "", guid="http://blog.example/?p=42", url="http://blog.example/post-42")
    flipped = ParsedArticle("Post", "", guid="https://blog.example/?p=42", url="https://blog.example/post-42/")
    other_feed = ParsedArticle("Post", "", guid="tag:aggregator,2024:1", url="https://blog.example/post-42")
    results = [await articles.add(one, scope="feed-a"), await articles.add(flipped, scope="feed-a")]
    results.append(await articles.add(other_feed, scope="feed-b"))
    assert [r.new for r in results] == [True, False, False]
    assert await articles.count() == 1


async def test_content_fingerprint_identity_without_url(articles: ArticleRepository) -> None:
    a = await articles.add(ParsedArticle("Same", "Same  body\n\ntext."))
    b = await articles.add(ParsedArticle("same", "same body text."))
    c = await articles.add(ParsedArticle("Same", "Different body."))
    assert a.article_id == b.article_id
    assert c.new and c.article_id != a.article_id
    stored = await articles.get(a.article_id)
    assert stored is not None and stored.identity.startswith("sha256:")


async def test_a_very_long_url_is_stored_and_found_again(articles: ArticleRepository) -> None:
    url = "https://tracker.example/article?" + "&".join(f"p{i}={'v' * 40}" for i in range(200))
    first = await articles.add(ParsedArticle("Long", "Body.", url=url))
    again = await articles.add(ParsedArticle("Long again", "Body.", url=url))
    assert first.new and not again.new and again.article_id == first.article_id
    stored = await articles.get(first.article_id)
    assert stored is not None and stored.url == url and len(stored.identity) < 100


async def test_duplicates_inside_one_batch_are_one_article(articles: ArticleRepository) -> None:
    batch = [
        ParsedArticle("One", "", url="http://site.example/a"),
        ParsedArticle("One again", "", url="https://site.example/a#comments"),
        ParsedArticle("Two", "", url="https://site.example/b"),
    ]
    results = await articles.add_many(batch)
    assert [r.new for r in results] == [True, False, True]
    assert results[0].article_id == results[1].article_id
    assert await articles.count() == 2


async def test_a_batch_bigger_than_a_chunk_is_stored_whole(articles: ArticleRepository) -> None:
    from bot.db.articles import CHUNK

    batch = [ParsedArticle(f"Item {i}", f"Body {i}.", url=f"https://big.example/{i}") for i in range(CHUNK * 2 + 7)]
    results = await articles.add_many([*batch, batch[3]])
    assert sum(r.new for r in results) == len(batch)
    assert results[-1].article_id == results[3].article_id and not results[-1].new
    assert await articles.count() == len(batch)


async def test_entries_sharing_a_link_with_different_guids_are_two_articles(articles: ArticleRepository) -> None:
    link = "https://blog.example/post/comment-page-1/"
    ann = ParsedArticle("Comment by Ann", "Nice.", url=link, guid="c-1", link_is_identity=False)
    bob = ParsedArticle("Comment by Bob", "Meh.", url=link, guid="c-2", link_is_identity=False)
    first = await articles.add_many([ann, bob], scope="comments")
    assert [r.new for r in first] == [True, True] and first[0].article_id != first[1].article_id
    again = await articles.add_many([ann, bob], scope="comments")
    assert [r.new for r in again] == [False, False]
    # Later the feed lists a single entry with that link: the store remembers the link is shared.
    alone = ParsedArticle("Comment by Cy", "Hm.", url=link, guid="c-3")
    assert (await articles.add(alone, scope="comments")).new
    assert await articles.known(ParsedArticle("Comment by Ann", "", url=link, guid="c-1"), scope="comments") == (
        first[0].article_id
    )
    # Another source's article at that page does not swallow anything either.
    assert (await articles.add(ParsedArticle("The post", "Body.", url=link), scope="elsewhere")).new
    assert await articles.count() == 4


async def test_fragment_guids_are_distinct_articles(articles: ArticleRepository) -> None:
    batch = [
        ParsedArticle(f"Tool {n}", "", url="https://lovergne.dev/awesome", guid=f"https://lovergne.dev/awesome#{n}")
        for n in ("8086-vm", "arm-vm")
    ]
    batch = [dataclasses.replace(a, link_is_identity=False) for a in batch]
    results = await articles.add_many(batch, scope="f")
    assert [r.new for r in results] == [True, True]
    flipped = dataclasses.replace(batch[0], guid="http://lovergne.dev/awesome#8086-vm")
    assert not (await articles.add(flipped, scope="f")).new


async def test_guid_match_wins_over_a_link_match(articles: ArticleRepository) -> None:
    a = await articles.add(ParsedArticle("A", "", url="https://s.example/a", guid="g-a"), scope="f")
    b = await articles.add(ParsedArticle("B", "", url="https://s.example/b", guid="g-b"), scope="f")
    moved = await articles.add(ParsedArticle("B", "", url="https://s.example/a", guid="g-b"), scope="f")
    assert moved.article_id == b.article_id != a.article_id


async def test_an_entry_that_cannot_be_keyed_is_skipped_not_the_batch(articles: ArticleRepository) -> None:
    broken = ParsedArticle("Broken", "", guid=42)  # type: ignore[arg-type]  # what a parser bug could hand over
    results = await articles.add_many([ParsedArticle("Good", "Body."), broken, ParsedArticle("Also", "Fine.")])
    assert [r.new for r in results] == [True, False, True]
    assert results[1].error and "identity" in results[1].error and not results[1].stored
    assert await articles.count() == 2


async def test_failed_write_leaves_no_row_and_the_store_stays_usable(articles: ArticleRepository) -> None:
    with pytest.raises(StoreIntegrityError):
        await articles.add_many([ParsedArticle("Good", "Body."), ParsedArticle("", "Empty title violates CHECK.")])
    assert await articles.count() == 0 and await articles.key_count() == 0
    assert (await articles.add(ParsedArticle("After", "Body."))).new


async def test_concurrent_writers_store_each_article_once(store: Store) -> None:
    batch = [
        ParsedArticle(f"Story {i}", f"Body {i}.", url=f"https://race.example/{i}", guid=f"g{i}") for i in range(300)
    ]

    async def writer(offset: int) -> None:
        # Each writer stores the same articles in a different order, in chunks, through its own transactions.
        order = batch[offset:] + batch[:offset]
        await store.articles.add_many(order, scope="race")

    await asyncio.gather(*(writer(k * 75) for k in range(4)))
    assert await store.articles.count() == 300
    identities = await store.executor.fetchval("SELECT COUNT(DISTINCT identity) FROM articles")
    assert identities == 300


# --- reading ------------------------------------------------------------------------------------------------------


async def test_published_keeps_its_precision_and_latest_puts_undated_last(articles: ArticleRepository) -> None:
    day = await articles.add(ParsedArticle("Day", "B1.", published=dt.date(2024, 7, 3)))
    moment = dt.datetime(2024, 6, 2, 15, 4, 5, 123456, tzinfo=dt.UTC)
    exact = await articles.add(ParsedArticle("Exact", "B2.", published=moment))
    undated = await articles.add(ParsedArticle("Undated", "B3."))
    got = await articles.get(day.article_id)
    assert got is not None and got.published == dt.date(2024, 7, 3) and not isinstance(got.published, dt.datetime)
    got = await articles.get(exact.article_id)
    assert got is not None and got.published == moment
    assert [a.id for a in await articles.latest(10)] == [day.article_id, exact.article_id, undated.article_id]
    got = await articles.get(undated.article_id)
    assert got is not None and got.ingested_at.tzinfo is not None


async def test_full_text_follows_inserts_and_escapes_syntax(store: Store, articles: ArticleRepository) -> None:
    stored = await articles.add(ParsedArticle("Ceasefire agreed in Syria", "Leaders met in Hamburg."))
    other = await articles.add(ParsedArticle("Weather", "Rain over Hamburg, ceasefire of the sun."))
    assert set(await articles.full_text("hamburg")) == {stored.article_id, other.article_id}
    assert (await articles.full_text("ceasefir"))[0] == stored.article_id  # last word a prefix; title ranks first
    for hostile in ['"', "NEAR(", "a:b -c*", "AND OR NOT", ")))", "'", "\\", "a & b | !c", "x:*", "\x00"]:
        await articles.full_text(hostile)  # must not raise a query syntax error
    assert fts_query("!!!") is None and tsquery("!!!") is None
    await store.executor.execute("DELETE FROM articles WHERE id = $1", stored.article_id)
    assert await articles.full_text("syria") == []


async def test_after_and_iterate_follow_ids(articles: ArticleRepository) -> None:
    ids = [(await articles.add(ParsedArticle(f"T{i}", f"B{i}."))).article_id for i in range(5)]
    assert [a.id for a in await articles.after(ids[1], 2)] == ids[2:4]
    seen = [a.id async for chunk in articles.iterate(batch=2) for a in chunk]
    assert seen == ids


# --- files --------------------------------------------------------------------------------------------------------


async def test_online_backup_is_a_consistent_copy(store: Store, sqlite_only: None, tmp_path: Path) -> None:
    await store.articles.add(ParsedArticle("Backed up", "Body."))
    dest = tmp_path / "backup" / "copy.sqlite3"
    size = await backup(store, dest)
    assert size > 0
    with sqlite3.connect(dest) as conn:
        assert conn.execute("SELECT title FROM articles").fetchall() == [("Backed up",)]
    conn.close()
    with pytest.raises(StoreError, match="already exists"):
        await backup(store, dest)


async def test_backup_of_postgres_points_at_pg_dump(store: Store, tmp_path: Path) -> None:
    if store.dialect != "postgres":
        pytest.skip("PostgreSQL only")
    with pytest.raises(StoreError, match="pg_dump"):
        await backup(store, tmp_path / "x.sqlite3")


async def test_one_feed_file_under_two_spellings_is_stored_once(tmp_path: Path, store: Store) -> None:
    (tmp_path / "sub").mkdir()
    feed = tmp_path / "feed.xml"
    shutil.copy(FIXTURES / "feeds" / "rss2_relative.xml", feed)
    pipeline = Pipeline(store)
    first = await pipeline.ingest_file(feed)
    assert first.status == "ok" and len(first.new) == first.entries > 0
    second = await pipeline.ingest_file(tmp_path / "sub" / ".." / "feed.xml")
    assert second.status == "ok" and second.new == [] and second.known == second.entries


async def test_timestamps_of_any_year_round_trip_and_sort(articles: ArticleRepository) -> None:
    early = dt.datetime(1, 1, 1, tzinfo=dt.UTC)  # a feed's "0001-01-01" placeholder date
    late = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
    ids = []
    for when in (early, late, dt.datetime(999, 5, 5, tzinfo=dt.UTC)):
        ids.append(
            (await articles.add(ParsedArticle(f"At {when.year}", f"Body {when.year}.", published=when))).article_id
        )
    got = await articles.get(ids[0])
    assert got is not None and got.published == early
    assert [a.id for a in await articles.latest(3)] == [ids[1], ids[2], ids[0]]


async def test_hooks_write_with_the_articles_and_listeners_run_after_the_commit(store: Store) -> None:
    from bot.db.store import Tx
    from bot.ingest import IngestReport, StoredBatch

    seen_in_tx: list[int] = []
    after: list[tuple[int, int]] = []

    async def hook(tx: Tx, batch: StoredBatch) -> None:
        seen_in_tx.append(await tx.articles.count())  # sees its own uncommitted articles

    async def listener(batch: StoredBatch) -> None:
        after.append((len(batch.results), await store.articles.count()))  # committed by now
        raise RuntimeError("a listener's bug does not undo the ingest")

    pipeline = Pipeline(store, hooks=[hook], listeners=[listener])
    report = IngestReport()
    await pipeline.store_articles(report, [ParsedArticle("One", "B1."), ParsedArticle("Two", "B2.")])
    assert seen_in_tx == [2] and after == [(2, 2)] and len(report.new) == 2
