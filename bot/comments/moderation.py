"""Moderation transitions: approve, spam, trash, restore, edit, flag and delete, as one pure function.

:func:`apply` takes a comment's current state and returns the new state with everything the store must write in
the same unit of work: the audit entry, the edit history record, the new flag, and what changes for the queue
and the published copy. Impossible transitions raise :class:`~bot.comments.errors.TransitionError` with a
sentence for the actor. The store then writes ``after`` with ``WHERE id = ? AND version = before.version``: when
two moderators act at once, exactly one update matches and the other is told the comment changed meanwhile.

Rules (WordPress's statuses, Discourse's and Disqus's flags):

- approve: pending, spam, or approved but hidden/flagged → approved; it clears the hide and the flags. A comment
  in the trash must be restored first.
- spam, trash: remember the status they came from in ``previous_status``; spam from the trash is refused
  (restore first); trash from spam is allowed and remembers spam.
- restore: from spam or trash back to ``previous_status`` (pending when unknown, as WordPress's untrash).
- edit: the author only, within ``edit_window`` of posting (exactly at the limit is allowed), never while hidden
  by flags or after a moderator removed it; the new text must have passed
  :func:`bot.comments.policy.evaluate_edit` and is stored with the status it decided. The old text goes to the
  edit history. A shadowed comment keeps its removed status through edits, so the author still can't tell.
- flag: any member but the author, once per member, on a published comment. ``flag_threshold`` distinct flags
  hide it and queue it for moderators.
- delete: the author, in any status (it is their data); a moderator, from spam or trash ("delete permanently").

Only moderators approve, spam, trash and restore. Members who may not see a comment are told it was not found.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from bot.comments.durations import format_duration
from bot.comments.errors import NotPermitted, TransitionError
from bot.comments.models import Actor, AuditEntry, Comment, CommentStatus, require_aware
from bot.comments.policy import Decision
from bot.comments.settings import CommentSettings
from bot.comments.text import normalise_comment
from bot.comments.visibility import in_queue, is_public
from bot.news.format import shorten

#: Moderators' reasons and members' flag reasons are notes, not essays.
MAX_REASON_CHARS = 500


class Action(StrEnum):
    APPROVE = "approve"
    SPAM = "spam"
    TRASH = "trash"
    RESTORE = "restore"
    EDIT = "edit"
    FLAG = "flag"
    DELETE = "delete"


MODERATOR_ACTIONS = frozenset({Action.APPROVE, Action.SPAM, Action.TRASH, Action.RESTORE})
BULK_ACTIONS = frozenset({Action.APPROVE, Action.SPAM, Action.TRASH, Action.RESTORE, Action.DELETE})
_VERBS = {
    Action.APPROVE: "approve",
    Action.SPAM: "mark as spam",
    Action.TRASH: "move to the trash",
    Action.RESTORE: "restore",
}


class Publication(StrEnum):
    """What happens to the comment's published copy (the message in the article's thread or channel)."""

    PUBLISH = "publish"
    WITHDRAW = "withdraw"
    UPDATE = "update"


@dataclass(frozen=True, slots=True)
class EditRecord:
    """The text an edit replaced, for the comment's edit history."""

    comment_id: int
    previous_text: str
    previous_status: CommentStatus
    edited_at: dt.datetime
    editor_id: int


@dataclass(frozen=True, slots=True)
class FlagRecord:
    """A member's flag on a comment; the store keeps (comment, member) unique."""

    comment_id: int
    member_id: int
    reason: str | None
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Transition:
    """The outcome of :func:`apply`: write ``after`` (delete the row when ``None``), ``audit``, ``edit`` and
    ``flag`` in one unit of work; delete the comment's flags when ``clear_flags``."""

    action: Action
    before: Comment
    after: Comment | None
    audit: AuditEntry
    edit: EditRecord | None = None
    flag: FlagRecord | None = None
    clear_flags: bool = False

    @property
    def publication(self) -> Publication | None:
        """Whether the published copy must be posted, withdrawn or updated, or ``None`` for no change."""
        was = is_public(self.before)
        now = self.after is not None and is_public(self.after)
        if now and not was:
            return Publication.PUBLISH
        if was and not now:
            return Publication.WITHDRAW
        if was and now and self.after is not None and self.after.text != self.before.text:
            return Publication.UPDATE
        return None

    @property
    def entered_queue(self) -> bool:
        """The comment now waits for a moderator and did not before: post it to the queue channel."""
        return self.after is not None and in_queue(self.after) and not in_queue(self.before)

    @property
    def left_queue(self) -> bool:
        """The comment waited for a moderator and no longer does: update its queue message to the outcome."""
        return in_queue(self.before) and (self.after is None or not in_queue(self.after))


def state_label(comment: Comment | None) -> str:
    """A comment's state in a few words, as the audit log records it."""
    if comment is None:
        return "deleted"
    label = comment.status.value
    if comment.previous_status is not None:
        label += f" (was {comment.previous_status.value})"
    if comment.hidden:
        label += ", hidden by flags"
    if comment.shadowed:
        label += ", shadow-banned author"
    return label


def clean_reason(reason: str | None) -> str | None:
    """A reason as stored: normalised like a comment, on one line, at most :data:`MAX_REASON_CHARS`."""
    if reason is None:
        return None
    text = shorten(normalise_comment(reason), MAX_REASON_CHARS)
    return text or None


def apply(
    action: Action,
    comment: Comment,
    *,
    actor: Actor,
    now: dt.datetime,
    settings: CommentSettings,
    reason: str | None = None,
    decision: Decision | None = None,
) -> Transition:
    """``comment`` after ``actor`` takes ``action`` at ``now``. See the module docstring for the rules.

    ``decision`` is required for :attr:`Action.EDIT` (the policy's verdict on the new text) and ignored
    otherwise. ``reason`` is the moderator's reason, or the flag's.
    """
    require_aware(now, "now")
    note = clean_reason(reason)
    if action in MODERATOR_ACTIONS and not actor.moderator:
        raise NotPermitted(f"Only moderators can {_VERBS[action]} comments.")
    edit: EditRecord | None = None
    flag: FlagRecord | None = None
    clear_flags = False
    cid = comment.id
    if action is Action.APPROVE:
        if comment.status is CommentStatus.TRASH:
            raise TransitionError(f"Comment {cid} is in the trash; restore it first.")
        if comment.status is CommentStatus.APPROVED and not comment.hidden and not comment.flaggers:
            raise TransitionError(f"Comment {cid} is already approved.")
        clear_flags = bool(comment.flaggers)
        after = _next(comment, status=CommentStatus.APPROVED, previous_status=None, hidden=False, flaggers=frozenset())
    elif action is Action.SPAM:
        if comment.status is CommentStatus.SPAM:
            raise TransitionError(f"Comment {cid} is already marked as spam.")
        if comment.status is CommentStatus.TRASH:
            raise TransitionError(f"Comment {cid} is in the trash; restore it first.")
        after = _next(comment, status=CommentStatus.SPAM, previous_status=comment.status)
    elif action is Action.TRASH:
        if comment.status is CommentStatus.TRASH:
            raise TransitionError(f"Comment {cid} is already in the trash.")
        after = _next(comment, status=CommentStatus.TRASH, previous_status=comment.status)
    elif action is Action.RESTORE:
        if comment.status not in (CommentStatus.TRASH, CommentStatus.SPAM):
            raise TransitionError(f"Comment {cid} is not in the trash or spam; there is nothing to restore.")
        after = _next(comment, status=comment.previous_status or CommentStatus.PENDING, previous_status=None)
    elif action is Action.EDIT:
        after, edit = _edit(comment, actor, now, settings, decision)
    elif action is Action.FLAG:
        after, flag = _flag(comment, actor, now, settings, note)
    elif action is Action.DELETE:
        _check_delete(comment, actor)
        after = None
    else:  # pragma: no cover - exhaustive over Action
        raise TransitionError(f"Unknown action {action!r}.")
    audit = AuditEntry(
        guild_id=comment.guild_id,
        actor_id=actor.id,
        action=action.value,
        at=now,
        before=state_label(comment),
        after=state_label(after) if after is not None else None,
        comment_id=comment.id,
        member_id=comment.author_id,
        reason=note,
        by_moderator=action in MODERATOR_ACTIONS or (actor.moderator and actor.id != comment.author_id),
    )
    return Transition(action, comment, after, audit, edit=edit, flag=flag, clear_flags=clear_flags)


def _next(comment: Comment, **changes: Any) -> Comment:
    return replace(comment, version=comment.version + 1, **changes)


def _edit(
    comment: Comment, actor: Actor, now: dt.datetime, settings: CommentSettings, decision: Decision | None
) -> tuple[Comment, EditRecord]:
    cid = comment.id
    if actor.id != comment.author_id:
        raise NotPermitted("Only the author of a comment can edit it.")
    if decision is None:
        raise ValueError("an edit needs the policy's decision on the new text (evaluate_edit)")
    removed = comment.status in (CommentStatus.SPAM, CommentStatus.TRASH)
    if removed and not comment.shadowed:
        raise TransitionError(f"Comment {cid} was removed by a moderator and can no longer be edited.")
    if comment.hidden:
        raise TransitionError(f"Comment {cid} is hidden while moderators review it and can't be edited now.")
    if not settings.edit_window:
        raise TransitionError("Editing comments is turned off on this server.")
    if now - comment.created_at > settings.edit_window:
        raise TransitionError(
            f"Comment {cid} can no longer be edited: comments can be edited for "
            f"{format_duration(settings.edit_window)} after posting."
        )
    if decision.refused or decision.status is None:
        raise TransitionError(decision.member_message.replace("Your comment was", "Your edit was"))
    if decision.text == comment.text:
        raise TransitionError("The new text is the same as the current one.")
    if removed:
        # A shadowed comment: its author believes it is published; moderators' verdict on it stands.
        status, previous = comment.status, comment.previous_status
    else:
        status, previous = decision.status, None
    after = _next(
        comment,
        text=decision.text,
        status=status,
        previous_status=previous,
        shadowed=comment.shadowed or decision.shadowed,
        updated_at=now,
    )
    record = EditRecord(cid, comment.text, comment.status, now, actor.id)
    return after, record


def _flag(
    comment: Comment, actor: Actor, now: dt.datetime, settings: CommentSettings, note: str | None
) -> tuple[Comment, FlagRecord]:
    if actor.id == comment.author_id:
        raise NotPermitted("You cannot flag your own comment.")
    if not actor.moderator and not is_public(comment):
        raise TransitionError(f"Comment {comment.id} was not found.")
    if comment.status is not CommentStatus.APPROVED:
        raise TransitionError(f"Comment {comment.id} is not published; only published comments can be flagged.")
    if actor.id in comment.flaggers:
        raise TransitionError(f"You have already flagged comment {comment.id}.")
    flaggers = comment.flaggers | {actor.id}
    threshold = settings.flag_threshold
    hidden = comment.hidden or bool(threshold and len(flaggers) >= threshold)
    after = _next(comment, flaggers=flaggers, hidden=hidden)
    return after, FlagRecord(comment.id, actor.id, note, now)


def _check_delete(comment: Comment, actor: Actor) -> None:
    if actor.id == comment.author_id:
        return
    if not actor.moderator:
        if not is_public(comment):
            raise TransitionError(f"Comment {comment.id} was not found.")
        raise NotPermitted("You can only delete your own comments.")
    if comment.status not in (CommentStatus.SPAM, CommentStatus.TRASH):
        raise TransitionError(f"Move comment {comment.id} to the trash or spam before deleting it for good.")


@dataclass(frozen=True, slots=True)
class BulkResult:
    """The transitions to write and the comments left as they were, each with the reason."""

    action: Action
    transitions: tuple[Transition, ...]
    skipped: tuple[tuple[int, str], ...]

    def summary(self) -> str:
        """One sentence for the moderator: "3 comments moved to the trash; 1 skipped."."""
        done = len(self.transitions)
        verb = {
            Action.APPROVE: "approved",
            Action.SPAM: "marked as spam",
            Action.TRASH: "moved to the trash",
            Action.RESTORE: "restored",
            Action.DELETE: "deleted",
        }.get(self.action, self.action.value)
        text = f"{done} comment{'s' if done != 1 else ''} {verb}"
        if self.skipped:
            text += f"; {len(self.skipped)} skipped"
        return text + "."


def apply_bulk(
    action: Action,
    comments: Iterable[Comment],
    *,
    actor: Actor,
    now: dt.datetime,
    settings: CommentSettings,
    reason: str | None = None,
) -> BulkResult:
    """:func:`apply` to each of ``comments`` (a member's or an article's, chosen by the store); comments the action
    does not apply to (already approved, not in the trash...) are skipped with the reason, not fatal."""
    if not actor.moderator:
        raise NotPermitted("Only moderators can act on comments in bulk.")
    if action not in BULK_ACTIONS:
        names = ", ".join(sorted(a.value for a in BULK_ACTIONS))
        raise TransitionError(f"{action.value!r} can't be done in bulk; choose one of {names}.")
    done: list[Transition] = []
    skipped: list[tuple[int, str]] = []
    for comment in comments:
        try:
            done.append(apply(action, comment, actor=actor, now=now, settings=settings, reason=reason))
        except TransitionError as exc:
            skipped.append((comment.id, str(exc)))
    return BulkResult(action, tuple(done), tuple(skipped))
