"""Read an article file from disk safely: size cap, binary detection, encoding, dispatch by kind.

Pure of discord and SQL; the only I/O is reading the one file it is given.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.errors import ParseError
from bot.news.models import ParsedArticle

MAX_FILE_BYTES = 5 * 1024 * 1024
"""Real article pages are a few hundred KB at most; anything larger is a mistake or an attack."""

TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".text"})
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
FEED_SUFFIXES = frozenset({".xml", ".rss", ".atom", ".json", ".rdf"})
ARTICLE_SUFFIXES = TEXT_SUFFIXES | HTML_SUFFIXES

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str
    guessed: bool
    """True when the bytes were not valid UTF-8 and no declaration named the encoding."""


def looks_binary(data: bytes) -> bool:
    """NUL bytes or many control characters in the first 8 KB mean this is not a text file."""
    head = data[:8192]
    if any(head.startswith(bom) for bom, _ in _BOMS[1:]):
        return False
    if b"\x00" in head:
        return True
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return controls > max(8, len(head) // 100)


def decode_bytes(data: bytes) -> Decoded:
    """Decode a text file: UTF-8 (with or without BOM) first, else Windows-1252.

    Windows-1252 is a superset of Latin-1 for printable text and is what "Latin-1" files usually really are.
    HTML files are not decoded here: :func:`bot.news.html.decode_html` reads their ``<meta>`` charset the way
    browsers do, and :func:`parse_article_bytes` hands it their raw bytes.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return Decoded(data.decode(encoding, errors="replace"), encoding, False)
    try:
        return Decoded(data.decode("utf-8"), "utf-8", False)
    except UnicodeDecodeError:
        pass
    return Decoded(data.decode("cp1252", errors="replace"), "cp1252", True)


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


def parse_article_bytes(data: bytes, *, suffix: str, url: str | None = None) -> Loaded:
    """Parse one article file's bytes according to its suffix."""
    if not data.strip():
        raise ParseError("the file is empty.")
    if looks_binary(data):
        raise ParseError("the file is binary, not text.")
    suffix = suffix.lower()
    if suffix in HTML_SUFFIXES:
        from bot.news.html import extract_html

        # The raw bytes: extract_html decodes them as a browser would (BOM, <meta> charset, UTF-8, cp1252).
        return Loaded(extract_html(data, url=url))
    if suffix in TEXT_SUFFIXES:
        from bot.news.text import parse_text

        decoded = decode_bytes(data)
        notice = "not valid UTF-8; read it as Windows-1252 (Latin-1)." if decoded.guessed else None
        return Loaded(parse_text(decoded.text, url=url), notice)
    raise ParseError(f"unsupported file type {suffix or '(none)'!r}; use .txt, .md or .html.")


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
