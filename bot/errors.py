"""Errors whose message is safe to show to a Discord member or an operator as-is."""

from __future__ import annotations


class NewsError(Exception):
    """Base for domain errors. ``str(error)`` is a complete, user-facing sentence."""


class ArticleNotFound(NewsError):
    pass


class ParseError(NewsError):
    """Input that cannot be turned into an article (empty, binary, too large, no title...)."""


class FetchError(NewsError):
    """A URL could not be fetched (refused address, timeout, too large, HTTP error)."""


class DatabaseVersionError(NewsError):
    """The database was written by a newer newsbot than this one."""
