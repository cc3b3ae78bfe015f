"""``newsbot sandbox``: the bot against the local Discord emulator, interactive or scripted. No token needed."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import click

from bot.cli.common import get_settings, log_progress, no_voice_warnings, run
from bot.config import Settings

# The sandbox (the emulator, discord.py) is imported when the command runs, not when the CLI starts.
if TYPE_CHECKING:
    from bot.sandbox.app import Event

log = logging.getLogger(__name__)


@contextlib.contextmanager
def _transcript(path: Path | None) -> Iterator[TextIO | None]:
    if path is None:
        yield None
    elif str(path) == "-":
        yield sys.stdout
    else:
        with path.open("w", encoding="utf-8") as handle:
            yield handle


def _writer(handle: TextIO | None) -> tuple[list[Event], Callable[[Event], None]]:
    seen: list[Event] = []

    from bot.sandbox.script import event_line

    def emit(event: Event) -> None:
        seen.append(event)
        if handle is not None:
            handle.write(event_line(event) + "\n")
            # Line by line, so an interrupted run still leaves every event that happened.
            handle.flush()

    return seen, emit


SANDBOX_DB = "data/sandbox.sqlite3"
"""The sandbox's own store: NEWSBOT_DB names the operator's, which trying the sandbox must never change."""


def sandbox_settings(ctx: click.Context) -> Settings:
    settings = get_settings(ctx)
    if not ctx.meta.get("newsbot.db_explicit"):
        settings = settings.with_(db=SANDBOX_DB)
    return settings


@click.command()
@click.option(
    "--script",
    "script_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Run the JSON-lines actions in FILE instead of reading commands from the terminal.",
)
@click.option(
    "--transcript",
    "transcript_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write one JSON event per line to this file ('-' for stdout; the default with --script).",
)
@click.option("--verbose", is_flag=True, help="Interactive mode: show log messages below WARNING too.")
@click.pass_context
def sandbox(ctx: click.Context, script_path: Path | None, transcript_path: Path | None, verbose: bool) -> None:
    """Run the bot against a local Discord emulator: no Discord account or token needed.

    The sandbox keeps its own store, data/sandbox.sqlite3 (seeded from the embedded articles when empty), so trying
    it never changes the bot's real store; `newsbot --db PATH sandbox` picks another. Without --script it is
    interactive: type /help. With --script the exit status is 0 when every action went through, 1 when the
    transcript has an error event, and 2 for a script that is not valid (nothing is run then).
    """
    from bot.sandbox.script import EXIT_BAD_SCRIPT, ScriptError, execute_script, load_script

    settings = sandbox_settings(ctx)
    log_progress(ctx)
    no_voice_warnings()
    if script_path is None:
        _interactive(settings, transcript_path, verbose)
        return
    try:
        actions = load_script(script_path)
    except ScriptError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_BAD_SCRIPT)
    with _transcript(transcript_path or Path("-")) as handle:
        events, emit = _writer(handle)
        outcome = run(lambda: execute_script(settings, actions, emit))  # Ctrl-C: "interrupted", exit status 130
    ready = next((e for e in events if e.get("type") == "ready"), None)
    click.echo(
        f"sandbox: {outcome.actions} actions, {len(outcome.action_events)} events, {len(outcome.errors)} errors"
        + (f"; ready in {ready['seconds']:.2f} s" if ready else ""),
        err=True,
    )
    for error in outcome.errors:
        click.echo(f"error: line {error.get('line')}: {error.get('error')}", err=True)
    sys.exit(outcome.exit_code)


def _interactive(settings: Settings, transcript_path: Path | None, verbose: bool) -> None:
    from bot.sandbox.app import open_sandbox
    from bot.sandbox.terminal import Terminal, install_completion

    if not verbose:
        # Log lines would interleave with the conversation; warnings and errors still show.
        logging.getLogger().setLevel(max(logging.WARNING, logging.getLogger().level))
    with _transcript(transcript_path) as handle:
        _events, emit = _writer(handle)

        async def go() -> int:
            async with open_sandbox(settings) as box:
                if sys.stdin.isatty():
                    # Line editing, history and Tab completion for input(); over a pipe there is nobody to type.
                    install_completion(box)
                return await Terminal(box, emit=emit if handle is not None else None).run()

        code = run(go)  # Ctrl-C: "interrupted", exit status 130
    sys.exit(code)
