"""The polite HTTP client: guarded addresses, bounded time and size, conditional GET, per-host limits.

Redirects are followed by hand so that every hop goes through the address guard before it is requested.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import email.utils
import errno
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Self
from urllib.parse import urljoin, urlsplit

import aiohttp

from bot.config import Settings
from bot.errors import FetchError
from bot.news.encoding import content_type_charset, decode_document
from bot.sources.guard import AddressGuard, GuardedResolver, IPNetwork, dns_problem

log = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9,"
    " application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, text/html;q=0.5, */*;q=0.1"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, text/plain;q=0.5, */*;q=0.1"

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: Longest wait a server can impose through Retry-After; beyond this we would rather try again and back off.
MAX_RETRY_AFTER = 24 * 3600.0
_CHUNK = 64 * 1024


class HTTPStatusError(FetchError):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class RateLimited(FetchError):
    """The server asked us to come back later (429/503 with Retry-After); honoured, and not a failure."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str
    """The final URL, after redirects."""
    status: int
    body: bytes
    """Decompressed body; empty for 304."""
    content_type: str | None
    etag: str | None
    last_modified: str | None
    elapsed: float
    redirects: int = 0
    moved_to: str | None = None
    """Where the URL asked for now lives, when every redirect on the way was permanent (301/308)."""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def mime_type(self) -> str:
        return (self.content_type or "").split(";", 1)[0].strip().lower()

    def text(self) -> str:
        return decode_document(self.body, content_type_charset(self.content_type)).text


_SOCKET_ERRORS: dict[int, str] = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset",
    errno.ETIMEDOUT: "timed out",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.EADDRNOTAVAIL: "address not available",
}


def _socket_reason(error: OSError | None) -> str:
    if error is None:
        return "the connection failed"
    if error.errno in _SOCKET_ERRORS:
        return _SOCKET_ERRORS[error.errno]
    return (error.strerror or str(error) or type(error).__name__).rstrip(".").lower()


def connection_problem(exc: aiohttp.ClientError, url: str) -> str:
    """One plain sentence for what went wrong talking to the server of ``url`` (not aiohttp's wording)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or url
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        host, port = url, 0
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return dns_problem(host, exc.os_error)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"could not connect securely to {host}: its certificate is not valid ({exc.certificate_error})."
    if isinstance(exc, aiohttp.ClientConnectorSSLError | aiohttp.ClientSSLError):
        return f"could not connect securely to {host} port {port}: the TLS handshake failed."
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"could not connect to {exc.host} port {exc.port}: {_socket_reason(exc.os_error)}."
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"{host} closed the connection without answering."
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"{host} sent a body that could not be read (broken compression or a cut-off transfer)."
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"{host} sent an invalid HTTP response ({exc.message or exc.status})."
    if isinstance(exc, aiohttp.ClientOSError):
        return f"the connection to {host} port {port} failed: {_socket_reason(exc)}."
    return f"could not fetch {url} ({type(exc).__name__})."


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), capped; None if absent."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return min(max(0.0, (when - now).total_seconds()), MAX_RETRY_AFTER)


class Fetcher:
    """One aiohttp session for all fetches. Use ``async with Fetcher.from_settings(settings) as fetcher``."""

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: float = 20.0,
        max_bytes: int = 10 * 1024 * 1024,
        guard: AddressGuard | None = None,
        per_host: int = 2,
        max_redirects: int = 5,
        max_connections: int = 32,
    ) -> None:
        self.user_agent = user_agent
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.guard = guard or AddressGuard()
        self.per_host = per_host
        self.max_redirects = max_redirects
        self.max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._host_slots: dict[str, asyncio.Semaphore] = {}
        self._not_before: dict[str, float] = {}

    @classmethod
    def from_settings(cls, settings: Settings, *, allow: Iterable[str | IPNetwork] = (), **kwargs: int) -> Fetcher:
        guard = AddressGuard(enabled=not settings.allow_private_addresses, allow=(*settings.allowed_networks, *allow))
        return cls(
            user_agent=settings.user_agent,
            timeout=settings.http_timeout,
            max_bytes=settings.max_response_bytes,
            guard=guard,
            **kwargs,
        )

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def start(self) -> None:
        if self._session is not None:
            return
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self.guard),
            limit=self.max_connections,
            limit_per_host=self.per_host,
            ttl_dns_cache=300,
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": self.user_agent},
            # Our own deadline (asyncio.timeout per hop) gives the clear error; these only bound a stuck socket.
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.timeout, sock_read=self.timeout),
            trust_env=False,  # a proxy from the environment would bypass the address guard
            auto_decompress=True,
        )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _slot(self, host: str) -> asyncio.Semaphore:
        slot = self._host_slots.get(host)
        if slot is None:
            slot = self._host_slots[host] = asyncio.Semaphore(self.per_host)
        return slot

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
    ) -> FetchResult:
        """GET ``url``. A 304 (when validators were given) comes back as ``status=304`` with an empty body.

        Raises :class:`FetchError` (refused address, timeout, too large, too many redirects, HTTP error) and
        :class:`RateLimited` when the server asked for a pause, including a pause it asked for earlier.
        """
        if self._session is None:
            await self.start()
        assert self._session is not None
        started = time.monotonic()
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current = url
        permanent = url  # the end of the unbroken run of permanent redirects from ``url``
        for hop in range(self.max_redirects + 1):
            await self.guard.check_url(current)
            host = (urlsplit(current).hostname or "").lower()
            wait = self._not_before.get(host, 0.0) - time.monotonic()
            if wait > 0:
                raise RateLimited(f"{host} asked us to wait; next try in {wait:.0f} s.", wait)
            async with self._slot(host):
                status, location, result = await self._request(current, host, headers, started, hop)
            if result is not None:
                if permanent != url:
                    result = dataclasses.replace(result, moved_to=permanent)
                return result
            if location is None:
                raise FetchError(f"{current} answered HTTP {status} without a Location to follow.")
            try:
                nxt = urljoin(current, location)
            except ValueError as exc:
                # "Location: http://[::1/x" — urllib refuses to take it apart.
                raise FetchError(f"{current} redirected to an invalid URL {location!r}.") from exc
            log.debug("%s redirects (%d) to %s", current, status, nxt)
            if status in (301, 308) and permanent == current:
                permanent = nxt
            current = nxt
        raise FetchError(f"{url} redirected more than {self.max_redirects} times.")

    async def _request(
        self, url: str, host: str, headers: dict[str, str], started: float, hop: int
    ) -> tuple[int, str | None, FetchResult | None]:
        assert self._session is not None
        try:
            async with asyncio.timeout(self.timeout):
                async with self._session.get(url, headers=headers, allow_redirects=False) as resp:
                    status = resp.status
                    if status in _REDIRECTS:
                        return status, resp.headers.get("Location"), None
                    if status in (429, 503):
                        retry = parse_retry_after(resp.headers.get("Retry-After"))
                        if retry is not None:
                            self._not_before[host] = time.monotonic() + retry
                            raise RateLimited(f"{host} answered HTTP {status}; asked to retry in {retry:.0f} s.", retry)
                    if status == 304:
                        body = b""
                    elif status >= 400 or status < 200:
                        raise HTTPStatusError(
                            f"{url} answered HTTP {status} {resp.reason or ''}".rstrip() + ".", status
                        )
                    else:
                        body = await self._read_capped(resp, url)
                    return (
                        status,
                        None,
                        FetchResult(
                            url=str(resp.url),
                            status=status,
                            body=body,
                            content_type=resp.headers.get("Content-Type"),
                            etag=resp.headers.get("ETag"),
                            last_modified=resp.headers.get("Last-Modified"),
                            elapsed=time.monotonic() - started,
                            redirects=hop,
                        ),
                    )
        except TimeoutError as exc:
            raise FetchError(f"{host} timed out after {self.timeout:g} s.") from exc
        except aiohttp.ClientError as exc:
            raise FetchError(connection_problem(exc, url)) from exc
        except ValueError as exc:
            # A host name that cannot be IDNA-encoded ("a..b") and similar: aiohttp raises UnicodeError.
            raise FetchError(f"Could not fetch {url}: it is not a valid URL ({exc}).") from exc

    async def _read_capped(self, resp: aiohttp.ClientResponse, url: str) -> bytes:
        declared = resp.content_length
        if declared is not None and declared > self.max_bytes:
            raise FetchError(
                f"{url} is {declared:,} bytes, more than the {self.max_bytes:,}-byte limit; not downloaded."
            )
        chunks: list[bytes] = []
        size = 0
        # Count decompressed bytes: the cap also protects against gzip bombs. aiohttp (from 3.13.3, CVE-2025-69223)
        # inflates each network chunk into at most max(64 KiB, the stream's low-water mark) at a time and applies
        # back-pressure, so this loop sees a bomb arrive in small pieces and stops it near the cap.
        async for chunk in resp.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > self.max_bytes:
                raise FetchError(f"{url} is larger than the {self.max_bytes:,}-byte limit; stopped reading.")
            chunks.append(chunk)
        return b"".join(chunks)
