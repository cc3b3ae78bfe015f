"""Text shaping for what people see: the one control-character filter, escaping that leaves Discord nothing to
format, link or mention, cuts at sentence and word boundaries, page splitting, dates and public links.

Pure: no discord import. Discord's rules are expressed as plain text and numbers here; ``cogs/render.py`` applies
them to embeds.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from bot.news.models import Published
from bot.sources.addresses import host_refusal

ELLIPSIS = "…"
MORE = " " + ELLIPSIS
"""Appended after a whole sentence when text follows that is not shown."""

Measure = Callable[[str], int]

# --------------------------------------------------------------------------------------------------------
# The one filter.
# --------------------------------------------------------------------------------------------------------

_NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr((plane << 16) | 0xFFFE)}{chr((plane << 16) | 0xFFFF)}" for plane in range(17)
)
#: What is removed from every piece of text newsbot stores or shows: C0 and C1 controls except tab and newline
#: (escape sequences drive terminals; a carriage return rewrites a line), every Unicode format character
#: but the soft hyphen — zero-width spaces and joiners, the bidi marks, embeddings, overrides and isolates
#: (U+200E/F, U+061C, U+202A–U+202E, U+2066–U+2069) that reorder text ("Trojan Source"), invisible operators,
#: the byte-order mark, interlinear annotations, tag characters (invisible "ASCII smuggling") — lone
#: surrogates, which cannot be encoded, and the non-characters.
CONTROL_CHARS = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"
    "\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f" + _NONCHARACTERS + "]"
)
# Line and paragraph separators are real breaks; removing them would glue two words together.
_SEPARATORS = str.maketrans({"\u2028": "\n", "\u2029": "\n\n"})


def strip_control(text: str) -> str:
    """``text`` without control, zero-width, bidi and other invisible format characters (see
    :data:`CONTROL_CHARS`); tabs and newlines are kept, and U+2028/U+2029 become newlines."""
    return CONTROL_CHARS.sub("", text.translate(_SEPARATORS))


# --------------------------------------------------------------------------------------------------------
# Discord markdown and mentions.
#
# Discord's parser takes a backslash before any character that is not an ASCII letter, digit or space as
# "show this character as it is", in message content and in every embed text that it formats. So everything
# that could start formatting, a link or a mention is preceded by one backslash, and the member sees exactly
# the original text: no zero-width characters (our own filter strips those), no look-alike substitutions.
# --------------------------------------------------------------------------------------------------------

# Inline syntax, escaped wherever it appears. "<" covers every angle-bracket form at once: <@id>, <@!id>,
# <@&id>, <#id>, </cmd:id>, <t:…>, custom emoji <:name:id>, guide links <id:…> and <https://…> autolinks;
# "[" and "]" cover masked links, so "(" and ")" need nothing.
_INLINE = re.compile(r"[\\*_~|`\[\]<]")
_MASS_MENTION = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
# Bare URLs become links; an escaped colon breaks the scheme, so the text stays text and shows the same.
_AUTOLINK = re.compile(r":(?=//)")
# Block syntax only counts at the start of a line (after indentation): quotes, headings, subtext (-#),
# bullet lists and numbered lists.
_BLOCK = re.compile(r"^([^\S\n]*)([>#+-])", re.MULTILINE)
_NUMBERED = re.compile(r"^([^\S\n]*[0-9]+)([.)])(?=\s|$)", re.MULTILINE)


def escape_markdown(text: str) -> str:
    """``text`` filtered and escaped so that Discord shows it verbatim: no bold, italics, underline, strike,
    spoilers, code, quotes, headings, lists, masked links, autolinks or mention pills.

    Unlike ``discord.utils.escape_markdown``, a paragraph starting ``- item`` becomes ``\\- item`` on its own
    line, never a stray backslash line above a live list marker.
    """
    text = _INLINE.sub(r"\\\g<0>", strip_control(text))
    text = _MASS_MENTION.sub(r"\\@", text)
    text = _AUTOLINK.sub(r"\\:", text)
    text = _BLOCK.sub(r"\1\\\2", text)
    return _NUMBERED.sub(r"\1\\\2", text)


def _odd_backslashes(text: str) -> bool:
    return (len(text) - len(text.rstrip("\\"))) % 2 == 1


def cut(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: cut at a word boundary when one is near, marked with "…".

    Safe for escaped text: a cut never separates a backslash from the character it escapes.
    """
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ELLIPSIS[:limit]
    room = limit - len(ELLIPSIS)
    head = text[:room]
    space = max(head.rfind(" "), head.rfind("\n"), head.rfind("\t"))
    if space > room // 2:
        head = head[:space]
    head = head.rstrip(" \n\t,;:.-")
    while _odd_backslashes(head):
        # The escaped character went into the cut: drop its backslash too, and anything it uncovers.
        head = head[:-1].rstrip(" \n\t,;:.-")
    return head + ELLIPSIS


def shorten(text: str, limit: int) -> str:
    """``text`` on one line (whitespace collapsed) in at most ``limit`` characters, cut at a word boundary."""
    return cut(" ".join(text.split()), limit)


def escape_within(text: str, limit: int, *, one_line: bool = True) -> str:
    """:func:`escape_markdown` of ``text`` in at most ``limit`` characters, cut visibly with "…".

    ``one_line`` collapses all whitespace (titles, names, list items); otherwise line breaks are kept.
    """
    clean = strip_control(text)
    clean = " ".join(clean.split()) if one_line else clean.strip()
    return cut(escape_markdown(clean), limit)


def link_label(text: str, limit: int) -> str:
    """``text`` made safe as the visible part of a ``[label](url)`` link, in at most ``limit`` characters.

    Brackets become parentheses: Discord's link parser pairs brackets before it looks at backslashes, so even
    an escaped bracket can end the label early.
    """
    return escape_within(text.translate({ord("["): "(", ord("]"): ")"}), limit)


def escaped_length(text: str) -> int:
    """How many characters ``text`` takes once escaped: the measure for anything cut to an embed limit."""
    return len(escape_markdown(text))


# --------------------------------------------------------------------------------------------------------
# Sentences, openings and pages.
# --------------------------------------------------------------------------------------------------------

# A full stop after one of these does not end a sentence ("Gov. Brown", "Jan. 5", "U.S. officials").
ABBREVIATIONS = frozenset(
    """mr mrs ms mx dr prof sr jr st mt ft gov sen rep pres gen col lt sgt capt cmdr adm maj cpl rev fr hon
    messrs mme mlle jan feb mar apr jun jul aug sep sept oct nov dec dept univ assn bros co corp inc ltd
    plc vs etc al cf ave blvd hwy e.g i.e u.s u.k u.n u.s.a a.m p.m d.c""".split()  # noqa: SIM905
)
#: These only abbreviate before a number ("No. 5", "p. 12", "ca. 1900"); elsewhere they are words ("modern art.").
NUMBER_ABBREVIATIONS = frozenset(
    """no nos vol vols fig figs p pp ch sec art ed est approx ca""".split()  # noqa: SIM905
)
_LATIN_END = re.compile(r"""[.!?…]+["'”’»)\]]*(?=\s)""")
_CJK_END = re.compile(r"""[。！？]+["'”’」』）]*""")
_LAST_WORD = re.compile(r"(\S+)$")


def _ends_sentence(text: str, start: int, match: re.Match[str]) -> bool:
    rest = text[match.end() :].lstrip()
    if not rest:
        return True
    if rest[0].islower():
        return False
    punctuation = match.group().rstrip("\"'”’»)]")
    if punctuation != ".":
        return True
    word = _LAST_WORD.search(text, start, match.start())
    token = (word.group(1) if word else "").lstrip("\"'“‘«([").lower()
    if token in ABBREVIATIONS or (token in NUMBER_ABBREVIATIONS and rest[0].isdigit()):
        return False
    # Initials ("J. K. Rowling") and dotted abbreviations not listed above ("U.S.A", "Ph.D").
    return not (token.isalpha() and len(token) == 1) and not (
        "." in token and all(len(part) <= 2 for part in token.split("."))
    )


def _sentence_starts(text: str) -> list[int]:
    """Where each sentence of ``text`` starts (the first at 0); a sentence runs up to the next start."""
    starts = [0]
    ends = sorted([*_LATIN_END.finditer(text), *_CJK_END.finditer(text)], key=lambda m: m.start())
    for match in ends:
        if match.start() < starts[-1] or not _ends_sentence(text, starts[-1], match):
            continue
        gap = len(text) - len(text[match.end() :].lstrip())
        if gap < len(text):
            starts.append(gap)
    return starts


def _sentence_slices(text: str) -> list[str]:
    """``text`` cut before each sentence: the slices join back to ``text`` exactly, whitespace included."""
    starts = _sentence_starts(text)
    return [text[start:end] for start, end in zip(starts, [*starts[1:], len(text)], strict=True)]


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``, each with its closing punctuation, whitespace between them dropped.

    Meant for display cuts: a full stop ends a sentence when the next word starts with a capital, a digit or a
    quote, unless it follows a known abbreviation or an initial; CJK full stops end one without a space.
    """
    return [sentence for piece in _sentence_slices(text) if (sentence := piece.strip())]


def _fit_words(text: str, limit: int, measure: Measure) -> str:
    """``text`` cut at a word boundary so that ``measure`` of the result is at most ``limit``."""
    budget = limit
    while True:
        shown = cut(text, budget)
        over = measure(shown) - limit
        if over <= 0 or budget <= 1:
            return shown if over <= 0 else ""
        budget -= max(1, (over + 1) // 2)


def opening(paragraphs: Sequence[str], limit: int, *, measure: Measure = len) -> str:
    """The opening whole sentences of ``paragraphs`` that fit in ``limit`` (as ``measure`` counts them), as
    written (paragraph breaks and spacing kept). When anything is left out the text visibly ends with "…"; a
    first sentence too long to fit is cut at a word boundary.
    """
    texts = [p.strip() for p in paragraphs if p.strip()]
    done: list[str] = []
    for number, paragraph in enumerate(texts):
        slices = _sentence_slices(paragraph)
        taken = ""
        for index, piece in enumerate(slices):
            candidate = "\n\n".join([*done, (taken + piece).strip()])
            last = number == len(texts) - 1 and index == len(slices) - 1
            if measure(candidate if last else candidate + MORE) > limit:
                break
            taken += piece
        else:
            done.append(paragraph)
            continue
        if taken:
            done.append(taken.strip())
        break
    else:
        return "\n\n".join(done)
    if done:
        return "\n\n".join(done) + MORE
    first = split_sentences(texts[0])[0]
    shown = _fit_words(first, limit - len(MORE), measure)
    return shown if shown.endswith(ELLIPSIS) or not shown else shown + MORE


_WORD_RUN = re.compile(r"\S+\s*")


def _pieces(paragraph: str, limit: int, measure: Measure) -> list[str]:
    """``paragraph`` as slices that each fit ``limit`` and join back to it exactly: whole sentences where they
    fit, else runs of words, else runs of characters."""
    if measure(paragraph) <= limit:
        return [paragraph]
    pieces: list[str] = []
    for sentence in _sentence_slices(paragraph):
        if measure(sentence) <= limit:
            pieces.append(sentence)
            continue
        run = ""
        for word in _WORD_RUN.findall(sentence):
            # A word longer than a page (a hostile URL, a base64 blob) is cut into runs of characters; no
            # character escapes to more than two, and a join adds at most one escape (see pages()).
            step = max(1, limit // 3)
            chunks = [word] if measure(word) < limit else [word[i : i + step] for i in range(0, len(word), step)]
            for chunk in chunks:
                if run and measure(run) + measure(chunk) + 1 > limit:
                    pieces.append(run)
                    run = ""
                run += chunk
        if run:
            pieces.append(run)
    return pieces


def pages(paragraphs: Sequence[str], limit: int, *, measure: Measure = len) -> list[str]:
    """The whole text split into pages that each fit ``limit`` (as ``measure`` counts them), at paragraph
    boundaries where possible, else at sentence, then word boundaries; nothing is lost or repeated.

    Sizes are summed piece by piece, plus one per piece: escaping is line-local, and the only escapes that
    depend on what follows (a colon before ``//``, an ``@`` before ``everyone``) add one character at a join.
    """
    out: list[str] = []
    page = ""
    used = 0
    for paragraph in (p.strip() for p in paragraphs):
        if not paragraph:
            continue
        for index, piece in enumerate(_pieces(paragraph, limit, measure)):
            separator = "\n\n" if index == 0 else ""
            size = measure(piece) + 1
            if page and used + len(separator) + size > limit:
                out.append(page.strip())
                page, used, separator = "", 0, ""
            page += (separator if page else "") + piece
            used += (len(separator) if used else 0) + size
    if page.strip():
        out.append(page.strip())
    return out


# --------------------------------------------------------------------------------------------------------
# Dates and links.
# --------------------------------------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def display_date(value: Published | None) -> str | None:
    """One format for every published value, calendar dates and datetimes alike (UTC day): ``7 Jul 2017``.

    Month names are spelled out here rather than with ``%b``, which follows the process locale.
    """
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        value = (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).date()
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def web_url(url: str | None, *, max_length: int = 2048) -> str | None:
    """``url`` if it is an absolute http(s) URL of a public server, fit to show members as a link; else ``None``.

    Refused: other schemes (``javascript:``, relative paths), credentials, whitespace, controls and backslashes
    (browsers read ``\\`` as ``/``, so the host they see differs from ours), percent-encoded hosts, private,
    loopback, link-local, multicast, reserved and unspecified IP addresses in any notation a browser accepts
    (``0x7f.1``, ``2130706433``, ``[::ffff:127.0.0.1]``), local names such as ``localhost``, and URLs longer than
    ``max_length``. The host is never resolved.
    """
    if not url:
        return None
    url = url.strip()
    if not url or len(url) > max_length or CONTROL_CHARS.search(url):
        return None
    if any(ch.isspace() or ch == "\\" for ch in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    if "@" in parts.netloc:
        return None
    if host_refusal(host):
        return None
    return url


def markdown_link_target(url: str) -> str:
    """A URL made safe to sit inside ``[text](url)``: brackets and angle brackets would end or nest the link."""
    return url.translate({ord("("): "%28", ord(")"): "%29", ord("<"): "%3C", ord(">"): "%3E"})
