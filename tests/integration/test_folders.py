"""Files stay where they were put: folder ingest and folder sources never follow a link out of their folder, and
what cannot be read is a failure with its reason. Real folders, real links, a real store; unreadable folders are
made unreadable for real (as user ``nobody`` when the tests run as root, since root reads anything)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.db.articles import ArticleRepository
from bot.db.store import Store
from bot.errors import NewsError
from bot.ingest import INGEST_SUFFIXES, Pipeline, Unusable, expand_paths, plan_locations
from bot.news.loader import walk_folder
from bot.sources.fetcher import Fetcher
from bot.sources.poller import Poller, _scan_folder
from tests.conftest import FIXTURES

ARTICLE = (
    "Council approves the harbour plan\n\nBy Jane Doe\n\n"
    "The council approved the harbour plan on Tuesday after a debate that lasted most of the evening.\n\n"
    "Members said the plan would protect the old quay and bring ferries back to the town by next summer.\n"
)
SECRET = "Secret payroll figures\n\nThese numbers must never be stored by a news bot, whatever links point here.\n"


def settle(path: Path) -> None:
    old = time.time() - 60
    os.utime(path, (old, old), follow_symlinks=False)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """inbox/ with two articles, links in and out, a broken link and a hidden file; outside/ beside it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    (outside / "more.txt").write_text(SECRET)
    inbox = tmp_path / "inbox"
    (inbox / "sub").mkdir(parents=True)
    (inbox / "a.txt").write_text(ARTICLE)
    (inbox / "sub" / "b.md").write_text("# Ferry timetable published\n\n" + ARTICLE.split("\n\n", 2)[2])
    (inbox / ".hidden.txt").write_text(ARTICLE)
    (inbox / "same-as-a.txt").symlink_to("a.txt")
    (inbox / "passwd.txt").symlink_to(outside / "secret.txt")
    (inbox / "sneaky.txt").symlink_to("../outside/more.txt")
    (inbox / "dirlink").symlink_to(outside, target_is_directory=True)
    (inbox / "gone.txt").symlink_to(inbox / "nowhere.txt")
    for path in inbox.rglob("*"):
        settle(path)
    return inbox


def test_walk_folder_keeps_inside_and_names_what_it_refuses(tree: Path) -> None:
    entries = list(walk_folder(tree, frozenset({".txt", ".md"})))
    found = [path.relative_to(tree).as_posix() for path, reason in entries if reason is None]
    refused = {path.name: reason for path, reason in entries if reason is not None}
    # The link to a.txt is a.txt itself (listed once); links out and the broken link are refused.
    assert found == ["a.txt", "sub/b.md"]
    assert set(refused) == {"passwd.txt", "sneaky.txt", "dirlink", "gone.txt"}
    assert "outside" in refused["passwd.txt"] and "not followed" in refused["passwd.txt"]
    assert "folder" in refused["dirlink"]
    assert "does not exist" in refused["gone.txt"]


async def test_folder_ingest_stores_no_file_from_outside(tree: Path, store: Store, articles: ArticleRepository) -> None:
    planned = plan_locations([str(tree)])
    result = await Pipeline(store).ingest_many(planned)
    assert len(result.new) == 2
    reasons = {Path(item).name: reason for item, reason in result.failed}
    assert set(reasons) == {"passwd.txt", "sneaky.txt", "dirlink", "gone.txt"}
    titles = {a.title for a in await articles.latest(10)}
    assert "Secret payroll figures" not in titles
    assert not result.ok


def test_cli_ingest_of_a_folder_with_a_link_out_fails_with_the_reason(
    tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"NEWSBOT_DB": str(tmp_path / "store.sqlite3"), "NEWSBOT_ARTICLES_DIR": str(tmp_path / "none")}
    result = CliRunner().invoke(cli, ["ingest", str(tree)], env=env, catch_exceptions=False)
    assert result.exit_code == 1
    assert (
        f"failed: {tree / 'passwd.txt'}: a link to the file {tree.parent / 'outside' / 'secret.txt'}" in result.stderr
    )
    assert "2 new" in result.stdout


async def test_folder_source_never_reads_through_a_link_out(
    tree: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    now = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    await store.sources.add(str(tree), "folder", now=now)
    async with Fetcher(user_agent="test") as fetcher:
        poller = Poller(Pipeline(store, fetcher), clock=lambda: now)
        [outcome] = await poller.poll_due()
        assert outcome.status == "ok", outcome.error
        assert len(outcome.new) == 2
        titles = {a.title for a in await store.articles.latest(10)}
        assert "Secret payroll figures" not in titles
        assert "Not reading" in caplog.text and "passwd.txt" in caplog.text
        # The same refusal is not logged again at every poll.
        caplog.clear()
        now += dt.timedelta(hours=1)
        [again] = await poller.poll_due()
        assert again.status == "ok" and "passwd.txt" not in caplog.text


# --- unreadable folders -------------------------------------------------------------------------------------------


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temporary folder that user ``nobody`` can enter (pytest's own tmp_path is private to its user)."""
    path = Path(tempfile.mkdtemp(prefix="newsbot-perm-"))
    path.chmod(0o755)
    yield path
    for sub in path.rglob("*"):
        if sub.is_dir() and not sub.is_symlink():
            sub.chmod(0o755)
    shutil.rmtree(path)


def run_unprivileged(fn: Callable[[], object]) -> object:
    """``fn()`` in a forked child that cannot read what it may not read (it becomes ``nobody`` if we are root),
    returned through a pipe as JSON. The child only lists folders and exits, so forking this process is safe."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(read_end)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            os.write(write_end, json.dumps(fn()).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    assert data, "the unprivileged child failed"
    return json.loads(data)


def test_unreadable_folder_and_subfolder_are_failures_with_their_reason(shared_tmp: Path) -> None:
    (shared_tmp / "ok").mkdir()
    shutil.copy(FIXTURES / "pages" / "no_title.txt", shared_tmp / "ok" / "a.txt")
    locked = shared_tmp / "ok" / "locked"
    locked.mkdir()
    (locked / "b.txt").write_text(ARTICLE)
    locked.chmod(0)
    closed = shared_tmp / "closed"
    closed.mkdir()
    closed.chmod(0)
    for path in (shared_tmp, shared_tmp / "ok"):
        path.chmod(0o755)

    def listing() -> list[list[str | None]]:
        items = expand_paths([shared_tmp / "ok", closed], INGEST_SUFFIXES)
        return [[str(i), getattr(i, "reason", None)] for i in items]

    items = run_unprivileged(listing)
    assert items == [
        [str(shared_tmp / "ok" / "a.txt"), None],
        [str(locked), "cannot read the folder (Permission denied)."],
        [str(closed), "cannot read the folder (Permission denied)."],
    ]


def test_unreadable_folder_source_is_a_failure_with_its_reason(shared_tmp: Path) -> None:
    closed = shared_tmp / "closed"
    closed.mkdir()
    closed.chmod(0)

    def scan() -> str:
        try:
            _scan_folder(closed)
        except NewsError as exc:
            return str(exc)
        return "no error"

    assert run_unprivileged(scan) == f"Cannot read the folder {closed} (Permission denied)."


def test_explicit_files_and_links_named_on_the_command_line_are_read(tree: Path) -> None:
    # An operator who names a link means it; only what a folder holds is confined to the folder.
    link = tree / "passwd.txt"
    assert list(expand_paths([link], INGEST_SUFFIXES)) == [link]
    assert not any(isinstance(item, Unusable) for item in expand_paths([tree / "a.txt"]))
