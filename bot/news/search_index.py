"""The in-memory word index behind :class:`bot.news.search.SearchService`. Pure: no discord, no SQL.

Titles and the first :data:`BODY_CHARS` characters of bodies are indexed with word positions (for proximity).
A query word matches index words exactly, within a typo budget (Damerau distance: 0 for words of up to 4
letters, 1 up to 8, 2 beyond), and, for the last word, as a prefix. A typo on the first letter counts as two,
as in Meilisearch, but a word with a budget of one may still have one. Documents are ranked by the rules of
Meilisearch: words matched, then typos, then proximity, then title before body, then exactness, then recency.

Not thread-safe: the service runs every call on one worker thread. Posting lists are buffers that numpy reads
in place, so a query copies nothing, and the per-document work of a query runs in numpy.
"""

from __future__ import annotations

import bisect
import heapq
import math
import re
import struct
import unicodedata
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from rapidfuzz import process
from rapidfuzz.distance import OSA

#: Body text beyond this is not indexed: it bounds build time and memory (see the search benchmark), and a news
#: article's lead is where its topic is.
BODY_CHARS = 400
#: Title words beyond this are not indexed (positions are packed in 6 bits); nor are body words beyond 256.
TITLE_WORDS = 64
#: Query words beyond this are ignored; longer input costs time and adds nothing to finding an article.
MAX_QUERY_WORDS = 10
MAX_QUERY_CHARS = 200
#: A query word of up to 4 letters must match exactly, 5–8 letters allow one typo, longer ones two.
ONE_TYPO_LETTERS = 5
TWO_TYPO_LETTERS = 9
#: Words a prefix or a typo may stand for, at most, per query word (the most frequent are kept).
MAX_DERIVATIONS = 150
#: A word found in more than this share of documents (and in more than COMMON_WORD_DOCS) does not, alone, make a
#: partial match relevant; neither does a function word, which is how small collections tell them.
COMMON_WORD_SHARE = 0.1
COMMON_WORD_DOCS = 5
FUNCTION_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "for",
        "from",
        "has",
        "have",
        "he",
        "her",
        "his",
        "i",
        "in",
        "is",
        "it",
        "its",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "that",
        "the",
        "their",
        "them",
        "they",
        "this",
        "to",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "who",
        "will",
        "with",
        "you",
        "your",
    ]
)
#: A prefix shorter than this matches title words only.
PREFIX_BODY_LETTERS = 3
#: Candidates that proximity is computed for, at most: the best by the other criteria (a query of common words
#: can match most of the collection, and proximity is the costly criterion).
MAX_RANKED = 1000
#: Typo-tolerant prefixes are kept for prefix lengths in this range.
_PREFIX_MIN = ONE_TYPO_LETTERS - 1
_PREFIX_MAX = 16

_TITLE_BITS = 6
_BODY_BITS = 8
_BODY_WORDS = 1 << _BODY_BITS
_INT32 = struct.Struct("=i")  # native order, as numpy reads it with dtype int32
_PUB_BITS = 27
_PUB_MAX = (1 << _PUB_BITS) - 1
_FAR = 8  # proximity of two words that no one field holds both of (Meilisearch: "not in the same attribute")

# Han and kana are written without spaces: each character is a word, which makes them findable at all.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+")
_MARKS = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
# Letters that NFKD does not decompose but that readers type without their stroke.
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe", "þ": "th"})
_STROKED = re.compile("[øłđħıæœþ]")

Int32Array = npt.NDArray[np.int32]
UInt8Array = npt.NDArray[np.uint8]
Int64Array = npt.NDArray[np.int64]


def fold(text: str) -> str:
    """Case- and accent-insensitive form of ``text``, the same for documents and queries."""
    text = text.casefold()
    if text.isascii():
        return text
    text = _MARKS.sub("", unicodedata.normalize("NFKD", text))
    # str.translate with a dict costs a lookup per character: only pay it when one of its letters is there.
    return text.translate(_LETTERS) if _STROKED.search(text) else text


def words(text: str) -> list[str]:
    """The index words of ``text``: runs of letters and digits, folded; everything else separates words."""
    return _WORD.findall(fold(text))


def typo_budget(word: str) -> int:
    if len(word) >= TWO_TYPO_LETTERS:
        return 2
    return 1 if len(word) >= ONE_TYPO_LETTERS else 0


def published_key(published: datetime | None) -> int:
    """Minutes since 1970 (clamped to 27 bits, which reach 2225); 0 for an undated article, which ranks last."""
    if published is None:
        return 0
    if published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    minutes = int(published.timestamp() // 60)
    return min(max(minutes, 1), _PUB_MAX)


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: its words, and whether the last one is still being typed (so matches as a prefix)."""

    words: tuple[str, ...]
    prefix_last: bool

    @classmethod
    def parse(cls, text: str) -> Query:
        text = text[:MAX_QUERY_CHARS]
        found = words(text)
        # A separator after the last word means the member finished typing it.
        typing = bool(found) and len(found) <= MAX_QUERY_WORDS and bool(words(text[-1]))
        return cls(tuple(found[:MAX_QUERY_WORDS]), typing)


@dataclass(frozen=True, slots=True)
class Ranked:
    """One result of :meth:`WordIndex.search`: the ranking criteria are kept so callers can explain a score."""

    article_id: int
    title: str
    words: int
    typos: int
    proximity: int
    body_words: int
    exact: int

    def score(self, query_words: int) -> float:
        """0–100: the share of query words matched, less a little for each typo, gap and body-only word.

        It summarises the ranking for display and thresholds; the order itself follows the ranking rules."""
        base = 100.0 * self.words / max(query_words, 1)
        penalty = 8.0 * self.typos + 1.0 * self.proximity + 2.0 * self.body_words
        return round(max(base - penalty, 1.0), 2)


class _Derivation(NamedTuple):
    """A NamedTuple, not a dataclass: tuples of plain values drop out of the collector's sight, and thousands
    of these live in the derivation cache."""

    term: str
    typos: int
    exact: bool
    body: bool
    """Whether it matches in bodies too: not for the words a 1–2 letter prefix stands for, which would be most
    of every body (titles are where a member who types two letters is looking)."""


class WordIndex:
    """Documents by slot (insertion order); removed ones are tombstoned and skipped.

    Nothing here grows a Python container per document, and as few as can be per word: a full collection of
    the garbage collector walks every reference in every tracked container, holding the GIL (and so the event
    loop) while it does, and at a million articles a list of titles and a dict of ids alone made that 0.2 s.
    So titles are one UTF-8 buffer with end offsets, ids map to slots through two sorted arrays, and a word's
    posting lists sit in an untracked tuple in the vocabulary dict.
    """

    def __init__(self) -> None:
        self._ids = array("q")  # slot -> article id
        self._order_ids = array("q")  # live article ids, ascending ...
        self._order_slots = array("q")  # ... and their slots
        self._title_text = bytearray()
        self._title_end = array("q")
        self._title_len = bytearray()
        self._alive = bytearray()
        self._pub = array("q")
        self._live = 0
        # word -> (title postings, body postings): bytearrays of native int32, ``slot << 6 | position`` in
        # titles and ``slot << 8 | position`` in bodies (bytearrays and tuples of them are not tracked).
        self._terms: dict[str, tuple[bytearray, bytearray]] = {}
        # Typo candidates are looked up by (first letter, length): a first-letter typo is handled separately.
        self._by_len: dict[tuple[str, int], list[str]] = {}
        self._prefixes: dict[tuple[str, int], list[str]] = {}
        self._prefix_seen: set[str] = set()
        self._first_letters: set[str] = set()
        # Sorted per first letter, so that folding in new words never sorts the whole vocabulary at once.
        self._sorted: dict[str, list[str]] = {}
        self._unsorted: dict[str, list[str]] = {}
        self._version = 0
        self._cache: dict[tuple[str, bool], tuple[int, list[_Derivation]]] = {}

    def __len__(self) -> int:
        return self._live

    def __contains__(self, article_id: int) -> bool:
        return self._find(article_id) is not None

    def _find(self, article_id: int) -> int | None:
        """Index of ``article_id`` in the sorted id arrays, or None."""
        at = bisect.bisect_left(self._order_ids, article_id)
        if at < len(self._order_ids) and self._order_ids[at] == article_id:
            return at
        return None

    def title(self, slot: int) -> str:
        start = self._title_end[slot - 1] if slot else 0
        return self._title_text[start : self._title_end[slot]].decode("utf-8", "surrogatepass")

    # -- building ---------------------------------------------------------------------------------------------

    def _term(self, word: str) -> tuple[bytearray, bytearray]:
        postings = self._terms.get(word)
        if postings is not None:
            return postings
        postings = (bytearray(), bytearray())
        self._terms[word] = postings
        first = word[0]
        self._first_letters.add(first)
        self._by_len.setdefault((first, len(word)), []).append(word)
        for length in range(_PREFIX_MIN, min(len(word) - 1, _PREFIX_MAX) + 1):
            prefix = word[:length]
            if prefix not in self._prefix_seen:
                self._prefix_seen.add(prefix)
                self._prefixes.setdefault((first, length), []).append(prefix)
        self._unsorted.setdefault(first, []).append(word)
        self._version += 1
        return postings

    def add(self, article_id: int, title: str, body: str, published: datetime | None) -> None:
        """Index one document; a document already indexed under ``article_id`` is replaced."""
        self.remove(article_id)
        slot = len(self._ids)
        if slot >= 1 << (31 - _BODY_BITS):
            raise OverflowError("search index is full; rebuild it")
        title_words = words(title)[:TITLE_WORDS]
        if not self._order_ids or article_id > self._order_ids[-1]:
            self._order_ids.append(article_id)
            self._order_slots.append(slot)
        else:
            at = bisect.bisect_left(self._order_ids, article_id)
            self._order_ids.insert(at, article_id)
            self._order_slots.insert(at, slot)
        self._ids.append(article_id)
        self._title_text += title.encode("utf-8", "surrogatepass")
        self._title_end.append(len(self._title_text))
        self._title_len.append(min(len(title_words), 255))
        self._alive.append(1)
        self._pub.append(published_key(published))
        self._live += 1
        # The hot loop of a build: names bound locally, the vocabulary's slow path only for new words.
        get, new, pack = self._terms.get, self._term, _INT32.pack
        base = slot << _TITLE_BITS
        for position, word in enumerate(title_words):
            (get(word) or new(word))[0].extend(pack(base | position))
        base = slot << _BODY_BITS
        for position, word in enumerate(words(body[:BODY_CHARS])[:_BODY_WORDS]):
            (get(word) or new(word))[1].extend(pack(base | position))

    def remove(self, article_id: int) -> bool:
        at = self._find(article_id)
        if at is None:
            return False
        slot = self._order_slots[at]
        del self._order_ids[at]
        del self._order_slots[at]
        self._alive[slot] = 0
        self._live -= 1
        return True

    # -- query words to index words ---------------------------------------------------------------------------

    def _frequency(self, term: str) -> int:
        title, body = self._terms[term]
        return (len(title) + len(body)) >> 2

    def _sorted_terms(self, first: str) -> list[str]:
        terms = self._sorted.setdefault(first, [])
        new = self._unsorted.pop(first, None)
        if new:
            if len(new) < 64:
                for word in new:
                    bisect.insort(terms, word)
            else:
                terms.extend(new)
                terms.sort()
        return terms

    def _starting_with(self, prefix: str) -> list[str]:
        terms = self._sorted_terms(prefix[0])
        lo = bisect.bisect_left(terms, prefix)
        hi = bisect.bisect_left(terms, prefix + "\U0010ffff", lo)
        return terms[lo:hi]

    def _fuzzy(self, word: str, budget: int, lists: dict[tuple[str, int], list[str]]) -> list[tuple[str, int]]:
        """Words in ``lists`` (by first letter and length) within ``budget`` typos of ``word``, first letter kept."""
        found: list[tuple[str, int]] = []
        first = word[0]
        for length in range(len(word) - budget, len(word) + budget + 1):
            choices = lists.get((first, length))
            if choices:
                for text, distance, _ in process.extract(
                    word, choices, scorer=OSA.distance, score_cutoff=budget, limit=None
                ):
                    if distance:
                        found.append((text, int(distance)))
        return found

    def _first_letter_typos(self, word: str) -> list[str]:
        """Words one edit away from ``word`` where that edit touches the first letter (costs two typos)."""
        rest = word[1:]
        candidates = {rest, word[1] + word[0] + word[2:]}
        for letter in self._first_letters:
            candidates.add(letter + word)
            candidates.add(letter + rest)
        candidates.discard(word)
        return [c for c in candidates if c in self._terms]

    def derivations(self, word: str, *, prefix: bool) -> list[_Derivation]:
        """The index words ``word`` stands for, each with its typo count; cached until the vocabulary changes."""
        key = (word, prefix)
        cached = self._cache.get(key)
        if cached is not None and cached[0] == self._version:
            return cached[1]
        best: dict[str, _Derivation] = {}

        def offer(text: str, typos: int, exact: bool, body: bool = True) -> None:
            if text not in self._terms:
                return
            old = best.get(text)
            if old is None or (typos, not exact, not body) < (old.typos, not old.exact, not old.body):
                best[text] = _Derivation(text, typos, exact, body)

        offer(word, 0, True)
        budget = typo_budget(word)
        if budget:
            for text, distance in self._fuzzy(word, budget, self._by_len):
                offer(text, distance, False)
            # Meilisearch counts a typo on the first letter as two; we still find it for one-typo words (a cheap
            # lookup), and rank it as two.
            for text in self._first_letter_typos(word):
                offer(text, 2, False)
        if prefix:
            in_bodies = len(word) >= PREFIX_BODY_LETTERS
            starting = self._starting_with(word)
            if len(starting) > MAX_DERIVATIONS:
                # A one- or two-letter prefix begins thousands of words: keep the most frequent.
                starting = heapq.nlargest(MAX_DERIVATIONS, starting, key=self._frequency)
            for text in starting:
                offer(text, 0, False, in_bodies)
            if budget:
                for text, distance in self._fuzzy(word, budget, self._prefixes):
                    for full in self._starting_with(text):
                        offer(full, distance, False)
        found = sorted(best.values(), key=lambda d: (d.typos, not d.exact, -self._frequency(d.term)))
        found = found[:MAX_DERIVATIONS]
        if len(self._cache) > 1024:
            self._cache.clear()
        self._cache[key] = (self._version, found)
        return found

    # -- ranking ----------------------------------------------------------------------------------------------

    def search(self, query: Query, *, limit: int = 25) -> list[Ranked]:
        n_words = len(query.words)
        slots = len(self._ids)
        if not n_words or not self._live or limit <= 0:
            return []
        alive = np.frombuffer(self._alive, dtype=np.uint8).astype(bool)
        qualities: list[UInt8Array] = []
        title_positions: list[Int32Array] = []
        body_positions: list[Int32Array] = []
        for i, word in enumerate(query.words):
            prefix = query.prefix_last and i == n_words - 1
            quality, in_title, in_body = self._word_quality(self.derivations(word, prefix=prefix), slots)
            qualities.append(quality)
            title_positions.append(in_title)
            body_positions.append(in_body)

        matched = [q > 0 for q in qualities]
        count = np.zeros(slots, dtype=np.uint8)
        for m in matched:
            count += m
        # A document must match every word, or at least half of them including one that is not everywhere:
        # otherwise "the xyzzy" would list every title with "the" in it.
        strong = np.zeros(slots, dtype=bool)
        common = max(COMMON_WORD_SHARE * self._live, COMMON_WORD_DOCS)
        for word, m in zip(query.words, matched, strict=True):
            if word not in FUNCTION_WORDS and int(np.count_nonzero(m)) <= common:
                strong |= m
        need = math.ceil(n_words / 2)
        ok = ((count == n_words) | ((count >= need) & strong)) & alive
        candidates = np.flatnonzero(ok).astype(np.int64)
        if not len(candidates):
            return []

        q = np.stack([quality[candidates] for quality in qualities]).astype(np.int64)
        present = q > 0
        typos = np.where(present, 2 - (q - 1) // 4, 0).sum(axis=0)
        n_matched = present.sum(axis=0)
        # Only the best (words, typos) buckets can reach the first ``limit`` places: the rest is computed there.
        primary = (n_words - n_matched) * 32 + typos
        if len(candidates) > limit:
            cut = np.partition(primary, limit - 1)[limit - 1]
            keep = np.flatnonzero(primary <= cut)
            candidates, q, present = candidates[keep], q[:, keep], present[:, keep]
            primary, n_matched, typos = primary[keep], n_matched[keep], typos[keep]

        body_words = (present & (((q - 1) >> 1) & 1 == 0)).sum(axis=0)
        exact = (present & ((q - 1) & 1 == 1)).sum(axis=0)
        title_len = np.frombuffer(self._title_len, dtype=np.uint8)[candidates].astype(np.int64)
        # A title that is exactly the query beats one that merely contains it.
        exact = exact + ((exact == n_words) & (title_len == n_words))
        pub = np.frombuffer(self._pub, dtype=np.int64)[candidates]
        tail = ((body_words * 32 + (31 - exact)) << _PUB_BITS) + (_PUB_MAX - pub)
        if len(candidates) > MAX_RANKED:
            cheap = (primary << 48) + tail
            keep = np.argpartition(cheap, MAX_RANKED - 1)[:MAX_RANKED]
            candidates, primary, n_matched, typos = candidates[keep], primary[keep], n_matched[keep], typos[keep]
            body_words, exact, tail = body_words[keep], exact[keep], tail[keep]

        proximity = self._proximity(candidates, title_positions, body_positions, slots)
        rank = ((primary * 64 + np.minimum(proximity, 63)) << (4 + 5 + _PUB_BITS)) + tail
        if len(rank) > limit:
            cut = np.partition(rank, limit - 1)[limit - 1]
            keep = np.flatnonzero(rank <= cut)
        else:
            keep = np.arange(len(rank))
        # Equal ranks go to the more recently indexed document, so the order is deterministic.
        order = keep[np.lexsort((-candidates[keep], rank[keep]))][:limit]
        ids = self._ids
        return [
            Ranked(
                article_id=ids[int(candidates[j])],
                title=self.title(int(candidates[j])),
                words=int(n_matched[j]),
                typos=int(typos[j]),
                proximity=int(proximity[j]),
                body_words=int(body_words[j]),
                exact=int(exact[j]),
            )
            for j in order
        ]

    def _word_quality(self, found: Sequence[_Derivation], slots: int) -> tuple[UInt8Array, Int32Array, Int32Array]:
        """Per slot, the best way one query word matches it, packed so that a higher value ranks higher:
        fewer typos first, then title over body, then an exact word over a prefix or typo; 0 = no match.
        Also every title and body position of the word (for proximity)."""
        quality = np.zeros(slots, dtype=np.uint8)
        layers: list[tuple[int, Int32Array, int]] = []
        titles: list[Int32Array] = []
        bodies: list[Int32Array] = []
        for d in found:
            base = 1 + int(d.exact) + 4 * (2 - d.typos)
            title, body = self._terms[d.term]
            if d.body and len(body):
                encoded = np.frombuffer(body, dtype=np.int32)
                layers.append((base, encoded, _BODY_BITS))
                bodies.append(encoded)
            if len(title):
                encoded = np.frombuffer(title, dtype=np.int32)
                layers.append((base + 2, encoded, _TITLE_BITS))
                titles.append(encoded)
        layers.sort(key=lambda layer: layer[0])
        # Written from the worst to the best, so each slot ends with its best value.
        for value, postings, bits in layers:
            quality[postings >> bits] = value
        return quality, _joined(titles), _joined(bodies)

    def _proximity(
        self,
        candidates: Int64Array,
        title_positions: Sequence[Int32Array],
        body_positions: Sequence[Int32Array],
        slots: int,
    ) -> Int64Array:
        """Sum over consecutive query words of their distance (1 = adjacent in order; reversed order costs one
        more; capped at 7) in the title or the body, whichever is closer; 8 when no field holds both."""
        total = np.zeros(len(candidates), dtype=np.int64)
        if len(title_positions) < 2:
            return total
        index_of = np.full(slots, -1, dtype=np.int64)
        index_of[candidates] = np.arange(len(candidates))
        for i in range(len(title_positions) - 1):
            in_title = _pair_cost(title_positions[i], title_positions[i + 1], _TITLE_BITS, index_of, len(candidates))
            in_body = _pair_cost(body_positions[i], body_positions[i + 1], _BODY_BITS, index_of, len(candidates))
            total += np.minimum(in_title, in_body)
        return total


def _joined(parts: Sequence[Int32Array]) -> Int32Array:
    if not parts:
        return np.empty(0, dtype=np.int32)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _pair_cost(first: Int32Array, second: Int32Array, bits: int, index_of: Int64Array, size: int) -> Int64Array:
    """Per candidate, the proximity cost of two words in one field (positions packed as ``slot << bits | pos``)."""
    out = np.full(size, _FAR, dtype=np.int64)
    a = first[index_of[first >> bits] >= 0]
    b = second[index_of[second >> bits] >= 0]
    if not len(a) or not len(b):
        return out
    has_a = np.zeros(size, dtype=bool)
    has_a[index_of[a >> bits]] = True
    has_b = np.zeros(size, dtype=bool)
    has_b[index_of[b >> bits]] = True
    out[has_a & has_b] = _FAR - 1
    keys = np.concatenate([a, b]).astype(np.int64)
    tags = np.concatenate([np.zeros(len(a), dtype=np.int8), np.ones(len(b), dtype=np.int8)])
    order = np.argsort(keys, kind="stable")
    keys, tags = keys[order], tags[order]
    gap = keys[1:] - keys[:-1]
    # Neighbours in position order: the closest pair of the two words in a field is always among them.
    valid = ((keys[1:] >> bits) == (keys[:-1] >> bits)) & (tags[1:] != tags[:-1]) & (gap > 0)
    if valid.any():
        # The first word before the second is "in order"; the other way round costs one more.
        cost = np.where(tags[:-1] == 0, gap, gap + 1)[valid]
        np.minimum.at(out, index_of[keys[1:][valid] >> bits], np.minimum(cost, _FAR - 1))
    return out
