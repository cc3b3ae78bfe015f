"""HTML article extraction (bot.news.html) and the extraction benchmark's metric and runner."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from benchmarks._metrics import aggregate, overlap, percentile, shingles
from bot.errors import ParseError
from bot.news.encoding import decode_document
from bot.news.html import extract_html, normalise_byline

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "html"
SHARED = Path(__file__).resolve().parents[2].parent / "shared"
AEB = SHARED / "corpus" / "aeb"

BOILERPLATE = ("share your thoughts", "bloggers like this", "news ticker", "like this:", "loading")


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


# --- extraction ---------------------------------------------------------------------------------------


def test_wordpress_post_keeps_article_and_metadata_and_drops_widgets() -> None:
    article = extract_html(fixture("wordpress_post.html"), url="https://valleyledger.example/?p=4411")

    assert article.title == "Senate Passes Rural Broadband Bill After Long Fight"
    assert article.author == "Jane Doe"  # the page shouts it: "JANE DOE"
    assert article.published == dt.datetime(2019, 11, 19, 20, 30, tzinfo=dt.UTC)
    assert article.url == "https://valleyledger.example/2019/11/19/senate-passes-broadband-bill/"
    assert article.image_url == "https://valleyledger.example/wp-content/uploads/2019/11/senate-vote.jpg"
    assert article.site_name == "Valley Ledger"
    assert article.caption is not None and "Senators leave the chamber" in article.caption

    assert len(article.paragraphs) == 4
    assert article.paragraphs[0].startswith("The state Senate on Tuesday passed a bill")
    assert article.paragraphs[-1].startswith("The measure now goes to the governor")
    lowered = article.body.lower()
    for marker in (*BOILERPLATE, "patreon", "click to share", "post comment", "powered by"):
        assert marker not in lowered, marker
    assert "REUTERS/" not in article.body


def test_body_paragraphs_are_separated_by_one_blank_line() -> None:
    article = extract_html(fixture("wordpress_post.html"))
    assert "\n\n\n" not in article.body
    assert all(p == p.strip() and "\n" not in p for p in article.body.split("\n\n"))


def test_news_page_with_og_metadata_and_lead_image() -> None:
    article = extract_html(
        fixture("news_og.html"), url="https://coastline.example/news/2021/03/harbour-ferry-expansion?utm_source=x"
    )

    assert article.title == "Harbour authority approves ferry expansion"
    assert article.author == "Samuel Okafor"
    # 22:15 at UTC-8 is 06:15 UTC the next day.
    assert article.published == dt.datetime(2021, 3, 5, 6, 15, tzinfo=dt.UTC)
    assert article.url == "https://coastline.example/news/2021/03/harbour-ferry-expansion"
    assert article.image_url == "https://cdn.coastline.example/images/ferry-terminal-1200.jpg"
    assert article.site_name == "Coastline Courier"
    assert article.summary == "Two new routes and a larger terminal are planned by 2023."
    assert article.caption == "The current ferry terminal at dusk. Photo: Coastline Courier"
    assert len(article.paragraphs) == 4
    assert "Storm warning" not in article.body
    assert "All rights reserved" not in article.body


def test_page_without_an_article_is_a_parse_error() -> None:
    with pytest.raises(ParseError) as caught:
        extract_html(fixture("no_article.html"), url="https://coastline.example/")
    message = str(caught.value)
    assert message.endswith(".") and "\n" not in message


def test_latin1_bytes_are_decoded_from_the_meta_charset() -> None:
    article = extract_html(fixture("latin1.html"))
    assert article.title == "Café owners protest new terrace rules"
    assert "Renée Lefèvre" in article.body
    # Pages labelled ISO-8859-1 are windows-1252 in practice: curly quotes and dashes survive.
    assert "“We are not naïve" in article.body
    assert "revised version – with" in article.body
    assert "\ufffd" not in article.body


@pytest.mark.parametrize(
    "data",
    [
        b"",
        "",
        "   \n\t ",
        b"\x00\x01\x02\x03binary\x00\xff\xfe" * 50,
        bytes(range(256)) * 20,
        "just some words, no markup at all",
        "<html><head><title>Empty</title></head><body></body></html>",
        '{"json": "not html", "items": [1, 2, 3]}',
        "<html><body><p>Too short to be an article.</p></body></html>",
    ],
)
def test_empty_or_garbage_input_is_a_parse_error(data: str | bytes) -> None:
    with pytest.raises(ParseError):
        extract_html(data)


def test_oversized_page_is_refused_before_parsing() -> None:
    with pytest.raises(ParseError, match="too large"):
        extract_html(b"<html>" + b" " * 20_000_001)


def test_str_and_bytes_give_the_same_article() -> None:
    raw = fixture("news_og.html")
    assert extract_html(raw) == extract_html(raw.decode("utf-8"))


# --- helpers --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("JANE DOE", "Jane Doe"),
        ("By JANE DOE", "Jane Doe"),
        ("MARY O'BRIEN-SMITH", "Mary O'Brien-Smith"),
        ("JOHN SMITH III; AP", "John Smith III; AP"),
        ("Ronald McDonald", "Ronald McDonald"),
        ("  Anna   van der Berg ", "Anna van der Berg"),
        ("As", None),
        ("", None),
        (None, None),
    ],
)
def test_normalise_byline(raw: str | None, expected: str | None) -> None:
    assert normalise_byline(raw) == expected


@pytest.mark.parametrize(
    ("data", "encoding", "expected"),
    [
        ("café".encode("utf-8-sig"), None, "café"),
        ("café".encode("utf-16"), None, "café"),
        (b'<meta charset="windows-1251">\xcf\xf0\xe8\xe2\xe5\xf2', None, '<meta charset="windows-1251">Привет'),
        (b"caf\xe9", "iso-8859-1", "café"),
        (b"caf\xe9", None, "café"),  # not UTF-8, nothing declared: windows-1252
        ('<meta charset="iso-8859-1">café'.encode(), None, '<meta charset="iso-8859-1">café'),  # valid UTF-8 wins
        (b'<meta charset="no-such-charset">ok', None, '<meta charset="no-such-charset">ok'),
    ],
)
def test_decode_document(data: bytes, encoding: str | None, expected: str) -> None:
    assert decode_document(data, encoding).text == expected


# --- the benchmark metric -------------------------------------------------------------------------------


def test_metric_identical_texts_score_one() -> None:
    text = "The quick brown fox jumps over the lazy dog near the river bank."
    result = overlap(text, text)
    assert (result.precision, result.recall) == (1.0, 1.0)
    assert aggregate([result]).f1 == 1.0


def test_metric_disjoint_texts_score_zero() -> None:
    result = overlap("alpha beta gamma delta epsilon", "one two three four five six")
    assert (result.precision, result.recall) == (0.0, 0.0)
    assert aggregate([result]).f1 == 0.0


def test_metric_partial_overlap_hand_computed() -> None:
    # truth: a b c d e f  → shingles abcd, bcde, cdef
    # pred:  a b c d e x y → shingles abcd, bcde, cdex, dexy
    # tp = 2, fp = 2, fn = 1 → precision 2/4, recall 2/3 (scaling by the total of 5 cancels out).
    result = overlap("a b c d e f", "a b c d e x y")
    assert result.tp == pytest.approx(2 / 5)
    assert result.precision == pytest.approx(0.5)
    assert result.recall == pytest.approx(2 / 3)
    assert aggregate([result]).f1 == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))


def test_metric_counts_repeated_shingles_and_is_case_sensitive() -> None:
    # Repeats are a multiset: predicting a paragraph twice costs precision. The prediction has five
    # shingles (1234, 2341, 3412, 4123, 1234); only one copy of 1234 is matched.
    doubled = overlap("one two three four", "one two three four. one two three four")
    assert doubled.precision == pytest.approx(1 / 5)
    assert doubled.recall == 1.0
    assert shingles("Hello World") != shingles("hello world")
    assert shingles("Hello World", lowercase=True) == shingles("hello world")


def test_metric_edge_cases_short_and_empty_texts() -> None:
    # Fewer than four tokens make one short shingle; no tokens make none.
    assert shingles("just three words") == {("just", "three", "words"): 1}
    assert shingles("  ,.;  ") == {}
    empty_prediction = overlap("some real article text here", "")
    assert empty_prediction.precision is None  # not counted for precision
    assert empty_prediction.recall == 0.0
    both_empty = overlap("", "")
    assert (both_empty.precision, both_empty.recall) == (None, None)


def test_metric_averages_per_document_not_per_shingle() -> None:
    long_perfect = overlap(" ".join(f"w{i}" for i in range(400)), " ".join(f"w{i}" for i in range(400)))
    short_miss = overlap("a b c d e", "x y z q r")
    scores = aggregate([long_perfect, short_miss, overlap("a b c d", "")])
    # precision over the two documents with a prediction, recall over all three.
    assert scores.precision == pytest.approx(0.5)
    assert scores.recall == pytest.approx(1 / 3)
    assert scores.documents == 3


def test_percentile() -> None:
    assert percentile([5.0], 95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)


# --- the benchmark runner on real pages ----------------------------------------------------------------


@pytest.mark.skipif(not (AEB / "ground-truth.json").is_file(), reason="shared AEB corpus not present")
def test_benchmark_runs_on_three_aeb_pages() -> None:
    from benchmarks import eval_extraction

    truths = eval_extraction.load_ground_truth(AEB)
    ids = sorted(truths)[:3]
    results = eval_extraction.run(AEB, "html", ids)
    summary = eval_extraction.summarise(results, "html")
    assert summary["pages"] == 3
    assert summary["boilerplate_left"] == 0
    assert isinstance(summary["f1"], float) and summary["f1"] > 0.8
    assert isinstance(summary["p95_ms"], float) and summary["p95_ms"] > 0


@pytest.mark.skipif(not (AEB / "ground-truth.json").is_file(), reason="shared AEB corpus not present")
def test_benchmark_script_prints_json_last_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks import eval_extraction

    # A three-page corpus in the same layout, so the script runs end to end in well under a second.
    truths = eval_extraction.load_ground_truth(AEB)
    ids = sorted(truths)[:3]
    (tmp_path / "html").mkdir()
    for page_id in ids:
        (tmp_path / "html" / f"{page_id}.html.gz").write_bytes((AEB / "html" / f"{page_id}.html.gz").read_bytes())
    (tmp_path / "ground-truth.json").write_text(json.dumps({k: truths[k] for k in ids}), encoding="utf-8")

    assert eval_extraction.main(["--corpus", str(tmp_path), "--mode", "html"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    summary = json.loads(last)
    assert {"pages", "f1", "precision", "recall", "p50_ms", "p95_ms", "boilerplate_left"} <= summary.keys()
    assert summary["pages"] == 3


def test_boilerplate_paragraphs_that_trafilatura_keeps_are_dropped() -> None:
    article = extract_html(fixture("boilerplate_in_body.html"))

    assert [p.split()[0] for p in article.paragraphs] == ["Election", "The", "A"]
    # "Reuters/Ipsos" in prose is article text; "REUTERS/Name" after a caption is a photo credit.
    assert "A Reuters/Ipsos poll" in article.body
    assert (
        article.caption
        == "A man walks past a polling station in London, Britain, November 19, 2019. REUTERS/Toby Melville"
    )
    lowered = article.body.lower()
    for marker in (*BOILERPLATE, "patreon", "ap photo", "vote count delayed"):
        assert marker not in lowered, marker
    assert "REUTERS/" not in article.body
