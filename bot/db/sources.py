"""SourceRepository: feeds, pages, folders and files that newsbot polls, with their validators and health."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import aiosqlite

from bot.db.connection import Database
from bot.errors import NewsError

SourceKind = Literal["feed", "page", "folder", "file"]
SourceStatus = Literal["active", "paused"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("feed", "page", "folder", "file")


class SourceNotFound(NewsError):
    pass


class SourceExists(NewsError):
    pass


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


def _parse_iso(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    parsed = dt.datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class Source:
    id: int
    location: str
    """URL, or absolute path of a file or folder."""
    kind: SourceKind
    title: str | None
    fetch_full_text: bool
    etag: str | None
    last_modified: str | None
    next_due_at: dt.datetime
    last_polled_at: dt.datetime | None
    failures: int
    """Consecutive failures; 0 after any success."""
    status: SourceStatus
    last_error: str | None
    created_at: dt.datetime
    fetch_url: str | None = None
    """Set when the location answered with a permanent redirect: fetch here, keep ``location`` as identity."""

    @property
    def url(self) -> str:
        """What to fetch."""
        return self.fetch_url or self.location

    @property
    def paused(self) -> bool:
        return self.status == "paused"


@dataclass(frozen=True, slots=True)
class SeenFile:
    path: str
    size: int
    mtime_ns: int


def _row_to_source(row: aiosqlite.Row) -> Source:
    next_due = _parse_iso(row["next_due_at"])
    created = _parse_iso(row["created_at"])
    assert next_due is not None and created is not None
    return Source(
        id=int(row["id"]),
        location=row["location"],
        kind=row["kind"],
        title=row["title"],
        fetch_full_text=bool(row["fetch_full_text"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        next_due_at=next_due,
        last_polled_at=_parse_iso(row["last_polled_at"]),
        failures=int(row["failures"]),
        status=row["status"],
        last_error=row["last_error"],
        created_at=created,
        fetch_url=row["fetch_url"],
    )


class SourceRepository:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        location: str,
        kind: SourceKind,
        *,
        title: str | None = None,
        fetch_full_text: bool = True,
        now: dt.datetime | None = None,
    ) -> Source:
        """Add a source, due immediately. Raises :class:`SourceExists` if ``location`` is already a source."""
        if kind not in SOURCE_KINDS:
            raise ValueError(f"unknown source kind {kind!r}")
        now = now or dt.datetime.now(dt.UTC)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO sources (location, kind, title, fetch_full_text, next_due_at, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (location) DO NOTHING",
                (location, kind, title, int(fetch_full_text), _iso(now), _iso(now)),
            )
            if cursor.rowcount == 0:
                raise SourceExists(f"{location} is already a source.")
            source_id = cursor.lastrowid
        assert source_id is not None
        return await self.get(source_id)

    async def get(self, source_id: int) -> Source:
        cursor = await self.db.conn.execute("SELECT * FROM sources WHERE id = ?", (source_id,))
        row = await cursor.fetchone()
        if row is None:
            raise SourceNotFound(f"There is no source #{source_id}.")
        return _row_to_source(row)

    async def find(self, location: str) -> Source | None:
        cursor = await self.db.conn.execute("SELECT * FROM sources WHERE location = ?", (location,))
        row = await cursor.fetchone()
        return _row_to_source(row) if row else None

    async def resolve(self, ref: str) -> Source:
        """A source by id (``12`` or ``#12``) or by its exact location."""
        text = ref.strip()
        if text.lstrip("#").isdigit():
            return await self.get(int(text.lstrip("#")))
        found = await self.find(text)
        if found is None:
            raise SourceNotFound(f"There is no source {text}.")
        return found

    async def all(self) -> list[Source]:
        cursor = await self.db.conn.execute("SELECT * FROM sources ORDER BY id")
        return [_row_to_source(r) for r in await cursor.fetchall()]

    async def due(self, now: dt.datetime | None = None, *, limit: int | None = None) -> list[Source]:
        """Active sources whose next poll is due at ``now``, most overdue first."""
        now = now or dt.datetime.now(dt.UTC)
        cursor = await self.db.conn.execute(
            "SELECT * FROM sources WHERE status = 'active' AND next_due_at <= ? ORDER BY next_due_at, id LIMIT ?",
            (_iso(now), -1 if limit is None else limit),
        )
        return [_row_to_source(r) for r in await cursor.fetchall()]

    async def remove(self, source_id: int) -> None:
        async with self.db.transaction() as conn:
            cursor = await conn.execute("DELETE FROM sources WHERE id = ?", (source_id,))
            if cursor.rowcount == 0:
                raise SourceNotFound(f"There is no source #{source_id}.")

    async def pause(self, source_id: int, reason: str | None = None) -> Source:
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE sources SET status = 'paused', last_error = COALESCE(?, last_error) WHERE id = ?",
                (reason, source_id),
            )
            if cursor.rowcount == 0:
                raise SourceNotFound(f"There is no source #{source_id}.")
        return await self.get(source_id)

    async def resume(self, source_id: int, *, now: dt.datetime | None = None) -> Source:
        """Reactivate, due now, with the failure count reset (the operator says it is worth trying again)."""
        now = now or dt.datetime.now(dt.UTC)
        async with self.db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE sources SET status = 'active', failures = 0, next_due_at = ? WHERE id = ?",
                (_iso(now), source_id),
            )
            if cursor.rowcount == 0:
                raise SourceNotFound(f"There is no source #{source_id}.")
        return await self.get(source_id)

    async def set_fetch_full_text(self, source_id: int, enabled: bool) -> None:
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE sources SET fetch_full_text = ? WHERE id = ?", (int(enabled), source_id))

    async def move(self, source_id: int, fetch_url: str) -> None:
        """Fetch the source from ``fetch_url`` from now on (it answered with a permanent redirect)."""
        async with self.db.transaction() as conn:
            await conn.execute("UPDATE sources SET fetch_url = ? WHERE id = ?", (fetch_url, source_id))

    async def record_success(
        self,
        source_id: int,
        *,
        polled_at: dt.datetime,
        next_due_at: dt.datetime,
        etag: str | None = None,
        last_modified: str | None = None,
        title: str | None = None,
    ) -> None:
        """A good poll: validators kept for the next conditional GET, failures reset, error cleared."""
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE sources SET etag = ?, last_modified = ?, title = COALESCE(title, ?), last_polled_at = ?,"
                " next_due_at = ?, failures = 0, last_error = NULL WHERE id = ?",
                (etag, last_modified, title, _iso(polled_at), _iso(next_due_at), source_id),
            )

    async def record_failure(
        self,
        source_id: int,
        *,
        error: str,
        polled_at: dt.datetime,
        next_due_at: dt.datetime,
        count: bool = True,
        pause_after: int | None = None,
    ) -> Source:
        """A failed poll. ``count=False`` records the error without counting it (the server asked us to wait).

        When the consecutive count reaches ``pause_after`` the source is paused, and ``last_error`` says why.
        """
        async with self.db.transaction() as conn:
            await conn.execute(
                "UPDATE sources SET failures = failures + ?, last_error = ?, last_polled_at = ?, next_due_at = ?"
                " WHERE id = ?",
                (1 if count else 0, error, _iso(polled_at), _iso(next_due_at), source_id),
            )
            if pause_after is not None:
                await conn.execute(
                    "UPDATE sources SET status = 'paused',"
                    " last_error = 'paused after ' || failures || ' consecutive failures; last: ' || last_error"
                    " WHERE id = ? AND failures >= ? AND status = 'active'",
                    (source_id, pause_after),
                )
        return await self.get(source_id)

    # --- folder sources -------------------------------------------------------------------------------------

    async def seen_files(self, source_id: int) -> dict[str, SeenFile]:
        cursor = await self.db.conn.execute(
            "SELECT path, size, mtime_ns FROM source_files WHERE source_id = ?", (source_id,)
        )
        return {r[0]: SeenFile(r[0], int(r[1]), int(r[2])) for r in await cursor.fetchall()}

    async def mark_files_seen(self, source_id: int, files: Iterable[SeenFile], *, now: dt.datetime) -> None:
        rows = [(source_id, f.path, f.size, f.mtime_ns, _iso(now)) for f in files]
        if not rows:
            return
        async with self.db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO source_files (source_id, path, size, mtime_ns, seen_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (source_id, path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,"
                " seen_at = excluded.seen_at",
                rows,
            )
