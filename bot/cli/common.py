"""Shared plumbing for the CLI commands: settings on the click context, exit codes, logging, running coroutines.

Exit codes, the same for every command:

* 0 (:data:`EXIT_OK`): everything asked for was done.
* 1 (:data:`EXIT_FAILED`): something was tried and failed: a file, URL, source or store that could not be read,
  fetched, parsed or stored; a problem that ``db check`` found.
* 2 (:data:`EXIT_USAGE`): nothing was tried, because the command line or the settings are not valid: an unknown
  command or option, a missing or malformed argument, options that do not go together, an invalid setting, no
  ``DISCORD_TOKEN``.
* 130 (:data:`EXIT_INTERRUPTED`): interrupted with Ctrl-C.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import IO, TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from bot.config import ConfigError, Settings
from bot.errors import NewsError

if TYPE_CHECKING:
    from bot.db.store import Store

T = TypeVar("T")

log = logging.getLogger("bot.cli")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_EXPLICIT_LEVEL = "newsbot.log_level_explicit"


class Failure(click.ClickException):
    """A one-line ``error: …`` on stderr and exit status 1: something was tried and failed."""

    exit_code = EXIT_FAILED

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True, file=file)


class Invalid(Failure):
    """A one-line ``error: …`` and exit status 2: the settings or arguments are not valid, nothing was tried.

    (Malformed command lines are click's own :class:`click.UsageError`, which also exits 2 and shows the usage.)
    """

    exit_code = EXIT_USAGE


def fail(message: str) -> NoReturn:
    raise Failure(message)


def get_settings(ctx: click.Context) -> Settings:
    settings = ctx.find_object(Settings)
    if settings is None:
        try:
            settings = Settings.load()
        except ConfigError as exc:
            raise Invalid(str(exc)) from exc
        ctx.obj = settings
    return settings


def run(coro_factory: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine; whatever goes wrong becomes one line on stderr and an exit status (never a traceback).

    Invalid settings exit 2, domain errors and errors of the operating system (a folder that cannot be written) 1,
    Ctrl-C 130. Anything else is a bug: one line that says so, and the traceback in the log at DEBUG. Exits with
    ``sys.exit``, so it serves scripts outside click too (``python -m bot.sandbox.attach``).
    """
    import asyncio  # not at start-up: `newsbot --help` has no event loop to run

    async def wrapper() -> T:
        return await coro_factory()

    try:
        return asyncio.run(wrapper())
    except (click.ClickException, click.exceptions.Exit, click.Abort):
        raise
    except ConfigError as exc:
        _exit(EXIT_USAGE, str(exc))
    except NewsError as exc:
        _exit(EXIT_FAILED, str(exc))
    except KeyboardInterrupt:
        click.echo("\ninterrupted" if sys.stderr.isatty() else "interrupted", err=True)  # after the ^C on the line
        sys.exit(EXIT_INTERRUPTED)
    except OSError as exc:
        _exit(EXIT_FAILED, describe_os_error(exc))
    except Exception as exc:
        log.debug("Unexpected error", exc_info=exc)
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        _exit(
            EXIT_FAILED,
            f"unexpected internal error ({type(exc).__name__}{': ' + first if first else ''}); "
            "`newsbot --log-level DEBUG …` shows where.",
        )


def _exit(code: int, message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def describe_os_error(exc: OSError) -> str:
    """``cannot write /backups/x.sqlite3 (Permission denied).``: the file and the reason, without Python's errno."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"{exc.filename}: {reason}." if exc.filename else f"{reason}."


@contextlib.asynccontextmanager
async def open_for_reading(settings: Settings) -> AsyncIterator[Store | None]:
    """The store for a command that only reads: None when there is none yet (nothing is created), and never
    migrated (an older store is a clear error that says how to upgrade it)."""
    from bot.db.maintenance import inspect_version
    from bot.db.migrate import CODE_VERSION
    from bot.db.store import open_store

    target = settings.store_target
    version = await inspect_version(target)
    if version is None or version == 0:
        yield None
        return
    if version < CODE_VERSION:
        raise NewsError(
            f"{target.describe()} is at schema version {version}; run `newsbot db upgrade` to bring it to "
            f"{CODE_VERSION} first."
        )
    async with open_store(target, migrate=False) as store:
        yield store


@contextlib.asynccontextmanager
async def open_existing(settings: Settings, *, missing: str, migrate: bool = True) -> AsyncIterator[Store]:
    """The store for a command that changes what is already there: migrated (unless told not to), never created.

    ``missing`` finishes the sentence when there is no store: ``data/newsbot.sqlite3 does not exist yet; {missing}.``
    """
    from bot.db.maintenance import inspect_version
    from bot.db.store import open_store

    target = settings.store_target
    if await inspect_version(target) is None:
        raise NewsError(f"{target.describe()} does not exist yet; {missing}.")
    async with open_store(target, migrate=migrate) as store:
        yield store


def no_voice_warnings() -> None:
    """The bot has no voice features: discord.py's warnings about missing voice libraries are only noise."""
    import discord

    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False


def plural(count: int, one: str, many: str | None = None) -> str:
    """``1 entry``, ``2 entries``, ``0 failures``."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # discord.http logs every request at DEBUG; keep it quiet unless explicitly asked.
    logging.getLogger("discord.http").setLevel(logging.WARNING)
    if level.upper() != "DEBUG":
        # trafilatura warns ("discarding data: None") about pages that it then fails on, just before newsbot's own
        # one-line error says the same thing in words.
        logging.getLogger("trafilatura").setLevel(logging.ERROR)


def setup_cli_logging(ctx: click.Context, settings: Settings, *, explicit: bool) -> None:
    """Logging for the CLI: WARNING for one-shot commands unless a level was asked for (--log-level,
    NEWSBOT_LOG_LEVEL); the commands that keep running call :func:`log_progress` to show INFO too."""
    explicit = explicit or "log_level" in settings.configured
    ctx.meta[_EXPLICIT_LEVEL] = explicit
    setup_logging(settings.log_level if explicit else "WARNING")


def log_progress(ctx: click.Context) -> None:
    """For `run`, `sandbox` and `poll` without --once: what they do over time is INFO lines, shown by default."""
    if not ctx.meta.get(_EXPLICIT_LEVEL):
        _set_level_for_command(ctx, logging.getLogger(), logging.INFO)


def quiet_logger(ctx: click.Context, name: str) -> None:
    """Only errors from logger ``name`` for this command, unless a level was asked for: for a command whose own
    report already says, line by line, what that logger would warn about."""
    if not ctx.meta.get(_EXPLICIT_LEVEL):
        _set_level_for_command(ctx, logging.getLogger(name), logging.ERROR)


def _set_level_for_command(ctx: click.Context, logger: logging.Logger, level: int) -> None:
    # Put back when the command ends: commands also run in-process (tests, scripts), one after another.
    previous = logger.level
    logger.setLevel(level)
    ctx.call_on_close(lambda: logger.setLevel(previous))
