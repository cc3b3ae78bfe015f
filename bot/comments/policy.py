"""The policy pipeline: what happens to a submitted comment, decided from its text, the facts the store knows
about its author, the server's settings and the time. Pure: the caller looks the facts up and stores the result.

Order of checks, first match wins for refusals; content checks all run and the most severe status wins:

1. **ban** (permanent or timed, still active) → refused. Nothing else matters, so a banned member is not made to
   fix a text that will be refused anyway.
2. **form**: raw text over :data:`~bot.comments.text.MAX_INPUT_CHARS`, empty once normalised, or longer than
   ``max_length`` → refused. The member can fix it and resubmit.
3. **flood**: the author's previous comment (any article, any status) is less than ``flood_interval`` old →
   refused, with the wait. Exactly ``flood_interval`` later is allowed (WordPress: ``< 15``). Moderators are
   exempt, as in WordPress. Not applied to edits.
4. **duplicate**: the author already has this text on this article → refused (WordPress answers 409).
5. **shadow ban** → ``spam`` and marked ``shadowed``; the author is told it is published. It comes after the
   refusals so a shadow-banned member is refused exactly as anyone else would be and learns nothing.
6. **moderator** → approved: "the author and the admins get respect" (WordPress ``wp_allow_comment``).
7. **content**, all evaluated so moderators see every reason: block words → ``spam``; hold words, more than
   ``max_links`` distinct links, an account younger than ``min_account_age``, pre-moderation (unless
   ``trust_approved_authors`` and the author has an approved comment) → ``pending``. Spam beats pending:
   block words beat hold words.
8. otherwise → ``approved``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from bot.comments.durations import format_duration, format_time
from bot.comments.keywords import matcher_for, tokenise
from bot.comments.models import Ban, Comment, CommentStatus, require_aware
from bot.comments.settings import CommentSettings
from bot.comments.text import MAX_INPUT_CHARS, duplicate_key, find_links, has_visible_text, normalise_comment


@dataclass(frozen=True, slots=True)
class Submission:
    """A comment as the member typed it, from the modal, the slash command or a discussion thread."""

    guild_id: int
    article_id: int
    author_id: int
    text: str


@dataclass(frozen=True, slots=True)
class AuthorFacts:
    """What the store knows about the author, looked up before :func:`evaluate` (all in one read).

    ``account_created_at`` is required: use :func:`bot.comments.models.snowflake_time` of the author's id (or
    discord.py's ``Member.created_at``, which is the same).
    """

    account_created_at: dt.datetime
    last_comment_at: dt.datetime | None = None
    """Creation time of the author's latest stored comment in this server, on any article and in any status."""
    duplicate_exists: bool = False
    """The author has a comment on this article, in any status but trash, whose
    :func:`~bot.comments.text.duplicate_key` equals the submission's (for an edit: another comment than the one
    edited)."""
    has_approved_comment: bool = False
    """The author has at least one approved comment in this server."""
    ban: Ban | None = None
    """The author's ban in this server, if any (expired bans may be passed; they are ignored)."""
    is_moderator: bool = False


class ReasonCode(StrEnum):
    BANNED = "banned"
    EMPTY = "empty"
    TOO_LONG = "too_long"
    FLOOD = "flood"
    DUPLICATE = "duplicate"
    SHADOW_BAN = "shadow_ban"
    BLOCK_WORD = "block_word"
    HOLD_WORD = "hold_word"
    TOO_MANY_LINKS = "too_many_links"
    NEW_ACCOUNT = "new_account"
    PREMODERATION = "premoderation"


#: Codes that refuse a submission: nothing is stored.
REFUSALS = frozenset({ReasonCode.BANNED, ReasonCode.EMPTY, ReasonCode.TOO_LONG, ReasonCode.FLOOD, ReasonCode.DUPLICATE})


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    member: str
    """For the author, in general terms: completes "…because {member}." or "…: {member}."."""
    moderator: str
    """For moderators, precise: which words, how many links, how old the account is."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a submission. ``status`` is ``None`` when it is refused (and nothing is stored)."""

    status: CommentStatus | None
    text: str
    """The normalised text to store."""
    key: str
    """Its :func:`~bot.comments.text.duplicate_key`, to store with it."""
    reasons: tuple[Reason, ...] = ()
    shadowed: bool = False
    """Stored as spam because of a shadow ban; the author is told it is published."""
    retry_after: dt.timedelta | None = None
    """For a flood refusal: how long until the author may comment again."""

    @property
    def refused(self) -> bool:
        return self.status is None

    @property
    def appears_published(self) -> bool:
        """Whether the author is told their comment is published (true for a shadow ban, by design)."""
        return self.status is CommentStatus.APPROVED or self.shadowed

    @property
    def codes(self) -> tuple[ReasonCode, ...]:
        return tuple(r.code for r in self.reasons)

    @property
    def member_message(self) -> str:
        """The one sentence the author is shown."""
        if self.refused:
            return f"Your comment was not accepted: {self.reasons[0].member}."
        if self.appears_published:
            return "Your comment is published."
        shown = tuple(r for r in self.reasons if r.code is ReasonCode.BLOCK_WORD) or self.reasons
        return f"Your comment is held for review because {_join(r.member for r in shown)}."

    @property
    def moderator_message(self) -> str:
        """What moderators are shown about this decision (the queue, the audit log)."""
        if not self.reasons:
            return "Approved: no check held it."
        label = "Refused" if self.refused else "Marked as spam" if self.status is CommentStatus.SPAM else "Held"
        return f"{label}: {'; '.join(r.moderator for r in self.reasons)}."


def _join(parts: Iterable[str]) -> str:
    items = list(dict.fromkeys(parts))
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def evaluate(submission: Submission, facts: AuthorFacts, settings: CommentSettings, now: dt.datetime) -> Decision:
    """Decide a new comment. See the module docstring for the order of the checks."""
    return _evaluate(submission.text, facts, settings, now, flood=True)


def evaluate_edit(
    comment: Comment, new_text: str, facts: AuthorFacts, settings: CommentSettings, now: dt.datetime
) -> Decision:
    """Decide an edit's new text: the same checks as a new comment but the flood check (an edit is not a new
    comment). The comment's own text never makes the new one a duplicate, even if the store's duplicate look-up
    did not leave it out. Whether the edit is allowed at all (author, window, status) is
    :func:`bot.comments.moderation.apply`'s business; pass it this decision."""
    return _evaluate(new_text, facts, settings, now, flood=False, own_key=duplicate_key(comment.text))


def _evaluate(
    raw: str,
    facts: AuthorFacts,
    settings: CommentSettings,
    now: dt.datetime,
    *,
    flood: bool,
    own_key: str | None = None,
) -> Decision:
    require_aware(now, "now")
    require_aware(facts.account_created_at, "account_created_at")

    ban = facts.ban if facts.ban is not None and facts.ban.active(now) else None
    if ban is not None and not ban.shadow:
        return _refuse("", "", _banned(ban))

    if len(raw) > MAX_INPUT_CHARS:
        return _refuse("", "", _too_long(len(raw), settings.max_length))
    text = normalise_comment(raw)
    key = duplicate_key(text)
    if not has_visible_text(text):
        return _refuse(text, key, Reason(ReasonCode.EMPTY, "it has no text", "empty once normalised"))
    if len(text) > settings.max_length:
        return _refuse(text, key, _too_long(len(text), settings.max_length))

    if flood and not facts.is_moderator and settings.flood_interval and facts.last_comment_at is not None:
        since = now - facts.last_comment_at
        if since < settings.flood_interval:
            wait = settings.flood_interval - max(since, dt.timedelta(0))
            seconds = max(1, math.ceil(wait.total_seconds()))
            reason = Reason(
                ReasonCode.FLOOD,
                f"you are commenting too fast; try again in {seconds} second{'s' if seconds != 1 else ''}",
                f"previous comment {format_duration(max(since, dt.timedelta(0)))} earlier "
                f"(interval {format_duration(settings.flood_interval)})",
            )
            return Decision(None, text, key, (reason,), retry_after=wait)

    if settings.refuse_duplicates and facts.duplicate_exists and key != own_key:
        reason = Reason(
            ReasonCode.DUPLICATE,
            "you already posted this comment on this article",
            "same text as an earlier comment by the author on this article",
        )
        return _refuse(text, key, reason)

    if ban is not None:
        when = "permanently" if ban.until is None else f"until {format_time(ban.until)}"
        reason = Reason(ReasonCode.SHADOW_BAN, "", f"author is shadow-banned {when}")
        return Decision(CommentStatus.SPAM, text, key, (reason,), shadowed=True)

    if facts.is_moderator:
        return Decision(CommentStatus.APPROVED, text, key)

    reasons = _content_reasons(text, facts, settings, now)
    if any(r.code is ReasonCode.BLOCK_WORD for r in reasons):
        status = CommentStatus.SPAM
    elif reasons:
        status = CommentStatus.PENDING
    else:
        status = CommentStatus.APPROVED
    return Decision(status, text, key, reasons)


def _content_reasons(text: str, facts: AuthorFacts, settings: CommentSettings, now: dt.datetime) -> tuple[Reason, ...]:
    reasons: list[Reason] = []
    block, hold = matcher_for(settings.block_words), matcher_for(settings.hold_words)
    if block or hold:
        tokens = tokenise(text)
        blocked = block.find(tokens)
        if blocked:
            reasons.append(
                Reason(
                    ReasonCode.BLOCK_WORD,
                    "it contains words this server does not allow",
                    f"contains blocked {_words(blocked)}",
                )
            )
        held = hold.find(tokens)
        if held:
            reasons.append(
                Reason(
                    ReasonCode.HOLD_WORD,
                    "it contains words this server reviews first",
                    f"contains held {_words(held)}",
                )
            )
    if settings.max_links is not None:
        links = find_links(text)
        if len(links) > settings.max_links:
            general = "it contains a link" if settings.max_links == 0 else "it contains several links"
            reasons.append(
                Reason(
                    ReasonCode.TOO_MANY_LINKS,
                    general,
                    f"{len(links)} distinct link{'s' if len(links) != 1 else ''} (limit {settings.max_links})",
                )
            )
    if settings.min_account_age:
        age = now - facts.account_created_at
        if age < settings.min_account_age:
            reasons.append(
                Reason(
                    ReasonCode.NEW_ACCOUNT,
                    "your Discord account is new",
                    f"account {format_duration(max(age, dt.timedelta(0)))} old "
                    f"(minimum {format_duration(settings.min_account_age)})",
                )
            )
    if settings.premoderation and not (settings.trust_approved_authors and facts.has_approved_comment):
        detail = "the author has no approved comment yet" if settings.trust_approved_authors else "every comment"
        reasons.append(
            Reason(
                ReasonCode.PREMODERATION,
                "this server reviews comments before publishing them",
                f"pre-moderation is on ({detail})",
            )
        )
    return tuple(reasons)


def _words(entries: tuple[str, ...]) -> str:
    shown = ", ".join(f'"{e}"' for e in entries[:10])
    more = f" and {len(entries) - 10} more" if len(entries) > 10 else ""
    return f"word{'s' if len(entries) != 1 else ''} {shown}{more}"


def _refuse(text: str, key: str, reason: Reason) -> Decision:
    return Decision(None, text, key, (reason,))


def _banned(ban: Ban) -> Reason:
    if ban.until is None:
        return Reason(
            ReasonCode.BANNED, "you are banned from commenting on this server", "author is banned permanently"
        )
    until = format_time(ban.until)
    return Reason(
        ReasonCode.BANNED,
        f"you are banned from commenting on this server until {until}",
        f"author is banned until {until}",
    )


def _too_long(length: int, limit: int) -> Reason:
    return Reason(
        ReasonCode.TOO_LONG,
        f"it is {length} characters long and the limit is {limit}",
        f"{length} characters (limit {limit})",
    )
