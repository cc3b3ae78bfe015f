"""Extractive summaries of news articles, without downloaded models.

Each sentence gets a score that multiplies two kinds of evidence:

- **position**: news is written top-down, so the prior is ``(i + 1) ** -position`` for the ``i``-th sentence;
- **forward centrality**: the summed tf-idf cosine similarity of the sentence to every sentence *after* it
  (and to the title, when there is one). A sentence that the rest of the article goes on to elaborate is
  central; a sentence similar only to what came before is a recap. This is the directed centrality of
  PacSum (Zheng & Lapata 2019) reduced to its forward edges, with tf-idf vectors in place of BERT. Because
  similarity is a dot product of unit vectors, the sum over followers is one dot product with a running
  suffix sum, so scoring is linear in the length of the article.

Sentences are then picked greedily (maximal marginal relevance): each pick's score is discounted by
``1 - redundancy * (its highest similarity to a sentence already picked)``, so a Daily-Mail-style repeated
caption does not take a second slot, and a near-copy (cosine >= DUPLICATE) is never picked. A sentence that
leans on the one before it (an opening pronoun, a connective such as "But", "However", "Also", "He said", or
the rest of a quotation opened before it) is only eligible once that previous sentence has been picked, so no
summary opens with one, and none is left pointing at the wrong antecedent.

The two weights are round values from the middle of a flat region rather than fitted optima: on REALSumm every
setting of the grid in ``benchmarks/eval_summaries.py --cv`` beats Lead-3, and weights chosen on half of the
documents beat it on the other half (figures in that script's output).

Pure: no discord, no I/O, no SQL.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from bot.news.sentences import split_with_context

__all__ = [
    "DEFAULT_WEIGHTS",
    "DUPLICATE",
    "LENGTHS",
    "MAX_BODY_CHARS",
    "MAX_CANDIDATES",
    "SHORT_MIN_WORDS",
    "SummaryLength",
    "Weights",
    "leans_on_previous",
    "select_sentences",
    "summarize",
    "term",
    "terms",
]

SummaryLength = Literal["short", "medium", "long"]

LENGTHS: dict[SummaryLength, int] = {"short": 1, "medium": 3, "long": 5}
"""Sentences per length: short is one (two when the first is brief, see SHORT_MIN_WORDS), medium three (the
length of a CNN/Daily Mail highlight block, and of the Lead-3 baseline), long five."""

SHORT_MIN_WORDS = 15
"""A short summary whose one sentence has fewer words than this gets a second sentence: a 6-word opener
("Police have named the victim.") does not summarise anything on its own."""

MAX_BODY_CHARS = 100_000
"""Only this much of a body is read (about 15,000 words, several times a long feature); the rest cannot change a
summary whose position prior has all but vanished by then, and cutting keeps hostile input bounded."""

MAX_CANDIDATES = 400
"""Sentences considered, for the same reason."""


@dataclass(frozen=True, slots=True)
class Weights:
    position: float = 0.5
    """Exponent of the position prior ``(i + 1) ** -position``: 0 ignores position, 1 is a steep 1/i."""
    redundancy: float = 0.5
    """How much similarity to a picked sentence discounts a candidate: 0 ignores it, 1 excludes duplicates."""


DEFAULT_WEIGHTS = Weights()

DUPLICATE = 0.8
"""A candidate this similar (cosine) to a picked sentence restates it and is never picked, whatever the weights:
news pages repeat their lead in captions and teasers, and a summary that says one thing twice wastes a slot."""

# Function words and reporting verbs carry no topic; without them similarity is about what the text is about.
_STOP = frozenset(
    {"a", "about", "above", "after", "again", "against", "all", "also", "am", "an", "and", "any", "are", "as", "at",
     "be", "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "cannot", "could",
     "did", "do", "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have",
     "having", "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is",
     "it", "its", "itself", "just", "let", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of",
     "off", "on", "once", "only", "or", "other", "ought", "our", "ours", "ourselves", "out", "over", "own", "same",
     "she", "should", "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then",
     "there", "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we",
     "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you", "your",
     "yours", "yourself", "yourselves", "said", "says", "say", "told", "tell", "according", "mr", "mrs", "ms", "dr",
     "one", "two", "new", "first", "last", "year", "years"}
)  # fmt: skip
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
_POSSESSIVE = re.compile(r"['’]s$")

# Openers that make a sentence depend on the one before it. "There" is left out: it is usually existential.
_LEANING_FIRST = frozenset(
    {"but", "however", "also", "and", "so", "yet", "still", "meanwhile", "moreover", "furthermore", "instead",
     "nevertheless", "nonetheless", "thus", "therefore", "hence", "besides", "likewise", "similarly", "otherwise",
     "indeed", "plus", "or", "nor", "then", "later", "afterwards", "again", "another", "such", "he", "she", "it",
     "they", "his", "her", "its", "their", "them", "him", "hers", "theirs", "this", "that", "these", "those"}
)  # fmt: skip
_LEANING_PHRASES = (
    "as a result",
    "in addition",
    "on the other hand",
    "for example",
    "for instance",
    "even so",
    "after that",
    "in turn",
    "by contrast",
    "in contrast",
    "at the same time",
)
_OPENING_MARKS = "\"'“‘«([ "
_CONTINUATION_MARKS = frozenset("”’»)],;:…-–—")


def terms(text: str, *, exclude: frozenset[str] = frozenset()) -> list[str]:
    """Content words of ``text``: lower-cased, possessives dropped, stop words and 1-letter words out, stemmed.

    ``exclude`` holds more (lower-case, unstemmed) words to leave out, such as a question's frame words.

    Stemming (Snowball English) hardly moves summary ROUGE (within 0.2), but answers need it: a member asks
    why someone "resigned" of an article saying they "resign", or how Trump "characterized" the talks.
    """
    words: list[str] = []
    for raw in _WORD.findall(text.lower()):
        if raw in exclude:
            continue
        word = term(raw)
        if word is not None:
            words.append(word)
    return words


@functools.lru_cache(maxsize=65_536)
def term(word: str) -> str | None:
    """One lower-case word as :func:`terms` indexes it, or None for a stop word (cached: vocabulary repeats)."""
    word = _POSSESSIVE.sub("", word.replace("’", "'"))
    if len(word) < 2 or word in _STOP:
        return None
    return _stem(word)


@functools.cache
def _stemmer() -> Any:
    # Built on first use: importing the stemmer's language tables costs ~0.1 s, which CLI start-up need not pay.
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def _stem(word: str) -> str:
    # The pure-Python stemmer costs ~50 µs a word; ``term`` caches it, since news vocabulary repeats.
    stemmed: str = _stemmer().stemWord(word)
    return stemmed


def leans_on_previous(sentence: str) -> bool:
    """Whether a sentence needs the one before it to be understood (opening pronoun, connective, continuation)."""
    stripped = sentence.lstrip(_OPENING_MARKS)
    if not stripped:
        return False
    if stripped[0] in _CONTINUATION_MARKS or (stripped[0].islower() and sentence != sentence.lower()):
        return True  # a fragment continuing the previous sentence
    head = stripped[:40].lower()
    words = _WORD.findall(head)
    if not words:
        return False
    return words[0] in _LEANING_FIRST or head.startswith(_LEANING_PHRASES)


def _vectors(token_lists: Sequence[list[str]]) -> list[dict[str, float]]:
    """Unit tf-idf vectors, with document frequency counted over the article's own sentences."""
    count = len(token_lists)
    df: dict[str, int] = {}
    for tokens in token_lists:
        for word in set(tokens):
            df[word] = df.get(word, 0) + 1
    vectors: list[dict[str, float]] = []
    for tokens in token_lists:
        tf: dict[str, int] = {}
        for word in tokens:
            tf[word] = tf.get(word, 0) + 1
        weighted = {w: (1.0 + math.log(c)) * math.log((count + 1) / (df[w] + 0.5)) for w, c in tf.items()}
        norm = math.sqrt(sum(x * x for x in weighted.values()))
        vectors.append({w: x / norm for w, x in weighted.items()} if norm > 0 else {})
    return vectors


def _dot(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(w, 0.0) for w, x in a.items())


def _ranked(
    sentences: Sequence[str],
    count: int,
    *,
    title: str | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
    in_quote: Sequence[bool] = (),
) -> list[int]:
    """Indices of up to ``count`` sentences in the order they were picked (best first).

    ``in_quote[i]`` says sentence ``i`` continues a quotation opened before it (see ``split_with_context``).
    """
    n = len(sentences)
    if n == 0 or count <= 0:
        return []
    token_lists = [terms(s) for s in sentences]
    title_terms = terms(title) if title else []
    vectors = _vectors([*token_lists, title_terms])
    title_vector = vectors.pop()

    centrality = [0.0] * n
    followers: dict[str, float] = dict(title_vector)
    for i in range(n - 1, -1, -1):
        centrality[i] = _dot(vectors[i], followers)
        for word, x in vectors[i].items():
            followers[word] = followers.get(word, 0.0) + x
    # The small floor keeps position deciding among sentences with no content words in common.
    scores = [(i + 1) ** -weights.position * (centrality[i] + 1e-3) for i in range(n)]
    quoted = list(in_quote) + [False] * (n - len(in_quote))
    leaning = [i > 0 and (quoted[i] or leans_on_previous(s)) for i, s in enumerate(sentences)]

    picked: list[int] = []
    chosen = [False] * n
    closest = [0.0] * n  # each candidate's highest similarity to a picked sentence
    while len(picked) < min(count, n):
        best, best_score = -1, -math.inf
        for i in range(n):
            if chosen[i] or closest[i] >= DUPLICATE or (leaning[i] and not chosen[i - 1]):
                continue
            score = scores[i] * (1.0 - weights.redundancy * closest[i])
            if score > best_score:
                best, best_score = i, score
        if best < 0:
            break
        picked.append(best)
        chosen[best] = True
        for i in range(n):
            if not chosen[i]:
                closest[i] = max(closest[i], _dot(vectors[i], vectors[best]))
    return picked


def select_sentences(
    sentences: Sequence[str],
    count: int,
    *,
    title: str | None = None,
    weights: Weights = DEFAULT_WEIGHTS,
    in_quote: Sequence[bool] = (),
) -> list[int]:
    """Indices of the ``count`` best sentences for a summary, in document order."""
    return sorted(_ranked(sentences, count, title=title, weights=weights, in_quote=in_quote))


def summarize(
    body: str, *, title: str | None = None, length: SummaryLength = "medium", sentences: int | None = None
) -> list[str]:
    """The sentences of an extractive summary of ``body``, in document order (``sentences`` overrides ``length``).

    An empty or blank body gives an empty list; a body with fewer sentences than asked for gives all of them but
    near-copies (and a sentence whose predecessor was such a copy, if it leans on it).
    """
    if sentences is not None and sentences < 1:
        raise ValueError(f"sentences must be at least 1, not {sentences}")
    if length not in get_args(SummaryLength):
        raise ValueError(f"length must be one of {', '.join(get_args(SummaryLength))}, not {length!r}")
    split = split_with_context(body[:MAX_BODY_CHARS])[:MAX_CANDIDATES]
    parts = [s.text for s in split]
    in_quote = [s.in_quote for s in split]
    if sentences is not None:
        return [parts[i] for i in select_sentences(parts, sentences, title=title, in_quote=in_quote)]
    count = LENGTHS[length]
    ranked = _ranked(parts, count + 1 if length == "short" else count, title=title, in_quote=in_quote)
    if length == "short" and ranked and len(parts[ranked[0]].split()) >= SHORT_MIN_WORDS:
        ranked = ranked[:1]
    return [parts[i] for i in sorted(ranked)]
