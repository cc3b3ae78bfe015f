"""Errors of the comment domain. Each message is a complete sentence that can be shown to the member as-is."""

from __future__ import annotations

from bot.errors import NewsError


class CommentError(NewsError):
    """Base for comment-domain errors."""


class SettingError(CommentError):
    """A comment setting value that cannot be accepted (unknown name, wrong type, out of range)."""


class DurationError(CommentError):
    """Text that cannot be read as a duration ("1h", "7d", "forever"...)."""


class TransitionError(CommentError):
    """A moderation action that is impossible from the comment's current state."""


class NotPermitted(TransitionError):
    """The actor may not take this action on this comment."""
