"""Feed parsing: formats, links, dates, identities, and robustness over the shared corpus."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.news.feeds import absolute_url, html_to_text, looks_like_feed, parse_feed, to_utc
from bot.news.identity import article_keys, is_url
from tests.conftest import FIXTURES, shared_path

FEEDS = FIXTURES / "feeds"


def load(name: str) -> bytes:
    return (FEEDS / name).read_bytes()


def test_rss2_relative_links_tracking_params_and_dates() -> None:
    feed = parse_feed(load("rss2_relative.xml"), "https://example.org/feed/")
    assert feed.meta.format == "rss"
    assert feed.meta.title == "Example & News"
    assert feed.meta.link == "https://example.org/"
    first, second, third, fourth = feed.articles
    assert first.url == "https://example.org/2024/01/first-post/"  # relative + utm_* stripped
    assert first.image_url == "https://example.org/img/first.jpg"
    assert first.published == dt.datetime(2024, 1, 15, 8, 30, tzinfo=dt.UTC)
    assert first.guid == "post-1"
    assert second.url == "https://example.org/2024/01/second"  # fragment dropped
    assert second.body == "Paragraph one.\n\nParagraph two."
    # No GUID and no link: the id is a fingerprint of title + date, stable across parses.
    assert third.url is None and third.guid and third.guid.startswith("sha256:")
    assert third.published == dt.datetime(2024, 1, 17, 16, 0, tzinfo=dt.UTC)
    assert parse_feed(load("rss2_relative.xml"), "https://example.org/feed/").articles[2].guid == third.guid
    assert fourth.title.startswith("An entry without a title")
    for article in feed.articles:
        published = article.published
        assert not isinstance(published, dt.datetime) or published.utcoffset() == dt.timedelta(0)


def test_every_entry_has_an_id() -> None:
    for name in ("rss2_relative.xml", "atom_xml_base.xml", "rss1_rdf.xml", "rss091.xml", "jsonfeed_1_1.json"):
        for entry in parse_feed(load(name)).entries:
            assert entry.entry_id


def test_atom_xml_base_is_honoured() -> None:
    feed = parse_feed(load("atom_xml_base.xml"), "https://blog.example.net/feed.atom")
    assert feed.meta.format == "atom"
    one, two = feed.articles
    assert one.url == "https://blog.example.net/sub/posts/one.html"
    assert two.url == "https://other.example.net/deep/two.html"
    assert one.author == "Ada Writer"
    assert one.published == dt.datetime(2024, 2, 1, 10, 0, tzinfo=dt.UTC)
    assert two.published == dt.datetime(2024, 2, 2, 13, 0, tzinfo=dt.UTC)


def test_rss1_and_rss091_latin1() -> None:
    rdf = parse_feed(load("rss1_rdf.xml"))
    assert rdf.meta.format == "rdf"
    assert rdf.articles[0].published == dt.datetime(2024, 3, 3, 0, 3, 3, tzinfo=dt.UTC)
    old = parse_feed(load("rss091.xml"))
    assert old.articles[0].title == "Café news"
    assert old.articles[0].body == "Crème brûlée for everyone."


def test_json_feed_1_1_and_1_0() -> None:
    feed = parse_feed(load("jsonfeed_1_1.json"), "https://json.example.com/feed.json")
    assert feed.meta.format == "json" and feed.meta.parser == "json"
    html_item, text_item = feed.articles
    assert html_item.url == "https://json.example.com/posts/1"
    assert html_item.image_url == "https://json.example.com/img/1.png"
    assert html_item.body == "Hello JSON."
    assert html_item.author == "Item Author"
    assert html_item.published == dt.datetime(2024, 4, 1, 8, 0, tzinfo=dt.UTC)
    assert text_item.guid == "2" and text_item.author == "Feed Author"
    assert text_item.title.startswith("A microblog post")
    old = parse_feed(load("jsonfeed_1_0.json"))
    assert old.articles[0].author == "Old Author"
    assert old.articles[0].published == dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def test_guid_http_https_flip_gives_the_same_keys() -> None:
    v1 = {a.title: a for a in parse_feed(load("wordpress_v1.xml"), "http://wp.example.com/feed/").articles}
    v2 = {a.title: a for a in parse_feed(load("wordpress_v2.xml"), "https://wp.example.com/feed/").articles}
    assert set(article_keys(v1["Post one"])) & set(article_keys(v2["Post one (updated)"]))
    assert article_keys(v1["Post two"])[0] == article_keys(v2["Post two"])[0]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "HTML page"),
        (b'{"hello": "world"}', "not a JSON Feed"),
        (b"{not json", "not valid JSON"),
        (b"\x00\x01\x02garbage", "not an RSS"),
    ],
)
def test_non_feeds_are_a_parse_error(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(data)


def test_looks_like_feed() -> None:
    assert looks_like_feed(load("rss2_relative.xml"))
    assert looks_like_feed(load("jsonfeed_1_1.json"))
    assert not looks_like_feed(load("article_page.html"))


def test_absolute_url() -> None:
    assert absolute_url("/a?utm_source=x&id=1", "https://h.example/feed") == "https://h.example/a?id=1"
    assert absolute_url("example.com/post/1") == "https://example.com/post/1"  # scheme-less host
    assert absolute_url("index.html", "https://h.example/dir/feed") == "https://h.example/dir/index.html"
    assert absolute_url("//cdn.example/x.png") == "https://cdn.example/x.png"
    assert absolute_url("mailto:someone@example.com", "https://h.example/") is None
    assert absolute_url("/relative-without-base") is None


def test_to_utc_and_html_to_text() -> None:
    assert to_utc("2024-01-01T01:00:00+01:00") == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert to_utc("Mon, 01 Jan 2024 00:00:00 GMT") == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert to_utc("not a date") is None
    assert to_utc("2024-01-01T00:00:00") == dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    text = html_to_text("<p>One&nbsp;<b>bold</b></p><script>x()</script><p>Two<br>lines</p>")
    assert text == "One bold\n\nTwo lines"


def _corpus_files() -> list[Path]:
    root = shared_path("corpus", "feeds")
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_shared_corpus_no_crash_ids_and_absolute_links() -> None:
    files = _corpus_files()
    entries = json_items = 0
    for path in files:
        try:
            feed = parse_feed(path.read_bytes(), "https://corpus.invalid/" + path.name)
        except ParseError:
            continue  # a clear refusal (LICENSE files, expected-output JSON) is not a crash
        entries += len(feed.entries)
        if feed.meta.format == "json":
            json_items += len(feed.entries)
        for entry in feed.entries:
            assert entry.entry_id, path
            assert entry.article.title, path
            assert entry.article.url is None or is_url(entry.article.url), (path, entry.article.url)
            published = entry.article.published
            assert not isinstance(published, dt.datetime) or published.utcoffset() == dt.timedelta(0)
    assert entries > 4000
    assert json_items >= 12  # the JSON Feed among the real feeds (10) and the integration sample (2)


def test_shared_integration_json_feed_sample() -> None:
    path = shared_path("corpus", "feeds", "integration", "json_feed_sample.json")
    feed = parse_feed(path.read_bytes())
    assert [a.url for a in feed.articles] == ["https://example.org/item1", "https://example.org/item2"]
    assert feed.articles[0].author == "Jane Smith"


def _rss(items: str) -> bytes:
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{items}</channel></rss>'.encode()


def test_a_link_shared_by_different_entries_is_not_their_identity() -> None:
    feed = parse_feed(
        _rss(
            "<item><title>Ann</title><link>https://b.example/p/comment-page-1/</link><guid>c-1</guid></item>"
            "<item><title>Bob</title><link>https://b.example/p/comment-page-1/</link><guid>c-2</guid></item>"
            "<item><title>Own</title><link>https://b.example/p/own</link><guid>c-3</guid></item>"
        ),
        "https://b.example/feed",
    )
    ann, bob, own = feed.articles
    assert not ann.link_is_identity and not bob.link_is_identity and own.link_is_identity
    assert not set(article_keys(ann, scope="f")) & set(article_keys(bob, scope="f"))
    assert article_keys(own, scope="f")[0] == "https://b.example/p/own"


def test_a_repeated_entry_keeps_its_link_and_shared_links_without_guid_get_distinct_ids() -> None:
    twice = parse_feed(_rss("<item><title>Same</title><link>https://b.example/a</link><guid>g</guid></item>" * 2))
    assert all(a.link_is_identity for a in twice.articles)
    no_guid = parse_feed(
        _rss(
            "<item><title>Monday</title><link>https://b.example/now</link></item>"
            "<item><title>Tuesday</title><link>https://b.example/now</link></item>"
        )
    )
    ids = [e.entry_id for e in no_guid.entries]
    assert all(ids) and len(set(ids)) == 2


def test_url_guids_with_fragments_stay_distinct() -> None:
    items = "".join(
        f"<item><title>Tool {n}</title><link>https://lovergne.dev/awesome</link>"
        f"<guid>https://lovergne.dev/awesome#{n}</guid></item>"
        for n in ("8086-vm", "arm-vm", "risc-v")
    )
    keys = [set(article_keys(a, scope="f")) for a in parse_feed(_rss(items)).articles]
    assert all(not keys[i] & keys[j] for i in range(3) for j in range(i + 1, 3))


@pytest.mark.parametrize(
    "link", ["http://[::1/x", "http://example.com:99999/x", "http://example.com:abc/x", "javascript:alert(1)"]
)
def test_malformed_links_are_dropped_not_a_crash(link: str) -> None:
    feed = parse_feed(_rss(f"<item><title>a</title><link>{link}</link></item>"), "https://example.com/feed")
    [entry] = feed.entries
    assert entry.article.url is None and entry.raw_link == link and entry.entry_id
    doc = f'{{"version": "https://jsonfeed.org/version/1.1", "items": [{{"id": "1", "url": "{link}"}}]}}'
    [item] = parse_feed(doc.encode()).entries
    assert item.article.url is None and item.raw_link == link
    assert absolute_url(link, "https://example.com/") is None


@pytest.mark.parametrize(
    "data",
    [b"[" * 100_000, b'{"items":' + b"[" * 100_000 + b"]" * 100_000 + b"}", b'{"items": [{"date_published": 1e400}]}'],
)
def test_hostile_json_is_a_parse_error_or_a_feed(data: bytes) -> None:
    try:
        parse_feed(data)
    except ParseError:
        pass


def test_control_characters_are_stripped_from_feed_text() -> None:
    feed = parse_feed(
        _rss(
            "<item><title>Head\x1b[31mline&#8238;</title><link>https://e.example/a</link>"
            "<description>Body&#1; text\x7f here</description><author>Ann\x07 Writer</author></item>"
        )
    )
    [article] = feed.articles
    assert article.title == "Head[31mline"
    assert article.body == "Body text here"
    assert article.author == "Ann Writer"
    assert html_to_text("a\x00b \u202e c") == "ab c"
