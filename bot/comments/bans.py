"""Bans from commenting: built from what a moderator types, described for members and the audit log."""

from __future__ import annotations

import datetime as dt

from bot.comments.durations import format_time, parse_ban_duration
from bot.comments.errors import NotPermitted, TransitionError
from bot.comments.models import Actor, AuditEntry, Ban, require_aware
from bot.comments.moderation import clean_reason


def describe_ban(ban: Ban | None, now: dt.datetime) -> str:
    """A ban's state in a few words: "not banned", "banned permanently", "shadow-banned until 2025-03-01 14:05 UTC"."""
    if ban is None or not ban.active(now):
        return "not banned"
    label = "shadow-banned" if ban.shadow else "banned"
    return f"{label} permanently" if ban.until is None else f"{label} until {format_time(ban.until)}"


def ban_member(
    member_id: int,
    *,
    guild_id: int,
    moderator: Actor,
    now: dt.datetime,
    duration: str | None = None,
    shadow: bool = False,
    reason: str | None = None,
    current: Ban | None = None,
) -> tuple[Ban, AuditEntry]:
    """A new ban of ``member_id`` and its audit entry. ``duration`` is as typed ("30m", "7d", "forever"; empty
    means permanent). A new ban replaces ``current``, the member's existing one, whatever it was.

    Raises :class:`~bot.comments.errors.DurationError` for a duration it can't read and
    :class:`~bot.comments.errors.TransitionError` when a moderator bans themselves.
    """
    require_aware(now, "now")
    if not moderator.moderator:
        raise NotPermitted("Only moderators can ban members from commenting.")
    if member_id == moderator.id:
        raise TransitionError("You cannot ban yourself.")
    length = parse_ban_duration(duration)
    note = clean_reason(reason)
    ban = Ban(
        member_id=member_id,
        until=None if length is None else now + length,
        shadow=shadow,
        reason=note,
        moderator_id=moderator.id,
        created_at=now,
    )
    audit = AuditEntry(
        guild_id=guild_id,
        actor_id=moderator.id,
        action="ban",
        at=now,
        before=describe_ban(current, now),
        after=describe_ban(ban, now),
        member_id=member_id,
        reason=note,
    )
    return ban, audit


def unban_member(
    current: Ban | None, *, member_id: int, guild_id: int, moderator: Actor, now: dt.datetime, reason: str | None = None
) -> AuditEntry:
    """The audit entry for lifting ``current``; the store then deletes the ban. Refused when there is no active
    ban to lift."""
    require_aware(now, "now")
    if not moderator.moderator:
        raise NotPermitted("Only moderators can lift bans.")
    if current is None or not current.active(now):
        raise TransitionError("That member is not banned from commenting.")
    return AuditEntry(
        guild_id=guild_id,
        actor_id=moderator.id,
        action="unban",
        at=now,
        before=describe_ban(current, now),
        after="not banned",
        member_id=member_id,
        reason=clean_reason(reason),
    )
