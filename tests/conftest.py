"""Shared fixtures: a real store on every backend (a SQLite file in a temp dir; a fresh schema on a real PostgreSQL
server), and paths to the project's and the shared data.

PostgreSQL is found through ``NEWSBOT_TEST_POSTGRES_DSN`` (``.ci/run`` starts a server and sets it), else through
the local server's socket as the current user. Where neither answers, the PostgreSQL half of every store test skips
and says why; the SQLite half always runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg
import pytest

from bot.db.articles import ArticleRepository
from bot.db.store import Store, open_store
from bot.db.target import StoreTarget

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
SEED = REPO_ROOT / "data" / "articles" / "000_6f969e6731c04e5e.txt"
SHARED = REPO_ROOT.parent / "shared"
BACKENDS = ("sqlite", "postgres")
LOCAL_SOCKET_DSN = "postgresql:///postgres?host=/var/run/postgresql"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the calling test cleanly when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


def _reachable(dsn: str) -> str | None:
    """None if a server answers at ``dsn``, else why not."""

    async def probe() -> None:
        conn = await asyncpg.connect(dsn, timeout=3)
        await conn.close()

    try:
        # In a thread of its own: a test's event loop may already be running in this one.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, probe()).result()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


_POSTGRES: tuple[str | None, str] | None = None


def postgres_base_dsn() -> tuple[str | None, str]:
    """(the DSN of a reachable server, "") or (None, why there is none). Probed once per test session."""
    global _POSTGRES
    if _POSTGRES is None:
        dsn = os.environ.get("NEWSBOT_TEST_POSTGRES_DSN", "").strip()
        if dsn:
            problem = _reachable(dsn)
            _POSTGRES = (None, f"NEWSBOT_TEST_POSTGRES_DSN is set but {problem}") if problem else (dsn, "")
        else:
            problem = _reachable(LOCAL_SOCKET_DSN)
            _POSTGRES = (
                (
                    None,
                    "no PostgreSQL: NEWSBOT_TEST_POSTGRES_DSN is unset and the local server did not answer"
                    f" ({problem})",
                )
                if problem
                else (LOCAL_SOCKET_DSN, "")
            )
    return _POSTGRES


def with_search_path(dsn: str, schema: str) -> str:
    """``dsn`` whose sessions use ``schema``: asyncpg passes unknown query parameters on as server settings."""
    parts = urlsplit(dsn)
    query = "&".join(p for p in (parts.query, urlencode({"search_path": schema})) if p)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class PostgresSchemas:
    """Throw-away schemas on the test server: each test gets an empty one, as if it were a new database."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn

    async def create(self) -> str:
        schema = f"t_{uuid.uuid4().hex[:16]}"
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(f"CREATE SCHEMA {schema}")
        finally:
            await conn.close()
        return schema

    async def drop(self, schema: str) -> None:
        conn = await asyncpg.connect(self.dsn)
        try:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        finally:
            await conn.close()


def require_postgres() -> PostgresSchemas:
    dsn, why = postgres_base_dsn()
    if dsn is None:
        if os.environ.get("NEWSBOT_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL is required here (NEWSBOT_REQUIRE_POSTGRES): {why}")
        pytest.skip(why)
    return PostgresSchemas(dsn)


async def new_target(backend: str, tmp_path: Path, cleanup: list[str]) -> StoreTarget:
    """A target for an empty store on ``backend``; PostgreSQL schemas to drop are added to ``cleanup``."""
    if backend == "sqlite":
        return StoreTarget.parse(str(tmp_path / f"store-{uuid.uuid4().hex[:8]}.sqlite3"))
    schemas = require_postgres()
    schema = await schemas.create()
    cleanup.append(schema)
    return StoreTarget("postgres", with_search_path(schemas.dsn, schema))


@pytest.fixture
async def make_target(tmp_path: Path) -> AsyncIterator[object]:
    """``await make_target(backend)``: a new empty store location (several per test, e.g. for ``db copy``)."""
    cleanup: list[str] = []

    async def make(backend: str) -> StoreTarget:
        return await new_target(backend, tmp_path, cleanup)

    yield make
    if cleanup:
        schemas = require_postgres()
        for schema in cleanup:
            await schemas.drop(schema)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each test that uses the store runs once per backend."""
    name: str = request.param
    if name == "postgres":
        require_postgres()
    return name


@pytest.fixture
async def store_target(backend: str, make_target: object) -> StoreTarget:
    target: StoreTarget = await make_target(backend)  # type: ignore[operator]
    return target


@pytest.fixture
async def store(store_target: StoreTarget) -> AsyncIterator[Store]:
    async with open_store(store_target) as opened:
        yield opened


@pytest.fixture
def articles(store: Store) -> ArticleRepository:
    return store.articles


@pytest.fixture
def sqlite_only(backend: str) -> Iterator[None]:
    """For tests of SQLite's own features (its files, pragmas, the online backup)."""
    if backend != "sqlite":
        pytest.skip("a SQLite-only feature")
    yield
