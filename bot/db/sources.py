"""SourceRepository: feeds, pages, folders and files that newsbot polls, with their validators, health and claims.

A source is polled by whoever claims it (:meth:`SourceRepository.claim_due`), so several pollers, in one process or
in several, never fetch the same source at once; recording the poll's success or failure ends the claim.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bot.db import claims
from bot.db.core import Executor, Row, to_datetime, to_datetime_or_none, utcnow
from bot.errors import NewsError

SourceKind = Literal["feed", "page", "folder", "file"]
SourceStatus = Literal["active", "paused"]
SOURCE_KINDS: tuple[SourceKind, ...] = ("feed", "page", "folder", "file")

DUE = claims.Queue(table="sources", ready="status = 'active' AND next_due_at <= $3", order="next_due_at, id")


class SourceNotFound(NewsError):
    pass


class SourceExists(NewsError):
    pass


class SourceAlreadyPaused(NewsError):
    pass


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
    pause_reason: str | None = None
    last_success_at: dt.datetime | None = None
    """None until the first good poll: what a source shows then is its backlog, not news."""
    claimed_by: str | None = None

    @property
    def url(self) -> str:
        """What to fetch."""
        return self.fetch_url or self.location

    @property
    def paused(self) -> bool:
        return self.status == "paused"

    @property
    def last_error_at(self) -> dt.datetime | None:
        """When ``last_error`` happened: a failure is recorded with its poll's time, and the next good poll clears
        it, so a source resumed after failing shows what its last poll did, and when, not a current fault."""
        return self.last_polled_at if self.last_error else None


@dataclass(frozen=True, slots=True)
class SeenFile:
    path: str
    size: int
    mtime_ns: int


def _row_to_source(row: Row) -> Source:
    return Source(
        id=int(row["id"]),
        location=row["location"],
        kind=row["kind"],
        title=row["title"],
        fetch_full_text=bool(row["fetch_full_text"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        next_due_at=to_datetime(row["next_due_at"]),
        last_polled_at=to_datetime_or_none(row["last_polled_at"]),
        failures=int(row["failures"]),
        status=row["status"],
        last_error=row["last_error"],
        created_at=to_datetime(row["created_at"]),
        fetch_url=row["fetch_url"],
        pause_reason=row["pause_reason"],
        last_success_at=to_datetime_or_none(row["last_success_at"]),
        claimed_by=row["claimed_by"],
    )


def _missing(source_id: int) -> SourceNotFound:
    return SourceNotFound(f"There is no source #{source_id}.")


class SourceRepository:
    def __init__(self, ex: Executor) -> None:
        self.ex = ex

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
        now = now or utcnow()
        row = await self.ex.run(
            lambda ex: ex.fetchrow(
                "INSERT INTO sources (location, kind, title, fetch_full_text, next_due_at, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (location) DO NOTHING RETURNING *",
                location,
                kind,
                title,
                fetch_full_text,
                now,
                now,
            )
        )
        if row is None:
            raise SourceExists(f"{location} is already a source.")
        return _row_to_source(row)

    async def get(self, source_id: int) -> Source:
        row = await self.ex.fetchrow("SELECT * FROM sources WHERE id = $1", source_id)
        if row is None:
            raise _missing(source_id)
        return _row_to_source(row)

    async def find(self, location: str) -> Source | None:
        row = await self.ex.fetchrow("SELECT * FROM sources WHERE location = $1", location)
        return _row_to_source(row) if row else None

    async def resolve(self, ref: str) -> Source:
        """A source by id (``12`` or ``#12``) or by its exact location."""
        text = ref.strip()
        digits = text.lstrip("#")
        if digits.isdigit() and len(digits) <= 18:
            return await self.get(int(digits))
        found = await self.find(text)
        if found is None:
            raise SourceNotFound(f"There is no source {text}.")
        return found

    async def all(self) -> list[Source]:
        return [_row_to_source(r) for r in await self.ex.fetch("SELECT * FROM sources ORDER BY id")]

    async def count(self) -> int:
        return int(await self.ex.fetchval("SELECT COUNT(*) FROM sources") or 0)

    async def due(self, now: dt.datetime | None = None, *, limit: int = 1000) -> list[Source]:
        """Active sources whose next poll is due at ``now``, most overdue first (a read: nothing is claimed)."""
        rows = await self.ex.fetch(
            "SELECT * FROM sources WHERE status = 'active' AND next_due_at <= $1 ORDER BY next_due_at, id LIMIT $2",
            now or utcnow(),
            limit,
        )
        return [_row_to_source(r) for r in rows]

    async def claim_due(
        self, *, worker_id: str, limit: int, lease: dt.timedelta, now: dt.datetime | None = None
    ) -> list[Source]:
        """Claim up to ``limit`` due sources for ``worker_id`` (see :mod:`bot.db.claims`), most overdue first."""
        now = now or utcnow()
        rows = await claims.claim(self.ex, DUE, worker_id=worker_id, limit=limit, lease=lease, now=now)
        return sorted((_row_to_source(r) for r in rows), key=lambda s: (s.next_due_at, s.id))

    async def release(self, source_id: int, *, worker_id: str) -> bool:
        return await claims.release(self.ex, DUE, source_id, worker_id=worker_id)

    async def release_all(self, *, worker_id: str) -> int:
        return await claims.release_all(self.ex, DUE, worker_id=worker_id)

    async def remove(self, source_id: int) -> None:
        if await self.ex.execute("DELETE FROM sources WHERE id = $1", source_id) == 0:
            raise _missing(source_id)

    async def pause(self, source_id: int, reason: str | None = None) -> Source:
        """Pause a source; pausing a paused source is refused, so its reason is never silently replaced."""
        source = await self.get(source_id)
        if source.paused:
            raise SourceAlreadyPaused(
                f"Source #{source_id} is already paused"
                + (f" ({source.pause_reason})." if source.pause_reason else ".")
            )
        changed = await self.ex.execute(
            "UPDATE sources SET status = 'paused', pause_reason = $1 WHERE id = $2 AND status = 'active'",
            reason or "paused by the operator",
            source_id,
        )
        if changed == 0:
            return await self.pause(source_id, reason)  # removed or paused meanwhile: say which
        return await self.get(source_id)

    async def resume(self, source_id: int, *, now: dt.datetime | None = None) -> Source:
        """Reactivate, due now, with the failure count reset (the operator says it is worth trying again)."""
        changed = await self.ex.execute(
            "UPDATE sources SET status = 'active', pause_reason = NULL, failures = 0, next_due_at = $1 WHERE id = $2",
            now or utcnow(),
            source_id,
        )
        if changed == 0:
            raise _missing(source_id)
        return await self.get(source_id)

    async def set_fetch_full_text(self, source_id: int, enabled: bool) -> None:
        await self.ex.execute("UPDATE sources SET fetch_full_text = $1 WHERE id = $2", enabled, source_id)

    async def set_title(self, source_id: int, title: str) -> None:
        await self.ex.execute("UPDATE sources SET title = $1 WHERE id = $2", title, source_id)

    async def move(self, source_id: int, fetch_url: str) -> None:
        """Fetch the source from ``fetch_url`` from now on (it answered with a permanent redirect)."""
        await self.ex.execute("UPDATE sources SET fetch_url = $1 WHERE id = $2", fetch_url, source_id)

    async def record_success(
        self,
        source_id: int,
        *,
        polled_at: dt.datetime,
        next_due_at: dt.datetime,
        etag: str | None = None,
        last_modified: str | None = None,
        title: str | None = None,
        worker_id: str | None = None,
    ) -> bool:
        """A good poll: validators kept for the next conditional GET, failures reset, error cleared, claim ended.

        False when the source is gone, or another worker claimed it after this worker's lease ran out (its own
        record will follow).
        """
        changed = await self.ex.execute(
            "UPDATE sources SET etag = $1, last_modified = $2, title = COALESCE(title, $3), last_polled_at = $4,"
            " last_success_at = $4, next_due_at = $5, failures = 0, last_error = NULL,"
            " claimed_by = NULL, claim_expires_at = NULL"
            " WHERE id = $6 AND (claimed_by IS NULL OR claimed_by = $7)",
            etag,
            last_modified,
            title,
            polled_at,
            next_due_at,
            source_id,
            worker_id or "",
        )
        return changed > 0

    async def record_failure(
        self,
        source_id: int,
        *,
        error: str,
        polled_at: dt.datetime,
        next_due_at: dt.datetime,
        count: bool = True,
        pause_after: int | None = None,
        worker_id: str | None = None,
    ) -> Source:
        """A failed poll. ``count=False`` records the error without counting it (the server asked us to wait).

        When the consecutive count reaches ``pause_after`` the source is paused, and ``pause_reason`` says why.
        """

        async def work(ex: Executor) -> None:
            changed = await ex.execute(
                "UPDATE sources SET failures = failures + $1, last_error = $2, last_polled_at = $3, next_due_at = $4,"
                " claimed_by = NULL, claim_expires_at = NULL"
                " WHERE id = $5 AND (claimed_by IS NULL OR claimed_by = $6)",
                1 if count else 0,
                error,
                polled_at,
                next_due_at,
                source_id,
                worker_id or "",
            )
            if changed and pause_after is not None:
                await ex.execute(
                    "UPDATE sources SET status = 'paused',"
                    " pause_reason = 'paused after ' || CAST(failures AS TEXT) || ' consecutive failures; last: '"
                    " || last_error WHERE id = $1 AND failures >= $2 AND status = 'active'",
                    source_id,
                    pause_after,
                )

        await self.ex.run(work)
        return await self.get(source_id)

    # --- folder sources -------------------------------------------------------------------------------------

    async def seen_files(self, source_id: int) -> dict[str, SeenFile]:
        rows = await self.ex.fetch("SELECT path, size, mtime_ns FROM source_files WHERE source_id = $1", source_id)
        return {r[0]: SeenFile(r[0], int(r[1]), int(r[2])) for r in rows}

    async def mark_files_seen(self, source_id: int, files: Iterable[SeenFile], *, now: dt.datetime) -> None:
        rows = [(source_id, f.path, f.size, f.mtime_ns, now) for f in files]
        if not rows:
            return
        await self.ex.executemany(
            "INSERT INTO source_files (source_id, path, size, mtime_ns, seen_at) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (source_id, path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,"
            " seen_at = excluded.seen_at",
            rows,
        )
