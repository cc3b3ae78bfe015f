"""Comments as exported (``/comments export``, ``newsbot comments export``): one row shape, CSV and JSON writers.

The CSV is safe to open in a spreadsheet: a text cell that starts (after any spaces) with ``= + - @``, a tab or a
carriage return would be read as a formula (CSV injection, OWASP), so it is prefixed with an apostrophe, which
spreadsheets show as text. JSON needs no such care and keeps the text exactly.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable
from typing import TextIO

from bot.comments.models import Comment

#: Column order of the CSV and key order of the JSON objects.
EXPORT_FIELDS: tuple[str, ...] = (
    "id",
    "guild_id",
    "article_id",
    "author_id",
    "status",
    "previous_status",
    "hidden",
    "shadowed",
    "flags",
    "created_at",
    "updated_at",
    "text",
)

ExportValue = int | str | bool | None
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_row(comment: Comment) -> dict[str, ExportValue]:
    """``comment`` as one exported record: ids as integers, times as ISO 8601 UTC, statuses as their names."""
    return {
        "id": comment.id,
        "guild_id": comment.guild_id,
        "article_id": comment.article_id,
        "author_id": comment.author_id,
        "status": comment.status.value,
        "previous_status": comment.previous_status.value if comment.previous_status else None,
        "hidden": comment.hidden,
        "shadowed": comment.shadowed,
        "flags": len(comment.flaggers),
        "created_at": _iso(comment.created_at),
        "updated_at": _iso(comment.updated_at),
        "text": comment.text,
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.astimezone(dt.UTC).isoformat() if value is not None else None


def csv_cell(value: ExportValue) -> str:
    """One CSV cell: booleans as ``true``/``false``, ``None`` as empty, text defused against formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if value.lstrip(" ").startswith(_FORMULA_STARTS) or value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(comments: Iterable[Comment], out: TextIO) -> int:
    """Write a header and one row per comment to ``out`` (open it with ``newline=""``); returns the row count."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_FIELDS)
    count = 0
    for comment in comments:
        row = export_row(comment)
        writer.writerow([csv_cell(row[name]) for name in EXPORT_FIELDS])
        count += 1
    return count


def write_json(comments: Iterable[Comment], out: TextIO) -> int:
    """Write a JSON array of one object per comment to ``out``, one object per line, streaming; returns the count."""
    count = 0
    out.write("[")
    for comment in comments:
        out.write(",\n" if count else "\n")
        out.write(json.dumps(export_row(comment), ensure_ascii=False))
        count += 1
    out.write("\n]\n" if count else "]\n")
    return count
