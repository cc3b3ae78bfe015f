"""Which hosts are public: one classification for the fetch guard and for links shown to members. Pure (stdlib).

The guard resolves names and checks every address it gets; a link shown in Discord is never resolved, so for
links this module reads a host the way a browser does (WHATWG URL rules): ``0x7f.1``, ``2130706433`` and
``0177.0.0.1`` are all 127.0.0.1 there, and full-width digits are folded to ASCII first.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Names that never point at a public web server: RFC 6761/6762/8375 special-use names and common LAN suffixes.
LOCAL_SUFFIXES = ("localhost", "local", "localdomain", "internal", "intranet", "lan", "home.arpa")

_NUMERIC_LABEL = re.compile(r"[0-9]+|0[xX][0-9a-fA-F]*")
# UTS 46 maps these to "." before a browser looks at the labels; NFKC handles U+FF0E but not U+3002.
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


def forbidden_reason(address: IPAddress) -> str | None:
    """Why ``address`` must not be fetched or linked, or None if it is a public unicast address."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return forbidden_reason(mapped)
        if address.teredo is not None:
            return forbidden_reason(address.teredo[1])
    checks = (
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("unspecified", address.is_unspecified),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
    )
    for name, hit in checks:
        if hit:
            return name
    # is_global is False for the remaining special ranges (shared address space 100.64/10, documentation
    # nets, benchmarking 198.18/15 …): none of them is a public web server.
    if not address.is_global:
        return "non-public"
    return None


def _ipv4_number(label: str) -> int:
    if label[:2] in ("0x", "0X"):
        return int(label[2:] or "0", 16)
    if len(label) > 1 and label.startswith("0"):
        return int(label, 8)  # ValueError for "08": a browser refuses that host too
    return int(label)


def browser_address(host: str) -> IPAddress | None:
    """The IP address a browser reads ``host`` (as ``urlsplit(...).hostname`` gives it) as, or None for a name.

    Raises ValueError for a host that a browser refuses (a malformed number, an IPv6 zone id).
    """
    if ":" in host:
        return ipaddress.IPv6Address(host)  # zone ids ("%eth0") are not valid in URLs and fail here
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()
    # WHATWG: a host whose last label is a number is an IPv4 address (in any of the legacy notations) or invalid.
    if not labels or not _NUMERIC_LABEL.fullmatch(labels[-1]):
        return None
    if len(labels) > 4 or not all(_NUMERIC_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{host!r} is not a valid IPv4 address")
    numbers = [_ipv4_number(label) for label in labels]
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        raise ValueError(f"{host!r} is out of range for IPv4")
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def normalise_host(host: str) -> str:
    """``host`` as a browser compares it: compatibility-folded (full-width digits, dots), lower-case."""
    return unicodedata.normalize("NFKC", host).translate(_DOTS).lower()


def host_refusal(host: str) -> str | None:
    """Why a link to ``host`` must not be shown to members, or None if it names a public server.

    Private, loopback, link-local, multicast, reserved and unspecified addresses in any notation, local-only
    names (``localhost``, ``*.local`` …) and single-label intranet names are refused; nothing is resolved.
    """
    name = normalise_host(host)
    if not name or "%" in name or "\\" in name:
        return "not a valid host name"
    try:
        address = browser_address(name)
    except ValueError:
        return "not a valid address"
    if address is not None:
        reason = forbidden_reason(address)
        return f"a {reason} address" if reason else None
    name = name.rstrip(".")
    if "." not in name:
        return "a local name"
    if any(name == suffix or name.endswith("." + suffix) for suffix in LOCAL_SUFFIXES):
        return "a local name"
    return None
