"""CLI start-up: median wall time of ``newsbot --help``, ``newsbot articles`` and ``newsbot parse`` on the seed, beside
``python -c "import click"`` (the least any click CLI can cost) measured in the same run.

Each command runs as a whole process, from an empty temporary folder (so no ``.env`` or ``newsbot.toml`` is read),
on a SQLite store seeded with the embedded articles, with Python's bytecode cache on as on any installation (unless
``--no-bytecode-cache``). The runs are interleaved, round by round, so that a burst of
load on this shared machine hits every command alike. The last line is one JSON object: per command its
``median_s``, ``ratio`` (to the click import) and ``ok`` (ratio within ``--target``); ``baseline_median_s``;
``bytecode_cache``; ``target``; ``async_floor`` (for reference, not judged: importing what any click command on an
aiosqlite store needs, click, asyncio and aiosqlite); ``ok`` (every command within the target).

    uv run python benchmarks/bench_cli.py --runs 15
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SEED = REPO_ROOT / "data" / "articles" / "000_6f969e6731c04e5e.txt"
FLOOR = "import click, asyncio, aiosqlite, pathlib, logging"


def newsbot_command() -> list[str]:
    """The ``newsbot`` console script beside this interpreter (what an operator runs), else ``python -m bot``."""
    script = Path(sys.executable).parent / "newsbot"
    if script.is_file():
        return [str(script)]
    found = shutil.which("newsbot")
    return [found] if found else [sys.executable, "-m", "bot"]


def timed(argv: list[str], *, cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    parser.add_argument("--target", type=float, default=2.5, help="allowed ratio to the click import (default 2.5)")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="compile every module from source on every run (as with PYTHONDONTWRITEBYTECODE and no __pycache__)",
    )
    args = parser.parse_args()
    if not SEED.is_file():
        raise SystemExit(f"{SEED} is missing")

    newsbot = newsbot_command()
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        work = Path(tmp)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("NEWSBOT_", "DISCORD_"))},
            "NEWSBOT_DB": str(work / "store.sqlite3"),
        }
        # Compiled modules go to a bytecode cache of this run's own (nothing is written into the project or its
        # environment). Cached is how an installed command runs; --no-bytecode-cache compiles every module from
        # source on every run, as with PYTHONDONTWRITEBYTECODE and no __pycache__.
        env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        if args.no_bytecode_cache:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
        seeded = subprocess.run(
            [*newsbot, "ingest", str(SEED.parent)], cwd=work, env=env, capture_output=True, text=True
        )
        if seeded.returncode != 0:
            raise SystemExit(f"seeding the store failed: {seeded.stderr[-2000:]}")
        commands: dict[str, list[str]] = {
            "import click": [sys.executable, "-c", "import click"],
            # For reading the figures: what any click command that opens a SQLite store with aiosqlite must import.
            FLOOR: [sys.executable, "-c", "import click, asyncio, aiosqlite, pathlib, logging"],
            "newsbot --help": [*newsbot, "--help"],
            "newsbot articles": [*newsbot, "articles"],
            "newsbot parse": [*newsbot, "parse", str(SEED)],
        }
        for argv in commands.values():  # warm the file cache and the bytecode cache; not counted
            timed(argv, cwd=work, env=env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, argv in commands.items():
                samples[name].append(timed(argv, cwd=work, env=env))

    baseline = statistics.median(samples.pop("import click"))
    floor = statistics.median(samples.pop(FLOOR))
    result: dict[str, object] = {
        "runs": args.runs,
        "bytecode_cache": not args.no_bytecode_cache,
        "baseline_median_s": round(baseline, 4),
        "target": args.target,
        "async_floor": {"median_s": round(floor, 4), "ratio": round(floor / baseline, 2)},
    }
    ok = True
    for name, seconds in samples.items():
        median = statistics.median(seconds)
        ratio = median / baseline
        ok = ok and ratio <= args.target
        result[name] = {"median_s": round(median, 4), "ratio": round(ratio, 2), "ok": ratio <= args.target}
        print(f"{name:18} median {median * 1000:6.1f} ms  {ratio:4.2f}x the click import", file=sys.stderr)
    print(f"{'import click':18} median {baseline * 1000:6.1f} ms", file=sys.stderr)
    print(f"{'async floor':18} median {floor * 1000:6.1f} ms  {floor / baseline:4.2f}x ({FLOOR})", file=sys.stderr)
    result["ok"] = ok
    print(json.dumps(result))


if __name__ == "__main__":
    main()
