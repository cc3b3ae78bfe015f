"""Article extraction from HTML pages, on top of trafilatura.

Pure domain code: no network, no discord. The page is decoded and parsed once; trafilatura finds the
main text and the metadata, and this module then normalises what it returns (byline case, dates in
UTC, absolute image URL) and removes the boilerplate lines trafilatura sometimes keeps (comment-form
headings, Jetpack widgets, tickers, photo-credit captions).

The options were chosen by measuring them on the article-extraction benchmark
(``benchmarks/eval_extraction.py``); see :data:`EXTRACTION_OPTIONS`.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
from collections.abc import Iterator
from configparser import ConfigParser
from typing import Any, Final, Protocol
from urllib.parse import urljoin, urlsplit

import lxml.html  # type: ignore[import-untyped]
import trafilatura
from trafilatura.settings import use_config
from trafilatura.utils import load_html

from bot.errors import ParseError
from bot.news.encoding import decode_document
from bot.news.format import strip_control
from bot.news.models import ParsedArticle, Published

log = logging.getLogger(__name__)


class HtmlElement(Protocol):
    """The part of ``lxml.html.HtmlElement`` this module reads (lxml ships no type stubs)."""

    text: str | None

    def get(self, key: str, default: str | None = None) -> str | None: ...
    def iterfind(self, path: str) -> Iterator[HtmlElement]: ...
    def text_content(self) -> str: ...


#: Pages beyond this size are refused rather than parsed: a news article is far smaller, and libxml2 on a
#: huge page would hold a worker for seconds. trafilatura's own cap is the same figure.
MAX_HTML_BYTES: Final = 20_000_000

#: Fewer words of prose than this is not an article (a landing page, a paywall stub, an error page).
#: Prose means paragraphs of at least :data:`MIN_PROSE_PARAGRAPH_WORDS` words, so that a home page's
#: menu items and headline links, however many, do not add up to an article. The shortest body in the
#: benchmark's ground truth has 66 words, so this leaves a wide margin for short news items.
MIN_BODY_WORDS: Final = 25
MIN_PROSE_PARAGRAPH_WORDS: Final = 10

#: trafilatura options, measured through this module on the 125-page AEB development split with
#: ``benchmarks/eval_extraction.py`` (F1 / precision / recall):
#:
#: - ``fast`` (chosen): 0.966 / 0.955 / 0.978
#: - default (with the readability/justext fallback): 0.960 / 0.943 / 0.977, and slower (p95 ~60 ms vs ~44)
#: - default + ``favor_precision``: 0.960 / 0.953 / 0.967
#: - ``fast`` + ``favor_precision``: 0.945 / 0.951 / 0.939 (drops whole articles)
#: - ``fast`` + ``favor_recall``: 0.965 / 0.953 / 0.978
#: - ``fast`` + ``include_tables=False``: 0.962 / 0.955 / 0.968 (loses data tables in articles)
#: - ``fast`` + ``deduplicate``: 0.954 / 0.954 / 0.954 (drops repeated but genuine lines)
#:
#: ``fast`` skips the comparison with the fallback extractors, which on news pages mostly adds sidebar
#: text: it differs from the default on four pages (better on three) and is the fastest setting.
#: Comments are never article text.
EXTRACTION_OPTIONS: Final[dict[str, Any]] = {
    "fast": True,
    "favor_precision": False,
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "include_links": False,
    "deduplicate": False,
}

_WORD = re.compile(r"\w+")
_SPACES = re.compile(r"\s+")

# --- boilerplate lines --------------------------------------------------------------------------------

#: Whole lines that are page furniture, not article text: comment-form headings, sharing and "like"
#: widgets (WordPress/Jetpack), tickers, subscription and donation appeals.
_BOILERPLATE_LINE = re.compile(
    r"""^(?:
        share\ your\ thoughts\W*
      | leave\ a\ (?:reply|comment)\W*
      | (?:post\ )?comments?\W*
      | share\ (?:this|on\ \w+)\W*
      | like\ this\W*
      | loading\W*
      | like\ loading\W*
      | related\W*
      | news\ ticker\W*
      | (?:%d|\d+)\ bloggers\ like\ this\W*
      | be\ the\ first\ to\ like\ this\W*
      | click\ to\ (?:share|print|email)\b.*
      | liked\ it\?\ take\ a\ second\ to\ support\b.*
      | (?:sign\ up|subscribe)\ (?:for|to)\ (?:our|the)\ (?:\w+\ )?newsletters?\W*
      | advertisement\W*
      | -?\ ?(?:print(?:\ this)?(?:\ article|\ page)?|order\ reprints|e-?mail(?:\ this)?(?:\ article)?)\W*
      | an\ error\ has\ occurred,\ please\ try\ again(?:\ later)?\W*
      | (?:copyright|©|\(c\))\ .{0,120}all\ rights\ reserved\W*
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
#: A phrase that marks a line as a widget even inside a longer line ("%d bloggers like this:" trails other
#: widget text on some themes).
_BOILERPLATE_PHRASE = re.compile(r"\bbloggers like this\b|\bshare your thoughts\b", re.IGNORECASE)

#: Photo-credit captions: "… November 19, 2019. REUTERS/Toby Melville", "(AP Photo/Evan Vucci)",
#: "Photo: Jane Doe/Getty Images". Agency credits in that upper-case slash form do not occur in running
#: prose, whereas "a Reuters/Ipsos poll" does, so the agency must be in capitals.
_PHOTO_CREDIT = re.compile(
    r"""
      \b(?:REUTERS|AFP|EPA(?:-EFE)?|XINHUA|ANSA)/\s*[A-Z][\w.'’-]*
    | \((?:AP|AFP|EPA|Reuters|Getty)\ (?:Photo|Images?)\b[^)]*\)
    | (?:^|\s)(?:Photo|Image|Picture)s?\ (?:credit\s*)?(?::|by\b)[^.]{0,80}
      /\s*(?:Getty\ Images|AFP|AP|Reuters|EPA|Shutterstock)\b
    | /\s*(?:Getty\ Images|Shutterstock|AFP\ via\ Getty\ Images)\s*\)?\s*$
    """,
    re.VERBOSE,
)
#: A caption is one short paragraph; a long one that mentions a credit is article text quoting it.
_MAX_CAPTION_CHARS: Final = 400


def _is_boilerplate(line: str) -> bool:
    if len(line) > 200:
        return False
    return _BOILERPLATE_LINE.match(line) is not None or _BOILERPLATE_PHRASE.search(line) is not None


def _is_photo_credit(line: str) -> bool:
    return len(line) <= _MAX_CAPTION_CHARS and _PHOTO_CREDIT.search(line) is not None


def _clean_body(text: str, title: str) -> tuple[str, str | None]:
    """Paragraphs separated by one blank line, boilerplate dropped; also the first photo caption."""
    paragraphs: list[str] = []
    caption: str | None = None
    for raw in text.splitlines():
        line = _SPACES.sub(" ", raw).strip()
        if not line or _is_boilerplate(line):
            continue
        if _is_photo_credit(line):
            caption = caption or line
            continue
        paragraphs.append(line)
    # The headline often opens the extracted text; the article keeps it in ``title`` instead.
    if paragraphs and title and _same_heading(paragraphs[0], title):
        del paragraphs[0]
    return "\n\n".join(paragraphs), caption


#: Scripts written without spaces between words: ``\w+`` sees a whole sentence as one token there.
_UNSPACED_CHAR = re.compile(
    r"[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
)


def _word_count(text: str) -> float:
    """Words, with two characters of Chinese, Japanese, Thai and similar scripts counted as one word,
    roughly their average word length, so that the article-size floor is fair to those languages."""
    return len(_WORD.findall(text)) + len(_UNSPACED_CHAR.findall(text)) / 2


def _prose_words(body: str) -> float:
    counts = (_word_count(paragraph) for paragraph in body.split("\n\n"))
    return sum(n for n in counts if n >= MIN_PROSE_PARAGRAPH_WORDS)


def _same_heading(line: str, title: str) -> bool:
    """True when ``line`` is the headline again, allowing for a site suffix ("… | Site") or a slightly
    different wording in the page's ``<title>``."""
    line_words = [w.lower() for w in _WORD.findall(line)]
    title_words = [w.lower() for w in _WORD.findall(title)]
    if not line_words or not title_words or len(line_words) > 40:
        return False
    if line_words == title_words[: len(line_words)] or title_words == line_words[: len(title_words)]:
        # One is a prefix of the other; demand that the shorter covers most of the longer one.
        return min(len(line_words), len(title_words)) >= 0.6 * max(len(line_words), len(title_words))
    common = len(set(line_words) & set(title_words))
    return common >= 0.8 * max(len(set(line_words)), len(set(title_words)))


# --- metadata -------------------------------------------------------------------------------------------

#: Tokens kept upper-case when a byline is de-shouted: agencies, and generational suffixes.
_KEEP_UPPER: Final = frozenset(
    {"AP", "AFP", "BBC", "CNN", "CNBC", "NPR", "PA", "UPI", "DPA", "EFE", "ANSA", "II", "III", "IV", "USA", "UK"}
)
_FOREIGN_BY = re.compile(r"^(?:(?:par|von|por|di|door|av|af)\s+(?=\S)|(?i:par|von|por|di|door|av|af)\s+(?=\S+\s+\S))")
_NAME_PART = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?")


def normalise_byline(author: str | None) -> str | None:
    """Tidy a byline: collapse whitespace, drop a leading "By" (or "par", "von" …), and de-shout all-caps names
    ("JANE DOE" → "Jane Doe", "MARY O'BRIEN-SMITH" → "Mary O'Brien-Smith"). Mixed case is left alone,
    since "McDonald" or "van der Berg" cannot be restored once lower-cased."""
    if not author:
        return None
    text = _SPACES.sub(" ", strip_control(author)).strip(" ,;|-–—")
    text = re.sub(r"^by\s+", "", text, flags=re.IGNORECASE)
    # "par Renée Dupont", "von Hans Müller": the word for "by" in other languages. Capitalised, it is dropped only
    # before two more words, so that "Di Maio" and "Von Trier" stay names.
    text = _FOREIGN_BY.sub("", text, count=1)
    letters = [c for c in text if c.isalpha()]
    # trafilatura occasionally returns a stray word ("As") from a byline it half-recognised.
    if len(letters) < 3:
        return None
    if letters and all(c.isupper() for c in letters) and len(letters) > 1:
        text = _NAME_PART.sub(_deshout, text)
    return text


def _deshout(match: re.Match[str]) -> str:
    word = match.group(0)
    if word in _KEEP_UPPER:
        return word
    # "O'BRIEN" → "O'Brien": capitalise each side of the apostrophe.
    return re.sub(r"[^\W\d_]+", lambda m: m.group(0)[:1] + m.group(0)[1:].lower(), word)


_TIMESTAMP_META: Final = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "date",
    "pubdate",
    "publishdate",
    "publish-date",
    "dc.date.issued",
    "dcterms.created",
    "sailthru.date",
    "parsely-pub-date",
)


def _meta_timestamps(tree: HtmlElement) -> Iterator[str]:
    """Publication timestamps the page states in machine-readable form, most specific source first."""
    metas: dict[str, str] = {}
    for meta in tree.iterfind(".//meta[@content]"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key and key not in metas:
            metas[key] = meta.get("content") or ""
    for key in _TIMESTAMP_META:
        if metas.get(key):
            yield metas[key]
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):
            # RecursionError: a hostile page nests its JSON-LD thousands of levels deep.
            continue
        yield from _json_ld_dates(data)
    for element in tree.iterfind(".//time[@datetime]"):
        if (element.get("itemprop") or "").lower() == "datepublished" or element.get("pubdate") is not None:
            yield element.get("datetime") or ""


def _json_ld_dates(data: object, depth: int = 0) -> Iterator[str]:
    if depth > 4:
        return
    if isinstance(data, list):
        for item in data:
            yield from _json_ld_dates(item, depth + 1)
    elif isinstance(data, dict):
        value = data.get("datePublished")
        if isinstance(value, str):
            yield value
        graph = data.get("@graph")
        if graph is not None:
            yield from _json_ld_dates(graph, depth + 1)


def _parse_timestamp(text: str) -> dt.datetime | None:
    """An aware UTC datetime from an ISO 8601 timestamp that carries both a time and an offset."""
    text = text.strip()
    if len(text) < 16 or "T" not in text.upper():
        return None
    text = re.sub(r"(\.\d+)?Z$", "+00:00", text, flags=re.IGNORECASE) if text[-1] in "zZ" else text
    # Some CMSs write "+0000"; fromisoformat in 3.11 accepts "+00:00" and "+0000" alike, but not
    # fractional seconds longer than six digits.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        value = dt.datetime.fromisoformat(text)
        # A time without an offset is in an unknown zone; only the calendar date is trustworthy then.
        if value.tzinfo is None:
            return None
        return value.astimezone(dt.UTC)
    except (ValueError, OverflowError):
        # OverflowError: a valid-looking stamp that leaves the calendar in UTC ("0001-01-01T00:00:00+23:59").
        return None


def _published(tree: HtmlElement, found: str | None) -> Published | None:
    """The publication date: htmldate's pick (via trafilatura), upgraded to a UTC datetime when the page
    also states a timestamp with a time zone for the same day."""
    day: dt.date | None = None
    if found:
        try:
            day = dt.date.fromisoformat(found[:10])
        except ValueError:
            day = None
    now = dt.datetime.now(dt.UTC)
    for candidate in _meta_timestamps(tree):
        stamp = _parse_timestamp(candidate)
        if stamp is None or stamp > now + dt.timedelta(days=1):
            continue
        # htmldate weighs many signals to find the *original* date; a meta timestamp that disagrees
        # with it by more than a time-zone shift is likely a modified date, so it only refines the day.
        if day is None or abs((stamp.date() - day).days) <= 1:
            return stamp
    return day


def _absolute_http(link: str | None, base: str | None) -> str | None:
    """``link`` made absolute against ``base``, if the result is an http(s) URL with a host; else None."""
    if not link:
        return None
    link = link.strip()
    if link.startswith("//"):
        link = "https:" + link
    try:
        if base:
            link = urljoin(base, link)
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number or out of range
    except ValueError:
        # "http://[::1/" and similar: not a URL urllib can take apart.
        return None
    if any(ch.isspace() or ord(ch) < 32 for ch in link):
        return None
    return link


#: Second-level labels under which a country's registrable domains sit ("bbc.co.uk", "abc.net.au").
_GENERIC_SECOND_LEVEL: Final = frozenset(
    {"co", "com", "org", "net", "gov", "ac", "edu", "mil", "or", "ne", "go", "gob", "nic", "ltd", "plc", "sch"}
)


def registrable_domain(host: str) -> str:
    """The site a host belongs to, by a heuristic that needs no public-suffix list: the last two labels, or
    the last three when the second-to-last is a short generic label ("news.bbc.co.uk" → "bbc.co.uk").
    IP literals are their own site."""
    host = host.lower().rstrip(".")
    labels = host.split(".")
    if ":" in host or all(label.isdigit() for label in labels):
        return host
    keep = 3 if len(labels) >= 3 and len(labels[-2]) <= 3 and labels[-2] in _GENERIC_SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def _host(url: str) -> str | None:
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def _canonical(found: str | None, given: str | None) -> str | None:
    """The page's canonical URL, unless it is missing, not absolute, on another site than the page we fetched
    (a page must not claim another publisher's article), or a site's home page standing in for an article (a
    common CMS misconfiguration). In those cases the URL we were given wins."""
    canonical = _absolute_http(found, given)
    if canonical is None:
        return given
    if given:
        given_host, canonical_host = _host(given), _host(canonical)
        if given_host is None:
            return canonical
        if canonical_host is None or registrable_domain(canonical_host) != registrable_domain(given_host):
            log.info("ignoring the cross-site canonical URL %s of %s", canonical, given)
            return given
        if urlsplit(canonical).path in ("", "/") and urlsplit(given).path not in ("", "/"):
            return given
    return canonical


def _site_name(found: str | None) -> str | None:
    """The site's name without the taglines some sites append ("Autoracing | F1 | Indy")."""
    if not found:
        return None
    name = re.split(r"\s+[|–—•·]\s+", _clean_text(found), maxsplit=1)[0]
    return name or None


def _clean_text(text: str | None) -> str:
    """One line of page text: control, zero-width and bidi characters removed, whitespace collapsed."""
    return _SPACES.sub(" ", strip_control(text or "")).strip()


def _lead_caption(tree: HtmlElement) -> str | None:
    """The caption of the first figure in the article (or the page, when it has no ``<article>``)."""
    scopes = list(tree.iterfind(".//article")) or [tree]
    for figcaption in scopes[0].iterfind(".//figcaption"):
        text = _clean_text(figcaption.text_content())
        if 3 <= len(text) <= _MAX_CAPTION_CHARS:
            return text
    return None


def _fallback_title(tree: HtmlElement, body: str) -> str:
    for xpath in (".//h1", ".//title"):
        for element in tree.iterfind(xpath):
            text = _clean_text(element.text_content())
            if text:
                return text
    first = body.split("\n\n", 1)[0]
    if len(first) <= 120:
        return first
    return first[:120].rsplit(" ", 1)[0] + "…"


@functools.cache
def _trafilatura_config() -> ConfigParser:
    """trafilatura's settings, except that a page without text comes back empty instead of as None.

    With the default ``MIN_OUTPUT_SIZE = 1`` trafilatura logs "WARNING discarding data: None" for such a page,
    just before this module refuses it with a clear error of its own (:data:`MIN_BODY_WORDS` decides).
    """
    config: ConfigParser = use_config()
    config.set("DEFAULT", "MIN_OUTPUT_SIZE", "0")
    config.set("DEFAULT", "MIN_OUTPUT_COMM_SIZE", "0")
    return config


# --- extraction -------------------------------------------------------------------------------------------


def extract_html(html: str | bytes, *, url: str | None = None, encoding: str | None = None) -> ParsedArticle:
    """Extract the article from an HTML page.

    ``html`` may be text or raw bytes; bytes are decoded by :func:`bot.news.encoding.decode_document` from their
    byte-order mark, ``encoding`` (the HTTP charset, if known), the ``<meta>`` charset, UTF-8, or a guess.
    ``url`` is where the page came from: it resolves relative links and stands in for a missing
    canonical URL.

    Raises :class:`ParseError` when the input is empty, too large, not HTML, or holds no article text.
    """
    if len(html) > MAX_HTML_BYTES:
        raise ParseError("This page is too large to read as an article.")
    try:
        return _extract(html, url, encoding)
    except (ParseError, MemoryError):
        # MemoryError: the parser's memory budget was reached (bot/workers.py); the pool refuses the page for that.
        raise
    except Exception as exc:
        # Decoding, parsing or our own post-processing met something it did not expect on this page (a bug on
        # hostile markup): the page fails with its traceback in the log; the batch or poll it belongs to does not.
        log.warning("extraction failed for %s", url or "a page", exc_info=True)
        raise ParseError("This page could not be read as an article.") from exc


def _extract(html: str | bytes, url: str | None, encoding: str | None) -> ParsedArticle:
    text = decode_document(html, encoding).text if isinstance(html, bytes) else html
    if not text.strip():
        raise ParseError("This page is empty.")
    if "\x00" in text[:4096]:
        raise ParseError("This file is binary data, not an HTML page.")

    # Parse once: the same tree feeds trafilatura (which copies it before pruning) and our own
    # metadata reads, instead of each parsing the text again.
    tree = load_html(text)
    if tree is None:
        _why_unparsed(text)
        raise ParseError("This file does not look like an HTML page.")

    # trafilatura and htmldate catch what they expect; anything else reaches extract_html's handler.
    document = trafilatura.bare_extraction(
        tree, url=url, with_metadata=True, config=_trafilatura_config(), **EXTRACTION_OPTIONS
    )
    if document is None or isinstance(document, dict):
        raise ParseError("No article text could be found on this page.")
    return _assemble(document, tree, url)


def _why_unparsed(text: str) -> None:
    """Raise MemoryError if that is why trafilatura's ``load_html`` gave up (it logs and swallows every error), so
    that a page over the parser's memory budget is refused as such and not as "not HTML". Only runs on failure."""
    try:
        lxml.html.fromstring(text)
    except MemoryError:
        raise
    except Exception:  # the page really is not HTML lxml can read: load_html's verdict stands
        return


def _assemble(document: Any, tree: HtmlElement, url: str | None) -> ParsedArticle:
    """The article from trafilatura's document, normalised; every text field free of control characters."""
    found_title = _clean_text(document.title)
    body, caption = _clean_body(strip_control(document.text or ""), found_title)
    if _prose_words(body) < MIN_BODY_WORDS:
        raise ParseError("No article text could be found on this page.")

    page_url = _canonical(document.url, url)
    title = found_title or _fallback_title(tree, body)
    return ParsedArticle(
        title=title,
        body=body,
        author=normalise_byline(document.author),
        published=_published(tree, document.date),
        caption=caption or _lead_caption(tree),
        url=page_url,
        image_url=_absolute_http(document.image, page_url or url),
        site_name=_site_name(document.sitename),
        summary=_clean_text(document.description) or None,
    )
