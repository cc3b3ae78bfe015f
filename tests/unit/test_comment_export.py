"""Exported comments: the row shape, CSV that spreadsheets cannot execute, JSON that keeps the text exactly."""

from __future__ import annotations

import ast
import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest

import bot.comments
from bot.comments.export import EXPORT_FIELDS, csv_cell, export_row, write_csv, write_json
from bot.comments.models import Comment, CommentStatus

NOW = dt.datetime(2025, 3, 1, 12, 0, tzinfo=dt.UTC)


def comment(cid: int, text: str, **changes: object) -> Comment:
    values: dict[str, object] = {
        "id": cid,
        "guild_id": 10,
        "article_id": 20,
        "author_id": 175928847299117063,
        "text": text,
        "status": CommentStatus.APPROVED,
        "created_at": NOW,
    }
    values.update(changes)
    return Comment(**values)  # type: ignore[arg-type]


HOSTILE = [
    '=HYPERLINK("http://evil.example","click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "   =1+1",
    'quotes " and, commas\nand new lines',
    "plain text",
    "",
]


def test_a_row_has_every_field_in_order() -> None:
    c = comment(
        1,
        "hi",
        status=CommentStatus.TRASH,
        previous_status=CommentStatus.APPROVED,
        hidden=True,
        shadowed=True,
        flaggers=frozenset({1, 2}),
        updated_at=NOW + dt.timedelta(minutes=3),
        created_at=dt.datetime(2025, 3, 1, 13, 0, tzinfo=dt.timezone(dt.timedelta(hours=1))),
    )
    row = export_row(c)
    assert tuple(row) == EXPORT_FIELDS
    assert row == {
        "id": 1,
        "guild_id": 10,
        "article_id": 20,
        "author_id": 175928847299117063,
        "status": "trash",
        "previous_status": "approved",
        "hidden": True,
        "shadowed": True,
        "flags": 2,
        "created_at": "2025-03-01T12:00:00+00:00",
        "updated_at": "2025-03-01T12:03:00+00:00",
        "text": "hi",
    }


@pytest.mark.parametrize("text", HOSTILE)
def test_csv_cells_never_start_a_formula(text: str) -> None:
    cell = csv_cell(text)
    assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))
    assert cell.removeprefix("'") == text


def test_csv_cells_for_other_values() -> None:
    assert csv_cell(None) == "" and csv_cell(True) == "true" and csv_cell(False) == "false"
    assert csv_cell(-5) == "-5"  # numbers are numbers, not formulas
    assert csv_cell("'already quoted") == "'already quoted"


def test_csv_round_trips_through_a_reader_and_is_defused() -> None:
    rows = [comment(i, text) for i, text in enumerate(HOSTILE)]
    out = io.StringIO(newline="")
    assert write_csv(rows, out) == len(rows)
    parsed = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert parsed[0] == list(EXPORT_FIELDS)
    assert len(parsed) == len(rows) + 1
    text_column = EXPORT_FIELDS.index("text")
    for record, original in zip(parsed[1:], rows, strict=True):
        assert record[0] == str(original.id) and record[3] == "175928847299117063"
        assert record[text_column].removeprefix("'") == original.text
        assert not record[text_column].lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r"))
    assert out.getvalue().endswith("\r\n")


def test_json_keeps_the_text_exactly_and_streams_an_array() -> None:
    rows = [comment(i, text) for i, text in enumerate(HOSTILE)]
    out = io.StringIO()
    assert write_json(rows, out) == len(rows)
    data = json.loads(out.getvalue())
    assert [d["text"] for d in data] == HOSTILE
    assert data[0] == export_row(rows[0])
    empty = io.StringIO()
    assert write_json([], empty) == 0 and json.loads(empty.getvalue()) == []


def test_json_keeps_non_ascii_readable() -> None:
    out = io.StringIO()
    write_json([comment(1, "café 👍")], out)
    assert "café 👍" in out.getvalue()


def test_the_comment_domain_imports_neither_discord_nor_sql() -> None:
    package = Path(bot.comments.__file__).parent
    forbidden = ("discord", "aiosqlite", "sqlite3", "asyncpg", "bot.db", "cogs")
    modules = sorted(package.glob("*.py"))
    assert len(modules) >= 10
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"
