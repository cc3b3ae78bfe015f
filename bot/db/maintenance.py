"""Operational database tasks: online backup and read-only version inspection."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from bot.db.connection import Database
from bot.db.migrate import CODE_VERSION, _read_version, read_only_uri
from bot.errors import DatabaseVersionError, NewsError


async def backup(db: Database, dest: Path) -> int:
    """Copy the live database to ``dest`` with SQLite's online backup API; returns the copy's size in bytes.

    The backup API copies a consistent snapshot while the bot keeps writing, unlike copying the file and its WAL.
    """

    def copy() -> int:
        if dest.exists():
            raise NewsError(f"{dest} already exists; choose a new file name so no backup is overwritten.")
        dest.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(db.path)
        target = sqlite3.connect(dest)
        try:
            source.backup(target)
        except sqlite3.Error as exc:
            target.close()
            dest.unlink(missing_ok=True)
            raise NewsError(f"backup to {dest} failed: {exc}") from exc
        finally:
            target.close()
            source.close()
        return dest.stat().st_size

    return await asyncio.to_thread(copy)


def inspect_version(path: Path) -> int:
    """The schema version of the database at ``path`` without modifying it (0 if it does not exist)."""
    if not path.exists():
        return 0
    try:
        conn = sqlite3.connect(read_only_uri(path), uri=True)
        try:
            return _read_version(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise DatabaseVersionError(f"{path} is not a newsbot database ({exc}).") from exc


__all__ = ["CODE_VERSION", "backup", "inspect_version"]
