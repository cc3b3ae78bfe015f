"""``python -m bot.sandbox.attach --emulator URL``: run the bot exactly as ``newsbot run`` does, against an emulator.

For crash tests: a benchmark keeps a :class:`~bot.sandbox.emulator.DiscordEmulator` running (in its own event loop,
or as ``python -m bot.sandbox.serve`` in its own process), starts the bot in another process with this module,
kills it with SIGKILL and starts it again; the emulator's state (messages, nonces, commands) outlives every bot.

The bot runs through the same runner as ``newsbot run`` (:func:`bot.runner.run_discord`), with settings from the
environment, ``.env`` and ``newsbot.toml`` as usual; only discord.py's two Discord URLs are pointed at the emulator,
and the token and development guild are the emulator's (it hands them out at ``URL/_emulator/info``, on loopback).
:class:`BotProcess` starts and kills such a process from asyncio code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot.cli.common import run, setup_logging
from bot.config import ConfigError, Secret, Settings
from bot.runner import run_discord
from bot.sandbox.emulator import INFO_PATH, discord_pointed_at

log = logging.getLogger(__name__)

LOOPBACK = ("127.0.0.1", "::1", "localhost")


class AttachError(Exception):
    """The emulator at the given URL cannot be attached to; the message says why, in one sentence."""


@dataclass(frozen=True, slots=True)
class EmulatorInfo:
    api: str
    gateway: str
    token: str
    guild_id: int


def emulator_info(url: str, *, timeout: float = 5.0) -> EmulatorInfo:
    """Ask the emulator at ``url`` (``http://127.0.0.1:PORT``, as it prints it) for its endpoints and token."""
    parts = urlsplit(url.strip())
    if parts.scheme != "http" or parts.hostname not in LOOPBACK:
        raise AttachError(f"{url} is not an emulator address; the emulator listens on http://127.0.0.1:PORT only.")
    base = f"{parts.scheme}://{parts.netloc}"
    try:
        with urllib.request.urlopen(base + INFO_PATH, timeout=timeout) as resp:
            data = json.loads(resp.read())
        return EmulatorInfo(str(data["api"]), str(data["gateway"]), str(data["token"]), int(data["guild_id"]))
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise AttachError(f"No emulator answers at {base} ({reason}).") from None
    except (ValueError, KeyError, TypeError):
        raise AttachError(f"{base} answers, but not as a newsbot emulator.") from None


def attached_settings(settings: Settings, info: EmulatorInfo) -> Settings:
    return settings.with_(token=Secret(info.token), dev_guild_id=info.guild_id)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.sandbox.attach",
        description="Run the bot as `newsbot run` does, against a running Discord emulator.",
    )
    parser.add_argument("--emulator", required=True, metavar="URL", help="the emulator's URL, as it prints it")
    args = parser.parse_args(argv)
    try:
        settings = Settings.load()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level)
    try:
        info = emulator_info(args.emulator)
    except AttachError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    log.info("Attaching to the Discord emulator at %s", info.api)
    with discord_pointed_at(info.api, info.gateway):
        run(lambda: run_discord(attached_settings(settings, info)))
    return 0


class BotProcess:
    """A bot process attached to an emulator, for crash tests: start it, SIGKILL it, start it again.

    ``env`` is added to this process's environment (``NEWSBOT_DB`` and the like); the bot's log goes to
    ``log_path`` when given (appended to across restarts), otherwise it is discarded.
    """

    def __init__(
        self,
        emulator_url: str,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        log_path: Path | None = None,
        python: str = sys.executable,
    ) -> None:
        self.emulator_url = emulator_url
        self.env = {**os.environ, **(env or {})}
        self.cwd = cwd
        self.log_path = log_path
        self.python = python
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def start(self) -> None:
        if self.running:
            raise RuntimeError("the bot process is already running")
        command = [self.python, "-m", "bot.sandbox.attach", "--emulator", self.emulator_url]
        with contextlib.ExitStack() as stack:
            stderr = (
                stack.enter_context(self.log_path.open("ab"))
                if self.log_path is not None
                else asyncio.subprocess.DEVNULL
            )
            self.process = await asyncio.create_subprocess_exec(
                *command,
                cwd=self.cwd,
                env=self.env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr,
            )
        self.starts += 1

    async def kill(self) -> int:
        """SIGKILL: no shutdown code runs, exactly like a crash. Returns the exit status (-9)."""
        if self.process is None:
            raise RuntimeError("the bot process was never started")
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            self.kills += 1
        return await self.process.wait()

    async def stop(self, grace: float = 10.0) -> int:
        """SIGTERM and wait (SIGKILL after ``grace`` seconds): a normal shutdown."""
        if self.process is None:
            raise RuntimeError("the bot process was never started")
        if self.process.returncode is None:
            self.process.terminate()
            try:
                return await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                return await self.kill()
        return self.process.returncode

    async def __aenter__(self) -> BotProcess:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.running:
            await self.kill()


if __name__ == "__main__":
    raise SystemExit(main())
