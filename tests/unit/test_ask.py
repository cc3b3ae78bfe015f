"""Answers quoted from articles, and "I don't know" when nothing answers."""

from __future__ import annotations

import json

import pytest

from bot.news.ask import MAX_ANSWER_SENTENCES, MIN_SCORE, Answer, ArticleText, answer
from bot.news.loader import load_article_file
from tests.conftest import FIXTURES, SEED, shared_path

OTHER = ArticleText(
    2,
    "Alibaba prices its Hong Kong listing",
    "Alibaba is set to raise up to $12.9bn from its second listing in Hong Kong.\n\n"
    "An Alibaba spokesperson declined to comment on the pricing to Reuters.\n\n"
    "Small investors in Hong Kong have welcomed the deal, subscribing for many shares.",
    "https://example.com/alibaba",
)


@pytest.fixture(scope="module")
def seed() -> ArticleText:
    parsed = load_article_file(SEED).article
    return ArticleText(1, parsed.title, parsed.body, "https://example.com/seed")


def ask(question: str, *candidates: ArticleText) -> Answer:
    got = answer(question, candidates)
    assert got is not None, question
    return got


def test_what_did_tillerson_say(seed: ArticleText) -> None:
    got = ask("what did Tillerson say?", seed)
    assert got.sentences[0] == "Tillerson remarked, “The two leaders connected very quickly."
    # The rest of his quotation comes with it, and nothing else.
    assert got.sentences == [got.sentences[0], "There was a very clear positive chemistry.”"]
    assert (got.article_id, got.url) == (1, "https://example.com/seed")
    assert got.title == seed.title
    assert MIN_SCORE <= got.score <= 1.0


def test_what_did_lavrov_say(seed: ArticleText) -> None:
    got = ask("what did Lavrov say?", seed)
    assert len(got.sentences) == 1
    assert got.sentences[0].startswith("Lavrov stated, “U.S. President Trump said that he heard firm assertions")


def test_speaker_is_the_subject_not_the_addressee(seed: ArticleText) -> None:
    # Putin's quotation names Trump as the one spoken to; Trump's own words are a different sentence.
    got = ask("What did Trump say?", seed)
    assert got.sentences == [
        "Trump characterized the discussion up to that point in positive terms, affirming the discussion was going "
        "“very well.”"
    ]
    putin = ask("what did Putin say?", seed)
    assert any("A phone conversation is never enough" in s for s in putin.sentences)
    assert len(putin.sentences) <= MAX_ANSWER_SENTENCES


def test_what_about_syria(seed: ArticleText) -> None:
    got = ask("what about Syria?", seed)
    assert got.sentences == ["Most notably, the meeting did yield a ceasefire agreement for southwestern Syria."]


def test_where_question_wants_a_place(seed: ArticleText) -> None:
    got = ask("where did trump and putin meet?", seed)
    assert "Hamburg" in got.sentences[0]


@pytest.mark.parametrize(
    "question",
    [
        "who won the 1998 world cup?",
        "what did Merkel say?",
        "what is the weather like in Hamburg?",
        "what did the prime minister say about the budget?",
        "what did Putin say about Alibaba?",  # each name is somewhere, but no article has both
        "",
        "   ",
        "?",
        "!!!",
        "what",
        "what did he say?",
        "x" * 10_000,
        "\u0000\u202e<@123>",
    ],
)
def test_i_dont_know(question: str, seed: ArticleText) -> None:
    assert answer(question, [seed, OTHER]) is None


def test_no_candidates() -> None:
    assert answer("what did Tillerson say?", []) is None


def test_picks_the_article_that_answers(seed: ArticleText) -> None:
    assert ask("how much will Alibaba raise?", seed, OTHER).article_id == OTHER.id
    assert ask("what did Lavrov say?", OTHER, seed).article_id == seed.id


def test_mentions_are_not_part_of_the_question(seed: ArticleText) -> None:
    plain = ask("what did Lavrov say?", seed)
    assert ask("<@123456789> what did Lavrov say?", seed) == plain
    assert ask("@newsbot what did Lavrov say?", seed) == plain


def test_leaning_answer_brings_its_context() -> None:
    body = (
        "Mayor Ana Ruiz opened the new bridge on Monday. She said the bridge would cut commutes by half.\n\n"
        "Traffic was light."
    )
    got = ask("what did the mayor say about the bridge commutes?", ArticleText(5, "Bridge opens", body))
    assert got.sentences == [
        "Mayor Ana Ruiz opened the new bridge on Monday.",
        "She said the bridge would cut commutes by half.",
    ]


def test_hostile_bodies_are_bounded(seed: ArticleText) -> None:
    huge = ArticleText(9, "huge", "word " * 250_000)
    junk = ArticleText(10, "", "\u0000" * 1000 + "A. " * 100_000)
    got = answer("what did Tillerson say?", [huge, junk, seed])
    assert got is not None and got.article_id == seed.id
    one_word = answer("word", [huge])
    assert one_word is None or len(one_word.sentences) <= MAX_ANSWER_SENTENCES
    assert answer("what about Syria?", [ArticleText(11, "", "")]) is None


def test_from_article_keeps_what_answers_need() -> None:
    import datetime as dt

    from bot.news.models import Article

    article = Article(
        id=3,
        identity="https://example.com/a",
        title="T",
        body="B.",
        author=None,
        published=None,
        caption=None,
        url="https://example.com/a",
        image_url=None,
        site_name=None,
        source_id=None,
        ingested_at=dt.datetime.now(tz=dt.UTC),
    )
    assert ArticleText.from_article(article) == ArticleText(3, "T", "B.", "https://example.com/a")


def test_labelled_seed_questions(seed: ArticleText) -> None:
    """Every labelled question about the seed article (the project's own data) is answered right or declined right."""
    data = json.loads((FIXTURES / "ask" / "questions.json").read_text(encoding="utf-8"))
    questions = [q for q in data["questions"] if q["article"] in ("seed", None)]
    assert len(questions) >= 20
    for q in questions:
        got = answer(q["q"], [seed])
        if q["article"] is None:
            assert got is None, q["q"]
        else:
            assert got is not None, q["q"]
            text = " ".join(got.sentences).lower()
            assert any(e.lower() in text for e in q["expect"]), (q["q"], got.sentences)


def test_benchmark_beats_overlap_baseline() -> None:
    from benchmarks import eval_ask

    shared_path("corpus", "realsumm", "cnndm.jsonl")
    result = eval_ask.run_set(
        eval_ask.QUESTION_SETS["dev"], eval_ask.DEFAULT_CORPUS, eval_ask.DEFAULT_AEB, verbose=False
    )
    ours, baseline = result["ours"]["pool"], result["overlap_baseline"]["pool"]  # type: ignore[index]
    assert ours["questions"] >= 30
    assert ours["accuracy"] > baseline["accuracy"]
    assert ours["false_answer_rate"] < baseline["false_answer_rate"]
    assert ours["unanswerable_answered"] == 0
