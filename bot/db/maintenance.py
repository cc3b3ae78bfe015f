"""Operating a store: version inspection, online backup, copying between backends, integrity checks."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.db.core import Row, to_datetime
from bot.db.errors import StoreError
from bot.db.migrate import CODE_VERSION, postgres_version, sqlite_file_version
from bot.db.sqlite import SQLiteBackend, SQLiteConnection
from bot.db.store import Connection, Store, connect
from bot.db.target import StoreTarget

#: Every table of the schema, parents before children. ``db copy`` copies exactly these, and a test checks that the
#: schema has no table missing from the list (the full-text index and the version table are rebuilt, not copied).
TABLES: tuple[str, ...] = ("sources", "articles", "article_keys", "source_files", "deliveries")
#: Tables whose ``id`` comes from a sequence that must continue after the copied rows on PostgreSQL.
_ID_TABLES = ("sources", "articles", "deliveries")
COPY_BATCH = 1000


async def inspect_version(target: StoreTarget) -> int | None:
    """The schema version without changing anything; None when there is no store there yet."""
    if target.kind == "sqlite":
        if target.memory or not target.path.exists():
            return None
        return await asyncio.to_thread(sqlite_file_version, target.path)
    from bot.db.postgres import PostgresBackend  # only for a PostgreSQL store: asyncpg is slow to import

    backend = await PostgresBackend.open(target.location, min_size=1, max_size=1)
    try:
        return await postgres_version(backend)
    finally:
        await backend.close()


async def backup(store: Store, dest: Path) -> int:
    """Copy a live SQLite store to ``dest`` with SQLite's online backup API; returns the copy's size in bytes.

    The backup API copies a consistent snapshot while the bot keeps writing, unlike copying the file and its WAL.
    A PostgreSQL store is backed up with PostgreSQL's own tools (``pg_dump``), or copied with ``db copy``.
    """
    if store.target.kind != "sqlite" or store.target.memory:
        raise StoreError("db backup copies SQLite files; back up PostgreSQL with pg_dump, or use `newsbot db copy`.")
    source_path = store.target.path

    def copy() -> int:
        if dest.exists():
            raise StoreError(f"{dest} already exists; choose a new file name so no backup is overwritten.")
        dest.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(source_path)
        target = sqlite3.connect(dest)
        try:
            source.backup(target)
        except sqlite3.Error as exc:
            target.close()
            dest.unlink(missing_ok=True)
            raise StoreError(f"backup to {dest} failed: {exc}") from exc
        finally:
            target.close()
            source.close()
        return dest.stat().st_size

    return await asyncio.to_thread(copy)


# --- db copy ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CopyReport:
    counts: dict[str, int]
    """Rows per table, equal in source and destination (checked after the copy)."""


async def _columns(conn: Connection, table: str) -> list[tuple[str, str]]:
    """(name, type) of each column of ``table``, in order, as the destination declares them."""
    if isinstance(conn, SQLiteConnection):
        rows = await conn.fetch(f"PRAGMA table_info({table})")
        return [(str(r["name"]), str(r["type"]).lower()) for r in rows]
    rows = await conn.fetch(
        "SELECT column_name, data_type, is_generated FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        table,
    )
    return [(str(r[0]), str(r[1]).lower()) for r in rows if r[2] != "ALWAYS"]


def _converter(kind: str) -> Callable[[Any], Any] | None:
    """How a value read from the other backend must be turned into what this column takes."""
    if kind.startswith("timestamp"):
        return lambda v: None if v is None else to_datetime(v)
    if kind == "boolean":
        return lambda v: None if v is None else bool(v)
    return None


async def copy_store(
    source: Store, dest: Store, *, progress: Callable[[str, int, int], None] | None = None
) -> CopyReport:
    """Copy every row of ``source`` into the empty ``dest`` (any backend to any backend), ids included.

    The source is read from one snapshot, so a bot writing to it meanwhile cannot make the copy inconsistent. The
    destination must be empty: copying into a store that has data would mix two histories. The row counts of every
    table are compared afterwards. ``progress(table, done, total)`` is called as rows are written.
    """
    for table in TABLES:
        if await dest.executor.fetchval(f"SELECT COUNT(*) FROM {table}"):
            raise StoreError(f"{dest.describe()} is not empty ({table} has rows); copy into a new store.")
    counts: dict[str, int] = {}
    async with source.backend.snapshot() as snap:
        for table in TABLES:
            total = int(await snap.fetchval(f"SELECT COUNT(*) FROM {table}") or 0)
            async with dest.backend.read() as dest_conn:
                columns = await _columns(dest_conn, table)
            names = [name for name, _ in columns]
            converters = [_converter(kind) if dest.dialect == "postgres" else None for _, kind in columns]
            marks = ", ".join(f"${i}" for i in range(1, len(names) + 1))
            insert = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})"
            order = "id" if table in _ID_TABLES else "1"
            done = 0
            async with snap.stream(
                f"SELECT {', '.join(names)} FROM {table} ORDER BY {order}", batch=COPY_BATCH
            ) as rows:
                async for chunk in rows:
                    values = [_convert_row(row, converters) for row in chunk]
                    await dest.run(lambda tx, sql=insert, values=values: tx.executor.executemany(sql, values))  # type: ignore[misc]
                    done += len(values)
                    if progress is not None:
                        progress(table, done, total)
            counts[table] = done
        if dest.dialect == "postgres":
            for table in _ID_TABLES:
                await dest.executor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE(MAX(id), 0) + 1, false)"
                    f" FROM {table}"
                )
        for table in TABLES:
            copied = int(await dest.executor.fetchval(f"SELECT COUNT(*) FROM {table}") or 0)
            expected = int(await snap.fetchval(f"SELECT COUNT(*) FROM {table}") or 0)
            if copied != expected:
                raise StoreError(f"the copy of {table} has {copied} rows, the source {expected}; do not use it.")
    return CopyReport(counts)


def _convert_row(row: Row, converters: Sequence[Callable[[Any], Any] | None]) -> tuple[Any, ...]:
    return tuple(value if conv is None else conv(value) for value, conv in zip(row, converters, strict=True))


async def open_empty(target: StoreTarget) -> Store:
    """Open ``target`` for ``db copy`` (created and migrated if new); the caller closes it."""
    from bot.db.migrate import migrate_postgres, migrate_sqlite

    backend = await connect(target)
    try:
        if isinstance(backend, SQLiteBackend):
            await migrate_sqlite(backend)
            await backend.start_readers()
        else:
            await migrate_postgres(backend)
    except BaseException:
        await backend.close()
        raise
    return Store(backend, target)


# --- db check -----------------------------------------------------------------------------------------------------


async def check_store(store: Store) -> list[str]:
    """Integrity problems of ``store``, each a sentence; an empty list means all is well."""
    problems: list[str] = []
    ex = store.executor
    version = await ex.fetchval("SELECT MAX(version) FROM schema_version")
    if version != CODE_VERSION:
        problems.append(f"schema version is {version}, this code expects {CODE_VERSION}.")
    if store.dialect == "sqlite":
        result = [str(r[0]) for r in await ex.fetch("PRAGMA integrity_check")]
        if result != ["ok"]:
            problems.append("SQLite integrity check failed: " + "; ".join(result[:5]))
        broken = await ex.fetch("PRAGMA foreign_key_check")
        if broken:
            problems.append(f"{len(broken)} rows refer to rows that do not exist (first: {tuple(broken[0])}).")
        problems += await _check_fts5(store)
    else:
        invalid = await ex.fetch(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_class t ON t.oid = i.indrelid"
            " WHERE t.relnamespace = current_schema()::regnamespace AND NOT (i.indisvalid AND i.indisready)"
        )
        problems += [f"index {r[0]} is not valid; REINDEX it." for r in invalid]
        if await ex.fetchval("SELECT to_regclass('articles_search')") is None:
            problems.append("the full-text index articles_search is missing; searches scan every article.")
        stale = await ex.fetchval(
            "SELECT COUNT(*) FROM articles WHERE search IS DISTINCT FROM"
            " (setweight(to_tsvector('english', title), 'A')"
            " || setweight(to_tsvector('english', left(body, 200000)), 'D'))"
        )
        if stale:
            problems.append(f"the full-text index is out of date for {stale} articles.")
    orphans = await ex.fetchval(
        "SELECT COUNT(*) FROM article_keys k WHERE NOT EXISTS (SELECT 1 FROM articles a WHERE a.id = k.article_id)"
    )
    if orphans:
        problems.append(f"{orphans} article keys point at articles that do not exist.")
    keyless = await ex.fetchval(
        "SELECT COUNT(*) FROM articles a WHERE NOT EXISTS (SELECT 1 FROM article_keys k WHERE k.article_id = a.id)"
    )
    if keyless:
        problems.append(f"{keyless} articles have no identity key, so a feed could store them again.")
    return problems


async def _check_fts5(store: Store) -> list[str]:
    ex = store.executor
    problems: list[str] = []
    try:
        # With rank = 1, FTS5 checks the index against the content table, not only against itself.
        await ex.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")
    except StoreError as exc:
        problems.append(
            f"the full-text index does not match the articles ({exc}); rebuild it with `newsbot db repair`."
        )
    indexed = int(await ex.fetchval("SELECT COUNT(*) FROM articles_fts_docsize") or 0)
    stored = int(await ex.fetchval("SELECT COUNT(*) FROM articles") or 0)
    if indexed != stored:
        problems.append(f"the full-text index holds {indexed} articles, the store {stored}.")
    return problems


async def repair_fts(store: Store) -> None:
    """Rebuild the full-text index from the articles (SQLite; PostgreSQL's is rebuilt with REINDEX)."""
    if store.dialect == "sqlite":
        await store.executor.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")
    else:
        await store.executor.execute("REINDEX INDEX articles_search")


__all__ = ["CODE_VERSION", "TABLES", "backup", "check_store", "copy_store", "inspect_version", "repair_fts"]
