"""The extractive summariser: lengths, order, readable openers, redundancy and hostile bodies."""

from __future__ import annotations

import random

import pytest

from bot.news.loader import load_article_file
from bot.news.sentences import MAX_SENTENCE_CHARS, split_sentences, split_with_context
from bot.news.summarize import LENGTHS, SHORT_MIN_WORDS, leans_on_previous, select_sentences, summarize, terms
from tests.conftest import SEED, shared_path

# A small wire-style story: a lead, elaboration that keeps coming back to the lead's topic, and filler.
STORY = "\n\n".join(
    [
        "City council approved a new budget for public libraries on Tuesday after a long debate.",
        "The library budget adds evening hours at every branch and funds new books for children.",
        "Council members said the libraries had seen record visits during the winter months.",
        "However, the budget cuts spending on road repairs by a tenth.",
        "The mayor praised the library plan and promised more money for branches next year.",
        "Weather on Tuesday was mild, with light rain in the afternoon.",
        "Librarians welcomed the evening hours and said children's books were most in demand.",
        "He said the debate had been fair.",
        "A local bakery also opened a second shop on Main Street.",
        "The council will review library visits and the budget again in the spring.",
    ]
)


@pytest.fixture(scope="module")
def seed() -> tuple[str, str]:
    article = load_article_file(SEED).article
    return article.title, article.body


def test_lengths_and_override() -> None:
    sentences = split_sentences(STORY)
    assert len(summarize(STORY, length="medium")) == LENGTHS["medium"] == 3
    assert len(summarize(STORY, length="long")) == LENGTHS["long"] == 5
    short = summarize(STORY, length="short")
    assert len(short) == 1 and len(short[0].split()) >= SHORT_MIN_WORDS
    for count in (1, 2, 4, 7):
        assert len(summarize(STORY, sentences=count, length="long")) == count
    assert summarize(STORY, sentences=50) == sentences


def test_short_takes_a_second_sentence_after_a_brief_first() -> None:
    body = "Rates rose again. Markets fell on the rates news. Banks gained from higher rates. Rain fell."
    short = summarize(body, length="short")
    assert len(short) == 2
    assert all(len(s.split()) < SHORT_MIN_WORDS for s in short)


def test_document_order_and_whole_sentences(seed: tuple[str, str]) -> None:
    title, body = seed
    sentences = split_sentences(body)
    for length in LENGTHS:
        summary = summarize(body, title=title, length=length)
        positions = [sentences.index(s) for s in summary]
        assert positions == sorted(positions)
        assert len(set(positions)) == len(positions)


def test_seed_summary_opens_with_the_lead(seed: tuple[str, str]) -> None:
    title, body = seed
    summary = summarize(body, title=title)
    assert summary[0].startswith("Amid the backdrop of the G20 summit in Hamburg")
    assert any("Trump and Putin" in s for s in summary)


def test_central_sentences_beat_filler() -> None:
    summary = summarize(STORY, length="long")
    assert summary[0] == split_sentences(STORY)[0]
    assert not any("Weather" in s or "bakery" in s for s in summary)


@pytest.mark.parametrize(
    "sentence",
    [
        "But the plan failed.",
        "However, nobody came.",
        "Also, the mayor resigned.",
        "He said it would not happen again.",
        "“They left,” she said.",
        "It was the third attempt.",
        "This is why it matters.",
        "As a result, prices rose.",
        "— and then it rained.",
        "and then it rained.",
    ],
)
def test_leaning_openers(sentence: str) -> None:
    assert leans_on_previous(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "The mayor resigned on Monday.",
        "There were 12 people injured.",
        "U.S. officials confirmed the talks.",
        "“We will win,” the coach said.",
        "Butler scored twice.",
        "all lower case text has no case evidence .",
    ],
)
def test_standalone_openers(sentence: str) -> None:
    assert not leans_on_previous(sentence)


def test_no_summary_opens_with_a_dangling_sentence() -> None:
    # The most central sentence leans on a filler sentence; it may only come with its predecessor.
    body = " ".join(
        [
            "Rain fell over the harbour in the morning.",
            "Fishing boats stayed in port.",
            "But the new harbour bridge opened on time despite the storm, the harbour bridge engineers said.",
            "The harbour bridge carries trains and cars across the harbour.",
            "Engineers designed the bridge to survive harbour storms.",
            "The bridge cost two billion dollars.",
        ]
    )
    for count in (1, 2, 3):
        summary = summarize(body, sentences=count)
        sentences = split_sentences(body)
        for s in summary:
            i = sentences.index(s)
            if i > 0 and leans_on_previous(s):
                assert sentences[i - 1] in summary, summary
        assert not (leans_on_previous(summary[0]) and summary[0] != sentences[0])


def test_quote_continuations_come_with_their_opening() -> None:
    body = (
        "The minister spoke at length. She said, “The plan is ready. Trains will run every ten minutes "
        "on the new line. Trains on the new line start in May.” Trains on the new line are electric. "
        "The new line has ten stations for trains."
    )
    split = split_with_context(body)
    assert [s.in_quote for s in split] == [False, False, True, True, False, False]
    for count in (1, 2, 3, 4):
        summary = summarize(body, sentences=count)
        for s in summary:
            i = [x.text for x in split].index(s)
            if split[i].in_quote:
                assert split[i - 1].text in summary


def test_redundancy_control() -> None:
    lead = "Scientists found thousands of bacteria colonies on banknotes and coins."
    body = " ".join(
        [
            lead,
            "Thousands of bacteria colonies were found on banknotes and coins by scientists.",
            "Most of the bacteria on the coins were harmless skin bacteria.",
            "Earlier studies found dangerous bacteria on banknotes in hospitals.",
            "The scientists grew the bacteria from the coins and banknotes in agar.",
        ]
    )
    summary = summarize(body, sentences=3)
    assert lead in summary
    assert "Thousands of bacteria colonies were found on banknotes and coins by scientists." not in summary


def test_title_pulls_towards_its_topic() -> None:
    body = " ".join(
        [
            "Leaders met in Hamburg on Friday for the summit.",
            "Trade was discussed by the leaders at the summit in Hamburg.",
            "A ceasefire for Syria was agreed at the summit.",
            "Climate was discussed by the leaders at the summit in Hamburg.",
        ]
    )
    assert not any("ceasefire" in s for s in summarize(body, sentences=2))
    assert any("ceasefire" in s for s in summarize(body, sentences=2, title="Ceasefire agreed for Syria"))


def test_empty_and_tiny_bodies() -> None:
    assert summarize("") == []
    assert summarize(" \n\n\t ") == []
    assert summarize("Just one sentence here.") == ["Just one sentence here."]
    assert summarize("One. Two.", length="long") == ["One.", "Two."]
    assert summarize("!!! ... ???", sentences=5) == split_sentences("!!! ... ???")
    assert select_sentences([], 3) == []


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        summarize(STORY, sentences=0)
    with pytest.raises(ValueError, match="length must be one of"):
        summarize(STORY, length="huge")  # type: ignore[arg-type]


def test_hostile_bodies_end_bounded() -> None:
    rng = random.Random(7)
    vocabulary = ["alpha", "beta", "summit", "minister", "said", "the", "ceasefire", "Syria"]
    bodies = [
        " ".join(rng.choice(vocabulary) for _ in range(200_000)),  # ~1 MB, no punctuation
        " ".join(f"{' '.join(rng.choices(vocabulary, k=12)).capitalize()}." for _ in range(15_000)),  # ~1 MB prose
        "x" * 1_000_000,  # one word
        " \n\t" * 300_000,  # only white space
        "A. " * 300_000,  # a million rejected candidate stops
        "\u202e\u0000\ufffd" * 100_000,  # control and replacement characters
    ]
    for body in bodies:
        summary = summarize(body, length="long")
        assert len(summary) <= LENGTHS["long"]
        assert all(0 < len(s) <= MAX_SENTENCE_CHARS for s in summary)


def test_terms_are_stemmed_content_words() -> None:
    assert terms("Trump’s Ceasefires in SYRIA's cities, and the 1998 World Cup") == [
        "trump",
        "ceasefir",
        "syria",
        "citi",
        "1998",
        "world",
        "cup",
    ]
    # Inflections meet, which answers need ("why did he resign?" of "he resigned").
    assert terms("resigned characterized meetings") == terms("resign characterize meeting")
    assert terms("the a of said he it") == []
    assert terms("He said hello", exclude=frozenset({"hello"})) == []


def test_beats_lead3_on_realsumm() -> None:
    from benchmarks import eval_summaries

    corpus = shared_path("corpus", "realsumm")
    docs = eval_summaries.load(corpus)
    ours = [eval_summaries.rouge(summarize(d.article), d.reference) for d in docs]
    lead = [eval_summaries.rouge(eval_summaries.lead3(d.article), d.reference) for d in docs]
    ours_mean = eval_summaries.mean_scores(ours)
    lead_mean = eval_summaries.mean_scores(lead)
    assert ours_mean["rouge1"] > lead_mean["rouge1"]
    assert ours_mean["rouge2"] > lead_mean["rouge2"]
