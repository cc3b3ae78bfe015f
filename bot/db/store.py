"""The store: one object that holds a backend and hands out repositories and units of work.

``store.articles.add(...)`` outside a transaction is its own short transaction; reads outside a transaction see only
committed data. ``async with store.transaction() as tx:`` gives repositories (``tx.articles``, ``tx.sources`` …) that
all write inside that one transaction: leaving the block commits, an exception rolls everything back. Inside the
block, calls through the store itself (``store.articles``) from the same task join the transaction instead of waiting
for it (which on SQLite would deadlock); a nested ``store.transaction()`` is a savepoint. Other tasks are never joined:
they get transactions of their own.

``await store.run(fn)`` runs ``fn(tx)`` as a unit of work and runs it again, with backoff, when it collided with
another writer (a busy SQLite file, a PostgreSQL deadlock): the retryable failures never reach the caller unless they
persist.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import re
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from bot.db.core import DialectName, Executor, FetchShortcuts, Row
from bot.db.errors import StoreBusy, StoreConflict, StoreError
from bot.db.sqlite import SQLiteBackend, SQLiteConnection
from bot.db.target import StoreTarget

if TYPE_CHECKING:
    # asyncpg costs ~45 ms to import: a SQLite store (and every quick CLI command on one) never loads it.
    from bot.db.articles import ArticleRepository
    from bot.db.deliveries import DeliveryRepository
    from bot.db.postgres import PostgresBackend, PostgresConnection
    from bot.db.sources import SourceRepository

log = logging.getLogger(__name__)

T = TypeVar("T")
Connection: TypeAlias = "SQLiteConnection | PostgresConnection"
Backend: TypeAlias = "SQLiteBackend | PostgresBackend"

RUN_ATTEMPTS = 8


class Repositories:
    """The repositories, all bound to one executor (the store, or one open transaction)."""

    def __init__(self, executor: Any) -> None:
        self._executor = executor

    @cached_property
    def articles(self) -> ArticleRepository:
        from bot.db.articles import ArticleRepository

        return ArticleRepository(self._executor)

    @cached_property
    def sources(self) -> SourceRepository:
        from bot.db.sources import SourceRepository

        return SourceRepository(self._executor)

    @cached_property
    def deliveries(self) -> DeliveryRepository:
        from bot.db.deliveries import DeliveryRepository

        return DeliveryRepository(self._executor)


class TxExecutor:
    """Everything on one open transaction's connection; ``transaction()`` is a savepoint."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    @property
    def dialect(self) -> DialectName:
        return self.conn.dialect

    async def execute(self, sql: str, *args: Any) -> int:
        return await self.conn.execute(sql, *args)

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        await self.conn.executemany(sql, rows)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return await self.conn.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        return await self.conn.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self.conn.fetchval(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[TxExecutor]:
        async with self.conn.savepoint():
            yield self

    def stream(self, sql: str, *args: Any, batch: int = 1000) -> AbstractAsyncContextManager[AsyncIterator[list[Row]]]:
        return self.conn.stream(sql, *args, batch=batch)

    async def run(self, fn: Callable[[Executor], Awaitable[T]]) -> T:
        async with self.transaction() as ex:
            return await fn(ex)


class Tx(Repositories):
    """The repositories of one open transaction."""

    def __init__(self, executor: TxExecutor) -> None:
        super().__init__(executor)
        self.executor = executor

    @property
    def dialect(self) -> DialectName:
        return self.executor.dialect


_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


class StoreExecutor(FetchShortcuts):
    """The store as an executor: joins the current task's transaction, else short transactions and committed reads."""

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def dialect(self) -> DialectName:
        return self._store.backend.dialect

    async def execute(self, sql: str, *args: Any) -> int:
        joined = self._store.current()
        if joined is not None:
            return await joined.execute(sql, *args)
        return await self._store.run(lambda tx: tx.executor.execute(sql, *args))

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        joined = self._store.current()
        if joined is not None:
            await joined.executemany(sql, rows)
            return
        batch = list(rows)
        await self._store.run(lambda tx: tx.executor.executemany(sql, batch))

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        joined = self._store.current()
        if joined is not None:
            return await joined.fetch(sql, *args)
        if _WRITES.match(sql):
            # INSERT … RETURNING and friends write: their own short transaction, never a read-only connection.
            return await self._store.run(lambda tx: tx.executor.fetch(sql, *args))
        async with self._store.backend.read() as conn:
            return await conn.fetch(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[TxExecutor]:
        async with self._store.transaction() as tx:
            yield tx.executor

    async def run(self, fn: Callable[[Executor], Awaitable[T]]) -> T:
        return await self._store.run(lambda tx: fn(tx.executor))

    @asynccontextmanager
    async def stream(self, sql: str, *args: Any, batch: int = 1000) -> AsyncIterator[AsyncIterator[list[Row]]]:
        joined = self._store.current()
        if joined is not None:
            async with joined.stream(sql, *args, batch=batch) as rows:
                yield rows
            return
        async with self._store.backend.read() as conn, conn.stream(sql, *args, batch=batch) as rows:
            yield rows


def make_worker_id() -> str:
    """Names this process in claims: host and pid for the operator, a random part so a restarted pid is new."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class NestedTransactionError(StoreError):
    """A task started inside another task's open transaction used the store: on SQLite it would wait forever for
    that transaction (which may be waiting for this task), so it is refused instead."""


@dataclass(slots=True)
class _OpenTransaction:
    store: Store
    executor: TxExecutor
    owner: asyncio.Task[Any] | None
    active: bool = True


#: The transactions open in this context. Context variables are copied into tasks created inside a ``with`` block,
#: which is how a task spawned inside another task's transaction is recognised.
_OPEN: ContextVar[tuple[_OpenTransaction, ...]] = ContextVar("newsbot_open_transactions", default=())


class Store(Repositories):
    def __init__(self, backend: Backend, target: StoreTarget) -> None:
        self.backend = backend
        self.target = target
        self.worker_id = make_worker_id()
        super().__init__(StoreExecutor(self))

    @property
    def dialect(self) -> DialectName:
        return self.backend.dialect

    @property
    def executor(self) -> StoreExecutor:
        """Raw SQL on the store, for ``bot/db`` itself (maintenance); everything else uses the repositories."""
        executor: StoreExecutor = self._executor
        return executor

    def describe(self) -> str:
        return self.target.describe()

    def current(self) -> TxExecutor | None:
        """The transaction the current task has open on this store, if any.

        Raises :class:`NestedTransactionError` when the current task was started inside another task's transaction
        that is still open (``asyncio.gather``, ``wait_for`` or ``create_task`` in a ``transaction()`` block).
        """
        for open_tx in _OPEN.get():
            if open_tx.store is self and open_tx.active:
                if open_tx.owner is asyncio.current_task():
                    return open_tx.executor
                raise NestedTransactionError(
                    "this task was started inside another task's open transaction and would wait for it forever; "
                    "give it the transaction's repositories (tx.articles …) or start it after the transaction."
                )
        return None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        joined = self.current()
        if joined is not None:
            async with joined.transaction():
                yield Tx(joined)
            return
        async with self.backend.begin() as conn:
            open_tx = _OpenTransaction(self, TxExecutor(conn), asyncio.current_task())
            token = _OPEN.set((*_OPEN.get(), open_tx))
            try:
                yield Tx(open_tx.executor)
            finally:
                open_tx.active = False
                _OPEN.reset(token)

    async def run(self, fn: Callable[[Tx], Awaitable[T]], *, attempts: int = RUN_ATTEMPTS) -> T:
        """``fn(tx)`` in one transaction, run again from the start when it collided with another writer.

        ``fn`` must only change the database through ``tx`` (and nothing outside it), so that running it again is
        safe: the failed attempt was rolled back as a whole. Inside an open transaction it simply joins (a savepoint),
        without retrying: a collision there has already aborted the outer transaction.
        """
        if self.current() is not None:
            async with self.transaction() as tx:
                return await fn(tx)
        delay = 0.02
        for attempt in range(1, attempts + 1):
            try:
                async with self.transaction() as tx:
                    return await fn(tx)
            except (StoreBusy, StoreConflict) as exc:
                if attempt == attempts:
                    raise
                log.info("Unit of work on %s collided (%s); attempt %d of %d", self.describe(), exc, attempt, attempts)
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self.backend.close()


async def connect(target: StoreTarget) -> Backend:
    if target.kind == "postgres":
        from bot.db.postgres import PostgresBackend

        return await PostgresBackend.open(target.location)
    return await SQLiteBackend.open(target.path)


@asynccontextmanager
async def open_store(target: StoreTarget | str | Path, *, migrate: bool = True) -> AsyncIterator[Store]:
    """Open the store at ``target``, refuse it if it is newer than this code, migrate it (unless told not to).

    A SQLite file newer than the code is refused before it is opened for writing, so it is left exactly as it was.
    """
    from bot.db.migrate import (
        CODE_VERSION,
        migrate_postgres,
        migrate_sqlite,
        postgres_version,
        refusal,
        sqlite_file_version,
    )

    if not isinstance(target, StoreTarget):
        target = StoreTarget.parse(target)
    if target.kind == "sqlite" and not target.memory and target.path.exists():
        version = await asyncio.to_thread(sqlite_file_version, target.path)
        if version > CODE_VERSION:
            raise refusal(target.describe(), version)
    backend = await connect(target)
    try:
        if isinstance(backend, SQLiteBackend):
            if migrate:
                await migrate_sqlite(backend)
            await backend.start_readers()
        else:
            version = await postgres_version(backend)
            if version > CODE_VERSION:
                raise refusal(target.describe(), version)
            if migrate:
                await migrate_postgres(backend)
        store = Store(backend, target)
        yield store
    finally:
        await backend.close()
