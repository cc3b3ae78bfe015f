from __future__ import annotations

from bot.news.search import MAX_QUERY_CHARS, HeadlineIndex

TITLES = [
    (1, "Trump-Putin Meeting Yields Success and Concession"),
    (2, "Council approves new bike lanes downtown"),
    (3, "Storm warning for the coast tonight"),
    (4, "Putin hosts summit on energy"),
]


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
