"""Answers to members' questions, quoted from the articles a search found (or the one they named).

``answer`` never guesses: it returns the one to three sentences that answer the question, from the article
that answers it best, or ``None`` ("I don't know") when no passage scores :data:`MIN_SCORE` or more.

How a passage is scored (a passage is a sentence plus the sentences that continue a quotation it opens):

- **coverage**: the share of the question's content words the passage contains, each word weighted by how
  rare it is among all the candidates' sentences (inverse document frequency). A word no candidate contains
  weighs most, so a question about something absent ("the 1998 world cup") cannot reach the bar on its
  common words alone. Words found elsewhere in the same article or its title count a quarter.
- **names**: words that the articles write capitalised mid-sentence (or the member capitalised) are people,
  places and organisations. A passage must name at least one of the question's names and its article all of
  them: "what did Putin say about Alibaba?" is not answered by an article that never mentions Alibaba.
- **quoted speech**: for "what did X say / tell / think …", a passage quoting someone with X as the
  subject of its first reporting verb (outside the quotation marks) keeps its full score; X named elsewhere
  beside a quotation, reported speech without quotation marks, a quotation where X only appears inside, and
  passages with no speech at all are discounted, in that order.

Pure: no discord, no I/O, no SQL.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.news.models import Article
from bot.news.sentences import Sentence, split_with_context
from bot.news.summarize import MAX_BODY_CHARS, MAX_CANDIDATES, leans_on_previous, term, terms

__all__ = ["MAX_ANSWER_SENTENCES", "MIN_SCORE", "Answer", "ArticleText", "answer"]

MIN_SCORE = 0.5
"""Below this a passage is not an answer. 1.0 is every question word present (speech attributed, if asked)."""

MAX_ANSWER_SENTENCES = 3

MAX_ARTICLES = 50
"""Candidates beyond this are ignored: a search hands over a few, and the cost grows with each one."""

MAX_QUESTION_CHARS = 300
"""Questions are a line; anything longer is cut, so a pasted essay costs no more than a question."""

EXTRA_RATIO = 0.9
"""Another passage of the same article joins the answer when it scores at least this share of the best one
(two quotations by the person asked about, say)."""

ELSEWHERE_CREDIT = 0.25
ATTRIBUTION_WORDS = 8
"""Words before a reporting verb searched for the speaker ("senior coordinating producer Seth Markman said")."""

# Discounts for "what did X say" questions, by the kind of passage (see the module docstring).
QUOTE_INSIDE_ONLY = 0.4
REPORTED_SPEECH = 0.6
NO_SPEECH = 0.3
ANSWER_TYPE_MISSING = 0.7
"""Discount for a passage without the kind of thing a "where" / "when" / "how many" question asks for."""


@dataclass(frozen=True, slots=True)
class ArticleText:
    """What ``answer`` needs of an article; the cog or CLI builds it from a stored Article."""

    id: int
    title: str
    body: str
    url: str | None = None

    @classmethod
    def from_article(cls, article: Article) -> ArticleText:
        return cls(article.id, article.title, article.body, article.url)


@dataclass(frozen=True, slots=True)
class Answer:
    article_id: int
    sentences: list[str]
    """In document order; quote them as they are."""
    score: float
    """0–1: the best passage's score (MIN_SCORE or more)."""
    url: str | None
    title: str = ""
    """The answering article's title, for the reply to name it."""


_SPEECH_VERBS = frozenset(
    {"say", "said", "says", "saying", "tell", "told", "tells", "think", "thinks", "thought", "claim", "claimed",
     "claims", "state", "stated", "states", "remark", "remarked", "comment", "commented", "respond", "responded",
     "react", "reacted", "reply", "replied", "announce", "announced", "argue", "argued", "warn", "warned",
     "speak", "spoke", "tweet", "tweeted", "write", "wrote", "add", "added", "insist", "insisted", "admit",
     "admitted", "explain", "explained", "describe", "described", "confirm", "confirmed", "deny", "denied",
     "reveal", "revealed", "ask", "asked", "urge", "urged", "accuse", "accused", "mean", "meant"}
)  # fmt: skip
# Words of the question's frame rather than its topic.
_QUESTION_FILLER = frozenset(
    {"what", "who", "whom", "whose", "when", "where", "why", "how", "which", "did", "does", "do", "is", "are",
     "was", "were", "will", "would", "can", "could", "should", "about", "like", "me", "us", "please", "anything",
     "something", "thing", "things", "know", "happen", "happened", "happening", "news", "article", "story",
     "talk", "talked", "much", "many", "long", "get", "got", "make", "made", "give", "gave", "latest"}
)  # fmt: skip
_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>|(?<!\w)@\w+")
_NOT_TOPIC = _QUESTION_FILLER | _SPEECH_VERBS
_QUESTION_START = re.compile(r"^\W*(?:what|how|why|which)\b", re.IGNORECASE)
# Opening and closing quotation marks, and straight single quotes that are not apostrophes (tokenised text
# spaces them out: "said : ' she knows").
_QUOTE = re.compile(r"[“”\"‘]|’(?![^\W_])|(?<![^\W_])'(?![^\W_])|(?<![^\W_])'(?!(?:s|re|ve|ll|d|m|t)\b)")
_SAID_COLON = re.compile(r"\b(?:said|says|added|told|stated|remarked|continued|wrote|explained)\s*:", re.IGNORECASE)
_REPORTING = re.compile(
    r"\b(?:said|says|say|told|tells|tell|stated|states|state|remarked|remark|added|add|insisted|claimed|argued|"
    r"warned|explained|wrote|tweeted|replied|responded|confirmed|denied|revealed|announced|continued|according to)\b",
    re.IGNORECASE,
)
# A word that does not open a sentence (what precedes its space is no stop, quote or bracket).
_MID_SENTENCE_WORD = re.compile(r"(?<=[^\s.!?:\"“‘(])\s+([^\W\d_]+)")


@dataclass(slots=True)
class _Passage:
    article: int
    """Index into the candidates."""
    start: int
    """Index of the passage's first sentence in its article."""
    sentences: list[str]
    words: frozenset[str]
    """Its own words, and those of the sentence it leans on."""
    own: frozenset[str]
    """Its own words only (what document frequency counts)."""
    speaker: frozenset[str]
    """Words of the first sentence's attribution, where a quotation's speaker is named."""
    outside: frozenset[str]
    """Words of the first sentence outside its quotation marks."""
    quoted: bool
    reported: bool
    text: str
    """The passage's sentences joined, for the answer-type checks."""


@dataclass(slots=True)
class _Question:
    words: list[str]
    names: frozenset[str]
    speech: bool
    expects: re.Pattern[str] | None
    """What an answer must contain for "where" / "when" / "how many" questions (None: anything)."""


def answer(question: str, candidates: Sequence[ArticleText]) -> Answer | None:
    """The best answer to ``question`` from ``candidates``, or None when none scores well enough."""
    # Discord mention syntax (the mention path passes the raw message) and "@name" address no topic.
    text = _MENTION.sub(" ", question[:MAX_QUESTION_CHARS]).strip()
    words = list(dict.fromkeys(terms(text, exclude=_NOT_TOPIC)))
    if not words or not candidates:
        return None
    speech = bool(_QUESTION_START.search(text)) and any(w in _SPEECH_VERBS for w in re.findall(r"\w+", text.lower()))

    passages: list[_Passage] = []
    article_words: list[frozenset[str]] = []
    article_sentences: list[list[str]] = []
    capitalised: dict[str, list[int]] = {}
    candidates = candidates[:MAX_ARTICLES]
    for index, candidate in enumerate(candidates):
        body = candidate.body[:MAX_BODY_CHARS]
        split = split_with_context(body)[:MAX_CANDIDATES]
        article_sentences.append([s.text for s in split])
        found = _passages(index, split)
        passages.extend(found)
        article_words.append(frozenset(terms(candidate.title)).union(*(p.words for p in found)))
        _count_capitals(body, capitalised)
    names = _names(text, words, capitalised)
    asked = _Question(words, names, speech, _expected_answer(text, cased=any(_is_cased(c.body) for c in candidates)))

    df: dict[str, int] = {}
    for passage in passages:
        for word in passage.own:
            df[word] = df.get(word, 0) + 1
    total = len(passages)
    weights = {w: math.log((total + 1) / (df.get(w, 0) + 0.5)) for w in words}

    scored = [(_score(p, asked, weights, article_words[p.article]), p) for p in passages]
    best_score, best = max(scored, key=lambda item: (item[0], -item[1].article, -item[1].start), default=(0.0, None))
    if best is None or best_score < MIN_SCORE:
        return None
    chosen = [best]
    for score, passage in sorted(scored, key=lambda item: (-item[0], item[1].start)):
        if passage is best or passage.article != best.article or score < EXTRA_RATIO * best_score:
            continue
        if sum(len(p.sentences) for p in chosen) + len(passage.sentences) <= MAX_ANSWER_SENTENCES:
            chosen.append(passage)
    chosen.sort(key=lambda p: p.start)
    sentences = [s for p in chosen for s in p.sentences][:MAX_ANSWER_SENTENCES]
    context = _context_before(best, article_sentences[best.article])
    if context and len(sentences) < MAX_ANSWER_SENTENCES and context not in sentences:
        sentences.insert(sentences.index(best.sentences[0]), context)
    picked = candidates[best.article]
    return Answer(picked.id, sentences, round(best_score, 3), picked.url, picked.title)


def _passages(index: int, split: Sequence[Sentence]) -> list[_Passage]:
    passages: list[_Passage] = []
    for position, sentence in enumerate(split):
        if sentence.in_quote and passages and passages[-1].start + len(passages[-1].sentences) == position:
            passage = passages[-1]
            passage.sentences.append(sentence.text)
            passage.words = passage.words | frozenset(terms(sentence.text))
            passage.own = passage.own | frozenset(terms(sentence.text))
            passage.quoted = True
            passage.text = f"{passage.text} {sentence.text}"
            continue
        text = sentence.text
        quoted = bool(_QUOTE.search(text) or _SAID_COLON.search(text))
        # "She said …" means whoever the sentence before named; that sentence joins the answer (see
        # _context_before), so its words count as this passage's, speaker included.
        context = frozenset(terms(split[position - 1].text)) if position and leans_on_previous(text) else frozenset()
        passages.append(
            _Passage(
                article=index,
                start=position,
                sentences=[text],
                words=frozenset(terms(text)) | context,
                own=frozenset(terms(text)),
                speaker=(frozenset(terms(_attribution(text))) if quoted else frozenset(terms(text))) | context,
                outside=(frozenset(terms(" ".join(_outside_quotes(text)))) if quoted else frozenset(terms(text)))
                | context,
                quoted=quoted,
                reported=bool(_REPORTING.search(text)),
                text=text,
            )
        )
    return passages


def _outside_quotes(text: str) -> list[str]:
    """The text before the first quotation mark and after the last one."""
    marks = [m.start() for m in _QUOTE.finditer(text)]
    colon = _SAID_COLON.search(text)
    if colon and (not marks or colon.end() < marks[0]):
        marks.insert(0, colon.end())
    if not marks:
        return [text]
    if len(marks) == 1:
        return [text[: marks[0]]]
    return [text[: marks[0]], text[marks[-1] + 1 :]]


def _attribution(text: str) -> str:
    """Where a quotation's speaker is named: around the first reporting verb outside the quotation marks.

    "Putin stated that he was glad to meet Trump and speaking to Trump added, “…”" names Putin, not Trump:
    the speaker is the subject of the first reporting verb, so only the words just before it (and just after,
    for "…,” said Kamal") count. Without a reporting verb, all the text outside the quotation counts.
    """
    outside = _outside_quotes(text)
    windows: list[str] = []
    for segment in outside:
        verb = _REPORTING.search(segment)
        if verb:
            before = segment[: verb.start()].split()[-ATTRIBUTION_WORDS:]
            after = segment[verb.end() :].split()[:3]
            windows.append(" ".join([*before, *after]))
    return " ".join(windows) if windows else " ".join(outside)


def _count_capitals(body: str, capitalised: dict[str, list[int]]) -> None:
    """Per word, [capitalised, all] counts of its mid-sentence occurrences: names are mostly capitalised."""
    for raw in _MID_SENTENCE_WORD.findall(body):
        word = term(raw.lower())
        if word is not None:
            counts = capitalised.setdefault(word, [0, 0])
            counts[0] += raw[0].isupper()
            counts[1] += 1


_NUMBER = (
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?|"
    r"millions?|billions?|half|twice|several)\b"
)
_TIME = (
    r"\d|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b"
    r"|\b(?:yesterday|today|tomorrow|tonight|morning|afternoon|evening|night|week|month|year|decade|century|ago|"
    r"spring|summer|autumn|fall|winter|since|until|before|after|later|earlier|recently)\b"
)
# In text with capitals, a place is a capitalised word after a preposition ("in Hamburg", "at Jonathan Law").
_PLACE_CASED = r"\b(?:in|at|from|near|outside|inside|across|around)\s+(?:the\s+)?[A-Z]"
_PLACE_CASELESS = r"\b(?:in|at|from|near|outside|inside|across|around)\b"
_EXPECTATIONS = (
    (
        re.compile(r"^\W*(?:how\s+(?:many|much|long|old|far|big|often)|what\s+(?:number|percentage|share))\b", re.I),
        _NUMBER,
    ),
    (re.compile(r"^\W*(?:when|what\s+(?:time|day|date|year|month))\b", re.I), _TIME),
    (re.compile(r"^\W*where\b", re.I), None),
)


def _is_cased(text: str) -> bool:
    return text != text.lower()


def _expected_answer(question: str, *, cased: bool) -> re.Pattern[str] | None:
    for asks, expects in _EXPECTATIONS:
        if asks.search(question):
            if expects is None:
                return re.compile(_PLACE_CASED) if cased else re.compile(_PLACE_CASELESS, re.I)
            return re.compile(expects, re.I)
    return None


def _names(question: str, words: Sequence[str], capitalised: dict[str, list[int]]) -> frozenset[str]:
    asked_capitalised = {
        w for m in _MID_SENTENCE_WORD.finditer(question) if m.group(1)[0].isupper() for w in terms(m.group(1))
    }
    names = set()
    for word in words:
        caps, seen = capitalised.get(word, (0, 0))
        if (seen and caps * 2 >= seen) or word in asked_capitalised:
            names.add(word)
    return frozenset(names)


def _score(passage: _Passage, asked: _Question, weights: dict[str, float], elsewhere: frozenset[str]) -> float:
    if asked.names and not (asked.names & passage.words and asked.names <= elsewhere):
        return 0.0
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    found = sum(
        weight * (1.0 if word in passage.words else ELSEWHERE_CREDIT if word in elsewhere else 0.0)
        for word, weight in weights.items()
    )
    coverage = found / total
    if asked.expects is not None and not asked.expects.search(passage.text):
        coverage *= ANSWER_TYPE_MISSING
    if not asked.speech:
        return coverage
    speakers = asked.names or frozenset(asked.words)
    if passage.quoted and speakers & passage.speaker:
        return coverage
    if passage.quoted and speakers & passage.outside:
        return coverage * REPORTED_SPEECH  # named beside the quotation but not as its speaker
    if passage.quoted:
        return coverage * QUOTE_INSIDE_ONLY
    if passage.reported:
        return coverage * REPORTED_SPEECH
    return coverage * NO_SPEECH


def _context_before(passage: _Passage, sentences: Sequence[str]) -> str | None:
    """The sentence before a passage that leans on it ("He added: …"), so the reply names who is meant."""
    if passage.start == 0 or not leans_on_previous(passage.sentences[0]):
        return None
    return sentences[passage.start - 1]
