"""Emulator speed and Discord's limits: start-up, interaction round trips, fan-out pacing, and a bot process restart.

This isolates the emulator and discord.py from the bot's own work: the bot loads only a tiny extension defined
here (an autocomplete that filters a fixed list and an ephemeral reply), against a fresh SQLite store, built by
:func:`bot.sandbox.harness.bot_against` like the tests and the sandbox.

* ``ready_s``: start the emulator, open + migrate the store, log in, sync commands, gateway IDENTIFY → READY →
  GUILD_CREATE, until ``on_ready`` (discord.py's ``guild_ready_timeout`` set to 0.05 s, as in the tests).
* ``autocomplete_ms``: the driver's round trip: INTERACTION_CREATE over the gateway, the handler, the type 8
  callback over REST (validated by both layers), back to the driver.
* ``command_ms``: the same for a slash command answered with a type 4 ephemeral message.
* ``one_channel``: ``--burst`` messages to one channel, one after another, under Discord's 5 per 5 s: the time
  taken beside the least time the limits allow (``floor_s``, from the same run's limiter), and the 429s.
* ``fanout``: one message to each of ``--channels`` channels, all sent at once with plain ``channel.send``: the
  global limit (50/s) binds and discord.py does not pace itself against it, so this is the baseline a sender
  that paces itself must beat.
* ``restart_s``: ``python -m bot.sandbox.attach`` (``newsbot run``'s runner) from process start to ``on_ready``,
  killed with SIGKILL and started again (``--restarts`` times; the median).

    uv run python -m benchmarks.bench_emulator [--rounds 200] [--burst 12] [--channels 200] [--restarts 2]

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import discord
from discord import app_commands
from discord.ext import commands

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._metrics import latency_ms  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.sandbox import DiscordEmulator, Driver  # noqa: E402
from bot.sandbox.attach import BotProcess  # noqa: E402
from bot.sandbox.harness import bot_against  # noqa: E402

WORDS = [f"{w} {i}" for i in range(40) for w in ("putin", "trump", "summit", "tillerson", "hamburg")]
QUERIES = ("put", "trump 1", "summit", "t", "hamb", "zzz")
CREATE = "POST /channels/{channel_id}/messages"


class Bench(commands.Cog):
    @app_commands.command(name="pick", description="Pick a word.")
    async def pick(self, interaction: discord.Interaction, word: str) -> None:
        await interaction.response.send_message(f"picked {word}", ephemeral=True)

    @pick.autocomplete("word")
    async def pick_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=w, value=w) for w in WORDS if current in w][:25]


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Bench())


def _channel(bot: commands.Bot, emu: DiscordEmulator, name: str) -> discord.TextChannel:
    channel = bot.get_channel(emu.world.channel(name).id)
    assert isinstance(channel, discord.TextChannel)
    return channel


async def measure(rounds: int, burst: int, channels: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        async with DiscordEmulator() as emu:
            for i in range(channels):
                emu.world.add_channel(f"fan-{i}")
            settings = Settings().with_(db=str(Path(tmp) / "bench.sqlite3"), articles_dir=Path(tmp) / "none")
            async with bot_against(emu, settings, extensions=["benchmarks.bench_emulator"]) as bot:
                ready_s = time.perf_counter() - started
                driver = Driver(emu)
                auto: list[float] = []
                cmd: list[float] = []
                for i in range(rounds):
                    t0 = time.perf_counter()
                    result = await driver.autocomplete("reader", "/pick", "word", QUERIES[i % len(QUERIES)])
                    auto.append(time.perf_counter() - t0)
                    assert result.callback_type == 8, result.error
                    t0 = time.perf_counter()
                    reply = await driver.invoke("reader", "/pick", {"word": "putin 1"})
                    cmd.append(time.perf_counter() - t0)
                    assert reply.content == "picked putin 1", reply.error
                # Let the global window empty before the pacing measurements.
                await asyncio.sleep(1.1)

                news = _channel(bot, emu, "news")
                hits_before = len(emu.rate_limit_hits)
                t0 = time.perf_counter()
                for i in range(burst):
                    await news.send(f"burst {i}")
                one_channel_s = time.perf_counter() - t0
                one_channel = {
                    "messages": burst,
                    "seconds": round(one_channel_s, 3),
                    "floor_s": emu.rate_limiter.least_time(CREATE, {str(news.id): burst}),
                    "http_429": len(emu.rate_limit_hits) - hits_before,
                }
                await asyncio.sleep(1.1)

                targets = [_channel(bot, emu, f"fan-{i}") for i in range(channels)]
                hits_before = len(emu.rate_limit_hits)
                t0 = time.perf_counter()
                # Plain sends give up after five 429s in a row (discord.py's retry budget): count those as failed.
                outcomes = await asyncio.gather(*(c.send("one article") for c in targets), return_exceptions=True)
                fanout_s = time.perf_counter() - t0
                posted = sum(len(emu.messages_in(c.id)) for c in targets)
                fanout = {
                    "channels": channels,
                    "posted": posted,
                    "failed": sum(1 for o in outcomes if isinstance(o, BaseException)),
                    "seconds": round(fanout_s, 3),
                    "floor_s": emu.rate_limiter.least_time(CREATE, Counter(str(c.id) for c in targets)),
                    "http_429": len(emu.rate_limit_hits) - hits_before,
                    "global_429": sum(1 for h in emu.rate_limit_hits[hits_before:] if h.is_global),
                }
            return {
                "rounds": rounds,
                "openapi_layer": emu.openapi_available,
                "ready_s": round(ready_s, 3),
                "autocomplete_ms": latency_ms(auto),
                "command_ms": latency_ms(cmd),
                "one_channel": one_channel,
                "fanout": fanout,
                "rejections": len(emu.rejections),
                "requests": len(emu.requests),
            }


def ready_lines(log_path: Path) -> int:
    """How many times the bot's log says it became ready (NewsBot.on_ready); a small file, read whole."""
    return log_path.read_text("utf-8", errors="replace").count("Ready as") if log_path.exists() else 0


async def ready_in(log_path: Path, count: int, within: float = 60.0) -> None:
    deadline = time.perf_counter() + within
    while time.perf_counter() < deadline:
        if ready_lines(log_path) >= count:
            return
        await asyncio.sleep(0.02)
    raise RuntimeError(f"the attached bot did not become ready; see {log_path}")


async def measure_restarts(restarts: int) -> dict[str, object]:
    """Start an attached bot process, then SIGKILL and restart it ``restarts`` times; seconds to on_ready."""
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "bot.log"
        env = {
            "NEWSBOT_DB": str(Path(tmp) / "bot.sqlite3"),
            "NEWSBOT_ARTICLES_DIR": str(REPO_ROOT / "data" / "articles"),
            "NEWSBOT_LOG_LEVEL": "INFO",
        }
        times: list[float] = []
        async with DiscordEmulator() as emu:
            process = BotProcess(emu.base_url, env=env, cwd=REPO_ROOT, log_path=log_path)
            for run in range(restarts + 1):
                t0 = time.perf_counter()
                await process.start()
                await ready_in(log_path, run + 1)
                times.append(time.perf_counter() - t0)
                await process.kill()
            identifies = emu.identify_count
        return {
            "first_start_s": round(times[0], 3),
            "restart_s": round(statistics.median(times[1:]), 3) if restarts else None,
            "restarts": restarts,
            "identify_count": identifies,
        }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--burst", type=int, default=12, help="messages to one channel")
    parser.add_argument("--channels", type=int, default=200, help="channels for the fan-out")
    parser.add_argument("--restarts", type=int, default=2, help="SIGKILL + restart cycles of an attached bot")
    args = parser.parse_args(argv)
    result: dict[str, object] = {"benchmark": "emulator"}
    result.update(asyncio.run(measure(args.rounds, args.burst, args.channels)))
    result["attached_bot"] = asyncio.run(measure_restarts(args.restarts))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
