"""Several ``newsbot ingest`` processes on the same feed files into one store at once.

First one process ingests the feed files alone into a fresh store (the reference), then ``--procs`` processes ingest
the same files at the same moment into another fresh store, each in its own order. Every article must be stored
exactly once: the concurrent store must hold the same identities as the reference (``duplicates`` counts identities
only the concurrent store has, ``missing`` those only the reference has), and no process may fail (``errors`` counts
processes that exited non-zero or crashed, and item failures that the reference run did not have too).

    uv run python benchmarks/concurrent_ingest.py --procs 4 --backend sqlite
    uv run python benchmarks/concurrent_ingest.py --procs 4 --backend postgres --dsn postgresql://u:p@127.0.0.1/db

For PostgreSQL the DSN comes from ``--dsn``, else ``NEWSBOT_TEST_POSTGRES_DSN``; each store is a fresh schema there.
The last line is one JSON object: ``procs``, ``backend``, ``articles``, ``reference_articles``, ``duplicates``,
``missing``, ``errors``, ``seconds`` and ``reference_seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

import asyncpg  # noqa: E402

from bot.db.store import open_store  # noqa: E402
from bot.db.target import StoreTarget  # noqa: E402


async def _pg_schema(dsn: str, *, drop: str | None = None) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        if drop:
            await conn.execute(f"DROP SCHEMA IF EXISTS {drop} CASCADE")
            return drop
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        await conn.execute(f"CREATE SCHEMA {schema}")
        return schema
    finally:
        await conn.close()


def _with_schema(dsn: str, schema: str) -> str:
    parts = urlsplit(dsn)
    query = "&".join(p for p in (parts.query, urlencode({"search_path": schema})) if p)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


async def _ingest(target: StoreTarget, files: list[Path]) -> tuple[int, str, str]:
    env = {**os.environ, "NEWSBOT_DB": target.location, "NEWSBOT_LOG_LEVEL": "WARNING"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "ingest",
        *map(str, files),
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


def _failed_items(stderr: str) -> set[str]:
    return {line for line in stderr.splitlines() if line.startswith("failed:")}


async def _identities(target: StoreTarget) -> set[str]:
    async with open_store(target, migrate=False) as store:
        return {a.identity async for chunk in store.articles.iterate() for a in chunk}


async def run(args: argparse.Namespace, files: list[Path]) -> dict[str, object]:
    schemas: list[str] = []

    async def new_target(tmp: Path) -> StoreTarget:
        if args.backend == "sqlite":
            return StoreTarget.parse(str(tmp / f"{uuid.uuid4().hex[:8]}.sqlite3"))
        schema = await _pg_schema(args.dsn)
        schemas.append(schema)
        return StoreTarget("postgres", _with_schema(args.dsn, schema))

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        try:
            reference = await new_target(tmp)
            started = time.perf_counter()
            ref_code, _, ref_err = await _ingest(reference, files)
            reference_seconds = time.perf_counter() - started
            if ref_code not in (0, 1) or "Traceback" in ref_err:
                raise SystemExit(f"the reference run failed: {ref_err[-2000:]}")
            expected_failures = _failed_items(ref_err)

            target = await new_target(tmp)
            async with open_store(target):  # migrated once, as a deployment would be before its processes start
                pass
            rng = random.Random(args.seed)
            orders = [rng.sample(files, len(files)) for _ in range(args.procs)]
            started = time.perf_counter()
            results = await asyncio.gather(*(_ingest(target, order) for order in orders))
            seconds = time.perf_counter() - started

            errors = 0
            for code, _, err in results:
                unexpected = _failed_items(err) - expected_failures
                if "Traceback" in err or code not in (0, 1) or unexpected:
                    errors += 1 + len(unexpected)
                    print(f"process failed ({code}): {err[-1500:]}", file=sys.stderr)
            ours, theirs = await _identities(target), await _identities(reference)
        finally:
            for schema in schemas:
                await _pg_schema(args.dsn, drop=schema)
    return {
        "procs": args.procs,
        "backend": args.backend,
        "files": len(files),
        "articles": len(ours),
        "reference_articles": len(theirs),
        "duplicates": len(ours - theirs),
        "missing": len(theirs - ours),
        "errors": errors,
        "seconds": round(seconds, 3),
        "reference_seconds": round(reference_seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--corpus", default=str(REPO_ROOT.parent / "shared" / "corpus" / "feeds" / "real"))
    parser.add_argument("--dsn", default=os.environ.get("NEWSBOT_TEST_POSTGRES_DSN", ""))
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.backend == "postgres" and not args.dsn:
        raise SystemExit("--backend postgres needs --dsn or NEWSBOT_TEST_POSTGRES_DSN")
    files = sorted(p for p in Path(args.corpus).iterdir() if p.is_file())
    if not files:
        raise SystemExit(f"no feed files in {args.corpus}")
    print(json.dumps(asyncio.run(run(args, files))))


if __name__ == "__main__":
    main()
