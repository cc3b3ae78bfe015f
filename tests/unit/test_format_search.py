from __future__ import annotations

from bot.news.format import markdown_link_target, paragraphs_within, shorten, web_url
from bot.news.search import MAX_QUERY_CHARS, HeadlineIndex

TITLES = [
    (1, "Trump-Putin Meeting Yields Success and Concession"),
    (2, "Council approves new bike lanes downtown"),
    (3, "Storm warning for the coast tonight"),
    (4, "Putin hosts summit on energy"),
]


def test_shorten_and_paragraphs_respect_limits() -> None:
    assert shorten("a b c", 10) == "a b c"
    cut = shorten("word " * 100, 50)
    assert len(cut) <= 50 and cut.endswith("…")
    text = paragraphs_within(["x" * 40, "y" * 40, "z" * 40], 90)
    assert text == "x" * 40 + "\n\n" + "y" * 40
    assert len(paragraphs_within(["q" * 500], 100)) <= 100


def test_web_url_accepts_only_absolute_http_links() -> None:
    assert web_url("https://example.com/a?b=1") == "https://example.com/a?b=1"
    for bad in [
        None,
        "",
        "images/photo.jpg",
        "javascript:alert(1)",
        "https://a b/c",
        "ftp://x.example/f",
        "https:///x",
    ]:
        assert web_url(bad) is None, bad
    assert web_url("https://example.com/" + "x" * 600, max_length=512) is None
    assert markdown_link_target("https://e.example/a_(b)<c>") == "https://e.example/a_%28b%29%3Cc%3E"


def test_headline_index_tolerates_typos_and_ranks_closest_first() -> None:
    index = HeadlineIndex(TITLES)
    assert index.search("trump putn")[0].article_id == 1
    assert index.search("bike lane")[0].article_id == 2
    assert [m.article_id for m in index.search("", limit=2)] == [1, 2]
    assert index.best("zzzzqqqq") is None
    assert len(index.search("putin", limit=1)) == 1


def test_headline_index_survives_hostile_queries() -> None:
    index = HeadlineIndex(TITLES)
    for query in ['"', "NEAR(", "*", "\x00\u202e", "🙂" * 50, "x" * (MAX_QUERY_CHARS * 50)]:
        assert isinstance(index.search(query), list)
    assert HeadlineIndex().search("anything") == []
