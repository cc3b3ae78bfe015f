"""Claim-with-lease: how any number of workers, in any number of processes, share a queue of jobs.

A job is a row of a table with two columns, ``claimed_by`` and ``claim_expires_at``. :func:`claim` marks up to
``limit`` ready rows as taken by one worker until the lease expires and returns them, in one statement:
``UPDATE … RETURNING`` on SQLite (writers are serialised there, so the statement is atomic), and
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (concurrent claimers skip each other's rows instead of waiting or taking
them twice). Finishing, failing and releasing a job are explicit statements of the queue's repository that also
clear the claim, guarded by ``claimed_by = <worker>`` so that a worker whose lease ran out cannot overwrite the
result of the worker that took the job over (:func:`guard`). An expired lease is simply ready again: anyone claims it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.db.core import Executor, Row
from bot.db.errors import LeaseLost


@dataclass(frozen=True, slots=True)
class Queue:
    """A table used as a queue. ``ready`` and ``order`` are SQL over the table's columns; ``ready`` may use ``$3``,
    the current time."""

    table: str
    ready: str
    order: str
    key: str = "id"
    on_claim: str = ""
    """More ``SET`` assignments made by the claim itself (counting attempts), and undone by :func:`release`."""
    on_release: str = ""


async def claim(
    ex: Executor, queue: Queue, *, worker_id: str, limit: int, lease: dt.timedelta, now: dt.datetime
) -> list[Row]:
    """Take up to ``limit`` ready, unclaimed (or expired) rows for ``worker_id``; the rows as now stored."""
    if limit <= 0:
        return []
    lock = " FOR UPDATE SKIP LOCKED" if ex.dialect == "postgres" else ""
    sql = (
        f"UPDATE {queue.table} SET claimed_by = $1, claim_expires_at = $2{_also(queue.on_claim)}"
        f" WHERE {queue.key} IN ("
        f"SELECT {queue.key} FROM {queue.table}"
        f" WHERE ({queue.ready}) AND (claimed_by IS NULL OR claim_expires_at <= $3)"
        f" ORDER BY {queue.order} LIMIT $4{lock})"
        " RETURNING *"
    )
    async with ex.transaction() as tx:
        return await tx.fetch(sql, worker_id, now + lease, now, limit)


async def extend(
    ex: Executor, queue: Queue, key: int, *, worker_id: str, lease: dt.timedelta, now: dt.datetime
) -> None:
    """Keep a job for longer (work that outlasts its lease); :class:`LeaseLost` if another worker has it now."""
    changed = await ex.execute(
        f"UPDATE {queue.table} SET claim_expires_at = $1 WHERE {queue.key} = $2 AND claimed_by = $3",
        now + lease,
        key,
        worker_id,
    )
    guard(changed, queue, key)


async def release(ex: Executor, queue: Queue, key: int, *, worker_id: str) -> bool:
    """Give a job back untouched (shutting down); False when it was no longer ours."""
    changed = await ex.execute(
        f"UPDATE {queue.table} SET claimed_by = NULL, claim_expires_at = NULL{_also(queue.on_release)}"
        f" WHERE {queue.key} = $1 AND claimed_by = $2",
        key,
        worker_id,
    )
    return changed > 0


async def release_all(ex: Executor, queue: Queue, *, worker_id: str) -> int:
    """Give back every job this worker holds (a clean shutdown), so nobody waits for the leases to run out."""
    return await ex.execute(
        f"UPDATE {queue.table} SET claimed_by = NULL, claim_expires_at = NULL{_also(queue.on_release)}"
        " WHERE claimed_by = $1",
        worker_id,
    )


def _also(assignments: str) -> str:
    return f", {assignments}" if assignments else ""


def guard(changed: int, queue: Queue, key: int) -> None:
    """Raise :class:`LeaseLost` when a guarded finish/fail statement changed nothing."""
    if changed == 0:
        raise LeaseLost(
            f"{queue.table} row {key} is no longer claimed by this worker (its lease ran out and another took it)."
        )
