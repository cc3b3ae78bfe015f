"""bot/news/format.py: the one filter, Discord escaping, cuts, sentences, pages, dates and public links."""

from __future__ import annotations

import datetime as dt

import discord
import pytest

from bot.news.format import (
    CONTROL_CHARS,
    ELLIPSIS,
    cut,
    display_date,
    escape_markdown,
    escape_within,
    escaped_length,
    link_label,
    markdown_link_target,
    opening,
    pages,
    shorten,
    split_sentences,
    strip_control,
    web_url,
)
from tests.markup import is_invisible, live_markup, shown_text

# ---- the filter ---------------------------------------------------------------------------------------------


def test_strip_control_removes_every_invisible_kind_and_keeps_text() -> None:
    nasty = (
        "a\x00b\x1b[31mc\x7fd\x9be\u200bf\u200dg\u200eh\u200fi\u202ej\u202ak\u2066l\u2069m\ufeffn"
        "\U000e0041o\ufdd0p\uffffq\ud800r"
    )
    assert strip_control(nasty) == "ab[31mcdefghijklmnopqr"
    assert strip_control("tab\tnew\nline\r\n") == "tab\tnew\nline\n"
    assert strip_control("one\u2028two\u2029three") == "one\ntwo\n\nthree"
    # Visible text survives: accents, combining marks, emoji with variation selectors, RTL letters, soft hyphens.
    kept = "Renée e\u0301 ☺\ufe0f שלום مرحبا co\u00adoperate 東京"
    assert strip_control(kept) == kept


def test_the_filter_is_the_one_used_by_the_parsers_and_the_terminal() -> None:
    from bot.news.feeds import html_to_text
    from bot.news.text import parse_text
    from bot.sandbox.render import terminal_safe

    assert terminal_safe("x\u202ey\u200bz\x1b") == "xyz"
    assert html_to_text("<p>Evil\u202e title\u2066</p>") == "Evil title"
    parsed = parse_text("Storm \u202ewarning\u200b for the coast\n\n" + "The storm reached the coast overnight. " * 5)
    assert "\u202e" not in parsed.title and "\u200b" not in parsed.title


# ---- escaping -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "**bold** __underline__ *it* _it_ ~~strike~~ ||spoiler|| `code` ```block```",
        "[here](http://evil.example/phish) <https://evil.example> https://evil.example/x",
        "<@123> <@!123> <@&456> <#789> </news latest:1> <t:1700000000:R> <:blob:1> <a:blob:2> <id:customize>",
        "@everyone @here @Everyone",
        "- item\n* item\n+ item\n> quote\n>>> quote\n# h1\n## h2\n### h3\n-# subtext\n1. one\n  2) two",
        "back\\slash \\*already\\* \\",
    ],
)
def test_escape_markdown_leaves_nothing_live_and_shows_the_text_verbatim(raw: str) -> None:
    escaped = escape_markdown(raw)
    assert live_markup(escaped) == [], escaped
    assert shown_text(escaped) == raw


def test_a_list_paragraph_has_no_stray_backslash_line() -> None:
    text = "Intro paragraph.\n\n- item one\n- item two"
    # The bug this replaces: discord.py puts the backslash before the newline, leaving the marker live.
    assert discord.utils.escape_markdown(text) == "Intro paragraph.\n\\\n- item one\n\\- item two"
    assert escape_markdown(text) == "Intro paragraph.\n\n\\- item one\n\\- item two"


def test_mentions_are_escaped_not_hidden_with_zero_width_characters() -> None:
    escaped = escape_markdown("<@&42> @everyone")
    assert escaped == "\\<@&42> \\@everyone"
    assert not CONTROL_CHARS.search(escaped)


def test_cut_never_separates_a_backslash_from_what_it_escapes() -> None:
    escaped = escape_markdown("*" * 50)
    for limit in range(1, 60):
        shown = cut(escaped, limit)
        assert len(shown) <= limit
        assert live_markup(shown) == [], (limit, shown)
    assert cut("word " * 20, 23) == "word word word word…"
    assert cut("short", 10) == "short"


def test_escape_within_and_shorten_fit_their_limit() -> None:
    assert shorten("a  b\n c", 10) == "a b c"
    long_title = "Storm **warning** [x](https://e.example) " * 20
    for limit in (5, 40, 256):
        shown = escape_within(long_title, limit)
        assert len(shown) <= limit and shown.endswith(ELLIPSIS)
        assert live_markup(shown) == []
    assert escape_within("a\n\n- b", 100, one_line=False) == "a\n\n\\- b"
    assert escape_within("a\n\n- b", 100) == "a - b"  # on one line the dash is no longer a list marker


def test_link_label_has_no_brackets_left() -> None:
    label = link_label("Storm [warning] ]( https://x.example", 100)
    assert "[" not in shown_text(label) and "]" not in shown_text(label)
    assert live_markup(label) == []


def test_markdown_link_target() -> None:
    assert markdown_link_target("https://e.example/a_(b)<c>") == "https://e.example/a_%28b%29%3Cc%3E"


# ---- sentences, openings, pages -----------------------------------------------------------------------------


def test_split_sentences_survives_abbreviations_initials_decimals_and_quotes() -> None:
    text = (
        "Amid the U.S. talks, Gov. Brown spoke on Jan. 5 about No. 10. Growth hit 3.5 percent. "
        "J. K. Rowling agreed. “We are done.” Then he left! Was it over? yes, for now... "
        "Modern art. The museum opened. 東京に着いた。大阪へ行く！Last words"
    )
    assert split_sentences(text) == [
        "Amid the U.S. talks, Gov. Brown spoke on Jan. 5 about No. 10.",
        "Growth hit 3.5 percent.",
        "J. K. Rowling agreed.",
        "“We are done.”",
        "Then he left!",
        "Was it over? yes, for now...",
        "Modern art.",
        "The museum opened.",
        "東京に着いた。",
        "大阪へ行く！",
        "Last words",
    ]
    assert split_sentences("") == []


def test_opening_keeps_whole_sentences_and_marks_the_cut() -> None:
    paragraphs = ["First sentence here. Second one follows.", "A new paragraph starts. And goes on."]
    assert opening(paragraphs, 1000) == "\n\n".join(paragraphs)
    assert opening(paragraphs, 50) == "First sentence here. Second one follows. …"
    assert opening(paragraphs, 25) == "First sentence here. …"
    # A first sentence longer than the room is cut at a word boundary, still marked.
    first = opening(["word " * 100 + "end."], 60)
    assert len(first) <= 60 and first.endswith(ELLIPSIS) and not first.endswith(" …")
    assert opening([], 100) == ""
    # Text past the room is not even split, but its existence still shows: a clipped paragraph is marked.
    assert opening(["x" + " " * 2000 + "y"], 100) == "x …"
    assert opening(["Short one.", "Two."], 100) == "Short one.\n\nTwo."
    # Measured as escaped text, the opening still fits once escaped.
    starry = ["*Stars* everywhere. " * 40]
    shown = opening(starry, 200, measure=escaped_length)
    assert escaped_length(shown) <= 200 and shown.endswith(ELLIPSIS)


def test_pages_lose_nothing_and_fit() -> None:
    paragraphs = [f"Paragraph {i}. " + "Some words in a sentence. " * (i * 7) for i in range(1, 12)]
    paragraphs.append("x" * 9000)  # one "word" longer than a page
    paragraphs.append("-" + "*" * 3000)  # every character escapes
    split, complete = pages(paragraphs, 1000, measure=escaped_length)
    assert complete
    assert len(split) > 5
    assert all(escaped_length(page) <= 1000 for page in split)
    assert "".join("".join(split).split()) == "".join("".join(paragraphs).split())
    assert pages([], 1000) == ([], True)
    # Whole paragraphs stay together when they fit.
    assert pages(["a b", "c d"], 100) == (["a b\n\nc d"], True)
    assert pages(["a b", "c d"], 4) == (["a b", "c d"], True)
    # With a page budget the split stops there and says the text goes on.
    first, complete = pages(paragraphs, 1000, measure=escaped_length, max_pages=3)
    assert first == split[:3] and not complete


# ---- dates --------------------------------------------------------------------------------------------------


def test_display_date_is_one_format_for_dates_and_datetimes() -> None:
    assert display_date(dt.date(2017, 7, 7)) == "7 Jul 2017"
    assert display_date(dt.datetime(2024, 6, 1, 18, 30, tzinfo=dt.UTC)) == "1 Jun 2024"
    assert display_date(dt.datetime(2024, 7, 3, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))) == "4 Jul 2024"
    assert display_date(None) is None


# ---- links --------------------------------------------------------------------------------------------------


def test_web_url_keeps_public_http_links() -> None:
    for good in [
        "https://example.com/a?b=1",
        "http://news.example/story_(1)",
        "https://8.8.8.8/x",
        "https://[2606:4700:4700::1111]/",
        "https://münchen.example/artikel",
        "https://example.com:8443/feed",
    ]:
        assert web_url(good) == good, good
    assert web_url("  https://example.com/a  ") == "https://example.com/a"


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "",
        "images/photo.jpg",
        "javascript:alert(1)",
        "data:text/html,hi",
        "ftp://x.example/f",
        "https:///x",
        "https://a b/c",
        "https://example.com/\u202eevil",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://172.16.0.1/",
        "http://127.0.0.1/",
        "http://127.1/",
        "http://0x7f.1/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://017700000001/",
        "http://127.0.0.1./",
        "http://0/",
        "http://0.0.0.0/",
        "http://224.0.0.1/",
        "http://240.0.0.1/",
        "http://255.255.255.255/",
        "http://100.64.0.1/",
        "http://１２７.０.０.１/",
        "http://127。0。0。1/",
        "http://%31%32%37.0.0.1/",
        "http://[::1]/",
        "http://[::]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[0:0:0:0:0:ffff:a9fe:a9fe]/",
        "http://[fe80::1]/",
        "http://[fe80::1%25eth0]/",
        "http://[fc00::1]/",
        "http://[ff02::1]/",
        "http://[2002:7f00:1::1]/",
        "http://[64:ff9b::7f00:1]/",
        "http://localhost/",
        "http://LOCALHOST./",
        "http://app.localhost/",
        "http://printer.local/",
        "http://intranet/",
        "https://user:pass@example.com/",
        "https://user@example.com/",
        "https://example.com\\@evil.example/",
        "https://example.com:99999/",
        "https://[::1/",
        "https://example.com/" + "x" * 3000,
    ],
)
def test_web_url_refuses_what_members_must_not_be_sent_to(bad: str | None) -> None:
    assert web_url(bad) is None


def test_web_url_respects_a_shorter_limit_for_link_buttons() -> None:
    url = "https://example.com/" + "x" * 600
    assert web_url(url) == url
    assert web_url(url, max_length=512) is None


def test_nothing_here_emits_invisible_characters() -> None:
    text = "".join(chr(c) for c in range(0x0, 0x3000)) + "\U000e0001\U000e007f\U0001d173"
    assert not any(is_invisible(ch) for ch in strip_control(text))
    assert not any(is_invisible(ch) for ch in escape_markdown(text))
