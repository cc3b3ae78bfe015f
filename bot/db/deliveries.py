"""DeliveryRepository: the outbox of messages the bot posts on its own, claimed by senders with a lease.

Rows are queued in the same unit of work as whatever causes them (an article stored, a comment approved), at most once
per (kind, subject, channel): queuing again is a no-op. A sender claims ready rows (:data:`READY`, oldest first),
sends each with a nonce derived from its id (:meth:`Delivery.nonce`), and records the outcome with
:meth:`DeliveryRepository.sent`, :meth:`~DeliveryRepository.failed` or :meth:`~DeliveryRepository.skipped`, each
guarded by its claim, in one transaction with whatever else belongs to that outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.db import claims
from bot.db.core import Executor, Row, to_datetime, to_datetime_or_none, utcnow

DeliveryKind = Literal["article", "comment", "queue", "notice"]
DeliveryStatus = Literal["pending", "sent", "skipped", "failed"]
DELIVERY_KINDS: tuple[DeliveryKind, ...] = ("article", "comment", "queue", "notice")

READY = claims.Queue(
    table="deliveries",
    ready="status IN ('pending', 'failed') AND due_at IS NOT NULL AND due_at <= $3",
    order="due_at, id",
    on_claim="attempts = attempts + 1",
    on_release="attempts = attempts - 1",
)


@dataclass(frozen=True, slots=True)
class NewDelivery:
    kind: DeliveryKind
    subject_id: int
    guild_id: int
    channel_id: int
    origin_id: int | None = None
    status: DeliveryStatus = "pending"
    """``skipped`` records a decision not to post (a filter, a cap) so that "why wasn't it posted?" has an answer."""
    reason: str | None = None
    detail: str | None = None
    due_at: dt.datetime | None = None
    """Not before then (default: now); ignored for skipped rows."""


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    kind: DeliveryKind
    subject_id: int
    guild_id: int
    channel_id: int
    origin_id: int | None
    status: DeliveryStatus
    reason: str | None
    detail: str | None
    attempts: int
    due_at: dt.datetime | None
    message_id: int | None
    thread_id: int | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    claimed_by: str | None

    @property
    def nonce(self) -> str:
        """The same for every attempt of this row (Discord returns the first message for a repeated nonce), and
        at most 25 characters as Discord requires."""
        return f"newsbot-{self.id}"


def _row(row: Row) -> Delivery:
    return Delivery(
        id=int(row["id"]),
        kind=row["kind"],
        subject_id=int(row["subject_id"]),
        guild_id=int(row["guild_id"]),
        channel_id=int(row["channel_id"]),
        origin_id=None if row["origin_id"] is None else int(row["origin_id"]),
        status=row["status"],
        reason=row["reason"],
        detail=row["detail"],
        attempts=int(row["attempts"]),
        due_at=to_datetime_or_none(row["due_at"]),
        message_id=None if row["message_id"] is None else int(row["message_id"]),
        thread_id=None if row["thread_id"] is None else int(row["thread_id"]),
        created_at=to_datetime(row["created_at"]),
        sent_at=to_datetime_or_none(row["sent_at"]),
        claimed_by=row["claimed_by"],
    )


class DeliveryRepository:
    def __init__(self, ex: Executor) -> None:
        self.ex = ex

    async def enqueue(self, rows: Iterable[NewDelivery], *, now: dt.datetime | None = None) -> int:
        """Queue deliveries; a (kind, subject, channel) already queued, in any status, is left as it is.

        Returns how many rows were new. Call it inside the unit of work that causes the deliveries.
        """
        now = now or utcnow()
        values = [
            (
                r.kind,
                r.subject_id,
                r.guild_id,
                r.channel_id,
                r.origin_id,
                r.status,
                r.reason,
                r.detail,
                None if r.status == "skipped" else (r.due_at or now),
                now,
            )
            for r in rows
        ]
        if not values:
            return 0
        # Sorted by the unique key, so concurrent writers take the index locks in one order (no deadlocks).
        values.sort(key=lambda v: (v[0], v[1], v[3]))
        inserted = 0
        width = len(values[0])
        per_statement = max(1, 900 // width)
        for start in range(0, len(values), per_statement):
            part = values[start : start + per_statement]
            marks = ", ".join(
                "(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")" for r in range(len(part))
            )
            got = await self.ex.fetch(
                "INSERT INTO deliveries (kind, subject_id, guild_id, channel_id, origin_id, status, reason, detail,"
                f" due_at, created_at) VALUES {marks}"
                " ON CONFLICT (kind, subject_id, channel_id) DO NOTHING RETURNING id",
                *[v for row in part for v in row],
            )
            inserted += len(got)
        return inserted

    async def claim(
        self, *, worker_id: str, limit: int, lease: dt.timedelta, now: dt.datetime | None = None
    ) -> list[Delivery]:
        """Up to ``limit`` ready deliveries for ``worker_id``, oldest first; each claim also counts an attempt."""
        now = now or utcnow()
        rows = await claims.claim(self.ex, READY, worker_id=worker_id, limit=limit, lease=lease, now=now)
        return sorted((_row(r) for r in rows), key=lambda d: (d.due_at or now, d.id))

    async def sent(
        self,
        delivery_id: int,
        *,
        worker_id: str,
        message_id: int,
        thread_id: int | None = None,
        now: dt.datetime | None = None,
    ) -> None:
        """Record the posted message; :class:`~bot.db.errors.LeaseLost` if this worker no longer holds the row."""
        changed = await self.ex.execute(
            "UPDATE deliveries SET status = 'sent', message_id = $1, thread_id = $2, sent_at = $3, due_at = NULL,"
            " reason = NULL, detail = NULL, claimed_by = NULL, claim_expires_at = NULL"
            " WHERE id = $4 AND claimed_by = $5",
            message_id,
            thread_id,
            now or utcnow(),
            delivery_id,
            worker_id,
        )
        claims.guard(changed, READY, delivery_id)

    async def failed(
        self, delivery_id: int, *, worker_id: str, reason: str, detail: str, retry_at: dt.datetime | None
    ) -> None:
        """An attempt failed; it is tried again at ``retry_at`` (None: given up; it stays failed with its error)."""
        changed = await self.ex.execute(
            "UPDATE deliveries SET status = 'failed', reason = $1, detail = $2, due_at = $3,"
            " claimed_by = NULL, claim_expires_at = NULL WHERE id = $4 AND claimed_by = $5",
            reason,
            detail,
            retry_at,
            delivery_id,
            worker_id,
        )
        claims.guard(changed, READY, delivery_id)

    async def skipped(self, delivery_id: int, *, worker_id: str, reason: str, detail: str | None = None) -> None:
        """Decided at send time not to post it (the subscription was paused, the channel is gone …)."""
        changed = await self.ex.execute(
            "UPDATE deliveries SET status = 'skipped', reason = $1, detail = $2, due_at = NULL,"
            " claimed_by = NULL, claim_expires_at = NULL WHERE id = $3 AND claimed_by = $4",
            reason,
            detail,
            delivery_id,
            worker_id,
        )
        claims.guard(changed, READY, delivery_id)

    async def set_thread(self, delivery_id: int, thread_id: int) -> None:
        """The thread opened on a posted message (after the message itself was recorded as sent)."""
        await self.ex.execute("UPDATE deliveries SET thread_id = $1 WHERE id = $2", thread_id, delivery_id)

    async def release(self, delivery_id: int, *, worker_id: str) -> bool:
        """Hand a claimed row back untouched (shutting down before sending it); its attempt is not counted."""
        return await claims.release(self.ex, READY, delivery_id, worker_id=worker_id)

    async def release_all(self, *, worker_id: str) -> int:
        return await claims.release_all(self.ex, READY, worker_id=worker_id)

    async def retry(self, ids: Sequence[int], *, at: dt.datetime | None = None) -> int:
        """Make given-up or skipped rows ready again (a subscription resumed, a permission granted)."""
        if not ids:
            return 0
        marks = ", ".join(f"${i}" for i in range(2, len(ids) + 2))
        return await self.ex.execute(
            f"UPDATE deliveries SET status = 'pending', due_at = $1, reason = NULL, detail = NULL"
            f" WHERE status IN ('failed', 'skipped') AND id IN ({marks})",
            at or utcnow(),
            *ids,
        )

    async def get(self, delivery_id: int) -> Delivery | None:
        row = await self.ex.fetchrow("SELECT * FROM deliveries WHERE id = $1", delivery_id)
        return _row(row) if row else None

    async def for_subject(self, kind: DeliveryKind, subject_id: int) -> list[Delivery]:
        """Every delivery of one article (or comment …), by channel: the answer to "was it posted, and where?"."""
        rows = await self.ex.fetch(
            "SELECT * FROM deliveries WHERE kind = $1 AND subject_id = $2 ORDER BY channel_id, id", kind, subject_id
        )
        return [_row(r) for r in rows]

    async def counts(self) -> dict[DeliveryStatus, int]:
        rows = await self.ex.fetch("SELECT status, COUNT(*) FROM deliveries GROUP BY status")
        return {r[0]: int(r[1]) for r in rows}

    async def next_due(self) -> dt.datetime | None:
        """When the next row becomes ready (a sender sleeps until then, or until it is woken)."""
        value = await self.ex.fetchval(
            "SELECT MIN(due_at) FROM deliveries WHERE status IN ('pending', 'failed') AND due_at IS NOT NULL"
        )
        return to_datetime_or_none(value)
