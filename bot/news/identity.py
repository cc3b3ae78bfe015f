"""Stable identity for articles: canonical URLs, feed GUIDs and content fingerprints.

An article is stored under every key it is known by (a match on its GUID wins over a match on anything else):

* its feed GUID: a URL-shaped GUID is folded like a link (scheme, host case, default port, tracking parameters)
  but keeps its fragment, because a GUID is opaque (``https://site/now.html#2026-02-16`` and ``…#2026-02-17`` are
  two entries); any other GUID is namespaced by its feed (``guid:<scope>#<guid>``);
* its canonical link, unless the feed uses that link for several entries (then it names a page, not an entry);
* with no GUID and no usable link, a content fingerprint;
* aliases (``alias:<url>``): where the link ended up after redirects, and the page's same-site canonical URL.

The article's ``identity`` (unique in the store) is its canonical link when there is one, else the first key.

Every function here is total: a malformed URL (``http://[::1/``, a port of ``99999``) is "not a URL", never an
exception, because these run on untrusted feed input.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit, urlunsplit

from bot.news.models import ParsedArticle, published_iso

# Query parameters that only ever track where a click came from. Deliberately narrow: names such as ``cid``,
# ``from``, ``ref``, ``share``, ``feature``, ``rss`` or ``spm`` select content on many sites
# (``news.php?cid=1`` vs ``?cid=2``), and dropping them would merge different articles.
_TRACKING_PREFIXES = ("utm_", "hsa_")
_TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "ttclid",
        "twclid",
        "igshid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_conv",
        "vero_id",
        "_ga",
        "_gl",
        "pk_campaign",
        "pk_kwd",
        "pk_keyword",
        "pk_source",
        "pk_medium",
        "pk_content",
        "s_kwcid",
        "srsltid",
        "_openstat",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SPACE = re.compile(r"\s+")

#: Key prefix recording that a canonical link was used by several entries of one feed, so it never identifies one.
SHARED_LINK_PREFIX = "shared-link:"
#: Key prefix of an alias (where an article's link redirected to): found by other items' links, not their aliases.
ALIAS_PREFIX = "alias:"
#: Keys longer than this are stored as a digest: a database index entry has a size limit (PostgreSQL's B-tree
#: refuses entries over about 2,700 bytes), and a 5 KB tracking URL must not fail a whole batch.
MAX_KEY_BYTES = 1024
LONG_KEY_PREFIX = "long:"


def _split(url: str) -> SplitResult | None:
    """``urlsplit`` of an absolute http(s) URL with a host and a valid port; None for anything else."""
    try:
        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        parts.port  # noqa: B018 - raises ValueError for ':abc' or ':99999'
    except ValueError:
        return None
    return parts


def is_url(text: str | None) -> bool:
    """True for an absolute http(s) URL with a host (and, if any, a valid port)."""
    if not text:
        return False
    return _split(text) is not None


def _is_tracking(name: str) -> bool:
    name = name.lower()
    return name.startswith(_TRACKING_PREFIXES) or name in _TRACKING_NAMES


def _query_without_tracking(query: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if not _is_tracking(k)]


def _canonical(parts: SplitResult, *, fragment: bool) -> str:
    host = (parts.hostname or "").lower().rstrip(".")
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal
    port = parts.port
    if port is not None and port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        port = None
    netloc = f"{host}:{port}" if port is not None else host
    query = _query_without_tracking(parts.query)
    query.sort()
    return urlunsplit(
        ("https", netloc, parts.path or "/", urlencode(query, doseq=True), parts.fragment if fragment else "")
    )


#: URLs up to this length are memoised (feeds repeat links; a bounded cache must not hold huge hostile strings).
_CACHED_LEN = 2048


def canonical_url(url: str) -> str:
    """Normalise a link for comparison: https, lower-case host, no default port, fragment or tracking params.

    The scheme is folded to https because publishers (WordPress especially) flip between http and https for the
    same post; the result is an identity key, the stored ``url`` keeps what the publisher gave. Text that is not
    an http(s) URL comes back stripped but otherwise unchanged.
    """
    return _canonical_link(url) if len(url) <= _CACHED_LEN else _canonical_link.__wrapped__(url)


@functools.lru_cache(maxsize=8192)
def _canonical_link(url: str) -> str:
    parts = _split(url)
    return _canonical(parts, fragment=False) if parts is not None else url.strip()


def clean_url(url: str) -> str:
    """The URL to show and link: tracking parameters and fragment removed, scheme kept.

    Text that is not an http(s) URL comes back stripped but otherwise unchanged (check with :func:`is_url`).
    """
    parts = _split(url)
    if parts is None:
        return url.strip()
    query = _query_without_tracking(parts.query)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), ""))


def same_site(a: str | None, b: str | None) -> bool:
    """Whether two URLs are on the same host, ignoring ``www.`` and the scheme."""
    pa, pb = _split(a or ""), _split(b or "")
    if pa is None or pb is None:
        return False
    ha = (pa.hostname or "").lower().rstrip(".").removeprefix("www.")
    hb = (pb.hostname or "").lower().rstrip(".").removeprefix("www.")
    return ha == hb


def _norm_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", text).strip()


def bounded_key(key: str) -> str:
    """``key`` itself, or a digest of it when it is too long to index; the same key always gives the same result."""
    data = key.encode("utf-8", "surrogatepass")
    if len(data) <= MAX_KEY_BYTES:
        return key
    return LONG_KEY_PREFIX + hashlib.sha256(data).hexdigest()


def fingerprint(*parts: str | None) -> str:
    digest = hashlib.sha256("\x1f".join(_norm_text(p or "") for p in parts).encode("utf-8")).hexdigest()
    return f"sha256:{digest[:32]}"


def guid_key(guid: str, scope: str | None) -> str:
    """A URL-shaped GUID is global (folded like a link, fragment kept); any other GUID is unique within its feed."""
    guid = guid.strip()
    url_key = _url_guid_key(guid) if len(guid) <= _CACHED_LEN else _url_guid_key.__wrapped__(guid)
    return bounded_key(url_key if url_key is not None else f"guid:{scope or ''}#{guid}")


@functools.lru_cache(maxsize=8192)
def _url_guid_key(guid: str) -> str | None:
    parts = _split(guid)
    return _canonical(parts, fragment=True) if parts is not None else None


def link_key(article: ParsedArticle) -> str | None:
    """The canonical link of ``article`` if it is an http(s) URL (whether or not it identifies the article)."""
    if article.url and is_url(article.url):
        return bounded_key(canonical_url(article.url))
    return None


def entry_guid(article: ParsedArticle, link: str | None) -> str | None:
    """The GUID that identifies ``article``: none when it only repeats a link the feed shares between entries.

    Parsers fill a missing GUID in with the link (fastfeedparser does), so two entries of a "now" page would
    otherwise share it; ``link`` is the article's canonical link.
    """
    guid = article.guid
    if guid and not article.link_is_identity and link is not None and guid_key(guid, None) == link:
        return None
    return guid


def shared_link_key(link: str) -> str:
    return bounded_key(SHARED_LINK_PREFIX + link)


def _strong_keys(article: ParsedArticle, scope: str | None) -> list[str]:
    keys: list[str] = []
    link = link_key(article)
    if link is not None and article.link_is_identity:
        keys.append(link)
    guid = entry_guid(article, link)
    if guid:
        key = guid_key(guid, scope)
        if key not in keys:
            keys.append(key)
    elif link is not None and not article.link_is_identity:
        keys.append(guid_key(fingerprint(article.title, link), scope))
    if not keys:
        # No link and no GUID: the content is the identity. With a body, title+body; a bare feed entry
        # falls back to title+date as feeds define it.
        if article.body.strip():
            keys.append(fingerprint(article.title, article.body))
        else:
            keys.append(fingerprint(article.title, published_iso(article.published)))
    return keys


def _alias_keys(article: ParsedArticle) -> list[str]:
    if not article.link_is_identity:
        return []  # an alias of a link the feed shares (where it redirects) is shared too
    return [bounded_key(canonical_url(alias)) for alias in article.aliases if is_url(alias)]


def article_keys(article: ParsedArticle, *, scope: str | None = None) -> list[str]:
    """The keys ``article`` is stored under; the first is its identity (canonical link when it identifies it).

    A link the feed shares between several entries (``ParsedArticle.link_is_identity`` false) is no key; such an
    entry without a GUID is keyed by title + link within its feed. Aliases are stored as ``alias:<url>``: another
    item's *link* finds them, another item's alias does not, so two entries whose links both redirect to one page
    (a login or consent wall) are not taken for one article.
    """
    keys = _strong_keys(article, scope)
    for alias in _alias_keys(article):
        key = bounded_key(ALIAS_PREFIX + alias)
        if alias not in keys and key not in keys:
            keys.append(key)
    return keys


def lookup_keys(article: ParsedArticle, *, scope: str | None = None) -> list[str]:
    """The keys that find ``article`` in a store, in order: its own keys, its link as another article's alias,
    then its aliases as other articles' links."""
    keys = _strong_keys(article, scope)
    link = link_key(article) if article.link_is_identity else None
    if link is not None:
        keys.append(bounded_key(ALIAS_PREFIX + link))
    for alias in _alias_keys(article):
        if alias not in keys:
            keys.append(alias)
    return keys
