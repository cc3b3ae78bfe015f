"""``newsbot sandbox`` speed: time from start to ready, and the autocomplete round trip through the emulator.

Ready time is measured by :func:`open_sandbox` itself (open + migrate + seed the store, start the emulator,
log the real discord.py client in, sync commands, READY + GUILD_CREATE), once on a fresh store ("cold") and
once more on the same store ("warm"). The autocomplete round trip is the driver's: INTERACTION_CREATE over the
gateway, the cog's fuzzy search, the type-8 callback back over REST. ``sandbox_action`` adds what the sandbox
adds per action (waiting for the bot to go quiet, and recording events).

    uv run python -m benchmarks.bench_sandbox [--rounds 200]

Prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks._metrics import latency_ms
from bot.config import Settings
from bot.sandbox.app import open_sandbox

REPO_ROOT = Path(__file__).resolve().parents[1]
QUERIES = ("trump putn", "putin", "g20 hamburg", "tillerson", "meeting yields", "concesion", "t", "russia trump")


async def measure(rounds: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings().with_(
            db=str(Path(tmp) / "bench.sqlite3"), articles_dir=REPO_ROOT / "data" / "articles", log_level="WARNING"
        )
        async with open_sandbox(settings) as sandbox:
            cold = sandbox.ready_seconds
        async with open_sandbox(settings) as sandbox:
            warm = sandbox.ready_seconds
            validating = sandbox.emulator.openapi_available
            driver_times: list[float] = []
            for i in range(rounds):
                query = QUERIES[i % len(QUERIES)]
                started = time.perf_counter()
                result = await sandbox.driver.autocomplete("reader", "/news headline", "query", query)
                driver_times.append(time.perf_counter() - started)
                if result.error:
                    raise RuntimeError(result.error)
            action_times: list[float] = []
            for i in range(max(10, rounds // 10)):
                started = time.perf_counter()
                await sandbox.autocomplete("/news headline", "query", QUERIES[i % len(QUERIES)])
                action_times.append(time.perf_counter() - started)
    driver = latency_ms(driver_times)
    action = latency_ms(action_times)
    return {
        "benchmark": "sandbox",
        "ready_seconds": round(cold, 3),
        "ready_seconds_warm": round(warm, 3),
        "autocomplete_median_ms": driver["median"],
        "autocomplete_p95_ms": driver["p95"],
        "autocomplete_rounds": rounds,
        "sandbox_action_median_ms": action["median"],
        "openapi_validation": validating,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=200, help="autocomplete round trips to time")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(measure(args.rounds))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
