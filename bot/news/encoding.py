"""The one charset decoder: fetched bodies, article files, HTML pages and feeds all become text here. Pure.

Order, as browsers do it (WHATWG Encoding), with two lessons from real pages:

1. a byte-order mark;
2. what is declared: the HTTP ``charset``, then the document's own ``<?xml encoding>`` or ``<meta charset>``.
   Pages re-saved as UTF-8 that still declare their old charset are common, while legacy text with non-ASCII
   bytes is almost never valid UTF-8 by accident, so valid UTF-8 beats a declared legacy charset. Labels browsers
   read as windows-1252 (``iso-8859-1``, ``ascii`` …) are read so too: real "Latin-1" pages hold its curly quotes;
3. UTF-8;
4. a guess. charset-normalizer, measured on news paragraphs in legacy encodings (French and German in
   windows-1252, Polish 1250, Russian 1251, Greek 1253, Japanese Shift-JIS, Chinese GB18030), read them all
   right, where windows-1252 alone reads two of seven. On a few accented letters ("Naïve façade, déjà vu.") it
   picks a Central-European code page and is wrong six times in ten, so with fewer than 16 non-ASCII bytes the
   guess is windows-1252, the web's commonest legacy encoding (tests/unit/test_encoding.py keeps both cases).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import Final

_BOMS: Final = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts with the UTF-16 LE one
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)
_CT_CHARSET = re.compile(r"""charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)
#: Browsers decode these labels as windows-1252.
_AS_CP1252: Final = frozenset({"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii", "cp819"})
#: Non-ASCII bytes charset-normalizer needs before its guess beats windows-1252.
_MIN_GUESS_BYTES: Final = 16
_GUESS_SAMPLE: Final = 64 * 1024
_ASCII: Final = bytes(range(128))


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str
    """The codec the text was decoded with."""
    guessed: bool
    """True when nothing said what the encoding was (no BOM, no declaration, not UTF-8)."""


def content_type_charset(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header, lower-cased, if there is one."""
    if not content_type:
        return None
    match = _CT_CHARSET.search(content_type)
    return match.group(1).lower() if match else None


def codec_for(label: str) -> str | None:
    """The Python codec for a charset label, or None if it names no text encoding (``base64``, ``zlib`` …)."""
    label = label.strip().strip("\"'").lower()
    if label in _AS_CP1252:
        return "cp1252"
    try:
        name = codecs.lookup(label).name
        b"x".decode(name, "replace")  # LookupError for codecs that are not text encodings
    except LookupError:
        return None
    return name


def declared_charsets(data: bytes) -> list[str]:
    """The charsets a document declares in its first 4 KB (``<?xml encoding>``, then ``<meta charset>``)."""
    head = data[:4096]
    found = []
    for pattern in (_XML_ENCODING, _META_CHARSET):
        match = pattern.search(head)
        if match:
            found.append(match.group(1).decode("ascii", errors="ignore"))
    return found


def decode_document(data: bytes, declared: str | None = None, *, markup: bool = True) -> Decoded:
    """Decode ``data``: BOM, then ``declared`` (the HTTP charset) and, when ``markup``, the document's own
    declaration, then UTF-8, then a guess (see the module docstring). Never raises; undecodable bytes become
    U+FFFD."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return Decoded(data[len(bom) :].decode(name, errors="replace"), name, False)
    labels = [declared] if declared else []
    if markup:
        labels += declared_charsets(data)
    for label in labels:
        codec = codec_for(label)
        if codec is None:
            continue
        if codec.startswith(("utf-16", "utf-32")):
            # The declaration was readable as ASCII bytes (or came without a BOM): the text cannot really be that.
            codec = "utf-8"
        if codec != "utf-8":
            try:
                return Decoded(data.decode("utf-8"), "utf-8", False)
            except UnicodeDecodeError:
                pass
        return Decoded(data.decode(codec, errors="replace"), codec, False)
    try:
        return Decoded(data.decode("utf-8"), "utf-8", False)
    except UnicodeDecodeError:
        pass
    codec = _guess(data)
    return Decoded(data.decode(codec, errors="replace"), codec, True)


def _guess(data: bytes) -> str:
    sample = data[:_GUESS_SAMPLE]
    if len(sample.translate(None, _ASCII)) < _MIN_GUESS_BYTES:
        return "cp1252"
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        return "cp1252"
    return codec_for(best.encoding) or "cp1252"
