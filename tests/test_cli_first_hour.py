"""The operator's first hour (issue 11): exit codes, truthful `sources` output, checked `sources add`, `--no-full-text`,
read-only commands, quiet logs, the embedded articles from any folder, what each command imports, plain errors.

In-process through click's runner against real stores (SQLite, and PostgreSQL where a server is there), real files
and a real HTTP server on loopback; start-up, logging and the packaged articles as real ``python -m bot`` processes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from bot.sources.guard import AddressGuard
from tests.conftest import FIXTURES, REPO_ROOT, SEED, require_postgres, with_search_path

SEED_TITLE = "Trump-Putin Meeting Yields Success and Concession"


# --- fixtures -----------------------------------------------------------------------------------------------------


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # An empty working directory, so that a developer's .env or newsbot.toml cannot leak in.
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture(params=["sqlite", "postgres"])
def store_env(request: pytest.FixtureRequest, work: Path) -> Iterator[dict[str, str]]:
    """The environment of a CLI on a store that does not exist yet: a SQLite file, or an empty PostgreSQL schema."""
    env = {"DISCORD_TOKEN": "", "NEWSBOT_ARTICLES_DIR": str(work / "no-articles"), "NEWSBOT_LOG_LEVEL": ""}
    if request.param == "sqlite":
        yield {**env, "NEWSBOT_DB": str(work / "store.sqlite3")}
        return
    schemas = require_postgres()
    schema = asyncio.run(schemas.create())
    try:
        yield {**env, "NEWSBOT_DB": with_search_path(schemas.dsn, schema)}
    finally:
        asyncio.run(schemas.drop(schema))


@pytest.fixture
def env(work: Path) -> dict[str, str]:
    return {
        "DISCORD_TOKEN": "",
        "NEWSBOT_DB": str(work / "store.sqlite3"),
        "NEWSBOT_ARTICLES_DIR": str(work / "no-articles"),
        "NEWSBOT_LOG_LEVEL": "",
        "NEWSBOT_ALLOW_PRIVATE_ADDRESSES": "true",
    }


class Site:
    """A real HTTP server on loopback serving a folder the test can change, counting the requests per path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append(self.path)
                super().do_GET()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    root = tmp_path / "site"
    root.mkdir()
    served = Site(root)
    try:
        yield served
    finally:
        served.close()


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def sources_json(env: dict[str, str]) -> list[dict[str, Any]]:
    result = invoke(env, "sources", "list", "--json")
    assert result.exit_code == 0, result.output
    parsed: list[dict[str, Any]] = json.loads(result.stdout)
    return parsed


def plain(result: Result) -> None:
    """No traceback, and every line a user reads on stderr is a sentence of ours or click's usage text."""
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


def cli_process(cwd: Path, env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS`` as an operator runs it, with nothing of this environment's newsbot settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "DISCORD_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# --- exit codes -----------------------------------------------------------------------------------------------------


def test_poll_once_exits_1_when_a_source_failed_and_0_when_all_went_through(env: dict[str, str], site: Site) -> None:
    shutil.copy(FIXTURES / "feeds" / "rss2_relative.xml", site.root / "feed.xml")
    assert invoke(env, "sources", "add", f"{site.url}/feed.xml").exit_code == 0
    (site.root / "feed.xml").unlink()
    failed = invoke(env, "poll", "--once")
    plain(failed)
    assert failed.exit_code == 1
    assert "1 source polled, 0 new articles, 1 failed." in failed.stdout
    assert "FAILED" in failed.stdout and "404" in failed.stdout

    shutil.copy(FIXTURES / "feeds" / "rss2_relative.xml", site.root / "feed.xml")
    assert invoke(env, "sources", "resume", "1").exit_code == 0
    good = invoke(env, "poll", "--once", "--json")
    assert good.exit_code == 0, good.output
    assert [json.loads(line)["status"] for line in good.stdout.splitlines()] == ["ok"]


def test_poll_once_exits_1_for_a_file_of_a_folder_that_could_not_be_read(env: dict[str, str], work: Path) -> None:
    folder = work / "drop"
    folder.mkdir()
    bad = folder / "empty.txt"
    bad.write_bytes(b"")
    os.utime(bad, (1_600_000_000, 1_600_000_000))  # settled: not a file still being copied
    assert invoke(env, "sources", "add", str(folder)).exit_code == 0
    result = invoke(env, "poll", "--once")
    assert result.exit_code == 1
    assert f"failed: {bad}: the file is empty." in result.stderr
    assert "1 item could not be read or stored" in result.stdout and "1 items" not in result.stdout


def test_poll_json_without_once_is_a_usage_error(env: dict[str, str]) -> None:
    # Before, this ignored --json and polled until interrupted: the test would never end.
    result = invoke(env, "poll", "--json")
    assert result.exit_code == 2
    assert "--json needs --once" in result.stderr
    assert not Path(env["NEWSBOT_DB"]).exists()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("NEWSBOT_LOG_LEVEL", "loud", "log_level has an invalid value 'loud'; it must be DEBUG, INFO, WARNING or"),
        ("NEWSBOT_POLL_INTERVAL", "abc", "poll_interval has an invalid value 'abc'; it must be a number of seconds"),
        ("NEWSBOT_DB", "ftp://example.com/db", "not a ftp:// address"),
        ("NEWSBOT_ALLOWED_NETWORKS", "10.0.0.0/33", "it must be comma-separated CIDR blocks"),
    ],
)
def test_an_invalid_setting_exits_2_with_one_line(
    env: dict[str, str], variable: str, value: str, expected: str
) -> None:
    for args in (["articles"], ["sources", "list"], ["db", "current"]):
        result = invoke({**env, variable: value}, *args)
        plain(result)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: Setting ")
        assert expected in result.stderr


# --- every odd input is one plain line ------------------------------------------------------------------------------


def _odd_inputs(work: Path, store: str) -> list[tuple[list[str], int, str]]:
    (work / "emptydir").mkdir(exist_ok=True)
    return [
        (["sources", "remove", "abc"], 1, "There is no source abc. `newsbot sources list` shows the sources"),
        (["sources", "pause", "#99"], 1, "There is no source #99."),
        (["sources", "resume", "99999999999999999999"], 1, "There is no source 99999999999999999999."),
        (["sources", "remove", ""], 2, "REF: is empty"),
        (["sources", "add", ""], 2, "LOCATION: is empty"),
        (["sources", "add", "   "], 2, "LOCATION: is empty"),
        (["sources", "add", str(work / "missing")], 1, "is neither an http(s) URL nor an existing file or folder."),
        (["sources", "add", "http://example.com/feed", "--kind", "folder"], 2, "is a URL, not a folder"),
        (["sources", "add", str(work / "emptydir"), "--kind", "file"], 2, "is a folder, not a file"),
        (["sources", "check", "not a url"], 2, "is not an http(s) URL"),
        (["ingest", str(work / "emptydir")], 1, "no article or feed files (.atom,"),
        (["ingest", ""], 2, "a location is empty"),
        (["parse", str(work / "emptydir")], 1, "is a folder; `newsbot parse` reads one article file"),
        (["parse", str(work / "missing.txt")], 1, "cannot read the file (No such file or directory)."),
        (["articles", "--limit", "0"], 2, "0 is not in the range"),
        (["db", "copy", store, "/dev/null/copy.sqlite3"], 1, "/dev/null/copy.sqlite3"),
        (["db", "copy", store, store], 2, "SOURCE and DEST are the same store."),
        (["db", "copy", str(work / "missing.sqlite3"), str(work / "b.sqlite3")], 1, "there is nothing to copy."),
        (["db", "backup", "/dev/null/backup.sqlite3"], 1, "cannot write the backup to /dev/null/backup.sqlite3"),
        (["db", "copy", store, "ftp://example.com/x"], 2, "not a ftp:// address"),
        (["--db", "postgresql://newsbot:s3cret-pw@127.0.0.1:9/newsbot", "articles"], 1, "postgresql://newsbot@"),
        (["--db", "postgresql://nowhere.invalid/x", "articles"], 1, "postgresql://nowhere.invalid/x"),
        (["sandbox", "--script", str(work / "missing.jsonl")], 2, "does not exist"),
    ]


def test_odd_inputs_get_one_plain_line_and_the_documented_exit_code(env: dict[str, str], work: Path) -> None:
    assert invoke(env, "ingest", str(SEED)).exit_code == 0  # a store to work on
    for args, code, expected in _odd_inputs(work, env["NEWSBOT_DB"]):
        result = invoke(env, *args)
        plain(result)
        assert result.exit_code == code, (args, result.output)
        assert expected in result.stderr, (args, result.stderr)
        assert "s3cret-pw" not in result.output
        if code == 1 and args[0] != "ingest":
            assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), (args, result.stderr)
    assert not (work / "b.sqlite3").exists()
    assert not (work / "missing.sqlite3").exists()


def test_the_wrong_password_of_a_real_server_is_one_line_without_it(env: dict[str, str]) -> None:
    schemas = require_postgres()
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(schemas.dsn)
    if parts.password is None:
        pytest.skip("the test server is reached without a password")
    netloc = f"{parts.username}:wrong-{parts.password}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    dsn = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    result = invoke(env, "--db", dsn, "articles")
    plain(result)
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "password authentication failed" in result.stderr
    assert f"wrong-{parts.password}" not in result.output


def test_discord_refusals_and_an_unreachable_discord_are_sentences() -> None:
    import aiohttp
    import discord

    from bot.cli import _talking_to_discord
    from bot.errors import NewsError

    async def refused() -> None:
        raise discord.LoginFailure("Improper token has been passed.")

    async def unreachable() -> None:
        raise aiohttp.ClientConnectionError("Network is unreachable")

    with pytest.raises(NewsError, match=r"^Discord refused the token \(Improper token has been passed\.\); check"):
        asyncio.run(_talking_to_discord(refused()))
    with pytest.raises(NewsError, match=r"^Cannot reach Discord \(.*Network is unreachable\); check the network\.$"):
        asyncio.run(_talking_to_discord(unreachable()))


# --- sources list is truthful; a second pause is refused; titles; plurals ---------------------------------------------


def test_sources_list_shows_an_error_with_its_time_and_failures_only_while_they_count(
    store_env: dict[str, str], site: Site
) -> None:
    env = {**store_env, "NEWSBOT_ALLOW_PRIVATE_ADDRESSES": "true"}
    shutil.copy(FIXTURES / "feeds" / "rss2_relative.xml", site.root / "feed.xml")
    assert invoke(env, "sources", "add", f"{site.url}/feed.xml").exit_code == 0
    (site.root / "feed.xml").unlink()
    assert invoke(env, "poll", "--once").exit_code == 1

    listed = invoke(env, "sources", "list").stdout
    assert "active, 1 failure " in listed and "1 failures" not in listed
    assert "last poll failed (" in listed and "404" in listed
    [row] = sources_json(env)
    assert row["failures"] == 1 and row["last_error_at"] == row["last_polled_at"] is not None

    paused = invoke(env, "sources", "pause", "1", "--reason", "server down")
    assert paused.exit_code == 0
    assert "paused: paused by operator: server down" in invoke(env, "sources", "list").stdout
    again = invoke(env, "sources", "pause", "1", "--reason", "another reason")
    plain(again)
    assert again.exit_code == 1
    assert again.stderr == (
        "error: Source #1 is already paused (paused by operator: server down)."
        " To give another reason, `newsbot sources resume 1` first.\n"
    )
    assert sources_json(env)[0]["pause_reason"] == "paused by operator: server down"

    assert invoke(env, "sources", "resume", "1").stdout.startswith("Resumed source #1")
    resumed = invoke(env, "sources", "list").stdout
    # Resumed: no failure counts against it and it is no longer paused, but its last poll did fail, and says when.
    assert "failure" not in resumed.split("\n")[0] and "paused:" not in resumed and "due now" in resumed
    assert "last poll failed (" in resumed

    shutil.copy(FIXTURES / "feeds" / "rss2_relative.xml", site.root / "feed.xml")
    assert invoke(env, "poll", "--once").exit_code == 0
    healthy = invoke(env, "sources", "list").stdout
    assert "last poll failed" not in healthy and "failure" not in healthy
    assert sources_json(env)[0]["last_error"] is None
    not_paused = invoke(env, "sources", "resume", "1")
    assert not_paused.stdout.startswith("Source #1 was not paused; it is due now")


def test_sources_add_knows_the_title_before_the_first_poll(env: dict[str, str], site: Site, work: Path) -> None:
    shutil.copy(FIXTURES / "feeds" / "rss2_relative.xml", site.root / "feed.xml")
    shutil.copy(FIXTURES / "feeds" / "atom_xml_base.xml", work / "saved.atom")
    folder = work / "Dropbox News"
    folder.mkdir()
    feed = invoke(env, "sources", "add", f"{site.url}/feed.xml")
    assert feed.exit_code == 0
    assert "title: Example & News; 4 entries, 4 not stored yet" in feed.stdout
    assert invoke(env, "sources", "add", str(folder)).exit_code == 0
    assert invoke(env, "sources", "add", str(work / "saved.atom")).exit_code == 0
    assert invoke(env, "sources", "add", str(SEED), "--title", "The seed").exit_code == 0
    titles = [s["title"] for s in sources_json(env)]
    assert titles[0] == "Example & News" and titles[1] == "Dropbox News" and titles[3] == "The seed"
    assert titles[2]  # the Atom feed's own title
    assert all(s["last_polled_at"] is None for s in sources_json(env)), "titles known before any poll"
    listed = invoke(env, "sources", "list").stdout
    assert "Example & News" in listed and "Dropbox News" in listed


def test_one_entry_one_failure_are_singular(env: dict[str, str], site: Site) -> None:
    (site.root / "one.xml").write_text(
        "<?xml version='1.0'?><rss version='2.0'><channel><title>One</title><link>https://one.example/</link>"
        "<item><title>Only item</title><link>https://one.example/a</link>"
        "<description>" + "A full sentence of body text. " * 40 + "</description></item></channel></rss>",
        encoding="utf-8",
    )
    added = invoke(env, "sources", "add", f"{site.url}/one.xml")
    assert "1 entry, 1 not stored yet" in added.stdout
    checked = invoke(env, "sources", "check", f"{site.url}/one.xml")
    assert "1 entry, 1 not stored yet" in checked.stdout and "entries" not in checked.stdout
    polled = invoke(env, "poll", "--once")
    assert "1 entry, 1 new, 0 known" in polled.stdout
    assert "1 source polled, 1 new article, 0 failed." in polled.stdout


# --- sources add checks what it adds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("missing.xml", None, "HTTP 404"),
        ("empty.xml", b"", "empty"),
        ("data.json", b'{"hello": "world"}', "not a JSON Feed"),
        ("image.png", bytes(range(256)) * 20, "binary"),
        ("home.html", (FIXTURES / "html" / "no_article.html").read_bytes(), "No article text"),
    ],
)
def test_sources_add_refuses_a_url_that_is_no_feed_or_article_page(
    env: dict[str, str], site: Site, name: str, content: bytes | None, reason: str
) -> None:
    if content is not None:
        (site.root / name).write_bytes(content)
    result = invoke(env, "sources", "add", f"{site.url}/{name}")
    plain(result)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {site.url}/{name} was not added: ") and reason in result.stderr
    assert sources_json(env) == []


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "the file is empty."),
        ("empty.xml", b"", "empty"),
        ("binary.txt", bytes(range(256)) * 20, "the file is binary, not text."),
        ("notes.xml", b"just some words, not a feed", "holds no RSS, Atom or JSON Feed"),
        ("untitled.txt", b"...\n\n!!!\n\n---\n", "title"),
        ("report.pdf", b"%PDF-1.4 not an article", "unsupported file type"),
    ],
)
def test_sources_add_refuses_a_file_that_is_no_feed_or_article(
    env: dict[str, str], work: Path, name: str, content: bytes, reason: str
) -> None:
    path = work / name
    path.write_bytes(content)
    result = invoke(env, "sources", "add", str(path))
    plain(result)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {path} was not added: ") and reason in result.stderr
    assert sources_json(env) == []


def test_sources_add_reads_a_page_source_as_a_page(env: dict[str, str], site: Site) -> None:
    shutil.copy(FIXTURES / "feeds" / "article_page.html", site.root / "story.html")
    shutil.copy(FIXTURES / "feeds" / "rss2_relative.xml", site.root / "feed.xml")
    assert invoke(env, "sources", "add", f"{site.url}/story.html", "--kind", "page").exit_code == 0
    forced = invoke(env, "sources", "add", f"{site.url}/story.html?x", "--kind", "feed")
    assert forced.exit_code == 1 and "was not added" in forced.stderr
    assert [s["kind"] for s in sources_json(env)] == ["page"]


# --- ingest --no-full-text ------------------------------------------------------------------------------------------


def _excerpt_feed(site: Site) -> str:
    for n in (1, 2):
        shutil.copy(FIXTURES / "html" / "news_og.html", site.root / f"story{n}.html")
    items = "".join(
        f"<item><title>Story {n} of the day</title><link>{site.url}/story{n}.html</link>"
        f"<guid>{site.url}/story{n}.html</guid><description>The first lines of story {n}…</description></item>"
        for n in (1, 2)
    )
    (site.root / "excerpts.xml").write_text(
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>Excerpts</title><link>{site.url}/</link>"
        f"{items}</channel></rss>",
        encoding="utf-8",
    )
    return f"{site.url}/excerpts.xml"


def test_ingest_no_full_text_fetches_only_the_feed(env: dict[str, str], site: Site) -> None:
    feed = _excerpt_feed(site)
    result = invoke(env, "ingest", "--no-full-text", feed)
    assert result.exit_code == 0, result.output
    assert "2 new, 0 already known, 0 failed" in result.stdout
    assert site.requests == ["/excerpts.xml"]
    rows = json.loads(invoke(env, "articles", "--json").stdout)
    assert sorted(r["title"] for r in rows) == ["Story 1 of the day", "Story 2 of the day"]


def test_ingest_fetches_the_full_text_by_default(env: dict[str, str], site: Site) -> None:
    feed = _excerpt_feed(site)
    assert invoke(env, "ingest", feed).exit_code == 0
    assert sorted(site.requests) == ["/excerpts.xml", "/story1.html", "/story2.html"]


# --- read-only commands never write ---------------------------------------------------------------------------------


def _postgres_tables(dsn: str) -> list[str]:
    import asyncpg

    async def tables() -> list[str]:
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
        finally:
            await conn.close()
        return sorted(r[0] for r in rows)

    return asyncio.run(tables())


def _read_only_commands(site: Site) -> list[list[str]]:
    shutil.copy(FIXTURES / "feeds" / "jsonfeed_1_1.json", site.root / "feed.json")
    return [
        ["articles"],
        ["articles", "--json"],
        ["sources", "list"],
        ["sources", "list", "--json"],
        ["sources", "check", f"{site.url}/feed.json"],
        ["db", "current"],
        ["parse", str(SEED)],
    ]


def test_read_only_commands_create_no_store(store_env: dict[str, str], site: Site) -> None:
    env = {**store_env, "NEWSBOT_ALLOW_PRIVATE_ADDRESSES": "true"}
    for args in _read_only_commands(site):
        result = invoke(env, *args)
        assert result.exit_code == 0, (args, result.output)
    checked = json.loads(invoke(env, "sources", "check", f"{site.url}/feed.json", "--json").stdout)
    assert checked["entries"] >= 1 and checked["unseen"] == checked["entries"]  # no store: every entry is new
    assert invoke(env, "db", "check").exit_code == 1
    if env["NEWSBOT_DB"].startswith("postgresql://"):
        assert _postgres_tables(env["NEWSBOT_DB"]) == []
    else:
        assert list(Path(env["NEWSBOT_DB"]).parent.glob("store.sqlite3*")) == []


def test_read_only_commands_leave_a_store_as_it_was(env: dict[str, str], site: Site) -> None:
    assert invoke(env, "ingest", str(SEED)).exit_code == 0
    assert invoke(env, "sources", "add", str(SEED.parent)).exit_code == 0
    store = Path(env["NEWSBOT_DB"])
    before = (store.read_bytes(), store.stat().st_mtime_ns)
    for args in [*_read_only_commands(site), ["db", "check"]]:
        result = invoke(env, *args)
        assert result.exit_code == 0, (args, result.output)
    assert (store.read_bytes(), store.stat().st_mtime_ns) == before


def test_a_store_of_an_older_version_is_not_upgraded_by_reading_or_backing_up(env: dict[str, str], work: Path) -> None:
    assert invoke(env, "ingest", str(SEED)).exit_code == 0
    store = Path(env["NEWSBOT_DB"])
    conn = sqlite3.connect(store)
    version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    conn.execute("DELETE FROM schema_version WHERE version = ?", (version,))
    conn.commit()
    conn.close()
    data = store.read_bytes()
    for args in (["articles"], ["sources", "list"], ["db", "check"]):
        refused = invoke(env, *args)
        assert refused.exit_code == 1 and "run `newsbot db upgrade`" in refused.stderr, args
    backup = work / "before-upgrade.sqlite3"
    assert invoke(env, "db", "backup", str(backup)).exit_code == 0
    assert store.read_bytes() == data
    conn = sqlite3.connect(backup)
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == version - 1
    conn.close()


# --- refusals are shown whole ------------------------------------------------------------------------------------


def test_a_refused_private_address_is_shown_whole(env: dict[str, str], site: Site) -> None:
    shutil.copy(FIXTURES / "feeds" / "rss2_relative.xml", site.root / "feed.xml")
    guarded = {**env, "NEWSBOT_ALLOW_PRIVATE_ADDRESSES": "false"}
    url = f"{site.url}/feed.xml"
    try:
        AddressGuard().check_addresses("127.0.0.1", ["127.0.0.1"])
    except Exception as exc:
        refusal = str(exc)
    else:  # pragma: no cover - the guard lets loopback through: nothing here to show
        pytest.fail("the address guard did not refuse 127.0.0.1")
    ingested = invoke(guarded, "ingest", url)
    assert ingested.exit_code == 1 and f"failed: {url}: {refusal}\n" in ingested.stderr
    added = invoke(guarded, "sources", "add", url)
    assert added.exit_code == 1 and added.stderr == f"error: {url} was not added: {refusal}\n"
    checked = invoke(guarded, "sources", "check", url)
    assert checked.exit_code == 1 and checked.stdout.startswith(f"FAILED {url}: {refusal} (")
    assert site.requests == []


# --- logs are quiet by default --------------------------------------------------------------------------------------


def test_one_shot_commands_print_no_info_lines_unless_asked(tmp_path: Path) -> None:
    env = {"NEWSBOT_DB": str(tmp_path / "store.sqlite3")}
    quiet = cli_process(tmp_path, env, "ingest", str(SEED))
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == "" and quiet.stdout == "1 new, 0 already known, 0 failed\n"
    (tmp_path / "store.sqlite3").unlink()
    asked = cli_process(tmp_path, {**env, "NEWSBOT_LOG_LEVEL": "INFO"}, "ingest", str(SEED))
    assert "INFO    bot.db.migrate: Applying migration 0001_initial" in asked.stderr
    page = tmp_path / "nothing.html"
    page.write_text("<html><body><p>hi</p></body></html>", encoding="utf-8")
    refused = cli_process(tmp_path, env, "parse", str(page))
    # Only newsbot's sentence: trafilatura's "WARNING discarding data: None" before it said nothing more.
    assert refused.returncode == 1
    assert refused.stderr == f"error: {page}: No article text could be found on this page.\n"
    flag = cli_process(tmp_path, env, "--log-level", "DEBUG", "db", "current")
    assert flag.returncode == 0 and " DEBUG " in flag.stderr  # --log-level asks for more than the default


def test_a_bad_file_in_a_folder_is_reported_once_not_at_every_poll(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    bad = folder / "broken.txt"
    bad.write_bytes(b"\x00\x01\x02" * 100)
    os.utime(bad, (1_600_000_000, 1_600_000_000))
    env = {"NEWSBOT_DB": str(tmp_path / "store.sqlite3"), "NEWSBOT_LOG_LEVEL": "WARNING"}
    assert cli_process(tmp_path, env, "sources", "add", str(folder)).returncode == 0
    first = cli_process(tmp_path, env, "poll", "--once")
    assert first.returncode == 1 and first.stderr.count(str(bad)) >= 1
    assert f"WARNING bot.sources.poller: Skipping {bad}: the file is binary" in first.stderr
    for _ in range(2):
        assert cli_process(tmp_path, env, "sources", "resume", str(folder)).returncode == 0
        again = cli_process(tmp_path, env, "poll", "--once")
        assert again.returncode == 0, again.stdout + again.stderr
        assert str(bad) not in again.stderr and "Skipping" not in again.stderr
    bad.write_bytes(b"\x00\x03" * 100)  # changed, and still bad: reported again, once
    os.utime(bad, (1_600_000_100, 1_600_000_100))
    assert cli_process(tmp_path, env, "sources", "resume", str(folder)).returncode == 0
    changed = cli_process(tmp_path, env, "poll", "--once")
    assert changed.returncode == 1 and f"Skipping {bad}" in changed.stderr


def test_poll_once_reports_each_failure_once_at_the_default_level(tmp_path: Path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    bad = folder / "empty.txt"
    bad.write_bytes(b"")
    os.utime(bad, (1_600_000_000, 1_600_000_000))
    env = {"NEWSBOT_DB": str(tmp_path / "store.sqlite3")}
    assert cli_process(tmp_path, env, "sources", "add", str(folder)).returncode == 0
    polled = cli_process(tmp_path, env, "poll", "--once")
    assert polled.returncode == 1
    assert polled.stderr == f"failed: {bad}: the file is empty.\n"  # the report's line, and no log line repeating it


# --- the embedded articles, from any folder -------------------------------------------------------------------------


def test_the_embedded_articles_are_found_from_another_folder(tmp_path: Path) -> None:
    script = tmp_path / "latest.jsonl"
    script.write_text('{"as": "reader", "run": "/news latest", "options": {"count": 3}}\n', encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # No NEWSBOT_DB and no NEWSBOT_ARTICLES_DIR: the sandbox's own store in ./data, seeded from what ships with newsbot.
    proc = cli_process(elsewhere, {}, "sandbox", "--script", str(script), timeout=120)
    assert proc.returncode == 0, proc.stderr
    replies = [json.loads(line) for line in proc.stdout.splitlines() if '"type": "reply"' in line]
    assert SEED_TITLE in replies[0]["embeds"][0]["description"]
    assert (elsewhere / "data" / "sandbox.sqlite3").exists()


def test_the_default_articles_dir_does_not_depend_on_the_working_directory(tmp_path: Path) -> None:
    code = "from bot.config import Settings; print(Settings.load().articles_dir)"
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=_no_newsbot_env(), check=True
    )
    articles = Path(found.stdout.strip())
    assert articles.is_absolute() and (articles / SEED.name).read_bytes() == SEED.read_bytes()


def _no_newsbot_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "DISCORD_"))}


def test_the_wheel_ships_the_embedded_articles_and_finds_them(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed, so no wheel can be built here")
    built = subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(tmp_path / "dist"), str(REPO_ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if built.returncode != 0 and "Failed to download" in built.stderr:
        pytest.skip(f"the build backend could not be fetched: {built.stderr.strip().splitlines()[-1]}")
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("newsbot-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert f"bot/data/articles/{SEED.name}" in names
        assert any(n.startswith("bot/db/migrations/sqlite/0001_") for n in names)
        archive.extractall(tmp_path / "installed")
    code = "import bot.config as c; print(c.__file__); print(c.Settings().articles_dir)"
    found = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**_no_newsbot_env(), "PYTHONPATH": str(tmp_path / "installed")},
        check=True,
    )
    module, articles = found.stdout.split()
    assert Path(module).is_relative_to(tmp_path / "installed")
    assert Path(articles) == tmp_path / "installed" / "bot" / "data" / "articles"
    assert (Path(articles) / SEED.name).read_bytes() == SEED.read_bytes()


# --- each command imports only what it needs ------------------------------------------------------------------------

HEAVY = ("discord", "aiohttp", "asyncpg", "trafilatura", "feedparser", "fastfeedparser", "rapidfuzz", "lxml")

_PROBE = """
import json, sys
from bot.cli import cli
try:
    cli(sys.argv[2:], prog_name="newsbot")
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(sys.argv[1])))
print(json.dumps(heavy), file=sys.__stderr__)
"""


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["--help"], ()),
        (["sources", "--help"], ()),
        (["db", "--help"], ()),
        (["articles"], ()),
        (["articles", "--json"], ()),
        (["db", "current"], ()),
        (["sources", "list"], ()),
        (["parse", str(SEED)], ()),
        (["ingest", str(SEED)], ("feedparser", "fastfeedparser", "rapidfuzz")),
        (["summarize", str(SEED)], ()),
    ],
)
def test_commands_import_only_what_they_need(tmp_path: Path, args: list[str], allowed: tuple[str, ...]) -> None:
    env = {**_no_newsbot_env(), "NEWSBOT_DB": str(tmp_path / "store.sqlite3")}
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(HEAVY), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    imported = json.loads(proc.stderr.strip().splitlines()[-1])
    assert set(imported) <= set(allowed), f"`newsbot {' '.join(args)}` imported {imported}"
