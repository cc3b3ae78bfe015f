"""Sentence splitting for article bodies, without downloaded models.

A full stop, question mark, exclamation mark or ellipsis followed by white space is a *candidate* boundary;
the rules below reject the candidates that are not sentence ends:

- the word before the stop is a title that always precedes a name ("Dr.", "Gov.", "Sen."), a single letter
  (an initial: "J. R. R. Tolkien"), a month before a day ("Jan. 5"), or "No." before a number;
- the word is a dotted abbreviation ("U.S.", "a.m.", "e.g.") and what follows is not a usual sentence opener
  ("U.S. President" continues, "the U.S. He left" ends);
- in text that has capital letters, the next word starts in lower case ("Well… maybe.", "Inc. said",
  ``"Why?" he asked``). Text with no capitals at all (chat, lower-cased corpora) carries no such evidence, so
  there the rule is not applied and only the abbreviation rules decide.

Closing quotes and brackets after the stop belong to the sentence they close, including tokenised text where
a space separates them (``works . ' then``), which is told from an opening quote by counting the quotes so far.
Decimals ("3.5 percent"), URLs and "U.S.-Russian" have no space after the stop, so they are never candidates.
A blank line always ends a sentence, and a sentence longer than :data:`MAX_SENTENCE_CHARS` is cut at a space,
so a body with no punctuation still comes out in bounded pieces.

Pure: no discord, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["MAX_SENTENCE_CHARS", "Sentence", "split_paragraphs", "split_sentences", "split_with_context"]

MAX_SENTENCE_CHARS = 1000
"""Real sentences in news are well under this; longer runs are lists, tables or text without punctuation."""

# Titles and other abbreviations that are (practically) never the last word of a sentence.
_NEVER_FINAL = frozenset(
    {"mr", "mrs", "ms", "mssrs", "messrs", "mme", "mlle", "dr", "prof", "gov", "govs", "sen", "sens", "rep", "reps",
     "gen", "lt", "col", "maj", "capt", "cmdr", "cmdt", "adm", "sgt", "cpl", "pvt", "pte", "brig", "insp", "supt",
     "det", "rev", "fr", "msgr", "hon", "rt", "pres", "amb", "atty", "st", "ste", "mt", "ft", "vs", "v", "cf", "viz",
     "approx", "ca", "dept", "est"}
)  # fmt: skip
# Abbreviations that end a sentence only when a typical sentence opener follows.
_ABBREVIATIONS = frozenset({"jr", "sr", "inc", "ltd", "co", "corp", "bros", "etc", "al", "ed", "eds", "esp", "op"})
_MONTHS = frozenset({"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec"})
_BEFORE_NUMBER = frozenset({"no", "nos", "vol", "vols", "pp", "fig", "figs", "art", "p"})
# Words that commonly open an English sentence; after an ambiguous abbreviation they signal a boundary.
_OPENERS = frozenset(
    {"a", "an", "the", "this", "that", "these", "those", "there", "here", "it", "its", "he", "she", "his", "her",
     "him", "they", "them", "their", "we", "our", "us", "i", "you", "your", "but", "and", "or", "so", "yet",
     "however", "meanwhile", "also", "then", "now", "still", "thus", "instead", "in", "on", "at", "after", "before",
     "when", "while", "during", "since", "as", "if", "although", "though", "because", "one", "two", "some", "many",
     "most", "all", "both", "each", "no", "not", "what", "who", "why", "how", "where", "which", "mr", "mrs", "ms",
     "dr"}
)  # fmt: skip

_CANDIDATE = re.compile(r"""(?:\.{2,}|…|[.!?]+)["'”’»)\]]*(?=\s)""")
_SPACE = re.compile(r"\s+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_NEXT_WORD = re.compile(r"""\s*["'“‘«(\[]*([^\s"'“‘«(\[]*)""")
_CLOSERS = frozenset("”’»)]")
_STRAIGHT = frozenset("\"'")
_ELLIPSIS = ("…", "..")
_LOOK_BACK = 64
# A straight single quote that is not an apostrophe: not inside a word, not a tokenised contraction ('s, 're).
_SINGLE_QUOTE = re.compile(r"(?<![^\W\d_])'(?![^\W\d_])|(?<![^\W\d_])'(?!(?:s|re|ve|ll|d|m|t)\b)(?=[^\W\d_])")


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines, each with its inner white space collapsed to single spaces."""
    paragraphs = (_SPACE.sub(" ", p).strip() for p in _PARAGRAPH_BREAK.split(text))
    return [p for p in paragraphs if p]


@dataclass(frozen=True, slots=True)
class Sentence:
    text: str
    paragraph: int
    """Index of the paragraph the sentence belongs to."""
    in_quote: bool
    """The sentence starts inside a quotation opened by an earlier sentence of its paragraph (it continues
    someone's words, so on its own it misattributes them)."""


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text`` in order, white space collapsed; no empty strings."""
    return [s.text for s in split_with_context(text)]


def split_with_context(text: str) -> list[Sentence]:
    """The sentences of ``text`` with their paragraph and whether each continues an open quotation."""
    cased = text != text.lower()
    sentences: list[Sentence] = []
    for number, paragraph in enumerate(split_paragraphs(text)):
        open_quote = False
        for sentence in _split_paragraph(paragraph, cased=cased):
            for piece in _bound(sentence):
                sentences.append(Sentence(piece, number, open_quote))
                open_quote = _quote_open_after(piece, open_quote)
    return sentences


def _quote_open_after(sentence: str, open_quote: bool) -> bool:
    """Whether a quotation is still open after ``sentence``, reading its quote marks in order."""
    for mark in _QUOTE_MARK.findall(sentence):
        open_quote = not open_quote if mark == '"' else mark in "“‘"
    return open_quote


def _split_paragraph(paragraph: str, *, cased: bool) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _CANDIDATE.finditer(paragraph):
        end = match.end()
        if not _is_boundary(paragraph, start, match, cased=cased):
            continue
        end = _absorb_closers(paragraph, start, end)
        piece = paragraph[start:end].strip()
        if piece:
            pieces.append(piece)
        start = end
    rest = paragraph[start:].strip()
    if rest:
        # A stray closing quote left over from tokenised text belongs to the sentence before it.
        if pieces and all(c in _CLOSERS or c in _STRAIGHT for c in rest):
            pieces[-1] = f"{pieces[-1]} {rest}"
        else:
            pieces.append(rest)
    return pieces


def _is_boundary(paragraph: str, start: int, match: re.Match[str], *, cased: bool) -> bool:
    marks = match.group()
    # Only the word before the stop matters; a bounded look-back keeps long runs of rejected stops linear.
    head = paragraph[max(start, match.start() - _LOOK_BACK) : match.start()]
    word = "" if not head or head[-1].isspace() else head.rsplit(None, 1)[-1].lstrip("\"'“‘([«")
    following = _NEXT_WORD.match(paragraph, match.end())
    next_word = following.group(1) if following else ""
    if not next_word:
        # Only closing punctuation follows (tokenised text); the absorbing step decides.
        return True
    if cased and next_word[0].islower():
        return False
    if marks.startswith(_ELLIPSIS):
        # In caseless text an ellipsis more often trails off mid-sentence, so it needs an opener after it.
        return cased or next_word.lower() in _OPENERS
    if not marks.startswith("."):
        return True
    if not word:
        return True  # a stop standing alone, as in tokenised text ("works .")
    return not _is_abbreviation(word, next_word)


def _is_abbreviation(word: str, next_word: str) -> bool:
    """Whether ``word`` (the text before a single full stop) is an abbreviation that continues the sentence."""
    bare = word.lower().rstrip(".")
    if bare in _NEVER_FINAL:
        return True
    if len(bare) == 1 and bare.isalpha():
        return True  # an initial
    if bare in _MONTHS or bare in _BEFORE_NUMBER:
        return next_word[0].isdigit()  # "Jan. 5", "No. 10"; "the answer was no. Then" ends
    opener = next_word.lower().strip(".,;:") in _OPENERS
    if "." in bare and all(part.isalpha() and len(part) <= 3 for part in bare.split(".")):
        return not opener  # "U.S.", "a.m.", "Ph.D.", "e.g."
    if bare in _ABBREVIATIONS:
        return not opener
    return False


def _absorb_closers(paragraph: str, start: int, end: int) -> int:
    """Extend a sentence over closing quotes and brackets that tokenised text separates with a space."""
    while True:
        probe = end
        while probe < len(paragraph) and paragraph[probe] == " ":
            probe += 1
        if probe >= len(paragraph):
            return end
        char = paragraph[probe]
        after = paragraph[probe + 1 : probe + 2]
        if after and not after.isspace():
            return end  # a quote glued to a word opens it
        if char in _CLOSERS or (char in _STRAIGHT and _quote_marks(paragraph[start:end], char) % 2 == 1):
            end = probe + 1
            continue
        return end


# Marks that open or close a quotation. Straight single quotes are left out: in plain and tokenised text they
# are as often apostrophes ("viewers ' calls", "'n") as quotes, and one misread mark would flip the rest of the
# paragraph. A curly ’ inside a word ("Trump’s") is an apostrophe; after a word it closes (or is a harmless
# plural possessive, "leaders’").
_QUOTE_MARK = re.compile(r"[“”\"‘]|’(?![^\W_])")


def _quote_marks(text: str, char: str) -> int:
    """How many ``char`` quote marks ``text`` holds, not counting apostrophes ("don't", tokenised "'s", "n't")."""
    if char == '"':
        return text.count(char)
    return len(_SINGLE_QUOTE.findall(text))


def _bound(sentence: str) -> list[str]:
    """Cut a run longer than MAX_SENTENCE_CHARS at the last space before the limit (hard cut if none)."""
    if len(sentence) <= MAX_SENTENCE_CHARS:
        return [sentence]
    pieces: list[str] = []
    start = 0
    # Offsets rather than re-slicing the remainder, so a megabyte without punctuation stays linear.
    while len(sentence) - start > MAX_SENTENCE_CHARS:
        limit = start + MAX_SENTENCE_CHARS
        cut = sentence.rfind(" ", start + MAX_SENTENCE_CHARS // 2, limit)
        if cut <= start:
            cut = limit
        pieces.append(sentence[start:cut].strip())
        start = cut
    rest = sentence[start:].strip()
    if rest:
        pieces.append(rest)
    return [p for p in pieces if p]
