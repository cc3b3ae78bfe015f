"""Operating a store: ``db copy`` between backends and back, ``db check`` finding a damaged index, ``db repair``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.db.maintenance import check_store, copy_store, open_empty, repair_fts
from bot.db.store import Store, open_store
from bot.db.target import StoreTarget
from bot.ingest import Pipeline
from bot.news.models import ParsedArticle
from tests.conftest import FIXTURES

QUERIES = ("hamburg", "ceasefire syria", "harbour", "council bike", "story")


async def _fill(store: Store) -> None:
    source = await store.sources.add("https://feeds.example/rss", "feed")
    await store.sources.pause(source.id, "copied while paused")
    await store.sources.add(str(FIXTURES), "folder")
    pipeline = Pipeline(store)
    await pipeline.ingest_file(FIXTURES / "feeds" / "rss2_relative.xml", source=source)
    for path in sorted((FIXTURES / "pages").iterdir()):
        await pipeline.ingest_file(path)
    await store.articles.add(
        ParsedArticle("Ceasefire agreed in Syria", "Leaders met in Hamburg.", url="https://x.example/1")
    )


async def _summary(store: Store) -> dict[str, object]:
    return {
        "articles": await store.articles.count(),
        "keys": await store.articles.key_count(),
        "sources": [(s.id, s.location, s.status, s.pause_reason) for s in await store.sources.all()],
        "latest": [(a.id, a.title, a.published) for a in await store.articles.latest(50)],
        "search": {q: (await store.articles.full_text(q, limit=5))[:1] for q in QUERIES},
    }


async def test_copy_sqlite_to_postgres_and_back_keeps_everything(make_target: object) -> None:
    source_target: StoreTarget = await make_target("sqlite")  # type: ignore[operator]
    middle_target: StoreTarget = await make_target("postgres")  # type: ignore[operator]
    back_target: StoreTarget = await make_target("sqlite")  # type: ignore[operator]
    async with open_store(source_target) as source:
        await _fill(source)
        before = await _summary(source)
        assert before["articles"] and before["keys"]
        middle = await open_empty(middle_target)
        try:
            report = await copy_store(source, middle)
            assert report.counts["articles"] == before["articles"]
            assert await _summary(middle) == before
            assert await check_store(middle) == []
            # Ids continue after the copied rows on the new backend.
            added = await middle.sources.add("https://after.example/feed", "feed")
            assert added.id > max(s[0] for s in before["sources"])  # type: ignore[union-attr]
            await middle.sources.remove(added.id)
            back = await open_empty(back_target)
            try:
                await copy_store(middle, back)
                assert await _summary(back) == before
                assert await check_store(back) == []
            finally:
                await back.close()
        finally:
            await middle.close()


async def test_copy_refuses_a_store_that_has_data(store: Store, make_target: object) -> None:
    other_target: StoreTarget = await make_target("sqlite")  # type: ignore[operator]
    await store.articles.add(ParsedArticle("Mine", "Body."))
    async with open_store(other_target) as other:
        await other.articles.add(ParsedArticle("Theirs", "Body."))
        with pytest.raises(Exception, match="not empty"):
            await copy_store(store, other)


async def test_check_reports_a_damaged_full_text_index_and_repair_fixes_it(store: Store) -> None:
    await _fill(store)
    assert await check_store(store) == []
    victim = (await store.articles.latest(1))[0]
    if store.dialect == "sqlite":
        # Remove the article from the index behind the store's back, as a crash or a bad manual edit could.
        conn = sqlite3.connect(store.target.path)
        conn.execute(
            "INSERT INTO articles_fts (articles_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)",
            (victim.id, victim.title, victim.body),
        )
        conn.commit()
        conn.close()
    else:
        await store.executor.execute("DROP INDEX articles_search")
    problems = await check_store(store)
    assert problems and any("full-text index" in p for p in problems)
    await repair_fts(store) if store.dialect == "sqlite" else await store.executor.execute(
        "CREATE INDEX articles_search ON articles USING GIN (search)"
    )
    assert await check_store(store) == []


def test_db_check_command_exits_1_on_damage(tmp_path: Path) -> None:
    db = tmp_path / "damaged.sqlite3"
    runner = CliRunner()
    env = {"NEWSBOT_DB": str(db), "NEWSBOT_LOG_LEVEL": "WARNING"}
    ingested = runner.invoke(cli, ["ingest", str(FIXTURES / "pages")], env=env)
    assert "new" in ingested.stdout and not ingested.stdout.startswith("0 new")  # one fixture has no title
    healthy = runner.invoke(cli, ["db", "check"], env=env)
    assert healthy.exit_code == 0 and "no problems" in healthy.stdout
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM articles_fts_data WHERE id > 10")  # corrupt the index's own pages
    conn.commit()
    conn.close()
    damaged = runner.invoke(cli, ["db", "check"], env=env)
    assert damaged.exit_code == 1 and "full-text index" in damaged.stdout
    repaired = runner.invoke(cli, ["db", "repair"], env=env)
    assert repaired.exit_code == 0, repaired.output
    assert runner.invoke(cli, ["db", "check"], env=env).exit_code == 0
