"""Who sees a comment, and as what. Pure; the store's queries mirror these rules:

- public (``status = 'approved' AND NOT hidden``): everyone; the only comments counted on article cards and
  listed by ``/thoughts list``;
- moderators: every comment, with its true status, ``hidden`` and ``shadowed``;
- the author: all of their own comments with their true status, except that a ``shadowed`` comment is shown to
  them as approved and visible, whatever its real status: a shadow-banned member must not be able to tell;
- everyone else: nothing that is not public, not even its existence.

A public listing (``/thoughts list``, the approved count on the card) shows a viewer the public comments plus
their own shadowed ones (:func:`listed`): ``(status = 'approved' AND NOT hidden) OR (author_id = :viewer AND
shadowed)``. Card counts are per article, not per viewer; they count public comments only.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.comments.models import Actor, Comment, CommentStatus


def is_public(comment: Comment) -> bool:
    """Whether everyone may see ``comment`` (and it counts as published)."""
    return comment.status is CommentStatus.APPROVED and not comment.hidden


def in_queue(comment: Comment) -> bool:
    """Whether ``comment`` waits for a moderator: held at submission, or hidden by flags."""
    return comment.status is CommentStatus.PENDING or (comment.status is CommentStatus.APPROVED and comment.hidden)


@dataclass(frozen=True, slots=True)
class CommentView:
    """A comment as one viewer may see it."""

    comment: Comment
    status: CommentStatus
    """The status shown to this viewer (approved for the author of a shadowed comment)."""
    hidden: bool
    """Shown as hidden by flags (only to moderators and the author)."""
    shadowed: bool
    """Shown as written under a shadow ban (only ever to moderators)."""


def view(comment: Comment, viewer: Actor) -> CommentView | None:
    """``comment`` as ``viewer`` sees it, or ``None`` when they may not see it at all."""
    if viewer.moderator:
        return CommentView(comment, comment.status, comment.hidden, comment.shadowed)
    if viewer.id == comment.author_id:
        if comment.shadowed:
            return CommentView(comment, CommentStatus.APPROVED, hidden=False, shadowed=False)
        return CommentView(comment, comment.status, comment.hidden, shadowed=False)
    if is_public(comment):
        return CommentView(comment, CommentStatus.APPROVED, hidden=False, shadowed=False)
    return None


def can_see(comment: Comment, viewer: Actor) -> bool:
    return view(comment, viewer) is not None


def listed(comment: Comment, viewer: Actor) -> bool:
    """Whether ``comment`` appears in a public listing shown to ``viewer``: public ones, and the viewer's own
    shadowed ones, so a shadow-banned member sees their comments where everybody's are."""
    return is_public(comment) or (comment.shadowed and comment.author_id == viewer.id)
