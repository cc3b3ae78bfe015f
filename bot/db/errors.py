"""The store's own errors. Driver errors (sqlite3, aiosqlite, asyncpg) never leave ``bot/db``: they become these.

Every message is a complete sentence that an operator can act on; none of them carries a password.
"""

from __future__ import annotations

from bot.errors import DatabaseVersionError, NewsError

__all__ = [
    "DatabaseVersionError",
    "LeaseLost",
    "StoreBusy",
    "StoreConflict",
    "StoreError",
    "StoreIntegrityError",
    "StoreUnavailable",
]


class StoreError(NewsError):
    """Something went wrong in the store. Subclasses say whether trying again can help."""

    retryable = False


class StoreBusy(StoreError):
    """Another writer held the store for longer than we were willing to wait (SQLite's write lock)."""

    retryable = True


class StoreConflict(StoreError):
    """Two transactions collided (a deadlock or a serialization failure); the loser may simply run again."""

    retryable = True


class StoreUnavailable(StoreError):
    """The store cannot be reached or opened (server down, refused connection, unwritable file)."""


class StoreIntegrityError(StoreError):
    """A write broke a constraint (a unique key, a foreign key, a CHECK)."""


class LeaseLost(StoreError):
    """A worker finished or failed a claimed job whose lease had expired and was taken by another worker."""
