"""One long-lived aiosqlite connection per process, with the pragmas the store relies on."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from bot.errors import DatabaseVersionError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5000


class Database:
    """Owns the connection and serialises write transactions.

    aiosqlite runs every statement on one worker thread, so statements never interleave; the lock keeps a whole
    multi-statement transaction from interleaving with another task's statements.
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any exception (including cancellation).

        A COMMIT that fails (a deferred foreign key, a full disk, a busy database) leaves SQLite inside the
        transaction; it is rolled back too, so the next transaction on this connection starts clean.
        """
        async with self._write_lock:
            await self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                await self._rollback()
                raise
            try:
                await self.conn.execute("COMMIT")
            except BaseException:
                await self._rollback()
                raise

    async def _rollback(self) -> None:
        # SQLite may already have rolled back (some errors end the transaction themselves); a second ROLLBACK
        # would raise "no transaction is active" and hide the original error.
        if self.conn.in_transaction:
            await self.conn.execute("ROLLBACK")

    async def close(self) -> None:
        await self.conn.close()


@asynccontextmanager
async def open_database(path: Path | str, *, migrate_to_latest: bool = True) -> AsyncIterator[Database]:
    """Open (creating if needed) the database at ``path``, check its version, set pragmas and migrate.

    A database written by a newer newsbot is refused before anything is written to it.
    """
    from bot.db.migrate import check_not_newer, migrate

    path = Path(path)
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            await asyncio.to_thread(check_not_newer, path)
    # isolation_level=None: we issue BEGIN/COMMIT ourselves, so each migration and each repository
    # transaction is exactly one SQLite transaction.
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = aiosqlite.Row
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            raise DatabaseVersionError(f"{path} is not a newsbot database ({exc}).") from exc
        db = Database(conn, path)
        if migrate_to_latest:
            await migrate(db)
        yield db
    finally:
        await conn.close()
