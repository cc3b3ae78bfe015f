"""Reading article files from disk: every kind of bad file is a one-line ParseError."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.news.encoding import decode_document
from bot.news.loader import MAX_FILE_BYTES, load_article_file, looks_binary

LATIN1_PAGE = (
    "Café owners protest new tax\n\n"
    "by José Núñez\n\n"
    "Published: March 3, 2021\n\n"
    "Owners of cafés across the région gathered on Tuesday to protest a new levy on terraces, "
    "which they say will cost them thousands of euros each season.\n\n"
    "The mayor said the tax would fund repairs to the old town's façades and streets.\n"
)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(ParseError, match="empty"):
        load_article_file(path)
    path.write_bytes(b"   \n\n \t\n")
    with pytest.raises(ParseError, match="empty"):
        load_article_file(path)


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "photo.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 20)
    with pytest.raises(ParseError, match="binary"):
        load_article_file(path)


def test_huge_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper, nothing to read
    with pytest.raises(ParseError, match=r"too large \(50\.0 MB"):
        load_article_file(path)
    assert MAX_FILE_BYTES < 50 * 1024 * 1024


def test_latin1_file_is_read_with_a_notice(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(LATIN1_PAGE.encode("latin-1"))
    loaded = load_article_file(path)
    assert loaded.article.title == "Café owners protest new tax"
    assert "façades" in loaded.article.body
    assert loaded.notice is not None and "Latin-1" in loaded.notice


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ParseError, match="unsupported file type"):
        load_article_file(path)


def test_decoding_prefers_utf8_then_cp1252() -> None:
    assert decode_document("naïve".encode(), markup=False).encoding == "utf-8"
    assert decode_document(b"\xef\xbb\xbfBOM text", markup=False).text == "BOM text"
    decoded = decode_document(b"caf\xe9 \x93quoted\x94", markup=False)
    assert decoded.text == "café “quoted”" and decoded.guessed
    assert not looks_binary(b"plain text\nwith lines\n")


def test_saved_latin1_html_keeps_curly_quotes(tmp_path: Path) -> None:
    # Pages labelled ISO-8859-1 really are windows-1252 (as browsers read them): 0x93/0x94 are curly quotes,
    # not C1 control characters. The loader hands the bytes to the HTML decoder rather than decoding them itself.
    prose = b"The council said it would \x93look again\x94 at the caf\xe9 licence before the summer season. " * 4
    page = (
        b'<html><head><meta charset="iso-8859-1"><title>Council Reviews Caf\xe9 Licence</title></head><body>'
        b"<article><h1>Council Reviews Caf\xe9 Licence</h1><p>" + prose + b"</p><p>" + prose + b"</p></article>"
        b"</body></html>"
    )
    path = tmp_path / "page.html"
    path.write_bytes(page)
    loaded = load_article_file(path)
    assert loaded.article.title == "Council Reviews Café Licence"
    assert "“look again”" in loaded.article.body
    assert "\x93" not in loaded.article.body
    assert loaded.notice is None
