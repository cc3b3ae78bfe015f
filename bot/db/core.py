"""The one SQL interface that repositories use, whatever the backend.

SQL is written once, PostgreSQL style: ``$1, $2 …`` placeholders, ``INSERT … ON CONFLICT … RETURNING``. The SQLite
backend rewrites the placeholders to ``?1, ?2 …`` (SQLite's numbered parameters) and adapts values (aware datetimes to
sortable UTC text, booleans to 0/1). Where the two dialects really differ (full-text search, claiming with
``SKIP LOCKED``) a repository asks :attr:`Executor.dialect` and keeps both spellings side by side.

An :class:`Executor` is either the store itself (each write its own short transaction, reads from committed data) or
one open transaction (everything on that transaction's connection). ``executor.transaction()`` opens a transaction on
the store, or a savepoint inside an open one, so a repository method that needs several statements to commit together
writes the same code for both.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal, Protocol, TypeVar

DialectName = Literal["sqlite", "postgres"]
T = TypeVar("T")


class Row(Protocol):
    """A result row: ``aiosqlite.Row`` and ``asyncpg.Record`` both index by column name and by position."""

    def __getitem__(self, key: str | int, /) -> Any: ...

    def keys(self) -> Iterable[str]: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...


class Executor(Protocol):
    """Runs SQL inside ``bot/db``. Outside ``bot/db`` nothing sees one: callers use repositories."""

    @property
    def dialect(self) -> DialectName: ...

    async def execute(self, sql: str, *args: Any) -> int:
        """Run one statement; returns the number of rows it changed."""
        ...

    async def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None: ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchval(self, sql: str, *args: Any) -> Any: ...

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        """A transaction on the store, or a savepoint inside the open transaction."""
        ...

    def stream(self, sql: str, *args: Any, batch: int = 1000) -> AbstractAsyncContextManager[AsyncIterator[list[Row]]]:
        """Rows of a large query in batches, from one consistent snapshot, without holding them all in memory."""
        ...

    async def run(self, fn: Callable[[Executor], Awaitable[T]]) -> T:
        """``fn`` as one unit of work: on the store, its own transaction, run again if it collided with another
        writer (so ``fn`` must write only through the executor it is given); inside a transaction, a savepoint."""
        ...


class Savepoints:
    """``savepoint()`` for a driver connection class that has ``execute``: nested units of work inside a transaction."""

    _savepoints = 0

    async def execute(self, sql: str, *args: Any) -> int:
        raise NotImplementedError

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        self._savepoints += 1
        name = f"sp_{self._savepoints}"
        await self.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            await self.execute(f"ROLLBACK TO SAVEPOINT {name}")
            await self.execute(f"RELEASE SAVEPOINT {name}")
            raise
        finally:
            self._savepoints -= 1
        await self.execute(f"RELEASE SAVEPOINT {name}")


class FetchShortcuts:
    """``fetchrow`` and ``fetchval`` in terms of ``fetch``, for executors whose driver has nothing cheaper."""

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        raise NotImplementedError

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]


# --- timestamps ---------------------------------------------------------------------------------------------------


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def ts_text(value: dt.datetime) -> str:
    """An aware datetime as SQLite stores it: fixed-width UTC text with microseconds
    (``YYYY-MM-DDTHH:MM:SS.ffffffZ``), so that comparing and sorting the text is comparing and sorting the instants
    (PostgreSQL stores ``timestamptz``). A naive datetime is a bug in the caller, not something to guess."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store; use an aware UTC datetime")
    # Not strftime: its %Y does not pad years before 1000 ("1-01-01"), which would neither sort nor parse.
    v = value.astimezone(dt.UTC)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}Z"


def to_datetime(value: Any) -> dt.datetime:
    """A timestamp column's value as an aware UTC datetime, from either backend."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed.astimezone(dt.UTC) if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    raise TypeError(f"not a timestamp: {value!r}")


def to_datetime_or_none(value: Any) -> dt.datetime | None:
    return None if value is None else to_datetime(value)
