"""Property tests: hostile text and URLs through every builder in cogs/render.py (and the card in cogs/cards.py).

For each payload Discord would receive, checked against the independent model in tests/markup.py: nobody can be
mentioned; the only links are the article's own public http(s) addresses; nothing from the input is formatted,
linked or turned into a mention pill; no control, zero-width or bidi character survives; and every Discord
limit holds, the 6000-character embed total included.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable
from typing import Any, TypeVar

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.news.format import ELLIPSIS, web_url
from bot.news.models import Article
from cogs import cards, render
from tests.markup import is_invisible, is_public_http_url, live_markup, pings, shown_text, strings

T = TypeVar("T")

settings.register_profile("render", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("render")

# fmt: off
SNIPPETS = [
    # mentions of every kind
    "@everyone", "@here", "@EveryOne", "@\u200beveryone", "<@123456789012345678>", "<@!1>", "<@&42>", "<#7>",
    "</news latest:99>", "<t:1700000000:R>", "<:blob:1>", "<a:blob:2>", "<id:customize>", "<@&42", "@", "<", ">",
    # markdown of every kind
    "**", "__", "*", "_", "~~", "||", "`", "```py\n", "```", "> ", ">>> ", "# ", "## ", "### ", "-# ", "- ", "* ",
    "+ ", "1. ", "2) ", "10.", "[", "]", "(", ")", "\\", "\\*", "\\\\", "\\\n", ":", "//", "#",
    # masked links and URLs
    "[here](http://evil.example/phish)", "[x](<https://evil.example>)", "[a [b]](https://evil.example)",
    "<https://evil.example>", "https://evil.example/x", "http://169.254.169.254/", "discord.gg/x", "steam://run/1",
    # invisible and reordering characters
    "\u202e", "\u202d", "\u202a", "\u2066", "\u2067", "\u2069", "\u200e", "\u200f", "\u061c", "\u200b", "\u200c",
    "\u200d", "\u2060", "\ufeff", "\u00ad", "\U000e0041", "\U000e007f", "\ufdd0", "\uffff", "\U0010ffff",
    # controls and breaks
    "\x00", "\x07", "\x1b[31m", "\x1b]0;pwned\x07", "\x7f", "\x9b", "\r", "\r\n", "\n", "\n\n", "\t", "\u2028",
    "\u2029", "\v", "\f",
    # entity-like text (Discord does not decode entities; it must stay text)
    "&#8220;", "&rsquo;", "&lt;@123&gt;", "&amp;", "&#x3C;@&amp;1&#x3E;",
    # unicode edge cases
    "e\u0301", "👨\u200d👩\u200d👧", "🇺🇸", "\u0600", "ﷺ", "𝕳𝖊𝖑𝖑𝖔", "ß", "İ", "\ud800", "\u3000", "\u00a0", "東京。",
    "Mr. ", "U.S. ", "... ", "! ", "? ",
]
# fmt: on

fragments = st.one_of(st.sampled_from(SNIPPETS), st.text(max_size=12), st.characters(codec=None))
hostile = st.lists(fragments, max_size=30).map("".join)
long_hostile = st.builds(lambda text, times: text * times, hostile, st.integers(min_value=1, max_value=300))
any_text = st.one_of(hostile, hostile, long_hostile)

GOOD_URLS = [
    "https://news.example/story",
    "https://news.example/a_(b)*c~d|e`f[g]h<i>",
    "http://8.8.8.8/x",
    "https://[2606:4700:4700::1111]/",
    "https://example.com/" + "p" * 600,
]
# fmt: off
BAD_URLS = [
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://[::1]/", "http://0x7f.1/",
    "http://2130706433/", "http://[::ffff:127.0.0.1]/", "http://localhost/", "https://u:p@news.example/",
    "javascript:alert(1)", "images/photo.jpg", "https://news.example/a) **FREE** [claim](https://phish.example",
    "http://１２７.０.０.１/", "https://news.example/\u202e", "https://news.example\\@evil.example/",
]
# fmt: on
urls = st.one_of(
    st.none(),
    st.sampled_from(GOOD_URLS + BAD_URLS),
    st.builds("https://{}/{}".format, st.sampled_from(["news.example", "10.1.2.3", "0177.1"]), hostile),
    hostile,
)
published = st.one_of(
    st.none(),
    st.dates(min_value=dt.date(1900, 1, 1)),
    st.datetimes(min_value=dt.datetime(1970, 1, 2), timezones=st.just(dt.UTC)),
)


def make_article(
    article_id: int,
    title: str,
    paragraphs: list[str],
    author: str | None,
    when: dt.date | None,
    caption: str | None,
    url: str | None,
    image_url: str | None,
    site_name: str | None,
    summary: str | None,
) -> Article:
    return Article(
        id=article_id,
        identity=f"sha256:{article_id}",
        title=title,
        body="\n\n".join(paragraphs),
        author=author,
        published=when,
        caption=caption,
        url=url,
        image_url=image_url,
        site_name=site_name,
        source_id=None,
        ingested_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        summary=summary,
    )


articles = st.builds(
    make_article,
    st.integers(min_value=1, max_value=2**63 - 1),
    any_text,
    st.lists(any_text, max_size=8),
    st.one_of(st.none(), hostile),
    published,
    st.one_of(st.none(), hostile),
    urls,
    urls,
    st.one_of(st.none(), hostile),
    st.one_of(st.none(), hostile),
)


def run(build: Callable[[], T]) -> T:
    """discord.py views need a running event loop to be created."""

    async def inside() -> T:
        return build()

    return asyncio.run(inside())


# ---- checks -------------------------------------------------------------------------------------------------


def clean_line(text: str | None) -> str:
    """The input as a member should read it on one line: invisible characters gone, whitespace collapsed."""
    spaced = (text or "").replace("\u2028", " ").replace("\u2029", " ")
    return " ".join("".join(ch for ch in spaced if not is_invisible(ch)).split())


def assert_inert(text: str, where: str) -> None:
    assert live_markup(text) == [], (where, text)


def assert_verbatim(shown: str, original: str | None, where: str) -> None:
    """``shown`` reads as ``original`` (cleaned), or a visibly cut prefix of it."""
    read = shown_text(shown)
    expected = clean_line(original)
    if read == expected:
        return
    assert read.endswith(ELLIPSIS), (where, read, expected)
    assert expected.startswith(read[: -len(ELLIPSIS)]), (where, read, expected)


def check_limits(payload: dict[str, Any]) -> None:
    assert len(payload["content"]) <= render.CONTENT_LIMIT
    embeds = payload["embeds"]
    assert len(embeds) <= render.EMBEDS_LIMIT
    total = 0
    for embed in embeds:
        title = embed.get("title", "")
        description = embed.get("description", "")
        footer = embed.get("footer", {}).get("text", "")
        author = embed.get("author", {}).get("name", "")
        fields = embed.get("fields", [])
        assert len(title) <= render.TITLE_LIMIT and len(description) <= render.DESCRIPTION_LIMIT
        assert len(footer) <= render.FOOTER_LIMIT and len(author) <= render.AUTHOR_LIMIT
        assert len(fields) <= render.FIELDS_LIMIT
        for item in fields:
            assert 0 < len(item["name"]) <= render.FIELD_NAME_LIMIT
            assert 0 < len(item["value"]) <= render.FIELD_VALUE_LIMIT
        total += len(title) + len(description) + len(footer) + len(author)
        total += sum(len(f["name"]) + len(f["value"]) for f in fields)
        for key in ("url",):
            if key in embed:
                assert len(embed[key]) <= 2048
    assert total <= render.EMBED_TOTAL_LIMIT
    rows = payload["components"]
    assert len(rows) <= 5
    for row in rows:
        assert row["type"] == 1 and 1 <= len(row["components"]) <= 5
        for button in row["components"]:
            assert 0 < len(button.get("label", "")) <= render.BUTTON_LABEL_LIMIT
            if "custom_id" in button:
                assert 0 < len(button["custom_id"]) <= render.CUSTOM_ID_LIMIT
            else:
                assert len(button["url"]) <= render.LINK_BUTTON_URL_LIMIT


def urls_in(payload: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for embed in payload["embeds"]:
        for key in ("url",):
            if key in embed:
                found.add(embed[key])
        for key in ("image", "thumbnail", "author", "footer"):
            for inner in ("url", "icon_url"):
                if inner in embed.get(key, {}):
                    found.add(embed[key][inner])
    for row in payload["components"]:
        found.update(b["url"] for b in row["components"] if "url" in b)
    return found


def check_common(payload: dict[str, Any], *, article: Article | None = None, ping_role_id: int | None = None) -> None:
    check_limits(payload)
    for text in strings(payload):
        assert not any(is_invisible(ch) for ch in text), text
    assert payload["allowed_mentions"].get("parse") == []
    assert not payload["allowed_mentions"].get("users")
    allowed_roles = {str(ping_role_id)} if ping_role_id is not None else set()
    assert {str(r) for r in payload["allowed_mentions"].get("roles", [])} == allowed_roles
    assert pings(payload["content"], payload["allowed_mentions"]) <= {f"role:{r}" for r in allowed_roles}
    intended = set()
    if article is not None:
        intended = {u for u in (web_url(article.url), web_url(article.image_url)) if u}
    for url in urls_in(payload):
        assert url in intended, url
        assert is_public_http_url(url), url
    for embed in payload["embeds"]:
        assert_inert(embed.get("title", ""), "title")
        for item in embed.get("fields", []):
            assert_inert(item["name"], "field name")
            assert_inert(item["value"], "field value")


# ---- the builders -------------------------------------------------------------------------------------------

HEADLINE = re.compile(
    r"\*\*(?P<rank>\d+)\.\*\* (?:\[(?P<label>[^\]]*)\]\((?P<target>[^)\s]+)\)|\*\*(?P<bold>.*)\*\*)"
    r"(?: · (?P<date>\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}))?"
)


@given(st.lists(articles, min_size=1, max_size=10))
def test_headline_list(items: list[Article]) -> None:
    payload = run(lambda: render.headline_list(items).payload())
    check_common(payload)
    [embed] = payload["embeds"]
    lines = embed["description"].split("\n")
    assert 1 <= len(lines) <= len(items)
    for rank, (line, article) in enumerate(zip(lines, items, strict=False), start=1):
        match = HEADLINE.fullmatch(line)
        assert match, line
        assert int(match["rank"]) == rank
        url = web_url(article.url)
        if match["target"] is not None:
            assert url is not None and match["target"] == render.markdown_link_target(url)
            assert is_public_http_url(url)
            assert_inert(match["label"], "headline label")
            assert "[" not in shown_text(match["label"]) and "]" not in shown_text(match["label"])
        else:
            assert url is None
            assert_inert(match["bold"], "headline title")
            assert_verbatim(match["bold"], article.title, "headline title") if clean_line(article.title) else None
        assert (match["date"] is None) == (article.published is None)


@given(articles, st.one_of(st.none(), st.integers(min_value=1, max_value=2**63 - 1)))
def test_article_card(article: Article, ping_role_id: int | None) -> None:
    payload = run(lambda: cards.article_card(article, ping_role_id=ping_role_id).payload())
    check_common(payload, article=article, ping_role_id=ping_role_id)
    assert payload["content"] == (f"<@&{ping_role_id}>" if ping_role_id is not None else "")
    [embed] = payload["embeds"]
    if clean_line(article.title):
        assert_verbatim(embed["title"], article.title, "card title")
    assert embed.get("url") == web_url(article.url)
    assert embed.get("image", {}).get("url") == web_url(article.image_url)
    description = embed.get("description", "")
    assert_inert(description, "card description")
    assert len(description) <= render.CARD_DESCRIPTION_CHARS
    # The description is the opening of the text, word for word, visibly marked when it stops early.
    # The body as shown; a body with nothing visible left (only control characters) gives way to the feed's summary.
    body_words = " ".join(clean_line(p) for p in article.paragraphs).split()
    if not body_words:
        body_words = clean_line(article.summary or "").split()
    shown_words = shown_text(description).split()
    cut_short = bool(shown_words) and shown_words[-1].endswith(ELLIPSIS)
    if cut_short:
        last = shown_words.pop().removesuffix(ELLIPSIS)
        if last:
            shown_words.append(last)
    assert body_words[: len(shown_words)][:-1] == shown_words[:-1]
    if not cut_short:
        assert shown_words == body_words
    buttons = [b for row in payload["components"] for b in row["components"]]
    ids = [b.get("custom_id") for b in buttons if "custom_id" in b]
    assert ids == [f"newsbot:summary:{article.id}", f"newsbot:read:{article.id}"]
    links = [b["url"] for b in buttons if "url" in b]
    assert links == ([u] if (u := web_url(article.url, max_length=render.LINK_BUTTON_URL_LIMIT)) else [])


@given(articles)
def test_summary(article: Article) -> None:
    payload = run(lambda: render.summary_message(article, cards.summary_sentences(article)).payload())
    check_common(payload, article=article)
    [embed] = payload["embeds"]
    lines = embed["description"].split("\n")
    assert len(lines) <= cards.SUMMARY_SENTENCES
    for line in lines:
        assert_inert(line.removeprefix("• "), "summary sentence")


@given(articles)
def test_reader_pages(article: Article) -> None:
    text_pages = render.read_pages(article)
    total = max(1, len(text_pages))
    shown: list[str] = []
    for page in range(1, total + 1):
        payload = run(lambda page=page: cards.read_message(article, page).payload())  # type: ignore[misc]
        check_common(payload, article=article)
        [embed] = payload["embeds"]
        assert_inert(embed["description"], "page")
        assert embed["footer"]["text"].startswith(f"Page {page} of {total} · ")
        shown.append(shown_text(embed["description"]))
        ids = [b["custom_id"] for row in payload["components"] for b in row["components"]]
        if total > 1:
            assert ids == [f"newsbot:read:{article.id}:{page - 1}", f"newsbot:read:{article.id}:{page + 1}"]
        else:
            assert ids == []
    # Nothing is lost or repeated across the pages (the feed's summary stands in for an empty body).
    source = [clean_line(p) for p in article.paragraphs]
    if not any(source):
        source = [clean_line(article.summary)]
    expected = "".join("".join(source).split())
    if text_pages:
        assert "".join("".join(shown).split()) == expected
    else:
        assert expected == ""


@given(hostile)
def test_notice_echoes_inert(echo: str) -> None:
    text = f"No article matches “{echo}”. Try other words, or /news latest."
    payload = run(lambda: render.notice(text).payload())
    check_common(payload)
    assert_inert(payload["content"], "notice")
    assert shown_text(payload["content"]).split() == clean_line(text).split() or payload["content"].endswith(ELLIPSIS)


@given(any_text, st.integers(min_value=1, max_value=2**63 - 1))
def test_choice_names(title: str, article_id: int) -> None:
    name = render.choice_name(title, article_id)
    assert 1 <= len(name) <= render.CHOICE_NAME_LIMIT
    assert not any(is_invisible(ch) for ch in name)


@given(urls)
def test_link_buttons_only_open_public_addresses(url: str | None) -> None:
    button = run(lambda: render.link_button(url))
    if button is not None:
        assert button.url is not None and is_public_http_url(button.url)
        assert len(button.url) <= render.LINK_BUTTON_URL_LIMIT


# ---- web_url against every notation of every IPv4 address ------------------------------------------------------


def notations(value: int) -> list[str]:
    a, b, c, d = value.to_bytes(4, "big")
    return [
        f"{a}.{b}.{c}.{d}",
        str(value),
        hex(value),
        f"0{value:o}",
        f"{hex(a)}.{hex(b)}.{hex(c)}.{hex(d)}",
        f"0{a:o}.0{b:o}.0{c:o}.0{d:o}",
        f"{a}.{(b << 16) | (c << 8) | d}",
        f"{a}.{b}.{(c << 8) | d}",
        f"{hex(a)}.{b}.0{c:o}.{d}",
        f"{a}.{b}.{c}.{d}.",
        "".join(chr(ord(ch) + 0xFEE0) if ch.isdigit() else ch for ch in f"{a}.{b}.{c}.{d}"),
        f"[::ffff:{a}.{b}.{c}.{d}]",
        f"[::ffff:{value >> 16:x}:{value & 0xFFFF:x}]",
        f"[2002:{value >> 16:x}:{value & 0xFFFF:x}::1]",
    ]


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_web_url_refuses_private_ipv4_in_every_notation(value: int) -> None:
    import ipaddress

    address = ipaddress.IPv4Address(value)
    private = not is_public_http_url(f"http://{address}/")
    for host in notations(value):
        shown = web_url(f"http://{host}/path")
        if private:
            assert shown is None, host
        elif shown is not None:
            assert is_public_http_url(shown), host
    if not private:
        assert web_url(f"http://{address}/path") is not None


@pytest.mark.parametrize("ping_role_id", [None, 987654321])
def test_mentions_allow_only_the_configured_role(ping_role_id: int | None) -> None:
    allowed = render.mentions(ping_role_id).to_dict()
    assert allowed["parse"] == []
    assert allowed.get("roles", []) == ([ping_role_id] if ping_role_id else [])
    assert not allowed.get("users") and not allowed.get("replied_user")
    assert pings("<@&987654321> @everyone <@1>", allowed) == ({"role:987654321"} if ping_role_id else set())


def test_embed_total_is_enforced_across_embeds() -> None:
    def build() -> dict[str, Any]:
        embeds = [discord.Embed(title="t" * 256, description="word " * 800) for _ in range(4)]
        return render.message(embeds=embeds).payload()

    payload = run(build)
    check_limits(payload)
    assert len(payload["embeds"]) == 4
    assert all(e["description"].endswith(ELLIPSIS) for e in payload["embeds"])


def test_reader_pages_out_of_range_are_clamped() -> None:
    article = make_article(
        7, "Long", ["Sentence number one here. " * 200] * 3, None, None, None, None, None, None, None
    )
    total = len(render.read_pages(article))
    assert total > 1
    for asked, shown in ((0, 1), (-5, 1), (total + 10, total)):
        payload = run(lambda asked=asked: cards.read_message(article, asked).payload())  # type: ignore[misc]
        assert payload["embeds"][0]["footer"]["text"].startswith(f"Page {shown} of {total}")


def test_a_huge_article_reads_in_at_most_the_page_limit_and_says_it_goes_on() -> None:
    body = "\n\n".join(["Words go here and on. " * 2000] * 40)  # 1.7 MB
    article = make_article(8, "Huge", [body], None, None, None, None, None, None, None)
    text_pages = render.read_pages(article)
    assert len(text_pages) == render.READ_PAGES_LIMIT
    assert text_pages[-1].endswith(render.READ_MORE)
    payload = run(lambda: cards.read_message(article, render.READ_PAGES_LIMIT).payload())
    check_limits(payload)
    assert payload["embeds"][0]["description"].endswith(render.READ_MORE)
    card = run(lambda: cards.article_card(article).payload())
    assert card["embeds"][0]["description"].endswith(" …")
