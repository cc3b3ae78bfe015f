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
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from bot.errors import FetchError
from bot.sources.addresses import IPAddress, forbidden_reason
from bot.sources.addresses import IPNetwork as IPNetwork  # re-exported: the fetcher types its allow-list with it

log = logging.getLogger(__name__)


class AddressRefused(FetchError):
    """The URL points at an address newsbot must not fetch."""


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
                raise AddressRefused(f"Refused to fetch {host}: it resolves to a {reason} address ({address}).")

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
        except (OSError, UnicodeError) as exc:
            raise FetchError(f"Could not resolve {host} ({exc}).") from exc
        self.check_addresses(host, [str(info[4][0]) for info in infos])


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
