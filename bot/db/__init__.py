"""The store: the only package that contains SQL."""

from bot.db.connection import Database, open_database
from bot.db.migrate import CODE_VERSION, current_version, migrate

__all__ = ["CODE_VERSION", "Database", "current_version", "migrate", "open_database"]
