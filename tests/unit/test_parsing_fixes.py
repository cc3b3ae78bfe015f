"""The parsing rough edges of issue 11: foreign bylines, entities decoded once, quiet fallbacks and refusals."""

from __future__ import annotations

import logging
import re

import pytest

from bot.errors import ParseError
from bot.news.feeds import parse_feed
from bot.news.html import extract_html, normalise_byline
from bot.news.text import parse_text, text_languages
from tests.conftest import shared_path

FRENCH = (
    "Le conseil municipal adopte le plan du port\n\n"
    "par Renée Dupont\n\n"
    "Le conseil municipal a adopté mardi le plan du port après un débat qui a duré toute la soirée. "
    "Les élus ont dit que le plan protégera le vieux quai et que les ferries reviendront dans la ville.\n\n"
    "La maire a déclaré que les travaux commenceront au printemps et que le port sera ouvert à tous les "
    "habitants de la région pour la première fois depuis des années.\n"
)


@pytest.mark.parametrize(
    ("byline", "language_body", "author"),
    [
        ("par Renée Dupont", FRENCH, "Renée Dupont"),
        ("Par Renée Dupont", FRENCH, "Renée Dupont"),
        (
            "Von Hans Müller",
            "Der Stadtrat hat am Dienstag den Haushalt beschlossen, und die Bürger sind mit dem Ergebnis nicht "
            "zufrieden. Die Straßen werden auch im nächsten Jahr nicht repariert, sagte der Bürgermeister, der "
            "die Kosten für zu hoch hält. Die Opposition will das Thema im Rat erneut auf die Tagesordnung setzen.",
            "Hans Müller",
        ),
        (
            "por María José García",
            "El ayuntamiento aprobó el martes el plan del puerto después de un debate que duró toda la noche. Los "
            "concejales dijeron que el plan protegerá el muelle y que los ferris volverán a la ciudad el próximo "
            "verano, una noticia que los vecinos esperaban desde hace años para la economía del pueblo.",
            "María José García",
        ),
        (
            "di Luigi Rossi, Roma",
            "Il consiglio comunale ha approvato il piano del porto dopo un dibattito che è durato tutta la sera. "
            "I consiglieri hanno detto che il piano proteggerà il molo e che i traghetti torneranno in città "
            "per la prima volta da anni, una notizia che gli abitanti della zona attendevano con ansia.",
            "Luigi Rossi",
        ),
        (
            "door Jan de Vries",
            "De gemeenteraad heeft dinsdag het havenplan goedgekeurd na een debat dat de hele avond duurde. De "
            "raadsleden zeiden dat het plan de oude kade zal beschermen en dat de veerboten terugkeren naar de "
            "stad, maar de oppositie is niet tevreden met de kosten van het plan voor de bewoners.",
            "Jan de Vries",
        ),
        (
            "av Anna Lindqvist",
            "Kommunfullmäktige godkände på tisdagen hamnplanen efter en debatt som pågick hela kvällen. "
            "Ledamöterna sa att planen ska skydda den gamla kajen och att färjorna kommer tillbaka till staden "
            "nästa sommar, och att det är en stor dag för alla som bor i området och för hamnen.",
            "Anna Lindqvist",
        ),
        (
            "af Mette Jensen",
            "Byrådet godkendte tirsdag havneplanen efter en debat, der varede hele aftenen. Medlemmerne sagde, at "
            "planen skal beskytte den gamle kaj, og at færgerne kommer tilbage til byen til sommer, og det er en "
            "god dag for alle, der bor i området, og for havnen, som har ventet længe på det.",
            "Mette Jensen",
        ),
    ],
)
def test_bylines_in_other_languages_are_authors_never_titles(byline: str, language_body: str, author: str) -> None:
    if language_body is FRENCH:
        text = FRENCH.replace("par Renée Dupont", byline)
    else:
        text = f"Der Hafenplan ist beschlossen\n\n{byline}\n\n{language_body}\n\n{language_body}\n"
    article = parse_text(text)
    assert article.author == author
    assert article.title != byline
    assert article.title in ("Le conseil municipal adopte le plan du port", "Der Hafenplan ist beschlossen")
    assert byline not in article.body


def test_english_headlines_that_start_like_a_foreign_byline_stay_titles() -> None:
    body = (
        "The veteran linebacker announced on Tuesday that he would retire after twelve seasons in the league, "
        "saying he wanted to spend more time with his family and his foundation.\n\n"
        "His coach called him one of the finest players he had ever worked with, and the team said it would "
        "retire his number at a ceremony next autumn in front of the home crowd.\n"
    )
    for title in ("Von Miller Retires", "Par Excellence Awards Announced", "Di Maio Resigns"):
        article = parse_text(f"{title}\n\n{body}")
        assert article.title == title
        assert article.author is None
    assert text_languages(body) == frozenset()
    assert "par" in text_languages(FRENCH)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("par Renée Dupont", "Renée Dupont"),
        ("Von Hans Müller", "Hans Müller"),
        ("di Luigi Di Maio", "Luigi Di Maio"),
        ("Di Maio", "Di Maio"),
        ("Von Trier", "Von Trier"),
    ],
)
def test_html_bylines_drop_the_word_for_by(raw: str, expected: str) -> None:
    assert normalise_byline(raw) == expected


# --- entities ---------------------------------------------------------------------------------------------------

_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-f]+|[a-z]+\d*);", re.IGNORECASE)


def rss(title: str, description: str = "An excerpt") -> bytes:
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Site &amp;amp; Co</title>'
        f"<item><title>{title}</title><description>{description}</description>"
        "<link>https://news.example/1</link></item></channel></rss>"
    ).encode()


def test_entities_are_decoded_once_at_parse_time() -> None:
    feed = parse_feed(rss("Publish in &amp;#8220;Nature&amp;#8221;", "Lover&amp;rsquo;s Eye &amp;ndash; on view"))
    article = feed.articles[0]
    assert article.title == "Publish in “Nature”"
    assert article.body == "Lover’s Eye – on view"
    assert feed.meta.title == "Site & Co"
    # One level only: a title that says "&lt;" (written &amp;amp;lt; in the XML) keeps saying it.
    assert parse_feed(rss("Use &amp;amp;lt;br&amp;amp;gt; tags")).articles[0].title == "Use &lt;br&gt; tags"
    assert parse_feed(rss("Tom &amp;amp;amp; Jerry")).articles[0].title == "Tom &amp; Jerry"
    assert parse_feed(rss("Tom &amp;amp; Jerry")).articles[0].title == "Tom & Jerry"


def test_json_feed_plain_text_keeps_its_ampersands() -> None:
    data = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": '
        b'[{"id": "1", "title": "Q&A", "content_text": "Tom & Jerry &amp; friends"}]}'
    )
    [article] = parse_feed(data).articles
    assert article.title == "Q&A"
    assert article.body == "Tom & Jerry &amp; friends"


def test_no_real_feed_title_or_summary_keeps_an_entity() -> None:
    folder = shared_path("corpus", "feeds", "real")
    kept: list[str] = []
    for path in sorted(folder.iterdir()):
        try:
            feed = parse_feed(path.read_bytes())
        except ParseError:
            continue
        for article in feed.articles:
            for text in (article.title, article.summary or ""):
                # "&str;" in a Rust snippet is no entity: only what html.unescape would change counts.
                kept += [m.group(0) for m in _ENTITY.finditer(text) if m.group(0) not in ("&str;",)]
    import html

    assert [e for e in kept if html.unescape(e) != e and not e.startswith(("&lt", "&gt", "&amp", "&quot"))] == []


# --- quiet fallbacks and clean refusals ---------------------------------------------------------------------------


def test_an_empty_page_is_refused_without_trafilatura_warning_first(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG), pytest.raises(ParseError, match="No article text"):
        extract_html("<html><head><title>Empty</title></head><body><div></div></body></html>")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "discarding data" not in caplog.text


def test_the_fallback_to_feedparser_says_what_fastfeedparser_refused(caplog: pytest.LogCaptureFixture) -> None:
    # From feedparser's ill-formed cases ("encoding mismatch crash"): fastfeedparser refuses the stray byte in a
    # comment-led document, feedparser reads the entry.
    broken = (
        b"<!--\nDescription: crashes\n-->\n<rss>\n<item>\n<title>A</title><link>https://news.example/a</link>"
        b'<description><![CDATA[<a href="http://www.example.com/">\xa4</a>]]></description>\n</item>\n</rss>'
    )
    with caplog.at_level(logging.DEBUG, logger="bot.news.feeds"):
        feed = parse_feed(broken, "https://news.example/")
    assert feed.meta.parser == "feedparser"
    record = next(r for r in caplog.records if r.name == "bot.news.feeds")
    assert record.getMessage().startswith("fastfeedparser refused https://news.example/ (")
