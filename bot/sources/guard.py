"""The address guard: newsbot fetches URLs that members give it, so it must not reach private networks.

Two checks, both before any connection is opened:

* :meth:`AddressGuard.check_url` runs on every URL, including each redirect hop. It refuses non-HTTP schemes,
  credentials in URLs, IP literals in forbidden ranges, and host names that resolve to any forbidden address.
* :class:`GuardedResolver` is the aiohttp connector's resolver. It re-checks the addresses that the connection
  will actually use, so a DNS answer that changes between the check and the connect (DNS rebinding) is still
  refused. aiohttp skips the resolver for IP literals, which is why ``check_url`` handles those.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Iterable, Sequence
from typing import Final
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from bot.errors import FetchError
from bot.sources.addresses import IPAddress, forbidden_reason
from bot.sources.addresses import IPNetwork as IPNetwork  # re-exported: the fetcher types its allow-list with it

log = logging.getLogger(__name__)


class AddressRefused(FetchError):
    """The URL points at an address newsbot must not fetch."""


#: One public address in each /8 of the IPv4 unicast space and of IPv6's global unicast block (2000::/3): allowed
#: networks that hold all of them leave nothing for the guard to refuse.
_PUBLIC_V4: Final = tuple(
    a for a in (ipaddress.IPv4Address(f"{first}.1.2.3") for first in range(1, 224)) if forbidden_reason(a) is None
)
_PUBLIC_V6: Final = tuple(ipaddress.IPv6Address(f"{first:x}00:1::1") for first in range(0x20, 0x40))


def covered_public_space(networks: Sequence[IPNetwork]) -> list[str]:
    """The address families (``"IPv4"``, ``"IPv6"``) whose whole public space ``networks`` take in between them
    (``0.0.0.0/0``, ``::/0``, ``2000::/3``, ``::ffff:0:0/96`` …): allowing those switches the guard off."""

    def covered(addresses: Sequence[IPAddress]) -> bool:
        return all(any(address in network for network in networks) for address in addresses)

    found = []
    mapped = tuple(ipaddress.IPv6Address(f"::ffff:{a}") for a in _PUBLIC_V4)
    if covered(_PUBLIC_V4) or covered(mapped):
        found.append("IPv4")
    if covered(_PUBLIC_V6):
        found.append("IPv6")
    return found


class AddressGuard:
    """Refuses URLs that resolve to private, loopback, link-local, multicast or reserved addresses.

    ``enabled=False`` switches the guard off (tests and the sandbox only). ``allow`` lists networks that are
    let through even with the guard on, e.g. an operator's own feed server, or the loopback test server in
    tests that check that everything else is still refused.
    """

    def __init__(self, *, enabled: bool = True, allow: Iterable[str | IPNetwork] = ()) -> None:
        self.enabled = enabled
        self.allow: tuple[IPNetwork, ...] = tuple(
            n if isinstance(n, (ipaddress.IPv4Network, ipaddress.IPv6Network)) else ipaddress.ip_network(n)
            for n in allow
        )

        if self.enabled and (families := covered_public_space(self.allow)):
            log.warning(
                "The allowed networks (NEWSBOT_ALLOWED_NETWORKS: %s) take in every public %s address, so the "
                "address guard no longer keeps fetches away from private, loopback and link-local addresses. "
                "List only the private networks you mean, such as 192.168.1.0/24.",
                ", ".join(str(n) for n in self.allow),
                " and ".join(families),
            )

    def refusal(self, address: IPAddress) -> str | None:
        if not self.enabled:
            return None
        if any(address in network for network in self.allow):
            return None
        return forbidden_reason(address)

    def check_addresses(self, host: str, addresses: Sequence[str]) -> None:
        """Raise :class:`AddressRefused` if any of ``addresses`` (all of ``host``'s) is forbidden."""
        if not addresses:
            raise FetchError(f"{host} did not resolve to any address.")
        for text in addresses:
            try:
                address = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError as exc:
                raise AddressRefused(f"{host} resolved to an unusable address {text!r}.") from exc
            reason = self.refusal(address)
            if reason:
                # One bad address is enough: the connector might pick it, and round-robin DNS can hide one.
                block = f"{address}/{address.max_prefixlen}"
                raise AddressRefused(
                    f"Refused to fetch {host}: it resolves to a {reason} address ({address}). To fetch it anyway, "
                    f"add {block} (or its network) to NEWSBOT_ALLOWED_NETWORKS."
                )

    async def check_url(self, url: str) -> None:
        """Check scheme and host of ``url``; resolve the host and check every address it has.

        Raises :class:`FetchError` (or its :class:`AddressRefused`) with one sentence; never anything else.
        """
        try:
            parts = urlsplit(url)
            parts.hostname  # noqa: B018 - raises ValueError for a malformed IPv6 literal
        except ValueError as exc:
            raise FetchError(f"{url!r} is not a valid URL ({exc}).") from exc
        if parts.scheme.lower() not in ("http", "https"):
            raise FetchError(f"Only http and https URLs can be fetched, not {parts.scheme or 'a bare path'!r}.")
        if parts.username or parts.password:
            raise FetchError("URLs with a user name or password are not fetched.")
        host = parts.hostname
        if not host:
            raise FetchError(f"{url} has no host name.")
        try:
            port = parts.port
        except ValueError as exc:
            raise FetchError(f"{url} has an invalid port.") from exc
        if not self.enabled:
            return
        try:
            literal = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            self.check_addresses(host, [str(literal)])
            return
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, port or 443, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise FetchError(dns_problem(host, exc)) from exc
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"the name {host} could not be looked up ({exc}).") from exc
        self.check_addresses(host, [str(info[4][0]) for info in infos])


def dns_problem(host: str, error: OSError | None) -> str:
    """A failed name lookup in plain words: the name does not exist, or the lookup itself failed."""
    code = getattr(error, "errno", None)
    if code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
        return f"the name {host} does not exist."
    if code == socket.EAI_AGAIN:
        return f"the name {host} could not be looked up (the DNS server did not answer); will retry."
    reason = (getattr(error, "strerror", None) or str(error or "") or "lookup failed").rstrip(".").lower()
    return f"the name {host} could not be looked up ({reason})."


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that refuses forbidden addresses at connect time (see module docstring)."""

    def __init__(self, guard: AddressGuard, inner: AbstractResolver | None = None) -> None:
        self.guard = guard
        self.inner = inner or DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        self.guard.check_addresses(host, [str(r["host"]) for r in results])
        return results

    async def close(self) -> None:
        await self.inner.close()
