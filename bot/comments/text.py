"""What a comment's text becomes before it is judged and stored: normalised, bounded, keyed, its links counted.

Display safety (markdown, mentions) is not done here: the shared renderer neutralises text wherever it is shown.
What this module returns is what gets stored.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from bot.news.format import strip_control

#: Discord's modal text input holds at most 4000 characters; the default (and highest) comment length.
MODAL_MAX_LENGTH = 4000
#: Raw input longer than this is refused before any work is done on it: no real comment of at most
#: ``MODAL_MAX_LENGTH`` characters needs five times that much raw text, and hostile input should cost nothing.
MAX_INPUT_CHARS = 5 * MODAL_MAX_LENGTH
#: Combining marks kept after one base character. Real scripts stack at most three or four (Vietnamese, Thai,
#: Tibetan); "Zalgo" text stacks dozens, which overflows lines in every client.
MAX_MARKS_PER_CHARACTER = 4

# Line breaks become "\n" and tabs spaces *before* the control filter runs, so that however strict that filter
# becomes, words separated by one of them are never glued together.
_BREAKS = str.maketrans(
    {"\r": "\n", "\x0b": "\n", "\x0c": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n\n", "\t": " "}
)
_HORIZONTAL_SPACE = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")
#: Letters that render as nothing, so a comment made of them would look empty (Hangul fillers, braille blank,
#: Mongolian vowel separator, soft hyphen).
_BLANK_LOOKALIKES = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e\u00ad")
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zs", "Zl", "Zp", "Mn", "Me"})


def normalise_comment(text: str) -> str:
    """The stored form of a comment's text. Idempotent.

    - line breaks of every kind become ``\\n``; other whitespace (tabs, no-break and ideographic spaces) becomes
      one space per run; lines are trimmed; more than one blank line in a row becomes one, so paragraph breaks
      survive but a wall of empty lines does not;
    - control, zero-width and bidi-override characters are removed by the project's one filter,
      :func:`bot.news.format.strip_control`;
    - Unicode NFC, so the same visible text is the same string (duplicate check, keyword matching);
    - at most :data:`MAX_MARKS_PER_CHARACTER` combining marks per character.

    Length is not bounded here; :func:`bot.comments.policy.evaluate` refuses text over the server's limit rather
    than cutting a reader's words.
    """
    text = strip_control(text.replace("\r\n", "\n").translate(_BREAKS))
    if not text.isascii():
        text = unicodedata.normalize("NFC", _cap_marks(text))
    lines = [_HORIZONTAL_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


def _cap_marks(text: str) -> str:
    out: list[str] = []
    run = 0
    for ch in text:
        if unicodedata.category(ch) in ("Mn", "Me"):
            run += 1
            if run > MAX_MARKS_PER_CHARACTER:
                continue
        else:
            run = 0
        out.append(ch)
    return "".join(out)


def has_visible_text(text: str) -> bool:
    """Whether ``text`` shows anything: not only spaces, marks, format characters or blank-looking letters."""
    return any(
        not ch.isspace() and ch not in _BLANK_LOOKALIKES and unicodedata.category(ch) not in _INVISIBLE_CATEGORIES
        for ch in text
    )


def duplicate_key(text: str) -> str:
    """A key equal for two texts that are the same comment: same words, ignoring case, width and spacing.

    The store saves it with each comment and answers "does this author already have this text on this article"
    by looking it up. Accepts raw or normalised text (normalisation is idempotent).
    """
    folded = " ".join(unicodedata.normalize("NFKC", normalise_comment(text)).casefold().split())
    return hashlib.sha256(folded.encode("utf-8")).hexdigest()[:32]


# A link is what a reader could follow: any ``scheme://`` URL, a ``www.`` host, or a host with a path
# (``example.com/x``, ``discord.gg/abc``). A bare ``example.com`` is not counted: Discord does not make it a link,
# and counting it would hold every comment that mentions a site or a file name.
_LINK = re.compile(
    r"""(?ix)
    (?<![\w@.\-])  # one start per run of host characters: no quadratic rescans
    (?:
        [a-z][a-z0-9+.\-]{0,15}://[^\s<>"'`\[\]]+
      | www\d{0,3}\.[^\s<>"'`\[\]]+
      | [\w\-]+(?:\.[\w\-]+)*\.[^\W\d_]{2,24}/[^\s<>"'`\[\]]*
    )
    """
)
_TRAILING = ".,;:!?*_~|'\"]}>"


def find_links(text: str) -> list[str]:
    """The distinct links in ``text``, in order of appearance.

    Two spellings of one destination count once: ``http``/``https``, a leading ``www.``, case in the host, and a
    trailing slash are ignored, and punctuation that ends a sentence or closes markdown is not part of a link. So
    ``[https://a.example](https://a.example)`` is one link, and the same link pasted twice is one link: the check
    is about how many places a comment sends readers to.
    """
    found: dict[str, str] = {}
    for match in _LINK.finditer(text):
        link = _trim(match.group(0))
        key = _link_key(link)
        if key and key not in found:
            found[key] = link
    return list(found.values())


def _trim(link: str) -> str:
    while link:
        last = link[-1]
        if last in _TRAILING or (last == ")" and link.count("(") < link.count(")")):
            link = link[:-1]
        else:
            break
    return link


def _link_key(link: str) -> str:
    lowered = link.lower()
    scheme, sep, rest = lowered.partition("://")
    if not sep or scheme not in ("http", "https"):
        rest = lowered
    host, slash, path = rest.partition("/")
    host = host.removeprefix("www.")
    if not host.strip(".:"):
        return ""
    return f"{host}{slash}{path}".rstrip("/")
