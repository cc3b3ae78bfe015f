"""The SQLite backend (aiosqlite): one writing connection, a small pool of reading connections, WAL.

* Writes: one connection per process, so one write transaction at a time in this process (an asyncio lock), and
  ``BEGIN IMMEDIATE`` so the write lock is taken up front: a transaction never fails half-way because another process
  started writing. When another process holds the lock longer than the busy timeout, ``BEGIN`` is retried with
  backoff until :attr:`SQLiteBackend.busy_deadline`; only then does the caller get :class:`StoreBusy`.
* Reads outside a transaction use separate read-only connections. In WAL mode each sees the last committed state,
  never another task's open transaction.
* ``:memory:`` has no second connection to read from: reads take the write lock instead, which gives the same
  guarantee (no transaction is open while they run).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
import random
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from bot.db.core import DialectName, FetchShortcuts, Row, Savepoints, ts_text
from bot.db.errors import StoreBusy, StoreError, StoreIntegrityError, StoreUnavailable

log = logging.getLogger(__name__)

#: How long SQLite itself waits for a lock before one attempt fails; attempts are repeated up to the deadline.
BUSY_TIMEOUT_MS = 2000
#: How long a writer keeps trying to get the write lock before giving up with StoreBusy.
BUSY_DEADLINE_SECONDS = 120.0
READERS = 2


def read_only_uri(path: Path) -> str:
    """A ``file:`` URI that opens ``path`` read-only, whatever its name holds.

    ``f"file:{path}?mode=ro"`` breaks on a ``#`` or ``?`` in the path: SQLite then opens (and creates) another
    file, read-write, and the real one is neither checked nor protected. ``as_uri`` percent-encodes them.
    """
    return Path(path).resolve().as_uri() + "?mode=ro"


_PLACEHOLDER = re.compile(r"\$(\d+)")


@functools.lru_cache(maxsize=1024)
def sqlite_sql(sql: str) -> str:
    """``$1`` → ``?1``: the same numbered parameters, in SQLite's spelling. Our SQL never has ``$`` in literals."""
    return _PLACEHOLDER.sub(r"?\1", sql)


def _adapt(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dt.datetime):
        return ts_text(value)
    return value


def _params(args: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(_adapt(a) for a in args)


def is_busy(exc: BaseException) -> bool:
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def translate(exc: BaseException, what: str = "the database") -> StoreError:
    """A driver error as the store's own error, with the driver's words kept as detail for the operator."""
    if is_busy(exc):
        return StoreBusy(f"{what} is busy: another process kept it locked ({exc}).")
    if isinstance(exc, sqlite3.IntegrityError):
        return StoreIntegrityError(f"a write broke a constraint of {what} ({exc}).")
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        if "unable to open" in text or "readonly" in text or "disk i/o" in text or "full" in text:
            return StoreUnavailable(f"{what} cannot be used ({exc}).")
    return StoreError(f"{what} failed ({type(exc).__name__}: {exc}).")


_DRIVER_ERRORS = (sqlite3.Error, ValueError)


class SQLiteConnection(Savepoints, FetchShortcuts):
    """One aiosqlite connection speaking the store's SQL (see :mod:`bot.db.core`)."""

    dialect: DialectName = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, label: str) -> None:
        self.raw = conn
        self._label = label

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            async with self.raw.execute(sqlite_sql(sql), _params(args)) as cursor:
                return max(cursor.rowcount, 0)
        except _DRIVER_ERRORS as exc:
            raise translate(exc, self._label) from exc

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            await self.raw.executemany(sqlite_sql(sql), [_params(r) for r in rows])
        except _DRIVER_ERRORS as exc:
            raise translate(exc, self._label) from exc

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        try:
            async with self.raw.execute(sqlite_sql(sql), _params(args)) as cursor:
                return list(await cursor.fetchall())
        except _DRIVER_ERRORS as exc:
            raise translate(exc, self._label) from exc

    @asynccontextmanager
    async def stream(self, sql: str, *args: Any, batch: int = 1000) -> AsyncIterator[AsyncIterator[list[Row]]]:
        async def batches(cursor: aiosqlite.Cursor) -> AsyncIterator[list[Row]]:
            while True:
                try:
                    rows: list[Row] = list(await cursor.fetchmany(batch))
                except _DRIVER_ERRORS as exc:
                    raise translate(exc, self._label) from exc
                if not rows:
                    return
                yield rows

        try:
            cursor = await self.raw.execute(sqlite_sql(sql), _params(args))
        except _DRIVER_ERRORS as exc:
            raise translate(exc, self._label) from exc
        try:
            yield batches(cursor)
        finally:
            await cursor.close()


async def _connect(target: str | Path, *, uri: bool = False) -> aiosqlite.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so each unit of work is exactly one transaction.
    conn = await aiosqlite.connect(target, isolation_level=None, uri=uri)
    conn.row_factory = aiosqlite.Row
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


class SQLiteBackend:
    dialect: DialectName = "sqlite"

    def __init__(self, path: Path, writer: aiosqlite.Connection) -> None:
        self.path = path
        self.memory = str(path) == ":memory:"
        self.writer = SQLiteConnection(writer, str(path))
        self.busy_deadline = BUSY_DEADLINE_SECONDS
        self._lock = asyncio.Lock()
        self._readers: asyncio.Queue[SQLiteConnection] = asyncio.Queue()
        self._reader_conns: list[aiosqlite.Connection] = []

    @classmethod
    async def open(cls, path: Path) -> SQLiteBackend:
        """Open (creating) the file with the pragmas the store relies on. Migrations are the caller's next step."""
        if str(path) != ":memory:":
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreUnavailable(f"cannot create the folder for {path} ({exc.strerror or exc}).") from exc
        try:
            writer = await _connect(path)
        except _DRIVER_ERRORS as exc:
            raise StoreUnavailable(f"cannot open {path} ({exc}).") from exc
        backend = cls(path, writer)
        try:
            await backend._pragmas()
        except BaseException:
            await writer.close()
            raise
        return backend

    async def _pragmas(self) -> None:
        # Switching to WAL needs a moment of exclusive access: on a fresh file that several processes open at once
        # it can report "locked"; it is retried like any busy write.
        await self.retry_busy(lambda: self.writer.execute("PRAGMA journal_mode = WAL"))
        await self.writer.execute("PRAGMA foreign_keys = ON")
        await self.writer.execute("PRAGMA synchronous = NORMAL")

    async def start_readers(self, count: int = READERS) -> None:
        """Open the read-only connections (after migrating, so they never see a half-made schema)."""
        if self.memory:
            return
        for _ in range(count):
            conn = await _connect(read_only_uri(self.path), uri=True)
            await conn.execute("PRAGMA query_only = ON")
            self._reader_conns.append(conn)
            self._readers.put_nowait(SQLiteConnection(conn, str(self.path)))

    async def retry_busy(self, attempt: Any) -> Any:
        """Run ``attempt()`` again (with backoff and jitter) while the database is busy, up to the deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.busy_deadline
        delay = 0.02
        while True:
            try:
                return await attempt()
            except StoreBusy:
                if loop.time() >= deadline:
                    raise
            log.debug("%s is busy; trying again in %.2f s", self.path, delay)
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 0.5)

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[SQLiteConnection]:
        """A write transaction: ``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception (cancellation too)."""
        async with self._lock:
            await self.retry_busy(lambda: self.writer.execute("BEGIN IMMEDIATE"))
            try:
                yield self.writer
            except BaseException:
                await self._rollback()
                raise
            try:
                await self.writer.execute("COMMIT")
            except BaseException:
                # A failed COMMIT (a deferred constraint, a full disk) leaves SQLite inside the transaction.
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        # Some errors end the transaction themselves; a second ROLLBACK would hide the original error.
        if self.writer.raw.in_transaction:
            try:
                await self.writer.raw.execute("ROLLBACK")
            except sqlite3.Error:
                log.exception("ROLLBACK failed on %s", self.path)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[SQLiteConnection]:
        if self.memory:
            async with self._lock:
                yield self.writer
            return
        conn = await self._readers.get()
        try:
            yield conn
        finally:
            self._readers.put_nowait(conn)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[SQLiteConnection]:
        """A read transaction: every statement inside sees the same committed state (copying a whole store)."""
        async with self.read() as conn:
            await conn.execute("BEGIN")
            try:
                await conn.fetchval("SELECT COUNT(*) FROM sqlite_master")  # the snapshot starts at the first read
                yield conn
            finally:
                if conn.raw.in_transaction:
                    await conn.raw.execute("ROLLBACK")

    async def close(self) -> None:
        for conn in self._reader_conns:
            await conn.close()
        self._reader_conns.clear()
        await self.writer.raw.close()

    def describe(self) -> str:
        return str(self.path)
