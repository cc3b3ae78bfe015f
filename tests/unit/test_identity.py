"""Article identity: canonical links, GUID keys, tracking parameters, shared links and aliases. Pure."""

from __future__ import annotations

import pytest

from bot.news.identity import article_keys, canonical_url, clean_url, guid_key, is_url, lookup_keys
from bot.news.models import ParsedArticle


@pytest.mark.parametrize(
    "text",
    ["http://[::1/", "http://example.com:99999/x", "http://example.com:abc/x", "https://", "mailto:a@b.c", "", None],
)
def test_malformed_urls_are_not_urls_and_never_raise(text: str | None) -> None:
    assert not is_url(text)
    if text is not None:
        assert canonical_url(text) == text.strip()
        assert clean_url(text) == text.strip()
        assert guid_key(text, "feed").startswith("guid:feed#")  # an opaque GUID, not a crash


def test_canonical_link_folds_scheme_case_port_fragment_and_trackers() -> None:
    a = canonical_url("http://Example.COM:80/post/1?utm_source=rss&b=2&a=1&fbclid=x#comments")
    assert a == "https://example.com/post/1?a=1&b=2"
    assert canonical_url("https://example.com:443/post/1?b=2&a=1") == a
    assert canonical_url("http://[::1]:8080/x") == "https://[::1]:8080/x"


@pytest.mark.parametrize("name", ["cid", "from", "ref", "share", "feature", "rss", "smid", "ocid", "ncid", "spm", "id"])
def test_content_parameters_are_kept(name: str) -> None:
    one = canonical_url(f"https://example.com/news.php?{name}=1")
    two = canonical_url(f"https://example.com/news.php?{name}=2")
    assert one != two
    assert clean_url(f"https://example.com/news.php?{name}=1") == f"https://example.com/news.php?{name}=1"


@pytest.mark.parametrize(
    "name", ["utm_source", "utm_campaign", "fbclid", "gclid", "msclkid", "mc_cid", "mc_eid", "_hsenc", "mkt_tok"]
)
def test_unambiguous_trackers_are_dropped(name: str) -> None:
    assert canonical_url(f"https://example.com/a?{name}=x&id=7") == "https://example.com/a?id=7"
    assert clean_url(f"https://example.com/a?{name}=x&id=7") == "https://example.com/a?id=7"


def test_url_guids_keep_their_fragment_but_fold_scheme_and_trackers() -> None:
    one = guid_key("https://lovergne.dev/awesome#8086-vm", "feed")
    two = guid_key("https://lovergne.dev/awesome#arm-vm", "feed")
    assert one != two
    assert guid_key("http://lovergne.dev/awesome?utm_medium=rss#8086-vm", "other feed") == one  # URL GUIDs are global
    assert one == "https://lovergne.dev/awesome#8086-vm"
    assert guid_key("post-1", "feed-a") != guid_key("post-1", "feed-b")  # opaque GUIDs are per feed


def test_fragment_guids_with_one_link_are_distinct_articles() -> None:
    day1 = ParsedArticle("Monday", "", url="https://x.example/now.html#2026-02-16", guid="now.html#2026-02-16 a")
    day2 = ParsedArticle("Tuesday", "", url="https://x.example/now.html#2026-02-17", guid="now.html#2026-02-17 b")
    assert article_keys(day1, scope="s")[0] == article_keys(day2, scope="s")[0]  # same page…
    shared1 = ParsedArticle("Monday", "", url=day1.url, guid=day1.guid, link_is_identity=False)
    shared2 = ParsedArticle("Tuesday", "", url=day2.url, guid=day2.guid, link_is_identity=False)
    assert not set(article_keys(shared1, scope="s")) & set(article_keys(shared2, scope="s"))  # …different entries


def test_shared_link_is_no_key_and_entries_without_guid_use_title_and_link() -> None:
    link = "https://blog.example/post/comment-page-1/"
    a = ParsedArticle("Comment by Ann", "", url=link, link_is_identity=False, aliases=("https://blog.example/x",))
    b = ParsedArticle("Comment by Bob", "", url=link, link_is_identity=False)
    keys_a, keys_b = article_keys(a, scope="s"), article_keys(b, scope="s")
    assert canonical_url(link) not in keys_a + keys_b
    assert "https://blog.example/x" not in keys_a  # an alias of a shared link is shared too
    assert keys_a != keys_b and keys_a[0].startswith("guid:s#sha256:")
    assert article_keys(ParsedArticle("Comment by Ann", "", url=link, link_is_identity=False), scope="s") == keys_a[:1]


def test_aliases_are_stored_apart_and_found_by_links_only() -> None:
    article = ParsedArticle("T", "", url="https://a.example/r/1", aliases=("http://a.example/post/1#top", "nonsense"))
    assert article_keys(article) == ["https://a.example/r/1", "alias:https://a.example/post/1"]
    # Looking it up: its own keys, its link as someone's alias, its aliases as someone's link.
    assert lookup_keys(article) == [
        "https://a.example/r/1",
        "alias:https://a.example/r/1",
        "https://a.example/post/1",
    ]
    direct = ParsedArticle("T", "", url="https://a.example/post/1")
    assert "alias:https://a.example/post/1" in lookup_keys(direct)
    # Two links that both land on one wall page share no key: an alias never finds another alias.
    walled = ParsedArticle("U", "", url="https://a.example/r/2", aliases=("https://a.example/post/1",))
    assert not set(lookup_keys(walled)) & set(article_keys(article)) - {"alias:https://a.example/post/1"}
    assert "alias:https://a.example/post/1" not in lookup_keys(walled)


def test_fingerprint_fallback_is_unchanged() -> None:
    bare = ParsedArticle("Title", "")
    assert article_keys(bare) == article_keys(ParsedArticle("title", ""))
    assert article_keys(bare)[0].startswith("sha256:")
