"""A test-side model of how Discord reads message text, written independently of bot/news/format.py.

It answers the questions the renderer's tests ask of every payload: what in this text would Discord format,
link or turn into a mention (rather than show as it is); whom would this message ping; which characters in
it are invisible controls; is this URL a public http(s) address. Where the model is unsure it errs towards
"live", so a pass means the text is inert.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

ASCII_ALNUM = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
INLINE = frozenset("*_~|`[]<")


def _chars(text: str) -> list[tuple[str, bool]]:
    """``text`` as Discord's parser sees it: each shown character with whether a backslash escaped it."""
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] not in ASCII_ALNUM and not text[i + 1].isspace():
            out.append((text[i + 1], True))
            i += 2
        else:
            out.append((ch, False))
            i += 1
    return out


def live_markup(text: str) -> list[str]:
    """Everything in ``text`` that Discord would not show verbatim: formatting, links, mentions, block syntax."""
    chars = _chars(text)
    found: list[str] = []
    at_line_start = True
    for i, (ch, escaped) in enumerate(chars):
        if ch == "\n":
            at_line_start = True
            continue
        if at_line_start and ch in (" ", "\t") and not escaped:
            continue
        starts_line, at_line_start = at_line_start, False
        if escaped:
            continue
        if ch in INLINE:
            found.append(f"inline {ch!r} at {i}")
        if ch == "@":
            following = "".join(c for c, _ in chars[i + 1 : i + 9]).lower()
            if following.startswith(("everyone", "here")):
                found.append(f"mass mention at {i}")
        if ch == ":" and "".join(c for c, _ in chars[i + 1 : i + 3]) == "//" and i and chars[i - 1][0].isalnum():
            found.append(f"autolink at {i}")
        if starts_line:
            if ch in ">#-+":
                found.append(f"block {ch!r} at {i}")
            if ch.isdigit():
                j = i
                while j < len(chars) and chars[j][0].isdigit() and not chars[j][1]:
                    j += 1
                if j < len(chars) and chars[j][0] in ".)" and not chars[j][1]:
                    after = chars[j + 1][0] if j + 1 < len(chars) else " "
                    if after.isspace():
                        found.append(f"numbered list at {i}")
    return found


def shown_text(text: str) -> str:
    """What a member reads for inert ``text``: the escapes consumed."""
    return "".join(ch for ch, _ in _chars(text))


_MENTION = re.compile(r"<@([!&]?)([0-9]+)>")


def pings(content: str, allowed_mentions: Mapping[str, Any] | None) -> set[str]:
    """Who a message with ``content`` notifies under ``allowed_mentions`` (embeds never notify anyone).

    Discord's rules: ``parse`` lists the kinds parsed freely; ``users``/``roles`` list the ids allowed; an
    absent ``allowed_mentions`` parses everything in a channel message.
    """
    am = dict(allowed_mentions) if allowed_mentions is not None else {"parse": ["users", "roles", "everyone"]}
    parse = set(am.get("parse") or [])
    users = {str(u) for u in am.get("users") or []}
    roles = {str(r) for r in am.get("roles") or []}
    chars = _chars(content)
    visible = "".join(ch if not escaped else "\x00" for ch, escaped in chars)
    out: set[str] = set()
    for match in _MENTION.finditer(visible):
        kind, ident = match.groups()
        if kind == "&":
            if "roles" in parse or ident in roles:
                out.add(f"role:{ident}")
        elif "users" in parse or ident in users:
            out.add(f"user:{ident}")
    if "everyone" in parse and re.search(r"@(everyone|here)", visible):
        out.add("everyone")
    return out


def is_invisible(ch: str) -> bool:
    """A control, format (but the soft hyphen), surrogate, separator or non-character: never in bot output."""
    if ch in "\n\t":
        return False
    code = ord(ch)
    if 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE:
        return True
    if 0xE0000 <= code <= 0xE007F:  # the tag block: invisible, assigned or not
        return True
    category = unicodedata.category(ch)
    return category in ("Cc", "Cs", "Zl", "Zp") or (category == "Cf" and ch != "\u00ad")


def strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like payload, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from strings(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from strings(item)


def is_public_ip(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        inner = address.ipv4_mapped or address.sixtofour or (address.teredo[1] if address.teredo else None)
        if inner is not None:
            return is_public_ip(inner)
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_private or address.is_link_local
    )


def is_public_http_url(url: str) -> bool:
    """An independent judgement of a link: http(s), no credentials, and a host that is not private in any
    notation (IPv4 read with the C library's ``inet_aton``, which accepts the legacy forms browsers accept)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or not host or "@" in parts.netloc:
        return False
    if any(ch.isspace() or is_invisible(ch) or ch == "\\" for ch in url):
        return False
    host = unicodedata.normalize("NFKC", host).replace("\u3002", ".").lower()
    if "%" in host:
        return False
    if ":" in host:
        try:
            return is_public_ip(ipaddress.IPv6Address(host))
        except ValueError:
            return False
    try:
        packed = socket.inet_aton(host.rstrip("."))
    except OSError:
        packed = None
    if packed is not None:
        return is_public_ip(ipaddress.IPv4Address(packed))
    name = host.rstrip(".")
    if "." not in name or name.split(".")[-1].isdigit():
        return False
    return not any(name == s or name.endswith("." + s) for s in ("localhost", "local", "internal", "home.arpa"))
