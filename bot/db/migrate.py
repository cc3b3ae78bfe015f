"""Numbered SQL migrations (``migrations/NNNN_name.sql``), each applied in its own transaction.

The applied version lives in the database (``schema_version``). A database newer than the code is refused.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from bot.errors import DatabaseVersionError

if TYPE_CHECKING:
    from bot.db.connection import Database

log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    found: list[Migration] = []
    for entry in resources.files("bot.db").joinpath("migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(f"migration numbering has a gap or duplicate at {migration.version:04d}")
    return found


MIGRATIONS = load_migrations()
CODE_VERSION = MIGRATIONS[-1].version if MIGRATIONS else 0


def _refusal(path: Path | str, version: int) -> DatabaseVersionError:
    return DatabaseVersionError(
        f"{path} is at schema version {version}, but this newsbot only knows up to {CODE_VERSION}; "
        "upgrade newsbot instead of using an older release (the file was not changed)."
    )


def read_only_uri(path: Path) -> str:
    """A ``file:`` URI that opens ``path`` read-only, whatever its name holds.

    ``f"file:{path}?mode=ro"`` breaks on a ``#`` or ``?`` in the path: SQLite then opens (and creates) another
    file, read-write, and the real one is neither checked nor protected. ``as_uri`` percent-encodes them.
    """
    return Path(path).resolve().as_uri() + "?mode=ro"


def check_not_newer(path: Path) -> int:
    """Read the version through a read-only connection so a refused file is never modified."""
    try:
        conn = sqlite3.connect(read_only_uri(path), uri=True)
    except (sqlite3.Error, OSError, RuntimeError, ValueError) as exc:
        raise DatabaseVersionError(f"cannot open {path}: {exc}") from exc
    try:
        version = _read_version(conn)
    except sqlite3.DatabaseError as exc:
        raise DatabaseVersionError(f"{path} is not a newsbot database ({exc}).") from exc
    finally:
        conn.close()
    if version > CODE_VERSION:
        raise _refusal(path, version)
    return version


def _read_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").fetchone()
    if row is None:
        return 0
    got = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(got[0] or 0)


async def current_version(db: Database) -> int:
    cursor = await db.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
    if await cursor.fetchone() is None:
        return 0
    cursor = await db.conn.execute("SELECT MAX(version) FROM schema_version")
    row = await cursor.fetchone()
    return int(row[0] or 0) if row else 0


async def migrate(db: Database) -> list[int]:
    """Apply every pending migration; return the versions applied."""
    version = await current_version(db)
    if version > CODE_VERSION:
        raise _refusal(db.path, version)
    applied: list[int] = []
    for migration in MIGRATIONS:
        if migration.version <= version:
            continue
        log.info("Applying migration %04d_%s", migration.version, migration.name)
        async with db.transaction() as conn:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            for statement in split_statements(migration.sql):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_version (version, name, applied_at)"
                " VALUES (?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                (migration.version, migration.name),
            )
        applied.append(migration.version)
    return applied


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
