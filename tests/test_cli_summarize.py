"""``newsbot summarize`` run in-process on real article files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import cli
from bot.news.loader import load_article_file
from bot.news.summarize import summarize
from tests.conftest import SEED

OTHER_BODY = (
    "Dockworkers in the port city voted on Friday to end a strike that had halted shipping for two weeks.\n\n"
    "The union said the new contract raises wages by eight percent over three years.\n\n"
    "Shipping companies expect the backlog of container ships to clear within a month.\n\n"
    "The strike had delayed deliveries of food and fuel across the region."
)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    # Run from an empty directory so a developer's .env or newsbot.toml cannot leak in.
    monkeypatch.chdir(tmp_path)
    return {"NEWSBOT_DB": str(tmp_path / "store.sqlite3"), "DISCORD_TOKEN": "", "NEWSBOT_LOG_LEVEL": "WARNING"}


@pytest.fixture
def other(tmp_path: Path) -> Path:
    path = tmp_path / "strike.md"
    path.write_text("# Port strike ends after two weeks\n\n" + OTHER_BODY + "\n", encoding="utf-8")
    return path


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def test_one_file_json_is_one_object(env: dict[str, str]) -> None:
    result = invoke(env, "summarize", str(SEED), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    article = load_article_file(SEED).article
    assert data == {
        "file": str(SEED),
        "title": article.title,
        "sentences": summarize(article.body, title=article.title),
    }
    assert len(data["sentences"]) == 3
    assert not Path(env["NEWSBOT_DB"]).exists(), "summarize must not store anything"


def test_several_files_json_is_a_list(env: dict[str, str], other: Path) -> None:
    result = invoke(env, "summarize", str(SEED), str(other), "--json", "--sentences", "2")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [d["file"] for d in data] == [str(SEED), str(other)]
    assert all(len(d["sentences"]) == 2 for d in data)
    assert data[1]["title"] == "Port strike ends after two weeks"
    assert data[1]["sentences"][0].startswith("Dockworkers in the port city voted")


@pytest.mark.parametrize(("length", "count"), [("short", 1), ("medium", 3), ("long", 5)])
def test_length(env: dict[str, str], length: str, count: int) -> None:
    result = invoke(env, "summarize", str(SEED), "--length", length, "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["sentences"]) == count


def test_sentences_override_length(env: dict[str, str]) -> None:
    result = invoke(env, "summarize", str(SEED), "--length", "long", "--sentences", "2", "--json")
    assert len(json.loads(result.stdout)["sentences"]) == 2


def test_readable_text(env: dict[str, str], other: Path) -> None:
    single = invoke(env, "summarize", str(other), "--sentences", "1")
    assert single.exit_code == 0
    assert single.stdout.splitlines() == [
        "Dockworkers in the port city voted on Friday to end a strike that had halted shipping for two weeks."
    ]
    both = invoke(env, "summarize", str(SEED), str(other))
    assert f"== {other}: Port strike ends after two weeks" in both.stdout.splitlines()


def test_errors_are_one_line_and_exit_1(env: dict[str, str], tmp_path: Path, other: Path) -> None:
    missing = tmp_path / "missing.txt"
    binary = tmp_path / "image.txt"
    binary.write_bytes(b"\x89PNG\x00\x00\x00" * 100)
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    for bad in (missing, binary, empty, tmp_path):
        result = invoke(env, "summarize", str(bad))
        assert result.exit_code == 1
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: "), result.stderr
        assert "Traceback" not in result.stderr
    # A bad file does not stop the good ones.
    mixed = invoke(env, "summarize", str(missing), str(other), "--json")
    assert mixed.exit_code == 1
    assert [d["file"] for d in json.loads(mixed.stdout)] == [str(other)]


def test_bad_options(env: dict[str, str]) -> None:
    assert invoke(env, "summarize", str(SEED), "--sentences", "0").exit_code == 2
    assert invoke(env, "summarize", str(SEED), "--length", "huge").exit_code == 2
    assert invoke(env, "summarize").exit_code == 2
