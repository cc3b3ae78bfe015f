"""Where the store lives, parsed from ``NEWSBOT_DB``; light enough to import from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from bot.db.errors import StoreError


def redact(dsn: str) -> str:
    """The DSN without its password, for logs and messages."""
    try:
        parts = urlsplit(dsn)
        password = parts.password
        username, hostname, port = parts.username, parts.hostname or "", parts.port
    except ValueError:  # a port that is not a number: show nothing that might be a secret
        return dsn.split("://", 1)[0] + "://…"
    if password is None:
        return dsn
    host = f"{hostname}:{port}" if port else hostname
    netloc = f"{username}@{host}" if username else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(frozen=True, slots=True)
class StoreTarget:
    """A SQLite file (the default) or a PostgreSQL database."""

    kind: Literal["sqlite", "postgres"]
    location: str
    """The file path, or the DSN (which may hold a password: show :meth:`describe` instead)."""

    @classmethod
    def parse(cls, value: str | Path) -> StoreTarget:
        text = str(value).strip()
        if text.startswith(("postgresql://", "postgres://")):
            return cls("postgres", text)
        if "://" in text:
            scheme = text.split("://", 1)[0]
            raise StoreError(f"the store must be a file path or a postgresql:// address, not a {scheme}:// address.")
        if not text:
            raise StoreError("the store's location is empty; give a file path or a postgresql:// address.")
        return cls("sqlite", text)

    @property
    def path(self) -> Path:
        if self.kind != "sqlite":
            raise StoreError(f"{self.describe()} is not a SQLite file.")
        return Path(self.location)

    @property
    def memory(self) -> bool:
        return self.kind == "sqlite" and self.location == ":memory:"

    def describe(self) -> str:
        return redact(self.location) if self.kind == "postgres" else self.location
