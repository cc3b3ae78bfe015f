"""Domain models shared by parsing, storage and the Discord glue."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

#: A published date is either a calendar date (when the page only gives a day) or an aware UTC datetime.
Published = dt.date | dt.datetime


def published_iso(value: Published | None) -> str | None:
    """ISO 8601 text for a published value (``YYYY-MM-DD`` or a full UTC datetime)."""
    if value is None:
        return None
    return value.isoformat()


PublishedPrecision = Literal["date", "datetime"]


def published_parts(value: Published | None) -> tuple[dt.datetime | None, PublishedPrecision | None]:
    """How the store keeps a published value: an instant (a date is its midnight UTC) and its precision."""
    if value is None:
        return None, None
    if isinstance(value, dt.datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return aware.astimezone(dt.UTC), "datetime"
    return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC), "date"


def published_from_parts(instant: dt.datetime | None, precision: str | None) -> Published | None:
    """Inverse of :func:`published_parts`."""
    if instant is None:
        return None
    instant = instant.astimezone(dt.UTC) if instant.tzinfo else instant.replace(tzinfo=dt.UTC)
    return instant.date() if precision == "date" else instant


@dataclass(slots=True, frozen=True)
class ParsedArticle:
    """What a parser extracts from one page, file or feed entry, before it is stored."""

    title: str
    body: str
    """Paragraphs separated by one blank line."""
    author: str | None = None
    published: Published | None = None
    caption: str | None = None
    url: str | None = None
    image_url: str | None = None
    site_name: str | None = None
    summary: str | None = None
    """A feed's own excerpt, if it gave one."""
    guid: str | None = None
    """The feed's entry id (an identity key; URL-shaped GUIDs keep their fragment)."""
    link_is_identity: bool = True
    """False when the feed gives this same link to several entries: then the link names a page, not this entry."""
    aliases: tuple[str, ...] = ()
    """Other URLs of the same article (where the link ended up after redirects, the page's same-site
    canonical URL); identity keys besides the link."""

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.body.split("\n\n") if p.strip()]

    def to_json(self) -> dict[str, object]:
        return {
            "title": self.title,
            "author": self.author,
            "published": published_iso(self.published),
            "caption": self.caption,
            "body": self.body,
            "url": self.url,
            "image_url": self.image_url,
            "site_name": self.site_name,
        }


@dataclass(slots=True, frozen=True)
class Article:
    """A stored article."""

    id: int
    identity: str
    """Canonical URL when there is one, else ``sha256:<fingerprint>``; unique in the store."""
    title: str
    body: str
    author: str | None
    published: Published | None
    caption: str | None
    url: str | None
    image_url: str | None
    site_name: str | None
    source_id: int | None
    ingested_at: dt.datetime
    summary: str | None = None

    @property
    def paragraphs(self) -> list[str]:
        return [p for p in self.body.split("\n\n") if p.strip()]

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "title": self.title,
            "author": self.author,
            "published": published_iso(self.published),
            "url": self.url,
        }
