"""The one charset decoder (bot.news.encoding) and content sniffing (bot.news.loader.sniff)."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.news.encoding import codec_for, content_type_charset, decode_document
from bot.news.feeds import parse_feed
from bot.news.loader import load_article_file, sniff
from bot.sources.fetcher import FetchResult
from tests.conftest import FIXTURES

# News sentences in legacy encodings: the guess must read each one right (windows-1252 alone reads four).
LEGACY = [
    (
        "Les propriétaires de cafés à travers la région se sont réunis mardi pour protester contre une nouvelle taxe "
        "sur les terrasses, qui leur coûtera des milliers d’euros chaque saison. « C’est injuste », a déclaré l’un "
        "d’eux, très ému. Le maire a répondu que la taxe financerait la rénovation des façades du vieux quartier.",
        "cp1252",
    ),
    (
        "Die Bürger der Stadt haben am Dienstag über den Haushalt abgestimmt. Der Bürgermeister sagte, die Straßen "
        "würden im nächsten Jahr repariert – endlich. Viele Anwohner äußerten sich zufrieden, doch die Opposition "
        "kritisierte die hohen Kosten für die Brücke über den Fluss und die Schließung des Schwimmbads.",
        "cp1252",
    ),
    (
        "Mieszkańcy miasta głosowali we wtorek nad budżetem. Burmistrz powiedział, że drogi zostaną naprawione w "
        "przyszłym roku, a szkoły otrzymają więcej pieniędzy. Radni opozycji skrytykowali wysokie koszty mostu i "
        "zamknięcie basenu, który był popularny wśród młodzieży.",
        "cp1250",
    ),
    (
        "Жители города во вторник проголосовали за бюджет. Мэр заявил, что дороги отремонтируют в следующем году.",
        "cp1251",
    ),
    (
        "Οι κάτοικοι της πόλης ψήφισαν την Τρίτη για τον προϋπολογισμό. "
        "Ο δήμαρχος είπε ότι οι δρόμοι θα επισκευαστούν.",
        "cp1253",
    ),
    ("市の住民は火曜日に予算について投票した。市長は来年道路が修理されると述べた。", "shift_jis"),
    ("市民周二就预算进行了投票。市长表示，明年将修复道路。", "gb18030"),
]


@pytest.mark.parametrize(("text", "encoding"), LEGACY, ids=[f"{i}-{e}" for i, (_, e) in enumerate(LEGACY)])
def test_undeclared_legacy_text_is_guessed_right(text: str, encoding: str) -> None:
    decoded = decode_document(text.encode(encoding), markup=False)
    assert decoded.text == text
    assert decoded.guessed


def test_declarations_boms_and_the_utf8_rule() -> None:
    assert decode_document("café".encode("utf-16")).text == "café"
    assert decode_document("café".encode("utf-32")).text == "café"
    assert decode_document(b"caf\xe9", "iso-8859-1").encoding == "cp1252"  # as browsers read Latin-1
    assert decode_document(b'<?xml version="1.0" encoding="windows-1251"?><a>\xcf\xf0</a>').text.endswith("Пр</a>")
    assert decode_document("naïve".encode(), "windows-1252").encoding == "utf-8"  # valid UTF-8 wins
    assert decode_document(b"caf\xe9").text == "café"  # too little to guess from: windows-1252
    assert codec_for("base64") is None and codec_for("latin1") == "cp1252"
    assert content_type_charset('text/html; charset="ISO-8859-1"') == "iso-8859-1"


def test_fetched_text_feeds_and_files_share_the_decoder(tmp_path: Path) -> None:
    russian = LEGACY[3][0]
    body = russian.encode("cp1251")
    result = FetchResult("https://e.example/", 200, body, "text/plain", None, None, 0.0)
    assert result.text() == russian
    declared = FetchResult("https://e.example/", 200, body, "text/plain; charset=windows-1251", None, None, 0.0)
    assert declared.text() == russian
    feed = f'{{"version": "https://jsonfeed.org/version/1.1", "items": [{{"id": "1", "title": "{russian[:20]}"}}]}}'
    assert parse_feed(codecs.BOM_UTF8 + feed.encode()).articles[0].title == russian[:20]
    rss = f'<rss version="2.0"><channel><item><title>{russian[:20]}</title><guid>1</guid></item></channel></rss>'
    parsed = parse_feed(rss.encode("cp1251"), content_type="application/rss+xml; charset=windows-1251")
    assert parsed.articles[0].title == russian[:20]
    path = tmp_path / "article.txt"
    path.write_bytes(f"Бюджет принят\n\n{russian}\n\n{russian}\n".encode("cp1251"))
    loaded = load_article_file(path)
    assert loaded.article.title == "Бюджет принят"
    assert loaded.notice is not None and "cp1251" in loaded.notice


# --- sniffing ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        ((FIXTURES / "feeds" / "rss2_relative.xml").read_bytes(), "feed"),
        ((FIXTURES / "feeds" / "rss1_rdf.xml").read_bytes(), "feed"),
        ((FIXTURES / "feeds" / "atom_xml_base.xml").read_bytes(), "feed"),
        ((FIXTURES / "feeds" / "jsonfeed_1_1.json").read_bytes(), "feed"),
        ("<!-- saved --><rss><channel></channel></rss>".encode("utf-16"), "feed"),
        ((FIXTURES / "html" / "news_og.html").read_bytes(), "html"),
        (b"<head><meta charset='utf-8'><title>Saved page</title></head><body>x</body>", "html"),
        (b"# A heading\n\n<div align='center'>a badge</div>\n\nMarkdown text.", "text"),
        (b'{"not": "a feed"}', "text"),
        (b"Plain words.\n", "text"),
    ],
)
def test_sniff_says_what_a_file_is_by_its_first_bytes(head: bytes, kind: str) -> None:
    assert sniff(head) == kind


def test_loader_goes_by_content(tmp_path: Path) -> None:
    html = tmp_path / "saved-page"  # no extension: content decides
    html.write_bytes((FIXTURES / "html" / "news_og.html").read_bytes())
    assert load_article_file(html).article.title
    as_text = tmp_path / "page.txt"  # a page saved with the wrong name is still extracted as HTML
    as_text.write_bytes((FIXTURES / "html" / "news_og.html").read_bytes())
    assert load_article_file(as_text).article.title == load_article_file(html).article.title
    feed = tmp_path / "feed"
    feed.write_bytes((FIXTURES / "feeds" / "rss2_relative.xml").read_bytes())
    with pytest.raises(ParseError, match="is a feed"):
        load_article_file(feed)
    fake = tmp_path / "notes.xml"
    fake.write_text("Just some notes, not a feed.\n")
    with pytest.raises(ParseError, match="named like a feed"):
        load_article_file(fake)
