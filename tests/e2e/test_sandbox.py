"""``newsbot sandbox``: scripted and interactive modes, in-process and through the real CLI."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from bot.client import EXTENSIONS
from bot.config import Settings
from bot.sandbox.app import Event, open_sandbox
from bot.sandbox.script import (
    EXIT_BAD_SCRIPT,
    ScriptError,
    execute_script,
    parse_line,
    parse_script,
    run_actions,
)
from bot.sandbox.terminal import Completer, Invocation, LineReader, Terminal, parse_invocation
from tests.conftest import REPO_ROOT

SEED_TITLE = "Trump-Putin Meeting Yields Success and Concession"
WITH_TEST_COMMANDS = [*EXTENSIONS, "e2e_testcmds"]

NEWS_SCRIPT = "\n".join(
    json.dumps(line)
    for line in (
        {"as": "reader", "run": "/news latest", "options": {"count": 3}},
        {"as": "reader", "autocomplete": "/news headline", "option": "query", "value": "trump putn"},
        {"as": "reader", "run": "/news headline", "options": {"query": "trump putn"}},
    )
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings().with_(
        db=str(tmp_path / "sandbox.sqlite3"), articles_dir=REPO_ROOT / "data" / "articles", log_level="WARNING"
    )


def cli_env(tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        # The sandbox never uses the operator's store: NEWSBOT_DB is ignored, `--db` (see sandbox_args) is not.
        "NEWSBOT_DB": str(tmp_path / "operator.sqlite3"),
        "NEWSBOT_ARTICLES_DIR": str(REPO_ROOT / "data" / "articles"),
        "NEWSBOT_LOG_LEVEL": "WARNING",
        "DISCORD_TOKEN": "",
    }


async def run_script(settings: Settings, text: str, **kwargs: Any) -> tuple[int, list[Event]]:
    events: list[Event] = []
    outcome = await execute_script(settings, parse_script(text), events.append, **kwargs)
    # Every event is what the CLI writes: a JSON object per line.
    for event in events:
        assert json.loads(json.dumps(event)) == event
    return outcome.exit_code, events


def of_type(events: list[Event], kind: str) -> list[Event]:
    return [e for e in events if e["type"] == kind]


# ---- scripted mode, in-process (the function the CLI runs) ------------------------------------------------------


async def test_script_latest_autocomplete_and_free_text_headline(settings: Settings) -> None:
    code, events = await run_script(settings, NEWS_SCRIPT)
    assert code == 0
    assert [e["type"] for e in events] == ["ready", "reply", "autocomplete", "reply", "done"]
    ready, latest, suggestions, card, done = events
    assert ready["seconds"] > 0 and "/news latest" in ready["commands"]
    assert latest["line"] == 1 and latest["channel"] == "news" and latest["ephemeral"] is False
    assert latest["embeds"][0]["title"] == "Latest headlines"
    assert SEED_TITLE in latest["embeds"][0]["description"]
    assert latest["allowed_mentions"] == {"parse": []}
    assert suggestions["line"] == 2 and suggestions["value"] == "trump putn"
    assert suggestions["choices"][0]["name"] == SEED_TITLE
    # Free text, not a picked suggestion: the bot resolves the best match.
    assert card["embeds"][0]["title"] == SEED_TITLE
    assert done == {"type": "done", "actions": 3, "events": 3, "errors": 0}


async def test_unknown_command_and_missing_member_are_error_events(settings: Settings) -> None:
    script = "\n".join(
        [
            '{"as": "reader", "run": "/nope"}',
            '{"as": "nobody", "run": "/news latest"}',
            '{"channel": "nowhere"}',
            '{"as": "reader", "click": "Share Your Thoughts"}',
            '{"as": "reader", "modal": {"Comment": "hi"}}',
            '{"as": "reader", "run": "/news latest"}',
        ]
    )
    code, events = await run_script(settings, script)
    assert code == 1
    errors = of_type(events, "error")
    assert [e["line"] for e in errors] == [1, 2, 3, 4, 5]
    assert errors[0]["error"] == "There is no /nope command in this server."
    assert errors[1]["error"].startswith("There is no member called 'nobody' (members: owner, reader, moderator")
    assert errors[2]["error"].startswith("There is no channel called #nowhere (channels: #news, #general")
    assert errors[3]["error"] == "There is no button labelled 'Share Your Thoughts' in #news."
    assert errors[4]["error"].startswith("No form (modal) is open for reader")
    # Plain sentences: nothing of the driver's internals, and no hint at syncing (the sandbox syncs itself).
    for error in errors:
        text = error["error"]
        assert "custom_id" not in text and "None" not in text and "sync" not in text, text
        assert text[0].isupper() and text.endswith("."), text
    assert of_type(events, "reply")[0]["line"] == 6, "later actions still run after an error"
    assert events[-1]["errors"] == 5


async def test_click_modal_members_and_channels(settings: Settings) -> None:
    script = "\n".join(
        [
            '{"user": "alice", "permissions": ["manage_messages"]}',
            '{"as": "reader", "run": "/modtest"}',
            '{"as": "alice", "run": "/modtest"}',
            '{"channel": "general"}',
            '{"as": "reader", "run": "/card"}',
            '{"click": "Share Your Thoughts"}',
            '{"modal": {"Comment": "Well put."}}',
            '{"click": "Count"}',
        ]
    )
    code, events = await run_script(settings, script, extensions=WITH_TEST_COMMANDS)
    assert code == 1  # reader cannot see /modtest
    hidden = of_type(events, "error")
    assert len(hidden) == 1 and hidden[0]["line"] == 2 and "hidden from reader" in hidden[0]["error"]
    replies = of_type(events, "reply")
    assert replies[0]["user"] == "alice" and replies[0]["content"] == "moderator ok" and replies[0]["ephemeral"]
    card = replies[1]
    assert card["channel"] == "general" and card["embeds"][0]["title"] == "Article 1"
    labels = [c["label"] for row in card["components"] for c in row["components"]]
    assert {"Share Your Thoughts", "Count"} <= set(labels)
    (modal,) = of_type(events, "modal")
    assert modal["line"] == 6 and modal["title"] == "Share Your Thoughts" and modal["user"] == "reader"
    thanks = replies[2]
    assert thanks["line"] == 7 and thanks["ephemeral"]
    assert thanks["content"] == "Thanks for your comment on 1: Well put."
    edited = replies[3]
    assert edited["line"] == 8 and edited.get("edited") and edited["content"] == "clicked 1"


async def test_no_response_and_refused_request_are_errors(settings: Settings) -> None:
    script = '{"run": "/slow"}\n{"run": "/bad", "options": {"kind": "content2001"}}'
    code, events = await run_script(settings, script, extensions=WITH_TEST_COMMANDS)
    assert code == 1
    errors = of_type(events, "error")
    assert errors[0]["line"] == 1 and "no response within 3 s" in errors[0]["error"]
    refused = [e for e in errors if e["line"] == 2]
    assert refused and "2000 or fewer" in refused[0]["error"]


async def test_wait_reports_messages_the_bot_posts_on_its_own(settings: Settings) -> None:
    events: list[Event] = []
    async with open_sandbox(settings) as sandbox:
        channel = sandbox.bot.get_channel(sandbox.world.channel("news").id)
        assert channel is not None and hasattr(channel, "send")

        async def announce() -> None:
            await asyncio.sleep(0.1)
            await channel.send("Breaking: background post")

        task = asyncio.create_task(announce())
        await run_actions(sandbox, parse_script('{"wait": 0.5}'), events.append)
        await task
    (message,) = of_type(events, "message")
    assert message["line"] == 1 and message["content"] == "Breaking: background post"
    assert message["channel"] == "news" and message["user"] is None and message["ephemeral"] is False


async def test_sandbox_shuts_down_cleanly(settings: Settings) -> None:
    before = asyncio.all_tasks()
    async with open_sandbox(settings) as sandbox:
        assert sandbox.bot.is_ready()
        assert sandbox.bot.settings.allow_private_addresses
        assert sandbox.emulator.base_url.startswith("http://127.0.0.1:")
    await asyncio.sleep(0.05)
    leftover = [t for t in asyncio.all_tasks() - before if t is not asyncio.current_task() and not t.done()]
    assert not leftover


# ---- script parsing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"run": "/news latest"', "not valid JSON"),
        ('["run"]', "must be a JSON object"),
        ('{"as": "reader"', "not valid JSON"),
        ('{"shout": "hi"}', "no action"),
        ('{"run": "/news latest", "run": "/news headline"}', '"run" is given twice'),
        ('{"run": "/news latest", "options": {"count": 1, "count": 2}}', '"count" is given twice'),
        ('{"perm": "#news", "for": "newsbot", "allow": ["embed_links"], "deny": ["embed_links"]}', "both allowed"),
        ('{"perm": "#news", "deny": ["send_messages"]}', '"for" must be a non-empty string'),
        ('{"as": "reader", "perm": "#news", "for": "newsbot"}', '"as" does not apply'),
        ('{"role": "news-alerts", "mentionable": "yes"}', '"mentionable" must be true or false'),
        ('{"user": "bob", "roles": "news-alerts"}', '"roles" must be a list'),
        ('{"run": "/news latest", "click": "x"}', "one action per line"),
        ('{"run": "/news latest", "opts": {}}', "unknown key(s) opts"),
        ('{"run": ""}', '"run" must be a non-empty string'),
        ('{"run": "/news latest", "options": [3]}', '"options" must be an object'),
        ('{"autocomplete": "/news headline", "value": "x"}', '"option" must be'),
        ('{"modal": {"Comment": 3}}', '"modal" must be an object'),
        ('{"user": "bob", "permissions": ["fly"]}', "unknown permission(s) fly"),
        ('{"wait": -1}', '"wait" must be a number'),
        ('{"wait": "2"}', '"wait" must be a number'),
    ],
)
def test_bad_script_lines_name_file_and_line(line: str, message: str) -> None:
    with pytest.raises(ScriptError) as info:
        parse_script(f'{{"run": "/news latest"}}\n\n{line}', "demo.jsonl")
    assert str(info.value).startswith("demo.jsonl:3: ")
    assert message in str(info.value)


def test_comments_blank_lines_and_as_only_lines() -> None:
    assert parse_line("# a comment", 1) is None
    assert parse_line("   ", 2) is None
    action = parse_line('{"as": "moderator"}', 3)
    assert action is not None and action.kind == "as" and action.user == "moderator"
    with pytest.raises(ScriptError, match="no actions"):
        parse_script("# nothing\n", "empty.jsonl")


# ---- the real CLI -----------------------------------------------------------------------------------------------


def test_cli_script_subprocess_writes_transcript(tmp_path: Path) -> None:
    script = tmp_path / "demo.jsonl"
    script.write_text(NEWS_SCRIPT + "\n", encoding="utf-8")
    transcript = tmp_path / "out.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "--db",
            str(tmp_path / "cli.sqlite3"),
            "sandbox",
            "--script",
            str(script),
            "--transcript",
            str(transcript),
        ],
        cwd=REPO_ROOT,
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    events = [json.loads(line) for line in transcript.read_text(encoding="utf-8").splitlines()]
    assert events[0]["type"] == "ready" and events[-1]["type"] == "done"
    assert SEED_TITLE in transcript.read_text(encoding="utf-8")
    assert "3 actions" in proc.stderr and "0 errors" in proc.stderr


def test_cli_bad_script_line_exits_2_with_one_line(tmp_path: Path) -> None:
    script = tmp_path / "bad.jsonl"
    script.write_text('{"run": "/news latest"}\n{"run": "/news latest", "option": {}}\n', encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["--db", str(tmp_path / "cli.sqlite3"), "sandbox", "--script", str(script)], env=cli_env(tmp_path)
    )
    assert result.exit_code == EXIT_BAD_SCRIPT
    assert result.stderr.strip() == (
        f"error: {script}:2: unknown key(s) option for a 'run' action (allowed: as, options, run)"
    )
    assert not (tmp_path / "cli.sqlite3").exists(), "nothing runs when the script is invalid"


def test_cli_error_event_exits_1(tmp_path: Path) -> None:
    script = tmp_path / "unknown.jsonl"
    script.write_text('{"run": "/nope"}\n', encoding="utf-8")
    transcript = tmp_path / "t.jsonl"
    result = CliRunner().invoke(
        cli,
        ["--db", str(tmp_path / "cli.sqlite3"), "sandbox", "--script", str(script), "--transcript", str(transcript)],
        env=cli_env(tmp_path),
    )
    assert result.exit_code == 1
    assert "error: line 1: There is no /nope command in this server." in result.stderr
    kinds = [json.loads(line)["type"] for line in transcript.read_text(encoding="utf-8").splitlines()]
    assert kinds == ["ready", "error", "done"]


def test_the_sandbox_keeps_its_own_store(tmp_path: Path) -> None:
    script = tmp_path / "demo.jsonl"
    script.write_text(NEWS_SCRIPT + "\n", encoding="utf-8")
    operator = tmp_path / "operator.sqlite3"
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "sandbox", "--script", str(script), "--transcript", str(tmp_path / "t.jsonl")],
        cwd=tmp_path,
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert not operator.exists(), "the sandbox must not touch NEWSBOT_DB"
    assert (tmp_path / "data" / "sandbox.sqlite3").exists()
    assert SEED_TITLE in (tmp_path / "t.jsonl").read_text(encoding="utf-8")


# ---- interactive mode -------------------------------------------------------------------------------------------


def test_interactive_subprocess_reads_stdin(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(tmp_path / "cli.sqlite3"), "sandbox"],
        cwd=REPO_ROOT,
        env=cli_env(tmp_path),
        input="/news latest\n?/news headline query: putn\n/pick 1\n/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "reader@#news> /news latest" in out
    assert "  | Latest headlines" in out
    assert f"  1. {SEED_TITLE}  (#1)" in out
    assert f"  | {SEED_TITLE}" in out
    assert "  | Author: Laurie Kotka" in out
    assert out.rstrip().endswith("bye")


def test_interactive_exits_cleanly_at_end_of_input(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(tmp_path / "cli.sqlite3"), "sandbox"],
        cwd=REPO_ROOT,
        env=cli_env(tmp_path),
        input="/news latest count: 1\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Latest headlines" in proc.stdout and "Traceback" not in proc.stderr


def scripted_input(lines: list[str]) -> Callable[[str], str]:
    feed = iter(lines)

    def read(prompt: str) -> str:
        try:
            return next(feed)
        except StopIteration:
            raise EOFError from None

    return read


async def test_terminal_click_and_modal_prompts(settings: Settings) -> None:
    lines = [
        "/card",
        "click Share Your Thoughts",
        "",  # a required field left empty is asked again
        "First line\\nsecond line",
        "/as moderator",
        "/modtest",
        "/user alice manage_messages",
        "/channel general",
        "/echo text: hello there loud: true",
        "/news latest count: eleven",
        "/messages 1",
        "/quit",
    ]
    out = io.StringIO()
    events: list[Event] = []
    async with open_sandbox(settings, extensions=WITH_TEST_COMMANDS) as sandbox:
        terminal = Terminal(sandbox, reader=LineReader(scripted_input(lines)), out=out, emit=events.append, echo=True)
        assert await terminal.run() == 0
    text = out.getvalue()
    assert "  [Share Your Thoughts] [Count]" in text
    assert "Fill in 'Share Your Thoughts'" in text
    assert "(this field is required)" in text
    assert "Thanks for your comment on 1: First line\n  second line" in text
    assert "moderator ok" in text
    assert "[#general] newsbot replied to moderator:\n  hello there" in text
    assert "! error: count must be a whole number, not 'eleven'." in text
    assert [e["type"] for e in events].count("modal") == 1


def test_parse_invocation_with_known_and_unknown_commands() -> None:
    from bot.sandbox.app import CommandSpec, OptionSpec

    def opt(name: str) -> OptionSpec:
        return OptionSpec(name, 3, False, False, "", ())

    specs = [
        CommandSpec("news latest", "", (opt("count"),)),
        CommandSpec("news headline", "", (opt("query"),)),
        CommandSpec("echo", "", (opt("text"), opt("loud"))),
    ]
    assert parse_invocation("/news latest count: 3", specs) == Invocation("news latest", {"count": "3"})
    assert parse_invocation("/news headline putin", specs) == Invocation("news headline", {"query": "putin"})
    # Only the command's own option names end a value, so URLs survive.
    assert parse_invocation("/echo text: see http://x.org/a:b loud: yes", specs) == Invocation(
        "echo", {"text": "see http://x.org/a:b", "loud": "yes"}
    )
    assert parse_invocation('/echo text: "quoted"', specs).options == {"text": "quoted"}
    assert parse_invocation("/nope thing: 1", specs) == Invocation("nope", {"thing": "1"})


@pytest.mark.parametrize(("example", "exit_code"), [("demo", 0), ("server", 1)])
async def test_example_scripts_match_their_committed_transcripts(
    settings: Settings, example: str, exit_code: int
) -> None:
    folder = REPO_ROOT / "examples" / "sandbox"
    committed = [json.loads(line) for line in (folder / f"{example}.transcript.jsonl").read_text("utf-8").splitlines()]
    code, events = await run_script(settings, (folder / f"{example}.jsonl").read_text("utf-8"))
    assert code == exit_code

    def comparable(event: Event) -> Event:
        # The ready event carries a time and a port; everything else must match the example exactly.
        return {"type": "ready"} if event["type"] == "ready" else event

    assert [comparable(e) for e in events] == [comparable(e) for e in committed]


# ---- the server as its admin changes it; what a new user hit ------------------------------------------------------


async def test_script_changes_permissions_roles_and_channels(settings: Settings) -> None:
    script = "\n".join(
        [
            '{"perm": "#news", "for": "newsbot", "deny": ["send_messages"]}',
            '{"as": "reader", "run": "/thread", "options": {"name": "talk"}}',
            '{"perm": "#news", "for": "newsbot"}',
            '{"role": "news-alerts", "permissions": ["mention_everyone"], "mentionable": false}',
            '{"role": "sports", "mentionable": true}',
            '{"user": "alice", "permissions": [], "roles": ["sports"]}',
            '{"as": "alice", "say": "hello @sports and @reader, see #forum; @everyone stays as typed"}',
            '{"delete_channel": "#general"}',
            '{"channel": "general"}',
            '{"as": "reader", "run": "/resolve", "options": {"channel": "#forum", "role": "@x", "user": "@reader", '
            '"who": "@reader"}}',
        ]
    )
    async with open_sandbox(settings, extensions=WITH_TEST_COMMANDS) as sandbox:
        events: list[Event] = []
        await run_actions(sandbox, parse_script(script), events.append)
        world = sandbox.world
        assert world.role("news-alerts").permissions == sandbox.emulator.permission_bits(["mention_everyone"])
        assert not world.role("news-alerts").mentionable and world.role("sports").mentionable
        assert world.role("sports").id in world.member("alice").role_ids
        [said] = [m for m in sandbox.emulator.messages_in("news") if m.author_id == world.member("alice").id]
        assert said.content == (
            f"hello <@&{world.role('sports').id}> and <@{world.member('reader').id}>, "
            f"see <#{world.channel('forum').id}>; @everyone stays as typed"
        )
        # A member without Mention Everyone pings the mentionable role and the member, not everyone.
        assert said.pinged_role_ids == [world.role("sports").id]
        assert said.pinged_user_ids == [world.member("reader").id] and not said.pinged_everyone
        assert world.channel("news").overwrites == []
    errors = of_type(events, "error")
    assert [e["line"] for e in errors] == [2, 9, 10]
    assert "403" in errors[0]["error"] and "50013" in errors[0]["error"]
    assert errors[1]["error"].startswith("There is no channel called #general")
    assert errors[2]["error"] == "channel takes a text or announcement channel, and #forum is a forum channel."


async def test_terminal_admin_commands_and_plain_refusals(settings: Settings) -> None:
    lines = [
        "/pick 1",
        "?/find query: zzzz",
        "/pick 1",
        "/wait -1",
        "/wait soon",
        "/echo text: one text: two",
        "/perm #news newsbot -embed_links",
        "/perm #news newsbot embed_links",
        "/channels",
        "/role news-alerts not-mentionable",
        "/say hi everyone",
        "/delete-channel #general",
        "/channel general",
        "/burst count: 3.5",
        "/click Nothing Here",
        "/quit",
    ]
    out = io.StringIO()
    async with open_sandbox(settings, extensions=WITH_TEST_COMMANDS) as sandbox:
        terminal = Terminal(sandbox, reader=LineReader(scripted_input(lines)), out=out, echo=True)
        assert await terminal.run() == 0
        assert not sandbox.world.role("news-alerts").mentionable
        assert [m.content for m in sandbox.emulator.messages_in("news")] == ["hi everyone"]
    text = out.getvalue()
    expected = [
        "! There are no suggestions to pick from yet: start a line with ? to see some",
        "! The last suggestions were empty, so there is nothing to pick; try other words.",
        "! /wait takes a number of seconds from 0 to 600, e.g. /wait 2.5.",
        "! text is given twice; give each option once.",
        "(#news for newsbot: -embed_links)",
        "! Write +embed_links to allow it or -embed_links to deny it.",
        "#news  text  (the bot may not: embed_links)  <- you are here",
        "#forum  forum",
        "(@news-alerts: no permissions; not mentionable)",
        "(#general deleted)",
        "! There is no channel called #general in this server.",
        "! error: count must be a whole number, not '3.5'.",
        "! error: There is no button labelled 'Nothing Here' in #news.",
    ]
    for line in expected:
        assert line in text, line
    assert text.count("! /wait takes a number of seconds") == 2
    assert "Traceback" not in text and "custom_id=" not in text and "sync" not in text


async def test_tab_completes_sandbox_commands_bot_commands_options_and_values(settings: Settings) -> None:
    async with open_sandbox(settings, extensions=WITH_TEST_COMMANDS) as sandbox:
        complete = Completer(sandbox).candidates
        assert complete("/he") == ["/help"]
        assert {"/news", "/perm", "/delete-channel", "/echo"} <= set(complete("/"))
        assert complete("?/ne") == ["?/news"]
        assert complete("/news ") == ["headline", "latest"]
        assert complete("/news la") == ["latest"]
        assert complete("/news latest ") == ["count:"]
        assert complete("/echo text: hi ") == ["loud:"]
        assert complete("/echo text: hi loud: ") == ["false", "true"]
        assert complete("/bad kind: emb") == ["embed6001"]
        assert complete("/resolve channel: #a") == ["#announcements"]
        assert complete("/resolve role: @news") == ["@news-alerts", "@newsbot"]
        assert complete("/resolve user: @re") == ["@reader"]
        assert complete("/as mod") == ["moderator"]
        assert complete("/channel ge") == ["general"]
        assert complete("/perm #n") == ["#news"]
        assert complete("/perm #news new") == ["newsbot"]
        assert complete("/perm #news newsbot -embed") == ["-embed_links"]
        assert complete("/role news-") == ["news-alerts"]
        await sandbox.run("/card")
        assert complete("/click Share ") == ["Your"]
        assert complete("/click Share Your ") == ["Thoughts"]
        assert complete("/nothing ") == []
