"""Comment-domain models: statuses, the stored shape of a comment, bans and actors. Pure: no discord, no SQL."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

#: Discord snowflakes count milliseconds from 2015-01-01T00:00:00Z in their top 42 bits.
DISCORD_EPOCH_MS = 1_420_070_400_000


def snowflake_time(snowflake: int) -> dt.datetime:
    """When the Discord object with this id (a member, a message...) was created, as aware UTC.

    Used for the account-age check: a member's id is their account's creation time.
    """
    if snowflake < 0 or snowflake >= 1 << 64:
        raise ValueError(f"{snowflake} is not a Discord snowflake")
    millis = (snowflake >> 22) + DISCORD_EPOCH_MS
    return dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC)


def require_aware(value: dt.datetime, name: str) -> None:
    """Times in this domain are timezone-aware UTC; a naive one is a programming error, caught early."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got {value!r})")


class CommentStatus(StrEnum):
    """Where a stored comment stands (WordPress's hold / approve / spam / trash)."""

    PENDING = "pending"
    APPROVED = "approved"
    SPAM = "spam"
    TRASH = "trash"


@dataclass(frozen=True, slots=True)
class Comment:
    """A stored comment, with everything the transitions, visibility rules and export need.

    The store builds it from its rows; ``flaggers`` comes from the flags table (one row per member and comment).
    """

    id: int
    guild_id: int
    article_id: int
    author_id: int
    text: str
    """Normalised text (:func:`bot.comments.text.normalise_comment`), as stored and exported."""
    status: CommentStatus
    created_at: dt.datetime
    updated_at: dt.datetime | None = None
    """When the author last edited it; ``None`` if never."""
    previous_status: CommentStatus | None = None
    """While in spam or trash: the status that restore brings back. ``None`` otherwise."""
    hidden: bool = False
    """Hidden by reader flags: out of public view and in the queue until a moderator approves it."""
    shadowed: bool = False
    """Written under a shadow ban: its author is shown it as published, nobody else sees it."""
    flaggers: frozenset[int] = frozenset()
    """Distinct members who flagged it since a moderator last approved it."""
    version: int = 0
    """Incremented by every transition, so the store can update with ``WHERE version = ?`` and let exactly one
    of two concurrent moderators win."""

    def __post_init__(self) -> None:
        require_aware(self.created_at, "created_at")
        if self.updated_at is not None:
            require_aware(self.updated_at, "updated_at")


class BanKind(StrEnum):
    PERMANENT = "permanent"
    TIMED = "timed"
    SHADOW = "shadow"


@dataclass(frozen=True, slots=True)
class Ban:
    """A member's ban from commenting in one server."""

    member_id: int
    until: dt.datetime | None = None
    """End of a timed ban (exclusive); ``None`` for a ban without end."""
    shadow: bool = False
    """A shadow ban: the member may still submit, and is told their comments are published, but nobody else sees
    them (Disqus's shadow ban)."""
    reason: str | None = None
    moderator_id: int | None = None
    created_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        if self.until is not None:
            require_aware(self.until, "until")
        if self.created_at is not None:
            require_aware(self.created_at, "created_at")

    @property
    def kind(self) -> BanKind:
        if self.shadow:
            return BanKind.SHADOW
        return BanKind.PERMANENT if self.until is None else BanKind.TIMED

    def active(self, now: dt.datetime) -> bool:
        """Whether the ban still applies at ``now`` (a timed ban ends at ``until`` exactly)."""
        return self.until is None or now < self.until


@dataclass(frozen=True, slots=True)
class Actor:
    """Whoever acts or looks: a member id and whether they moderate comments in that server.

    ``moderator`` is decided by the glue (Manage Messages or the configured moderator role); the domain only
    reads it.
    """

    id: int
    moderator: bool = False


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the moderation log: who did what to which comment or member, when, from what to what, and why.

    Written by the store in the same unit of work as the change itself. ``action`` is an
    :class:`~bot.comments.moderation.Action` value for comment actions, or ``ban``, ``unban`` or ``settings``.
    ``before`` and ``after`` are short descriptions of the state (``"trash (was approved)"``, ``"banned until
    …"``, ``"15s"``); ``None`` where there was or is nothing (a deleted comment's ``after``).
    """

    guild_id: int
    actor_id: int
    action: str
    at: dt.datetime
    before: str | None
    after: str | None
    comment_id: int | None = None
    member_id: int | None = None
    """The member concerned: the comment's author, or the member banned."""
    reason: str | None = None
    by_moderator: bool = True
    subject: str | None = None
    """What was changed when it is neither a comment nor a member: a setting's name."""

    def __post_init__(self) -> None:
        require_aware(self.at, "at")

    def describe(self) -> str:
        """One line for ``/comments log`` (ids are left to the renderer to turn into mentions)."""
        target = (
            f"comment {self.comment_id}"
            if self.comment_id is not None
            else f"member {self.member_id}"
            if self.member_id is not None
            else self.subject or "comments"
        )
        change = f"{self.before or 'nothing'} → {self.after or 'deleted'}"
        why = f" ({self.reason})" if self.reason else ""
        return f"{self.action} {target}: {change}{why}"
