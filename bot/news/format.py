"""Text shaping for display limits (Discord's, but expressed as plain numbers). Pure."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

ELLIPSIS = "…"

# C0/C1 controls (but tab, newline, carriage return), zero-width and bidi-override characters, and non-characters:
# they can hide or reorder text, and escape sequences can drive an operator's terminal.
CONTROL_CHARS = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2028\u2029\u2060-\u2069\ufeff\ufffe\uffff]"
)


def strip_control(text: str) -> str:
    """``text`` without control, zero-width and bidi-override characters (tabs and newlines are kept)."""
    return CONTROL_CHARS.sub("", text)


def shorten(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters at a word boundary, marking the cut with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + ELLIPSIS


def paragraphs_within(paragraphs: list[str], limit: int, *, separator: str = "\n\n") -> str:
    """As many whole paragraphs as fit in ``limit``; the first one is shortened if even it does not fit."""
    out: list[str] = []
    used = 0
    for paragraph in paragraphs:
        extra = len(paragraph) + (len(separator) if out else 0)
        if used + extra > limit:
            if not out:
                out.append(shorten(paragraph, limit))
            break
        out.append(paragraph)
        used += extra
    return separator.join(out)


def web_url(url: str | None, *, max_length: int = 2048) -> str | None:
    """``url`` if it is an absolute http(s) URL that chat clients will accept as a link, else ``None``.

    Feeds and front matter carry relative paths, ``javascript:`` links, whitespace and very long tracking URLs;
    showing one of those would either break the message or become a link the publisher never meant.
    """
    if not url:
        return None
    url = url.strip()
    if len(url) > max_length or any(ch.isspace() for ch in url) or any(ord(ch) < 32 for ch in url):
        return None
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def markdown_link_target(url: str) -> str:
    """A URL made safe to sit inside ``[text](url)``: brackets and angle brackets would end or nest the link."""
    return url.translate({ord("("): "%28", ord(")"): "%29", ord("<"): "%3C", ord(">"): "%3E"})
