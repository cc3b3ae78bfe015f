"""Emulator speed: time from emulator start to bot ready, and interaction round trips through the emulator.

This isolates the emulator and discord.py from the bot's own work: the bot loads only a tiny extension defined
here (an autocomplete that filters a fixed list and an ephemeral reply), against a fresh SQLite store.

* ``ready_s``: start the emulator, open + migrate the store, log in, sync commands, gateway IDENTIFY → READY →
  GUILD_CREATE, until ``on_ready`` (discord.py's ``guild_ready_timeout`` set to 0.05 s, as in the tests).
* ``autocomplete_ms``: the driver's round trip: INTERACTION_CREATE over the gateway, the handler, the type 8
  callback over REST (validated by both layers), back to the driver.
* ``command_ms``: the same for a slash command answered with a type 4 ephemeral message.

    uv run python -m benchmarks.bench_emulator [--rounds 200]

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import discord
from discord import app_commands
from discord.ext import commands

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._metrics import latency_ms  # noqa: E402
from bot.client import NewsBot  # noqa: E402
from bot.config import Secret, Settings  # noqa: E402
from bot.db.store import open_store  # noqa: E402
from bot.sandbox import DiscordEmulator, Driver  # noqa: E402

WORDS = [f"{w} {i}" for i in range(40) for w in ("putin", "trump", "summit", "tillerson", "hamburg")]
QUERIES = ("put", "trump 1", "summit", "t", "hamb", "zzz")


class Bench(commands.Cog):
    @app_commands.command(name="pick", description="Pick a word.")
    async def pick(self, interaction: discord.Interaction, word: str) -> None:
        await interaction.response.send_message(f"picked {word}", ephemeral=True)

    @pick.autocomplete("word")
    async def pick_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=w, value=w) for w in WORDS if current in w][:25]


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Bench())


async def measure(rounds: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        async with DiscordEmulator() as emu:
            with emu.patched():
                settings = Settings().with_(
                    token=Secret(emu.token), db=str(Path(tmp) / "bench.sqlite3"), dev_guild_id=emu.guild_id
                )
                async with open_store(settings.store_target) as store:
                    bot = NewsBot(
                        settings=settings,
                        store=store,
                        extensions=["benchmarks.bench_emulator"],
                        guild_ready_timeout=0.05,
                    )
                    runner = asyncio.create_task(bot.start(emu.token))
                    try:
                        await asyncio.wait_for(bot.wait_until_ready(), 10)
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
                    finally:
                        await bot.close()
                        await runner
                    return {
                        "benchmark": "emulator",
                        "rounds": rounds,
                        "openapi_layer": emu.openapi_available,
                        "ready_s": round(ready_s, 3),
                        "autocomplete_ms": latency_ms(auto),
                        "command_ms": latency_ms(cmd),
                        "rejections": len(emu.rejections),
                        "requests": len(emu.requests),
                    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(measure(args.rounds))))


if __name__ == "__main__":
    main()
