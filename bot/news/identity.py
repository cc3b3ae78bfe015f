"""Stable identity for articles: canonical URLs, feed GUIDs and content fingerprints.

An article is stored under every key it is known by; a new item matching any stored key is the same article.
The first key is the article's identity: its canonical URL when there is one, else a content fingerprint.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.news.models import ParsedArticle, published_iso

# Query parameters that only track where a click came from; they never change which article a URL names.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "_hs", "vero_", "oly_")
_TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mkt_tok",
        "_ga",
        "_gl",
        "ref",
        "ref_src",
        "ref_url",
        "cmpid",
        "ocid",
        "ncid",
        "sr_share",
        "share",
        "s_cid",
        "spm",
        "at_medium",
        "at_campaign",
        "rss",
        "from",
        "feature",
        "cid",
        "smid",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_SPACE = re.compile(r"\s+")


def is_url(text: str | None) -> bool:
    if not text:
        return False
    parts = urlsplit(text.strip())
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def canonical_url(url: str) -> str:
    """Normalise a URL for comparison: https, lower-case host, no default port, fragment or tracking params.

    The scheme is folded to https because publishers (WordPress especially) flip between http and https for the
    same post; the result is an identity key, the stored ``url`` keeps what the publisher gave.
    """
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port if parts.port and parts.port != _DEFAULT_PORTS.get(parts.scheme.lower()) else None
    netloc = f"{host}:{port}" if port else host
    path = parts.path or "/"
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_NAMES
    ]
    query.sort()
    return urlunsplit(("https", netloc, path, urlencode(query, doseq=True), ""))


def clean_url(url: str) -> str:
    """The URL to show and link: tracking parameters and fragment removed, scheme kept."""
    parts = urlsplit(url.strip())
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith(_TRACKING_PREFIXES) and k.lower() not in _TRACKING_NAMES
    ]
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), ""))


def _norm_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return _SPACE.sub(" ", text).strip()


def fingerprint(*parts: str | None) -> str:
    digest = hashlib.sha256("\x1f".join(_norm_text(p or "") for p in parts).encode("utf-8")).hexdigest()
    return f"sha256:{digest[:32]}"


def guid_key(guid: str, scope: str | None) -> str:
    """A GUID that is a URL is a URL; any other GUID is only unique within its feed."""
    guid = guid.strip()
    if is_url(guid):
        return canonical_url(guid)
    return f"guid:{scope or ''}#{guid}"


def article_keys(article: ParsedArticle, *, scope: str | None = None) -> list[str]:
    """Every key ``article`` is known by, strongest first; the first is its identity."""
    keys: list[str] = []
    if article.url and is_url(article.url):
        keys.append(canonical_url(article.url))
    if article.guid:
        key = guid_key(article.guid, scope)
        if key not in keys:
            keys.append(key)
    if not keys:
        # No link and no GUID: the content is the identity. With a body, title+body; a bare feed entry
        # falls back to title+date as feeds define it.
        if article.body.strip():
            keys.append(fingerprint(article.title, article.body))
        else:
            keys.append(fingerprint(article.title, published_iso(article.published)))
    return keys
