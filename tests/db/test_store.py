"""The store against real SQLite files: migrations, version refusal, identity, FTS sync, atomicity."""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from bot.db import CODE_VERSION, Database, current_version, open_database
from bot.db.articles import ArticleRepository, fts_query
from bot.db.maintenance import backup, inspect_version
from bot.errors import DatabaseVersionError
from bot.news.models import ParsedArticle
from bot.sources.service import ingest_feed_file
from tests.conftest import FIXTURES


async def test_migrations_record_version_and_set_pragmas(db: Database) -> None:
    assert await current_version(db) == CODE_VERSION
    cursor = await db.conn.execute("PRAGMA journal_mode")
    assert (await cursor.fetchone())[0] == "wal"
    cursor = await db.conn.execute("PRAGMA foreign_keys")
    assert (await cursor.fetchone())[0] == 1
    cursor = await db.conn.execute("PRAGMA busy_timeout")
    assert (await cursor.fetchone())[0] >= 1000


async def test_reopening_applies_nothing_twice(tmp_path: Path) -> None:
    path = tmp_path / "n.sqlite3"
    async with open_database(path) as first:
        await ArticleRepository(first).add(ParsedArticle("A title", "Body."))
    async with open_database(path) as second:
        assert await current_version(second) == CODE_VERSION
        assert await ArticleRepository(second).count() == 1


async def test_newer_database_is_refused_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    async with open_database(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO schema_version (version, name, applied_at) VALUES (?, 'from_the_future', 'x')",
            (CODE_VERSION + 5,),
        )
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    mtime = path.stat().st_mtime_ns
    with pytest.raises(DatabaseVersionError, match=rf"version {CODE_VERSION + 5}"):
        async with open_database(path):
            pass
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert path.stat().st_mtime_ns == mtime
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    assert inspect_version(path) == CODE_VERSION + 5


async def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_text("these are my notes, not a database\n" * 100)
    with pytest.raises(DatabaseVersionError, match="not a newsbot database"):
        async with open_database(path):
            pass
    assert path.read_text().startswith("these are my notes")


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


async def test_fts_index_follows_inserts_and_escapes_syntax(articles: ArticleRepository, db: Database) -> None:
    stored = await articles.add(ParsedArticle("Ceasefire agreed in Syria", "Leaders met in Hamburg."))
    assert await articles.full_text("hamburg") == [stored.article_id]
    assert await articles.full_text("ceasefir") == [stored.article_id]  # last word is a prefix
    for hostile in ['"', "NEAR(", "a:b -c*", "AND OR NOT", ")))"]:
        await articles.full_text(hostile)  # must not raise an FTS syntax error
    assert fts_query("!!!") is None
    async with db.transaction() as conn:
        await conn.execute("DELETE FROM articles WHERE id = ?", (stored.article_id,))
    assert await articles.full_text("hamburg") == []


async def test_failed_transaction_leaves_no_row(articles: ArticleRepository, db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await articles.add_many([ParsedArticle("Good", "Body."), ParsedArticle("", "Empty title violates CHECK.")])
    assert await articles.count() == 0
    cursor = await db.conn.execute("SELECT COUNT(*) FROM article_keys")
    assert (await cursor.fetchone())[0] == 0


async def test_online_backup_is_a_consistent_copy(db: Database, articles: ArticleRepository, tmp_path: Path) -> None:
    await articles.add(ParsedArticle("Backed up", "Body."))
    dest = tmp_path / "backup" / "copy.sqlite3"
    size = await backup(db, dest)
    assert size > 0
    with sqlite3.connect(dest) as conn:
        assert conn.execute("SELECT title FROM articles").fetchall() == [("Backed up",)]
    conn.close()
    with pytest.raises(Exception, match="already exists"):
        await backup(db, dest)


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


async def test_failed_commit_rolls_back_and_the_connection_stays_usable(
    db: Database, articles: ArticleRepository
) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute("PRAGMA defer_foreign_keys = ON")
            await conn.execute("INSERT INTO article_keys (key, article_id) VALUES ('dangling', 999)")
    assert not db.conn.in_transaction
    assert (await articles.add(ParsedArticle("After", "Body."))).new
    cursor = await db.conn.execute("SELECT key FROM article_keys WHERE key = 'dangling'")
    assert await cursor.fetchone() is None


@pytest.mark.parametrize("name", ["news#1.sqlite3", "news?x.sqlite3", "news%23.sqlite3"])
async def test_newer_database_with_uri_characters_in_its_name_is_refused_untouched(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "data"
    path = folder / name
    async with open_database(path):
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
        async with open_database(path):
            pass
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert listing_now() == listing == [name]  # no stray 'news' file beside it
    wal = folder / f"{name}-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    assert inspect_version(path) == 99
    assert listing_now() == listing


async def test_one_feed_file_under_two_spellings_is_stored_once(tmp_path: Path, articles: ArticleRepository) -> None:
    (tmp_path / "sub").mkdir()
    feed = tmp_path / "feed.xml"
    shutil.copy(FIXTURES / "feeds" / "rss2_relative.xml", feed)
    first = await ingest_feed_file(feed, articles=articles)
    assert first.status == "ok" and len(first.new) == first.entries > 0
    second = await ingest_feed_file(tmp_path / "sub" / ".." / "feed.xml", articles=articles)
    assert second.status == "ok" and second.new == [] and second.known == second.entries
