"""Text shaping for display limits (Discord's, but expressed as plain numbers). Pure."""

from __future__ import annotations

ELLIPSIS = "…"


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
