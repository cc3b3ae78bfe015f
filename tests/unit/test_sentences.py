"""Sentence splitting on the cases news text throws at it."""

from __future__ import annotations

import pytest

from bot.news.loader import load_article_file
from bot.news.sentences import MAX_SENTENCE_CHARS, split_paragraphs, split_sentences, split_with_context
from tests.conftest import SEED


@pytest.fixture(scope="module")
def seed_body() -> str:
    return load_article_file(SEED).article.body


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "The U.S. President met officials in Washington. He said it went well.",
            ["The U.S. President met officials in Washington.", "He said it went well."],
        ),
        # A dotted abbreviation that really ends the sentence: a usual opener follows.
        ("He moved to the U.S. He later came back.", ["He moved to the U.S.", "He later came back."]),
        ("Talks resume on Jan. 5 in Geneva. Both agreed.", ["Talks resume on Jan. 5 in Geneva.", "Both agreed."]),
        ("It opened in Sept. 2019 downtown. Crowds came.", ["It opened in Sept. 2019 downtown.", "Crowds came."]),
        ("Gov. Andrew Cuomo spoke. Sen. Smith replied.", ["Gov. Andrew Cuomo spoke.", "Sen. Smith replied."]),
        ("Dr. Simon Park said so. Prof. Lee agreed.", ["Dr. Simon Park said so.", "Prof. Lee agreed."]),
        ("J. R. R. Tolkien wrote it. It sold well.", ["J. R. R. Tolkien wrote it.", "It sold well."]),
        ("Growth was 3.5 percent in 2016. It fell.", ["Growth was 3.5 percent in 2016.", "It fell."]),
        ("The meeting ended at 5 p.m. The police left.", ["The meeting ended at 5 p.m.", "The police left."]),
        ("Arrivals at 5 p.m. Eastern time rose.", ["Arrivals at 5 p.m. Eastern time rose."]),
        ("He lives at No. 10 Downing St. in London.", ["He lives at No. 10 Downing St. in London."]),
        ("The answer was no. Then it was yes.", ["The answer was no.", "Then it was yes."]),
        ("Apple Inc. said profits rose. Analysts agreed.", ["Apple Inc. said profits rose.", "Analysts agreed."]),
        ("See example.com/a.b for U.S.-Russian ties. Done.", ["See example.com/a.b for U.S.-Russian ties.", "Done."]),
    ],
)
def test_abbreviations_initials_and_numbers(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('He said, "It works." Then he left.', ['He said, "It works."', "Then he left."]),
        ("She wrote: “It works.” Then nothing.", ["She wrote: “It works.”", "Then nothing."]),
        ("“Is it over?” he asked. Nobody knew!", ["“Is it over?” he asked.", "Nobody knew!"]),
        ("'Go!' she shouted. They went.", ["'Go!' she shouted.", "They went."]),
        ("It ended (finally.) Everyone cheered.", ["It ended (finally.)", "Everyone cheered."]),
    ],
)
def test_quotes_that_end_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Well… maybe. We will see.", ["Well… maybe.", "We will see."]),
        ("Well... maybe. We will see.", ["Well... maybe.", "We will see."]),
        ("He paused… Then he left.", ["He paused…", "Then he left."]),
        ("He paused... Then he left.", ["He paused...", "Then he left."]),
        ("Wait?! Really? Yes.", ["Wait?!", "Really?", "Yes."]),
    ],
)
def test_ellipses_and_repeated_marks(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_paragraph_end_is_a_sentence_end() -> None:
    body = "A paragraph without a stop\n\nThe body starts here. It goes on\nover a wrapped line.\n\n  \n\nLast"
    assert split_sentences(body) == [
        "A paragraph without a stop",
        "The body starts here.",
        "It goes on over a wrapped line.",
        "Last",
    ]
    assert split_paragraphs(body) == [
        "A paragraph without a stop",
        "The body starts here. It goes on over a wrapped line.",
        "Last",
    ]


def test_tokenised_lowercase_text() -> None:
    # Lower-cased, tokenised text (as in CNN/Daily Mail corpora): case is no evidence, spaced quotes close.
    text = "dr simon park said : ' money is dirty . ' he added more . u.s. officials agreed . then it ended ."
    assert split_sentences(text) == [
        "dr simon park said : ' money is dirty . '",
        "he added more .",
        "u.s. officials agreed .",
        "then it ended .",
    ]


def test_seed_article(seed_body: str) -> None:
    sentences = split_sentences(seed_body)
    # The quote closes after the stop: the closing mark stays with its sentence.
    assert any(s.startswith("Trump characterized") and s.endswith("going “very well.”") for s in sentences)
    assert "Tillerson remarked, “The two leaders connected very quickly." in sentences
    assert any(s.startswith("U.S. Secretary of State Rex Tillerson and Russian Foreign Minister") for s in sentences)
    assert all(not s.startswith(("S.", "Russian relations")) for s in sentences)


@pytest.mark.parametrize("text", ["", "   ", "\n\n\n", "\t \u00a0 \n"])
def test_blank_input(text: str) -> None:
    assert split_sentences(text) == []


def test_long_runs_are_bounded() -> None:
    pieces = split_sentences("word " * 50_000)
    assert len(pieces) > 200
    assert all(0 < len(p) <= MAX_SENTENCE_CHARS for p in pieces)
    unbroken = split_sentences("x" * (3 * MAX_SENTENCE_CHARS + 5))
    assert [len(p) for p in unbroken] == [MAX_SENTENCE_CHARS] * 3 + [5]


def test_quotation_context() -> None:
    text = (
        "He said, “The plan is ready. Trains run soon.” Then he left. Trump’s aide agreed.\n\n"
        'She said "One. Two." Three. The leaders’ talks ended. ‘Fine. Good.’ Done.\n\n'
        "“An open quote runs to the paragraph end.\n\nA new paragraph starts outside it."
    )
    got = [(s.paragraph, s.in_quote, s.text) for s in split_with_context(text)]
    assert got == [
        (0, False, "He said, “The plan is ready."),
        (0, True, "Trains run soon.”"),
        (0, False, "Then he left."),
        (0, False, "Trump’s aide agreed."),
        (1, False, 'She said "One.'),
        (1, True, 'Two."'),
        (1, False, "Three."),
        (1, False, "The leaders’ talks ended."),
        (1, False, "‘Fine."),
        (1, True, "Good.’"),
        (1, False, "Done."),
        (2, False, "“An open quote runs to the paragraph end."),
        (3, False, "A new paragraph starts outside it."),
    ]
    # Straight single quotes double as apostrophes and are not tracked.
    assert not any(s.in_quote for s in split_with_context("He said 'Go now. Right now.' Then. Viewers ' calls rose."))
