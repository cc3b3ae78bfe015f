"""Numbered SQL migrations, one folder per dialect (``migrations/sqlite``, ``migrations/postgres``).

Each migration runs in its own transaction and records itself in ``schema_version`` in that same transaction. The
version is read *inside* the write lock (SQLite's ``BEGIN IMMEDIATE``; a PostgreSQL advisory lock), so any number of
processes may start on one fresh store at once: one applies each migration, the others find it applied. A store newer
than the code is refused before anything is written to it.

Both dialects end at the same version. PostgreSQL support started at schema 4, so its folder starts there: a new
PostgreSQL store is created at version 4 directly. A SQLite migration whose first line is
``-- newsbot: foreign_keys=off`` runs with foreign keys off (table rebuilds must not cascade), and the runner checks
every foreign key before it commits.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.db.core import DialectName, utcnow
from bot.db.errors import DatabaseVersionError, StoreError
from bot.db.sqlite import SQLiteBackend, SQLiteConnection, read_only_uri

if TYPE_CHECKING:  # asyncpg is imported only when a PostgreSQL store is opened (see bot.db.store.connect)
    from bot.db.postgres import PostgresBackend, PostgresConnection

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_FK_OFF = "-- newsbot: foreign_keys=off"
#: Any constant will do; it only has to be the same in every newsbot process ("newsbot" in ASCII, as a number).
PG_MIGRATION_LOCK = 0x6E657773626F74


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def foreign_keys_off(self) -> bool:
        return self.sql.startswith(_FK_OFF)


def load_migrations(dialect: DialectName) -> list[Migration]:
    found: list[Migration] = []
    # Beside this module in a checkout and in an installed wheel alike (importlib.resources would add ~5 ms to the
    # start-up of every command that opens a store, for the zip files that newsbot is never installed as).
    for entry in (Path(__file__).parent / "migrations" / dialect).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=found[0].version if found else 1):
        if migration.version != expected:
            raise RuntimeError(f"{dialect} migration numbering has a gap or duplicate at {migration.version:04d}")
    return found


MIGRATIONS: dict[DialectName, list[Migration]] = {d: load_migrations(d) for d in ("sqlite", "postgres")}
CODE_VERSION = MIGRATIONS["sqlite"][-1].version
if MIGRATIONS["postgres"][-1].version != CODE_VERSION:  # pragma: no cover - a packaging mistake
    raise RuntimeError("the SQLite and PostgreSQL migrations end at different versions")


def refusal(where: str, version: int) -> DatabaseVersionError:
    return DatabaseVersionError(
        f"{where} is at schema version {version}, but this newsbot only knows up to {CODE_VERSION}; "
        "upgrade newsbot instead of using an older release (the database was not changed)."
    )


async def _begin_step(
    conn: SQLiteConnection | PostgresConnection, version: int, migration: Migration, where: str, ts_type: str
) -> bool:
    """Inside the migration lock, with the store at ``version``: whether ``migration`` is still to be applied (a
    newer store is refused), with the version table ready to record it."""
    if version > CODE_VERSION:
        raise refusal(where, version)
    if version >= migration.version:
        return False
    log.info("Applying migration %04d_%s to %s", migration.version, migration.name, where)
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        f" version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at {ts_type} NOT NULL)"
    )
    return True


# --- SQLite -------------------------------------------------------------------------------------------------------


def sqlite_file_version(path: Path) -> int:
    """The version of an existing SQLite file, read through a read-only connection so that nothing is written."""
    try:
        conn = sqlite3.connect(read_only_uri(path), uri=True)
    except (sqlite3.Error, OSError, RuntimeError, ValueError) as exc:
        raise DatabaseVersionError(f"cannot open {path}: {exc}") from exc
    try:
        row = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
        if row is None:
            return 0
        return int(conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0)
    except sqlite3.DatabaseError as exc:
        raise DatabaseVersionError(f"{path} is not a newsbot database ({exc}).") from exc
    finally:
        conn.close()


async def _sqlite_version(conn: SQLiteConnection) -> int:
    if await conn.fetchval("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'") is None:
        return 0
    return int(await conn.fetchval("SELECT MAX(version) FROM schema_version") or 0)


def split_statements(sql: str) -> list[str]:
    """Split a migration into complete statements (``executescript`` would commit mid-transaction)."""
    statements: list[str] = []
    buffer = ""
    for line in sql.splitlines(keepends=True):
        if not buffer and line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise RuntimeError(f"incomplete SQL statement in migration: {buffer[:80]!r}")
    return statements


async def migrate_sqlite(backend: SQLiteBackend) -> list[int]:
    writer = backend.writer
    # Migrations may call it (0004 re-keys identities too long to index).
    from bot.news.identity import bounded_key  # only when migrating: the quick read-only commands never need it

    await writer.raw.create_function("newsbot_bounded_key", 1, bounded_key, deterministic=True)
    applied: list[int] = []
    for migration in MIGRATIONS["sqlite"]:
        if migration.version <= await _sqlite_version(writer):
            continue
        if migration.foreign_keys_off:
            await writer.execute("PRAGMA foreign_keys = OFF")
        try:
            async with backend.begin() as conn:
                # Inside the write lock: another process may have been first.
                if not await _begin_step(conn, await _sqlite_version(conn), migration, backend.describe(), "TEXT"):
                    continue
                for statement in split_statements(migration.sql):
                    await conn.execute(statement)
                if migration.foreign_keys_off:
                    broken = await conn.fetch("PRAGMA foreign_key_check")
                    if broken:
                        raise StoreError(
                            f"migration {migration.version:04d} would leave {len(broken)} broken references "
                            f"(first: {tuple(broken[0])}); nothing was changed."
                        )
                await conn.execute(
                    "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    utcnow(),
                )
            applied.append(migration.version)
        finally:
            if migration.foreign_keys_off:
                await writer.execute("PRAGMA foreign_keys = ON")
    return applied


# --- PostgreSQL ---------------------------------------------------------------------------------------------------


async def _pg_version(conn: PostgresConnection) -> int:
    # A catalog query, not to_regclass(): after waiting on the advisory lock, the backend's catalog cache may still
    # say the table does not exist (no relation lock made it read the invalidations); a query sees what committed.
    exists = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_tables"
        " WHERE schemaname = current_schema() AND tablename = 'schema_version')"
    )
    if not exists:
        return 0
    return int(await conn.fetchval("SELECT MAX(version) FROM schema_version") or 0)


async def postgres_version(backend: PostgresBackend) -> int:
    async with backend.read() as conn:
        return await _pg_version(conn)


async def migrate_postgres(backend: PostgresBackend) -> list[int]:
    version = await postgres_version(backend)
    if version > CODE_VERSION:
        raise refusal(backend.describe(), version)
    applied: list[int] = []
    for migration in MIGRATIONS["postgres"]:
        if migration.version <= version:
            continue
        async with backend.begin() as conn:
            # Held until this transaction ends: concurrent starts queue here, then find the migration applied.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", PG_MIGRATION_LOCK)
            version = await _pg_version(conn)
            if not await _begin_step(conn, version, migration, backend.describe(), "TIMESTAMPTZ"):
                continue
            await conn.script(migration.sql)
            await conn.execute(
                "INSERT INTO schema_version (version, name, applied_at) VALUES ($1, $2, $3)",
                migration.version,
                migration.name,
                utcnow(),
            )
            version = migration.version
        applied.append(migration.version)
    return applied
