"""Hold and block word lists: parsing what moderators type, and matching it against comments.

Entries are words and quoted phrases, matched as whole words (so "ass" does not hold "class": WordPress's
substring match is the Scunthorpe problem) after both the entry and the comment are folded the same way:

- case, width and compatibility forms: NFKC + casefold ("ＣＡＳＩＮＯ", "𝐜𝐚𝐬𝐢𝐧𝐨" → "casino");
- accents: combining marks removed after NFD ("cásíñó" → "casino");
- look-alike letters: the Cyrillic and Greek letters that render like Latin ones ("саsinо" with Cyrillic а/о);
- leetspeak inside words that have letters: 0→o 1→i 3→e 4→a 5→s 7→t 8→b @→a $→s !→i |→i ("c4s1n0"), and l→i
  on both sides because "1" stands for either; all-digit words stay numbers ("1488" still matches "1488");
- repeated letters are squeezed, in entries too ("caaasiinoo" ~ "casino"; "book" and "bok" fold alike);
- letters spelled out one by one with any separators: a run of three or more one-character words is joined and
  an entry matches anywhere inside it ("c a s i n o", "c.a.s.i.n.o", "it is a s c a m");
- zero-width characters between letters are already gone: the text was normalised first.

Not handled (false positives would outweigh the catch): words split at arbitrary points ("cas ino"), letters
replaced by look-alike symbols other than the ones above, and other scripts' look-alikes.

An entry's word may end with ``*`` to match as a prefix ("casino*" matches "casinos").
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

#: Disqus allows up to 2,000 restricted words; entries are short words or phrases.
MAX_ENTRIES = 2000
MAX_ENTRY_CHARS = 100

_HOMOGLYPHS = str.maketrans(
    {
        # Cyrillic
        "а": "a", "в": "b", "е": "e", "ё": "e", "з": "3", "к": "k", "м": "m", "н": "h", "о": "o",
        "п": "n", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ь": "b", "ѕ": "s", "і": "i", "ї": "i",
        "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ӏ": "l",
        # Greek
        "α": "a", "β": "b", "γ": "y", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
        "τ": "t", "υ": "u", "χ": "x", "ω": "w", "ς": "s",
        # Latin look-alikes outside ASCII that NFKC keeps
        "ı": "i", "ȷ": "j", "ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe",
    }
)  # fmt: skip
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s",
                       "!": "i", "|": "i", "l": "i"})  # fmt: skip
_TOKEN = re.compile(r"[\w@$!|]+")
_NOT_ALNUM = re.compile(r"[\W_]+")
_REPEATS = re.compile(r"(.)\1+")
_QUOTED = re.compile(r"[\"“”„«»]([^\"“”„«»]*)[\"“”„«»]|([^\s,;\"“”„«»]+)")
_QUOTES = '"“”„«»'


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    if not text.isascii():
        text = "".join(ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn")
        text = text.translate(_HOMOGLYPHS)
    return text


def _fold_token(raw: str) -> str:
    token = raw.strip("!|")
    if any(ch.isalpha() for ch in token):
        # "l" joins the leet digits because "1" stands for both i and l: folding both sides to "i" matches either.
        token = token.translate(_LEET)
    token = _NOT_ALNUM.sub("", token)
    return _REPEATS.sub(r"\1", token)


def _raw_tokens(text: str) -> list[str]:
    return _TOKEN.findall(_fold(text))


@dataclass(frozen=True, slots=True)
class Tokens:
    """A text folded for matching, computed once and matched against several lists."""

    words: tuple[str, ...]
    spelled: tuple[str, ...]
    """Runs of three or more one-character words, each joined and folded (``t h i s i s a s c a m`` →
    ``thisisascam``). An entry matches anywhere inside a run: the letters' word boundaries are lost."""


def tokenise(text: str) -> Tokens:
    raw = _raw_tokens(text)
    words = tuple(t for t in (_fold_token(r) for r in raw) if t)
    spelled: list[str] = []
    run: list[str] = []
    for token in [*raw, ""]:
        if len(token) == 1:
            run.append(token)
            continue
        if len(run) >= 3:
            joined = _fold_token("".join(run))
            if joined:
                spelled.append(joined)
        run = []
    return Tokens(words, tuple(spelled))


@dataclass(frozen=True, slots=True)
class _Pattern:
    entry: str
    words: tuple[str, ...]
    prefix: tuple[bool, ...]
    joined: str
    """The words run together and folded, as they appear inside a spelled-out run."""

    def matches_at(self, tokens: tuple[str, ...], start: int) -> bool:
        if start + len(self.words) > len(tokens):
            return False
        for offset, (word, prefix) in enumerate(zip(self.words, self.prefix, strict=True)):
            token = tokens[start + offset]
            if not (token.startswith(word) if prefix else token == word):
                return False
        return True


def entry_words(entry: str) -> tuple[tuple[str, ...], tuple[bool, ...]]:
    """The folded words of one list entry and, for each, whether it matches as a prefix (a trailing ``*``)."""
    words: list[str] = []
    prefix: list[bool] = []
    for piece in entry.split():
        star = piece.endswith("*")
        folded = [t for t in (_fold_token(r) for r in _raw_tokens(piece.rstrip("*"))) if t]
        words.extend(folded)
        prefix.extend([False] * len(folded))
        if star and folded:
            prefix[-1] = True
    return tuple(words), tuple(prefix)


class KeywordMatcher:
    """A compiled word list. Build it with :func:`matcher_for`, which caches one per list."""

    def __init__(self, entries: Sequence[str]) -> None:
        self._first: dict[str, list[_Pattern]] = {}
        # Patterns whose first word is a prefix, by that prefix: a token is looked up once per distinct prefix
        # length, not compared with every pattern (lists hold up to 2,000 entries).
        self._prefixed: dict[str, list[_Pattern]] = {}
        self._prefix_lengths: list[int] = []
        # Every pattern by its joined form, for spelled-out runs: each position of a run is looked up once per
        # distinct length, rather than every pattern searched through the whole run.
        self._joined: dict[str, list[_Pattern]] = {}
        for entry in entries:
            words, prefix = entry_words(entry)
            if not words:
                continue
            pattern = _Pattern(entry, words, prefix, _REPEATS.sub(r"\1", "".join(words)))
            self._joined.setdefault(pattern.joined, []).append(pattern)
            if prefix[0]:
                self._prefixed.setdefault(words[0], []).append(pattern)
            else:
                self._first.setdefault(words[0], []).append(pattern)
        self._prefix_lengths = sorted({len(p) for p in self._prefixed})
        self._joined_lengths = sorted({len(j) for j in self._joined})

    def __bool__(self) -> bool:
        return bool(self._first or self._prefixed)

    def find(self, tokens: Tokens) -> tuple[str, ...]:
        """The entries found in ``tokens``, each once, in the order they first occur."""
        found: dict[str, None] = {}
        stream = tokens.words
        for start, token in enumerate(stream):
            for pattern in self._first.get(token, ()):
                if pattern.matches_at(stream, start):
                    found.setdefault(pattern.entry)
            for length in self._prefix_lengths:
                if length > len(token):
                    break
                for pattern in self._prefixed.get(token[:length], ()):
                    if pattern.matches_at(stream, start):
                        found.setdefault(pattern.entry)
        for run in tokens.spelled:
            for start in range(len(run)):
                for length in self._joined_lengths:
                    if start + length > len(run):
                        break
                    for pattern in self._joined.get(run[start : start + length], ()):
                        found.setdefault(pattern.entry)
        return tuple(found)


@functools.lru_cache(maxsize=256)
def matcher_for(entries: tuple[str, ...]) -> KeywordMatcher:
    """The matcher for a list, compiled once per distinct list (settings hold lists as tuples)."""
    return KeywordMatcher(entries)


def parse_entries(raw: str) -> list[str]:
    """Words and quoted phrases from what a moderator typed: ``casino, "cheap pills" viagra*``.

    Separators are spaces, commas, semicolons and new lines; straight and typographic quotes both delimit a phrase
    (phones type “ ”). Raises ``ValueError`` for an unclosed quote.
    """
    if sum(raw.count(q) for q in _QUOTES) % 2:
        raise ValueError('A quote is not closed: put each phrase between two quotes, like "cheap pills".')
    out: list[str] = []
    for match in _QUOTED.finditer(raw):
        phrase = match.group(1) if match.group(1) is not None else match.group(2)
        phrase = " ".join(phrase.split())
        if phrase:
            out.append(phrase)
    return out


def format_entries(entries: Sequence[str]) -> str:
    """The inverse of :func:`parse_entries`: phrases quoted, entries separated by commas."""
    return ", ".join(f'"{e}"' if " " in e else e for e in entries)
