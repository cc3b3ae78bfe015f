"""The PostgreSQL backend (asyncpg): a connection pool shared by every task of this process.

Several bot processes on several machines may share one database. Transactions are READ COMMITTED; what must not
happen twice is guarded by unique keys (articles, outbox rows) and by claims taken with ``FOR UPDATE SKIP LOCKED``,
not by any lock in this process. Deadlocks and serialization failures become :class:`StoreConflict`, which the
store's ``run()`` retries.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from bot.db.core import DialectName, Row, Savepoints
from bot.db.errors import StoreConflict, StoreError, StoreIntegrityError, StoreUnavailable
from bot.db.target import redact

log = logging.getLogger(__name__)

POOL_MIN = 1
POOL_MAX = 10

_COUNT = re.compile(r"(\d+)$")

_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.InvalidPasswordError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
    asyncpg.exceptions.InvalidCatalogNameError,
    asyncpg.exceptions.AdminShutdownError,
    TimeoutError,
)
_DRIVER_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    *_UNAVAILABLE,
)


def translate(exc: BaseException, what: str) -> StoreError:
    if isinstance(exc, asyncpg.exceptions.DeadlockDetectedError | asyncpg.exceptions.SerializationError):
        return StoreConflict(f"a transaction on {what} collided with another and was rolled back ({exc}).")
    if isinstance(exc, asyncpg.exceptions.IntegrityConstraintViolationError):
        return StoreIntegrityError(f"a write broke a constraint of {what} ({exc}).")
    if isinstance(exc, _UNAVAILABLE):
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return StoreUnavailable(f"cannot use the PostgreSQL database {what} ({reason}).")
    return StoreError(f"{what} failed ({type(exc).__name__}: {exc}).")


def _rowcount(status: str) -> int:
    match = _COUNT.search(status or "")
    return int(match[1]) if match else 0


class PostgresConnection(Savepoints):
    dialect: DialectName = "postgres"

    def __init__(self, conn: asyncpg.Connection[Any] | PoolConnectionProxy[Any], label: str) -> None:
        self.raw = conn
        self._label = label

    async def execute(self, sql: str, *args: Any) -> int:
        try:
            return _rowcount(await self.raw.execute(sql, *args))
        except _DRIVER_ERRORS as exc:
            raise translate(exc, self._label) from exc

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        try:
            await self.raw.executemany(sql, list(rows))
        except _DRIVER_ERRORS as exc:
            raise translate(exc, self._label) from exc

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        try:
            return list(await self.raw.fetch(sql, *args))
        except _DRIVER_ERRORS as exc:
            raise translate(exc, self._label) from exc

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        try:
            row: Row | None = await self.raw.fetchrow(sql, *args)
            return row
        except _DRIVER_ERRORS as exc:
            raise translate(exc, self._label) from exc

    async def fetchval(self, sql: str, *args: Any) -> Any:
        try:
            return await self.raw.fetchval(sql, *args)
        except _DRIVER_ERRORS as exc:
            raise translate(exc, self._label) from exc

    async def script(self, sql: str) -> None:
        """Several statements at once (a migration): the simple query protocol runs them in order."""
        try:
            await self.raw.execute(sql)
        except _DRIVER_ERRORS as exc:
            raise translate(exc, self._label) from exc

    @asynccontextmanager
    async def stream(self, sql: str, *args: Any, batch: int = 1000) -> AsyncIterator[AsyncIterator[list[Row]]]:
        async def batches() -> AsyncIterator[list[Row]]:
            try:
                cursor = await self.raw.cursor(sql, *args)
                while True:
                    rows = await cursor.fetch(batch)
                    if not rows:
                        return
                    yield list(rows)
            except _DRIVER_ERRORS as exc:
                raise translate(exc, self._label) from exc

        # A cursor lives inside a transaction: the caller's, or a read-only snapshot of its own.
        if self.raw.is_in_transaction():
            yield batches()
            return
        try:
            async with self.raw.transaction(isolation="repeatable_read", readonly=True):
                yield batches()
        except _DRIVER_ERRORS as exc:
            raise translate(exc, self._label) from exc


class PostgresBackend:
    dialect: DialectName = "postgres"

    def __init__(self, dsn: str, pool: asyncpg.Pool) -> None:
        self.dsn = dsn
        self.pool = pool
        self.label = redact(dsn)

    @classmethod
    async def open(cls, dsn: str, *, min_size: int = POOL_MIN, max_size: int = POOL_MAX) -> PostgresBackend:
        label = redact(dsn)
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                # Timestamps come back as aware datetimes and go in as such; the session speaks UTC so that text
                # output (logs, psql) agrees with ours.
                server_settings={"timezone": "UTC", "application_name": "newsbot"},
                timeout=10,
            )
        except _DRIVER_ERRORS as exc:
            raise translate(exc, label) from exc
        except ValueError as exc:  # a DSN asyncpg cannot parse
            raise StoreUnavailable(f"{label} is not a usable PostgreSQL address ({exc}).") from exc
        assert pool is not None
        return cls(dsn, pool)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[PostgresConnection]:
        try:
            async with self.pool.acquire() as conn:
                yield PostgresConnection(conn, self.label)
        except _DRIVER_ERRORS as exc:
            raise translate(exc, self.label) from exc

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[PostgresConnection]:
        async with self.connection() as conn:
            tx = conn.raw.transaction()
            try:
                await tx.start()
            except _DRIVER_ERRORS as exc:
                raise translate(exc, self.label) from exc
            try:
                yield conn
            except BaseException:
                try:
                    await tx.rollback()
                except _DRIVER_ERRORS:
                    log.warning("ROLLBACK failed on %s", self.label, exc_info=True)
                raise
            try:
                await tx.commit()
            except _DRIVER_ERRORS as exc:
                raise translate(exc, self.label) from exc

    @asynccontextmanager
    async def read(self) -> AsyncIterator[PostgresConnection]:
        async with self.connection() as conn:
            yield conn

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[PostgresConnection]:
        """A read-only REPEATABLE READ transaction: every statement inside sees the same committed state."""
        async with self.connection() as conn:
            try:
                async with conn.raw.transaction(isolation="repeatable_read", readonly=True):
                    yield conn
            except _DRIVER_ERRORS as exc:
                raise translate(exc, self.label) from exc

    async def close(self) -> None:
        await self.pool.close()

    def describe(self) -> str:
        return self.label
