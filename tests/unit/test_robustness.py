"""Hostile input: parsers fail with a ParseError (never another exception) and stay fast on pathological text.

Timing guards here are deliberately generous (10 s for work that takes well under a second): they catch a
regression to quadratic or exponential matching, not ordinary slowness.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bot.db.store import Store
from bot.errors import FetchError, ParseError
from bot.ingest import Pipeline, plan_locations
from bot.news import html as html_module
from bot.news.encoding import decode_document
from bot.news.format import CONTROL_CHARS
from bot.news.html import extract_html, registrable_domain
from bot.news.text import clean_page_text, parse_text
from bot.sources.guard import AddressGuard

MB5 = 5 * 1024 * 1024
GENEROUS_SECONDS = 10.0


def _fill(unit: str, size: int = MB5) -> str:
    return (unit * (size // len(unit) + 1))[:size]


# --- pathological text ----------------------------------------------------------------------------------------

HOSTILE_TEXT = {
    # Each of these took seconds per 100-200 KB before the inline-Markdown patterns were bounded.
    "unclosed image brackets": "# Title\n\n" + _fill("![" * 10_000 + "\n\n"),
    "unclosed link brackets": "# Title\n\n" + _fill("[" * 20_000 + "\n\n"),
    "unclosed image targets": "# Title\n\n" + _fill("![a](" * 5_000 + "\n\n"),
    "unclosed emphasis on one long line": "# Title\n\n" + _fill("*a _b `c "),
    "nested emphasis": "# Title\n\n" + _fill("*" * 5_000 + "a" + "*" * 5_000 + "\n"),
    "photo credit parentheses": _fill("(photo " * 3_000 + "\n"),
    "cookie words on long lines": _fill("cookie x " * 2_000 + "\n"),
    "unicode spaces in a heading": "# T" + _fill("\u1680 " * 5_000 + "x\n"),
    "huge front matter value": "---\ntitle: a" + _fill(" "),
    "many short widget lines": _fill("Share\n(photo x\nA b c d e f g h.\n"),
}


@pytest.mark.parametrize("text", HOSTILE_TEXT.values(), ids=HOSTILE_TEXT.keys())
def test_hostile_5mb_text_parses_or_fails_cleanly_and_quickly(text: str) -> None:
    started = time.perf_counter()
    try:
        article = parse_text(text)
    except ParseError:
        pass
    else:
        assert article.title
    cleaned = clean_page_text(text)
    assert isinstance(cleaned, str)
    elapsed = time.perf_counter() - started
    assert elapsed < GENEROUS_SECONDS, f"took {elapsed:.1f} s: a pattern has gone quadratic again"


def test_inline_markdown_is_still_stripped() -> None:
    text = (
        "# Council **Approves** the _Budget_\n\n"
        "The **council _finally_ voted** on [the budget](https://city.example/budget_(2024)) on Tuesday, "
        "said ***Mayor Ruiz*** in a `press release` that quoted snake_case_names verbatim.\n\n"
        '![Council chamber](https://city.example/img/chamber.jpg "The chamber")\n\n'
        "Members debated for four hours before the final vote was taken late in the evening.\n"
    )
    article = parse_text(text)
    assert article.title == "Council Approves the Budget"
    first = article.paragraphs[0]
    assert first.startswith("The council finally voted on the budget on Tuesday, said Mayor Ruiz in a press release")
    assert "snake_case_names" in first
    assert article.image_url == "https://city.example/img/chamber.jpg"


# --- HTML: exceptions that are not ParseError ------------------------------------------------------------------

PROSE = "<p>" + "The committee met on Tuesday and agreed the plan after a long debate about costs. " * 4 + "</p>"


def _page(head: str = "", title: str = "Committee Agrees Plan", extra: str = "") -> str:
    return (
        f"<html><head><title>{title}</title>{head}</head><body><article><h1>{title}</h1>{extra}"
        f"{PROSE}{PROSE}{PROSE}</article></body></html>"
    )


@pytest.mark.parametrize(
    "head",
    [
        # json.loads raises RecursionError on JSON-LD nested this deep.
        '<script type="application/ld+json">' + "[" * 100_000 + "]" * 100_000 + "</script>",
        # A timestamp that leaves the calendar when converted to UTC: OverflowError.
        '<meta property="article:published_time" content="0001-01-01T00:00:00+23:59">',
        # urlsplit raises ValueError on a malformed IPv6 literal.
        '<meta property="og:image" content="http://[::1/">',
        '<link rel="canonical" href="http://[::1/a">',
    ],
    ids=["deep-json-ld", "date-overflow", "bad-og-image", "bad-canonical"],
)
def test_hostile_metadata_does_not_break_extraction(head: str) -> None:
    article = extract_html(_page(head), url="https://news.example/2024/plan")
    assert article.title == "Committee Agrees Plan"
    assert article.url == "https://news.example/2024/plan"
    assert article.image_url is None
    assert article.published is None or article.published.year > 1


def test_unexpected_error_in_post_processing_is_a_parse_error(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_args: object) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(html_module, "_published", broken)
    with pytest.raises(ParseError, match="could not be read"):
        extract_html(_page(), url="https://news.example/a")
    assert "surprise" in caplog.text  # the traceback is logged for the operator


def test_non_text_codec_labels_are_ignored() -> None:
    # Python knows "base64", "zlib" and "rot13" as codecs, but bytes.decode refuses them (LookupError).
    page = _page().replace("<head>", '<head><meta charset="base64">').encode("utf-8")
    assert extract_html(page, url="https://news.example/a").title == "Committee Agrees Plan"
    assert extract_html(page, url="https://news.example/a", encoding="rot13").title == "Committee Agrees Plan"
    latin = "<html><head><meta charset='zlib'></head><body>caf\xe9</body></html>".encode("latin-1")
    assert decode_document(latin).text.startswith("<html><head>")  # decoded by a guess, not refused
    assert decode_document(b"plain", "zlib").text == "plain"


# --- HTML: canonical links ---------------------------------------------------------------------------------------


def test_cross_site_canonical_is_ignored() -> None:
    head = '<link rel="canonical" href="https://www.nytimes.com/2024/05/01/us/plan.html">'
    article = extract_html(_page(head), url="https://evil.example/page")
    assert article.url == "https://evil.example/page"


def test_same_site_canonical_is_kept() -> None:
    head = '<link rel="canonical" href="https://www.news.example/2024/05/01/plan/">'
    article = extract_html(_page(head), url="https://amp.news.example/plan?utm_source=x")
    assert article.url == "https://www.news.example/2024/05/01/plan/"
    uk = '<link rel="canonical" href="https://www.bbc.co.uk/news/uk-1">'
    assert extract_html(_page(uk), url="https://m.bbc.co.uk/news/uk-1").url == "https://www.bbc.co.uk/news/uk-1"
    other_uk = '<link rel="canonical" href="https://www.guardian.co.uk/news/1">'
    assert extract_html(_page(other_uk), url="https://www.bbc.co.uk/x").url == "https://www.bbc.co.uk/x"


def test_registrable_domain_heuristic() -> None:
    assert registrable_domain("www.nytimes.com") == "nytimes.com"
    assert registrable_domain("news.bbc.co.uk") == "bbc.co.uk"
    assert registrable_domain("www.abc.net.au") == "abc.net.au"
    assert registrable_domain("Example.COM.") == "example.com"
    assert registrable_domain("co.uk") == "co.uk"
    assert registrable_domain("127.0.0.1") == "127.0.0.1"


# --- control characters ---------------------------------------------------------------------------------------


def test_extracted_fields_have_no_control_characters() -> None:
    nasty = "a\x0b\x1b[31m\u202e\u200b"
    head = f'<meta name="author" content="Jane {nasty} Doe"><meta name="description" content="About {nasty}">'
    figure = f'<figure><img src="/x.jpg"><figcaption>Members {nasty} vote</figcaption></figure>'
    html = _page(head, title=f"Committee {nasty} Agrees", extra=figure).replace(
        "after a long debate", f"after a {nasty} long debate"
    )
    article = extract_html(html, url="https://news.example/a")
    for name in ("title", "body", "author", "caption", "summary", "site_name"):
        value = getattr(article, name)
        assert value is None or not CONTROL_CHARS.search(value), (name, value)
    assert article.title.startswith("Committee a[31m")
    assert article.caption is not None and "Members" in article.caption


# --- URLs that urllib cannot take apart -------------------------------------------------------------------------


async def test_guard_refuses_malformed_url_with_a_fetch_error() -> None:
    for enabled in (True, False):
        with pytest.raises(FetchError, match="not a valid URL"):
            await AddressGuard(enabled=enabled).check_url("http://[::1/")


def test_plan_locations_keeps_malformed_url_as_an_item(tmp_path: Path) -> None:
    good = tmp_path / "good.md"
    good.write_text("# Title\n\nSome prose here that is long enough to be an article body.\n")
    assert plan_locations(["http://[::1/", str(good)]) == ["http://[::1/", good]


class ExplodingFetcher:
    """Stands in for the network: a fetch that fails with something no one planned for."""

    async def fetch(self, url: str, **_kwargs: object) -> object:
        raise RuntimeError("boom")


async def test_one_items_unexpected_error_does_not_stop_the_batch(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    good = tmp_path / "good.md"
    good.write_text(
        "# Harbour Reopens After Storm\n\nThe harbour reopened on Monday after a week of repairs to the sea wall.\n\n"
        "Fishing boats were the first to return, followed by the ferry in the afternoon.\n"
    )
    planned = plan_locations(["https://news.example/a", "http://[::1/", str(good)])
    result = await Pipeline(store, ExplodingFetcher()).ingest_many(planned)  # type: ignore[arg-type]
    assert len(result.new) == 1
    reasons = dict(result.failed)
    assert "RuntimeError" in reasons["https://news.example/a"]
    assert "not a valid" in reasons["http://[::1/"]
    assert "boom" in caplog.text
