"""Read an article file from disk safely: size cap, binary detection, encoding, dispatch by kind.

Pure of discord and SQL; the only I/O is reading the one file it is given, or listing one folder.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from bot.errors import ParseError
from bot.news.encoding import decode_document
from bot.news.feeds import looks_like_feed, looks_like_html, root_element
from bot.news.models import ParsedArticle

MAX_FILE_BYTES = 5 * 1024 * 1024
"""Real article pages are a few hundred KB at most; anything larger is a mistake or an attack."""

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom", ".json", ".rdf"})
ARTICLE_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES

DocumentKind = Literal["feed", "html", "text"]
#: How much of a file :func:`sniff` needs to see.
SNIFF_BYTES: Final = 8192
_HTML_ROOTS: Final = frozenset({"html", "head", "body", "meta", "title"})


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control characters in the first 8 KB mean this is not a text file."""
    head = data[:8192]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # UTF-16 text is full of NUL bytes
        return False
    if b"\x00" in head:
        return True
    controls = len(head) - len(head.translate(None, _CONTROL_BYTES))
    return controls > max(8, len(head) // 100)


#: Control bytes that do not occur in text files (tab, line feed, form feed and carriage return do).
_CONTROL_BYTES: Final = bytes(b for b in range(32) if b not in (9, 10, 12, 13))


def check_size(path: Path, limit: int = MAX_FILE_BYTES) -> int:
    size = path.stat().st_size
    if size == 0:
        raise ParseError("the file is empty.")
    if size > limit:
        raise ParseError(f"the file is too large ({size / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:.0f} MB).")
    return size


@dataclass(frozen=True, slots=True)
class Loaded:
    article: ParsedArticle
    notice: str | None = None
    """A one-line remark for the operator (e.g. the encoding had to be guessed)."""


def sniff(head: bytes) -> DocumentKind:
    """What a file is, from its first bytes (:data:`SNIFF_BYTES` are enough): a feed (RSS, Atom, RDF, CDF or
    JSON Feed), an HTML page, or text. Pure; says nothing about whether the file is binary (:func:`looks_binary`).

    Content decides, not the name: servers and people mislabel feeds, and a feed saved without an extension is
    still a feed. A page counts as HTML when it opens as a document does (doctype, ``<html>``, ``<head>``,
    ``<body>``, ``<meta>`` or ``<title>``), so that Markdown opening with an inline ``<div>`` stays text.
    """
    head = head[:SNIFF_BYTES]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # and UTF-32, whose BOMs start the same
        head = decode_document(head, markup=False).text.encode("utf-8")
    if looks_like_feed(head):
        return "feed"
    if looks_like_html(head) or root_element(head) in _HTML_ROOTS:
        return "html"
    return "text"


def parse_article_bytes(data: bytes, *, suffix: str, url: str | None = None) -> Loaded:
    """Parse one article file's bytes: an HTML page or text, as its content says (:func:`sniff`); the suffix
    only decides for HTML fragments, and refuses names of other kinds of files."""
    if not data.strip():
        raise ParseError("the file is empty.")
    if looks_binary(data):
        raise ParseError("the file is binary, not text.")
    suffix = suffix.lower()
    if suffix and suffix not in ARTICLE_SUFFIXES | FEED_SUFFIXES:
        raise ParseError(f"unsupported file type {suffix!r}; use .txt, .md or .html.")
    kind = sniff(data)
    if kind == "feed":
        raise ParseError("the file is a feed, not an article; ingest it as a feed.")
    if kind == "html" or suffix in HTML_SUFFIXES:
        from bot.news.html import extract_html

        # The raw bytes: extract_html decodes them with their <meta> charset (bot.news.encoding).
        return Loaded(extract_html(data, url=url))
    if suffix in FEED_SUFFIXES:
        raise ParseError(f"the file is named like a feed ({suffix}) but holds no RSS, Atom or JSON Feed.")
    from bot.news.text import parse_text

    decoded = decode_document(data, markup=False)
    notice = None
    if decoded.guessed:
        shown = "Windows-1252 (Latin-1)" if decoded.encoding == "cp1252" else decoded.encoding
        notice = f"not valid UTF-8 and no encoding declared; read it as {shown}."
    return Loaded(parse_text(decoded.text, url=url), notice)


def load_article_file(path: Path) -> Loaded:
    """Read and parse one article file. Every failure is a ParseError with a one-line reason."""
    try:
        check_size(path)
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read the file ({exc.strerror or exc}).") from exc
    return parse_article_bytes(data, suffix=path.suffix)


def walk_folder(folder: Path, suffixes: frozenset[str]) -> Iterator[tuple[Path, str | None]]:
    """The files under ``folder`` whose suffix is in ``suffixes``, sorted, as ``(path, None)``; and what is there
    but must not or cannot be read, as ``(path, reason)``.

    Files stay where they were put: a symbolic link is followed only when what it points to is inside ``folder``,
    and then the file it points to is given instead (once, however many links lead to it), so that reading it
    never goes through a link; links to folders are not followed (what is inside is listed anyway). Hidden files
    are skipped. A subfolder that cannot be listed is a ``reason``; ``folder`` itself raises :class:`OSError`.
    """
    root = folder.resolve(strict=True)
    os.scandir(folder).close()  # the folder itself must be listable: the caller reports why not
    found: dict[Path, str | None] = {}
    problems: list[tuple[Path, str]] = []

    def unlisted(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else folder
        problems.append((where, f"cannot read the folder ({exc.strerror or exc})."))

    for dirpath, dirnames, filenames in os.walk(folder, onerror=unlisted):
        for name in dirnames:
            path = Path(dirpath, name)
            if path.is_symlink() and (reason := _outside(path, root, folder, "folder")):
                problems.append((path, reason))
        for name in filenames:
            if name.startswith(".") or Path(name).suffix.lower() not in suffixes:
                continue
            path = Path(dirpath, name)
            if path.is_symlink():
                reason = _outside(path, root, folder, "file")
                if reason:
                    problems.append((path, reason))
                    continue
                target = path.resolve()
                if not target.is_file():
                    continue
                path = folder / target.relative_to(root)
            found.setdefault(path, None)
    entries = [*found.items(), *problems]
    entries.sort(key=lambda entry: entry[0])
    yield from entries


def _outside(link: Path, root: Path, folder: Path, kind: str) -> str | None:
    """Why the link ``link`` must not be followed (it leads out of ``root``, or nowhere), or None."""
    try:
        target = link.resolve(strict=True)
    except FileNotFoundError:
        return f"a link to {os.readlink(link)}, which does not exist."
    except (OSError, RuntimeError) as exc:  # a loop of links, or one we may not read
        return f"a link that cannot be followed ({getattr(exc, 'strerror', None) or exc})."
    if target.is_relative_to(root):
        return None
    return f"a link to the {kind} {target}, outside {folder}; not followed."
