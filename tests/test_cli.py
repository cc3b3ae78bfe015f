"""The operator CLI, run in-process against real SQLite files."""

from __future__ import annotations

import asyncio
import functools
import json
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from tests.conftest import FIXTURES, SEED


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    # Run from an empty directory so a developer's .env or newsbot.toml cannot leak in.
    monkeypatch.chdir(tmp_path)
    articles_dir = tmp_path / "embedded"
    articles_dir.mkdir()
    shutil.copy(SEED, articles_dir / SEED.name)
    return {
        "NEWSBOT_DB": str(tmp_path / "store.sqlite3"),
        "NEWSBOT_ARTICLES_DIR": str(articles_dir),
        "DISCORD_TOKEN": "",
        "NEWSBOT_LOG_LEVEL": "WARNING",
    }


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def article_count(env: dict[str, str]) -> int:
    result = invoke(env, "articles", "--json", "--limit", "10000")
    assert result.exit_code == 0, result.output
    return len(json.loads(result.stdout))


def test_parse_seed_json(env: dict[str, str]) -> None:
    result = invoke(env, "parse", str(SEED), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["title"] == "Trump-Putin Meeting Yields Success and Concession"
    assert data["author"] == "Laurie Kotka"
    assert data["published"] == "2017-07-07"
    assert "REUTERS/Carlos Barria" in data["caption"]
    assert data["body"].startswith("Amid the backdrop of the G20 summit in Hamburg")
    assert data["body"].endswith("bettering U.S.-Russian relations.")
    for junk in ("News Ticker", "Patreon", "Share Your Thoughts", "bloggers like this", "REUTERS/"):
        assert junk not in data["body"]
    assert data["url"] is None
    assert not Path(env["NEWSBOT_DB"]).exists(), "parse must not store anything"


def test_listing_reads_only_and_the_bot_seeds_a_new_store(env: dict[str, str]) -> None:
    store = Path(env["NEWSBOT_DB"])
    empty = invoke(env, "articles")
    assert empty.exit_code == 0 and "No articles" in empty.stdout
    assert json.loads(invoke(env, "articles", "--json").stdout) == []
    assert not store.exists()  # a read-only command creates nothing

    from bot.config import Settings
    from bot.runner import store_for

    async def start_like_the_bot() -> None:
        settings = Settings.load(environ=env, env_file=None, toml_file=None)
        async with store_for(settings):
            pass

    asyncio.run(start_like_the_bot())
    rows = json.loads(invoke(env, "articles", "--json").stdout)
    assert [r["title"] for r in rows] == ["Trump-Putin Meeting Yields Success and Concession"]
    assert set(rows[0]) >= {"id", "title", "author", "published", "url"}


def test_ingest_twice_is_idempotent_and_bad_files_do_not_stop_the_batch(env: dict[str, str], tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "good.md").write_text(
        "# Council approves new bike lanes\n\nBy Sam Lee\n\nPublished: 2024-05-02\n\n"
        "The city council voted 7-2 on Tuesday to build twelve kilometres of protected bike lanes.\n\n"
        "Construction starts in the autumn and should finish within two years.\n"
    )
    (batch / "empty.txt").write_bytes(b"")
    (batch / "binary.txt").write_bytes(b"\x00\x01\x02\x03" * 1000)
    with (batch / "huge.txt").open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    (batch / "latin1.txt").write_bytes(
        "Fête de la musique draws crowds\n\nBy Amélie Durand\n\nJune 21, 2023\n\n"
        "Thousands of people filled the streets of the old town for the annual music festival, "
        "with bands playing on every corner until well after midnight.\n\n"
        "Organisers said this year's fête was the biggest since the festival began.\n".encode("latin-1")
    )
    (batch / "untitled.txt").write_text("...\n\n!!!\n\n---\n")
    before = article_count(env)

    first = invoke(env, "ingest", str(batch))
    assert first.exit_code == 1
    assert "2 new, 0 already known, 4 failed" in first.stdout
    failures = [line for line in first.stderr.splitlines() if line.startswith("failed:")]
    assert len(failures) == 4
    assert any("empty.txt" in f and "empty" in f for f in failures)
    assert any("binary.txt" in f and "binary" in f for f in failures)
    assert any("huge.txt" in f and "too large" in f for f in failures)
    assert any("untitled.txt" in f for f in failures)
    assert "Traceback" not in first.output
    assert "latin1.txt" in first.stderr and "Latin-1" in first.stderr
    assert article_count(env) == before + 2

    second = invoke(env, "ingest", str(batch / "good.md"), str(batch / "latin1.txt"))
    assert second.exit_code == 0
    assert "0 new, 2 already known, 0 failed" in second.stdout
    assert article_count(env) == before + 2


def test_ingest_missing_path_fails_cleanly(env: dict[str, str], tmp_path: Path) -> None:
    result = invoke(env, "ingest", str(tmp_path / "nope"))
    assert result.exit_code == 1
    assert "no such file, folder or URL" in result.stderr


def test_ingest_malformed_url_fails_alone(env: dict[str, str], tmp_path: Path) -> None:
    good = tmp_path / "good.md"
    good.write_text(
        "# Library extends opening hours\n\nBy Ana Silva\n\n"
        "The central library will open until ten in the evening from next month, the council said on Monday.\n\n"
        "Students had asked for longer hours during the exam season for several years.\n"
    )
    before = article_count(env)
    result = invoke(env, "ingest", "http://[::1/", str(good))
    assert result.exit_code == 1
    assert "1 new, 0 already known, 1 failed" in result.stdout
    failures = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert failures == ["failed: http://[::1/: not a valid http(s) URL, and no such file or folder."]
    assert "Traceback" not in result.output
    assert article_count(env) == before + 1


def test_db_current_upgrade_backup_and_refusal(env: dict[str, str], tmp_path: Path) -> None:
    from bot.db.migrate import CODE_VERSION

    fresh = invoke(env, "db", "current")
    assert "no database yet" in fresh.stdout
    assert invoke(env, "db", "upgrade").exit_code == 0
    current = invoke(env, "db", "current")
    assert f"schema version {CODE_VERSION} (up to date" in current.stdout
    dest = tmp_path / "backup.sqlite3"
    backed = invoke(env, "db", "backup", str(dest))
    assert backed.exit_code == 0 and dest.stat().st_size > 0
    again = invoke(env, "db", "backup", str(dest))
    assert again.exit_code == 1 and "already exists" in again.stderr

    import sqlite3

    conn = sqlite3.connect(env["NEWSBOT_DB"])
    conn.execute("INSERT INTO schema_version VALUES (?, 'future', 'x')", (CODE_VERSION + 1,))
    conn.commit()
    conn.close()
    data = Path(env["NEWSBOT_DB"]).read_bytes()
    newer = invoke(env, "db", "current")
    assert newer.exit_code == 1 and "NEWER" in newer.stdout
    refused = invoke(env, "articles")
    assert refused.exit_code == 1
    assert "only knows up to" in refused.stderr and "Traceback" not in refused.output
    assert Path(env["NEWSBOT_DB"]).read_bytes() == data


def test_run_without_token_exits_2_with_one_sentence(env: dict[str, str]) -> None:
    result = invoke(env, "run")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "DISCORD_TOKEN" in result.stderr


@pytest.fixture
def fixture_server() -> Iterator[str]:
    """A real HTTP server on loopback serving the project's feed fixtures (the CLI runs its own event loop)."""
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(FIXTURES / "feeds"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_ingest_feed_files_and_urls(env: dict[str, str], fixture_server: str) -> None:
    env = {**env, "NEWSBOT_ALLOW_PRIVATE_ADDRESSES": "true"}
    before = article_count(env)
    feed_file = str(FIXTURES / "feeds" / "rss2_relative.xml")
    first = invoke(
        env, "ingest", feed_file, f"{fixture_server}/jsonfeed_1_1.json", f"{fixture_server}/article_page.html"
    )
    assert first.exit_code == 0, first.output
    added = article_count(env) - before
    assert added >= 3
    assert f"{added} new, 0 already known, 0 failed" in first.stdout
    again = invoke(
        env, "ingest", feed_file, f"{fixture_server}/jsonfeed_1_1.json", f"{fixture_server}/article_page.html"
    )
    assert again.exit_code == 0
    assert f"0 new, {added} already known, 0 failed" in again.stdout
    assert article_count(env) - before == added


def test_ingest_url_guard_is_on_by_default(env: dict[str, str], fixture_server: str) -> None:
    result = invoke(env, "ingest", f"{fixture_server}/jsonfeed_1_1.json")
    assert result.exit_code == 1
    assert "failed:" in result.stderr and "Traceback" not in result.output


def test_sources_lifecycle_and_poll_once(env: dict[str, str], tmp_path: Path, fixture_server: str) -> None:
    env = {**env, "NEWSBOT_ALLOW_PRIVATE_ADDRESSES": "true"}
    folder = tmp_path / "dropbox"
    folder.mkdir()
    # copy2 keeps the files' old modification times: settled files, read without the poller's settling wait.
    shutil.copy2(FIXTURES / "pages" / "wordpress_posted_on.txt", folder / "post.txt")
    assert invoke(env, "sources", "add", str(folder)).exit_code == 0
    added = invoke(env, "sources", "add", f"{fixture_server}/rss2_relative.xml")
    assert added.exit_code == 0 and "(feed)" in added.stdout
    duplicate = invoke(env, "sources", "add", str(folder))
    assert duplicate.exit_code == 1 and "Traceback" not in duplicate.output

    listed = json.loads(invoke(env, "sources", "list", "--json").stdout)
    assert [s["kind"] for s in listed] == ["folder", "feed"]

    polled = invoke(env, "poll", "--once")
    assert polled.exit_code == 0, polled.output
    assert "2 sources polled" in polled.stdout and "0 failed" in polled.stdout
    again = invoke(env, "poll", "--once")
    assert "No sources are due." in again.stdout

    shutil.copy2(FIXTURES / "pages" / "iso_date_author_label.txt", folder / "later.txt")
    assert invoke(env, "sources", "resume", str(folder)).exit_code == 0
    picked = [json.loads(line) for line in invoke(env, "poll", "--once", "--json").stdout.splitlines()]
    assert [(p["location"], p["new"]) for p in picked] == [(str(folder), 1)]

    paused = invoke(env, "sources", "pause", "#2", "--reason", "too noisy")
    assert paused.exit_code == 0
    assert json.loads(invoke(env, "sources", "list", "--json").stdout)[1]["status"] == "paused"
    assert invoke(env, "sources", "remove", "2").exit_code == 0
    missing = invoke(env, "sources", "remove", "2")
    assert missing.exit_code == 1 and "no source #2" in missing.stderr


def test_sources_check_reports_without_storing(env: dict[str, str], fixture_server: str) -> None:
    env = {**env, "NEWSBOT_ALLOW_PRIVATE_ADDRESSES": "true"}
    before = article_count(env)
    result = invoke(env, "sources", "check", f"{fixture_server}/jsonfeed_1_0.json", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "ok" and report["kind"] == "feed"
    assert report["entries"] >= 1 and report["unseen"] == report["entries"]
    assert article_count(env) == before
    dead = invoke(env, "sources", "check", f"{fixture_server}/nope.xml")
    assert dead.exit_code == 1 and "FAILED" in dead.stdout and "404" in dead.stdout


def test_sync_without_token_exits_2_with_one_sentence(env: dict[str, str]) -> None:
    result = invoke(env, "sync")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0 and "DISCORD_TOKEN" in result.stderr
