"""Text shaping for what people see: the one control-character filter, escaping that leaves Discord nothing to
format, link or mention, cuts at sentence and word boundaries, page splitting, dates and public links.

Pure: no discord import. Discord's rules are expressed as plain text and numbers here; ``cogs/render.py`` applies
them to embeds.
"""

from __future__ import annotations

import datetime as dt
import heapq
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
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

_BMP_CONTROLS = (
    "\x00-\x08\x0b-\x1f\x7f-\x9f"
    "\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
    "\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb"
    "\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
)
_ASTRAL_CONTROLS = (
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f"
    + "".join(f"{chr((plane << 16) | 0xFFFE)}{chr((plane << 16) | 0xFFFF)}" for plane in range(1, 17))
)
#: What is removed from every piece of text newsbot stores or shows: C0 and C1 controls except tab and newline
#: (escape sequences drive terminals; a carriage return rewrites a line), every Unicode format character
#: but the soft hyphen — zero-width spaces and joiners, the bidi marks, embeddings, overrides and isolates
#: (U+200E/F, U+061C, U+202A–U+202E, U+2066–U+2069) that reorder text ("Trojan Source"), invisible operators,
#: the byte-order mark, interlinear annotations, tag characters (invisible "ASCII smuggling") — lone
#: surrogates, which cannot be encoded, and the non-characters.
CONTROL_CHARS = re.compile(f"[{_BMP_CONTROLS}{_ASTRAL_CONTROLS}]")
# The same set in two parts: a class with astral members makes re test every character the slow way (90 ms for
# 2 MB against 5 ms), and most text has no astral character at all, which one plain range finds out fast.
_BMP_CONTROL = re.compile(f"[{_BMP_CONTROLS}]")
_ASTRAL_CONTROL = re.compile(f"[{_ASTRAL_CONTROLS}]")
_ANY_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def strip_control(text: str) -> str:
    """``text`` without control, zero-width, bidi and other invisible format characters (see
    :data:`CONTROL_CHARS`); tabs and newlines are kept, and U+2028/U+2029 become newlines (line and paragraph
    separators are real breaks; removing them would glue two words together)."""
    text = _BMP_CONTROL.sub("", text.replace("\u2029", "\n\n").replace("\u2028", "\n"))
    return _ASTRAL_CONTROL.sub("", text) if _ANY_ASTRAL.search(text) else text


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
_INLINE = str.maketrans({ch: "\\" + ch for ch in "\\*_~|`[]<"})
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
    text = strip_control(text).translate(_INLINE)
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
_NON_SPACE = re.compile(r"\S")
_WORD_WINDOW = 40


def _next_visible(text: str, position: int) -> int:
    """The index of the first non-space character at or after ``position`` (``len(text)`` if none)."""
    found = _NON_SPACE.search(text, position)
    return found.start() if found else len(text)


def _ends_sentence(text: str, start: int, match: re.Match[str]) -> bool:
    following = _next_visible(text, match.end())
    if following == len(text):
        return True
    if text[following].islower():
        return False
    punctuation = match.group().rstrip("\"'”’»)]")
    if punctuation != ".":
        return True
    # Only the last word before the full stop matters; looking at a bounded window keeps this linear.
    word = _LAST_WORD.search(text, max(start, match.start() - _WORD_WINDOW), match.start())
    token = (word.group(1) if word else "").lstrip("\"'“‘«([").lower()
    if token in ABBREVIATIONS or (token in NUMBER_ABBREVIATIONS and text[following].isdigit()):
        return False
    # Initials ("J. K. Rowling") and dotted abbreviations not listed above ("U.S.A", "Ph.D").
    return not (token.isalpha() and len(token) == 1) and not (
        "." in token and all(len(part) <= 2 for part in token.split("."))
    )


def _sentence_starts(text: str) -> Iterator[int]:
    """Where each sentence of ``text`` starts (the first at 0); a sentence runs up to the next start. Lazy, so a
    caller that needs only the first pages of a huge paragraph pays only for those."""
    yield 0
    start = 0
    ends = heapq.merge(_LATIN_END.finditer(text), _CJK_END.finditer(text), key=lambda m: m.start())
    for match in ends:
        if match.start() < start or not _ends_sentence(text, start, match):
            continue
        following = _next_visible(text, match.end())
        if following < len(text):
            start = following
            yield start


def _sentence_slices(text: str) -> Iterator[str]:
    """``text`` cut before each sentence: the slices join back to ``text`` exactly, whitespace included."""
    previous: int | None = None
    for start in _sentence_starts(text):
        if previous is not None:
            yield text[previous:start]
        previous = start
    if previous is not None and text:
        yield text[previous:]


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
    # Nothing past ``limit`` characters can be shown (escaping never shortens), so a huge paragraph is not split
    # into sentences beyond that point: the card of a 2 MB article costs what the card of a short one does.
    texts: list[str] = []
    clipped = False
    for paragraph in paragraphs:
        if sum(map(len, texts)) > limit:
            clipped = True
            break
        if paragraph := paragraph.strip():
            clipped = clipped or len(paragraph) > limit + 1
            texts.append(paragraph[: limit + 1])
    done: list[str] = []
    for number, paragraph in enumerate(texts):
        slices = list(_sentence_slices(paragraph))
        taken = ""
        for index, piece in enumerate(slices):
            candidate = "\n\n".join([*done, (taken + piece).strip()])
            last = not clipped and number == len(texts) - 1 and index == len(slices) - 1
            if measure(candidate if last else candidate + MORE) > limit:
                break
            taken += piece
        else:
            done.append(paragraph.strip())
            continue
        if taken:
            done.append(taken.strip())
        break
    else:
        return "\n\n".join(done) + (MORE if clipped else "")
    if done:
        return "\n\n".join(done) + MORE
    first = split_sentences(texts[0])[0]
    shown = _fit_words(first, limit - len(MORE), measure)
    return shown if shown.endswith(ELLIPSIS) or not shown else shown + MORE


_WORD_RUN = re.compile(r"\S+\s*")


def _fits(text: str, limit: int, measure: Measure) -> bool:
    # Escaping never shortens text, so anything longer than the limit is out without being measured.
    return len(text) <= limit and measure(text) <= limit


def _pieces(paragraph: str, limit: int, measure: Measure) -> Iterator[str]:
    """``paragraph`` as slices that each fit ``limit`` and join back to it exactly: whole sentences where they
    fit, else runs of words, else runs of characters."""
    if _fits(paragraph, limit, measure):
        yield paragraph
        return
    for sentence in _sentence_slices(paragraph):
        if _fits(sentence, limit, measure):
            yield sentence
            continue
        run = ""
        used = 0
        for found in _WORD_RUN.finditer(sentence):
            word = found.group()
            # A word longer than a page (a hostile URL, a base64 blob) is cut into runs of characters; no
            # character escapes to more than two, and a join adds at most one escape (see pages()).
            step = max(1, limit // 3)
            fits = len(word) < limit and measure(word) < limit
            chunks = [word] if fits else [word[i : i + step] for i in range(0, len(word), step)]
            for chunk in chunks:
                size = measure(chunk) + 1
                if run and used + size > limit:
                    yield run
                    run, used = "", 0
                run += chunk
                used += size
        if run:
            yield run


def pages(
    paragraphs: Iterable[str], limit: int, *, measure: Measure = len, max_pages: int | None = None
) -> tuple[list[str], bool]:
    """The text split into pages that each fit ``limit`` (as ``measure`` counts them), at paragraph boundaries
    where possible, else at sentence, then word boundaries; nothing is lost or repeated. Returns the pages and
    whether they hold the whole text: with ``max_pages`` the split stops there, and the rest is never looked at.

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
                if max_pages is not None and len(out) >= max_pages:
                    return out, False
            page += (separator if page else "") + piece
            used += (len(separator) if used else 0) + size
    if page.strip():
        out.append(page.strip())
    return out, True


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
