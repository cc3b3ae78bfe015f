"""Fetcher and guard in plain words, and size caps that hold after decompression: against a real local server."""

from __future__ import annotations

import gzip
import logging
import socket
import tracemalloc
import zlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.config import Settings
from bot.errors import FetchError
from bot.sources.fetcher import Fetcher
from bot.sources.guard import AddressGuard, AddressRefused, dns_problem

MB = 1024 * 1024


def gzip_bomb(megabytes: int) -> bytes:
    """``megabytes`` MB of zeros as one gzip stream (about 1 KB per MB)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(MB)
    return b"".join(packer.compress(block) for _ in range(megabytes)) + packer.flush()


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return gzip_bomb(64)


@pytest.fixture
async def server(bomb: bytes) -> AsyncIterator[TestServer]:
    async def bomb_page(request: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "text/html"})

    async def small_gzip(request: web.Request) -> web.Response:
        body = gzip.compress(b"<rss><channel><title>ok</title></channel></rss>")
        return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})

    app = web.Application()
    app.router.add_get("/bomb", bomb_page)
    app.router.add_get("/small", small_gzip)
    srv = TestServer(app, host="127.0.0.1")
    await srv.start_server()
    try:
        yield srv
    finally:
        await srv.close()


def loopback_fetcher(*, max_bytes: int = 10 * MB, timeout: float = 20.0) -> Fetcher:
    guard = AddressGuard(allow=["127.0.0.0/8"])
    return Fetcher(user_agent="newsbot-test", guard=guard, max_bytes=max_bytes, timeout=timeout)


async def test_gzip_bomb_is_cut_off_at_the_cap_on_decoded_bytes(server: TestServer, bomb: bytes) -> None:
    assert len(bomb) < MB  # well under the cap as sent; 64 MB once decoded
    async with loopback_fetcher(max_bytes=4 * MB) as fetcher:
        assert (await fetcher.fetch(str(server.make_url("/small")))).body.startswith(b"<rss>")
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match="larger than the 4,194,304-byte limit; stopped reading"):
                await fetcher.fetch(str(server.make_url("/bomb")))
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    # aiohttp inflates in bounded chunks and the fetcher stops at the cap: memory stays near the cap, not 64 MB.
    assert peak < 16 * MB


async def test_connection_errors_are_plain_words() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with loopback_fetcher(timeout=5) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(f"http://127.0.0.1:{port}/feed")
    assert str(info.value) == f"could not connect to 127.0.0.1 port {port}: connection refused."


def test_name_lookups_that_fail_say_so() -> None:
    assert dns_problem("example.invalid", socket.gaierror(socket.EAI_NONAME, "Name or service not known")) == (
        "the name example.invalid does not exist."
    )
    assert "could not be looked up" in dns_problem("news.example", socket.gaierror(socket.EAI_AGAIN, "Try again"))


async def test_a_missing_name_is_refused_in_plain_words() -> None:
    async with Fetcher(user_agent="newsbot-test", timeout=5) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch("http://example.invalid/feed")
    # Offline resolvers answer "try again" rather than "no such name"; either way it is a sentence, not aiohttp's.
    assert str(info.value) in (
        "the name example.invalid does not exist.",
        "the name example.invalid could not be looked up (the DNS server did not answer); will retry.",
    )


async def test_refusing_a_private_address_says_how_to_allow_it() -> None:
    with pytest.raises(AddressRefused) as info:
        await AddressGuard().check_url("http://10.1.2.3/feed")
    assert "NEWSBOT_ALLOWED_NETWORKS" in str(info.value)
    assert "add 10.1.2.3/32 (or its network)" in str(info.value)
    await AddressGuard(allow=["10.0.0.0/8"]).check_url("http://10.1.2.3/feed")


@pytest.mark.parametrize(
    ("networks", "warned"),
    [
        (("0.0.0.0/0",), "IPv4"),
        (("::/0",), "IPv4 and IPv6"),
        (("0.0.0.0/1", "128.0.0.0/1"), "IPv4"),
        (("2000::/3",), "IPv6"),
        (("10.0.0.0/8", "192.168.1.0/24"), None),
        (("1.0.0.0/8", "223.0.0.0/8"), None),
    ],
)
def test_allowing_all_public_space_is_accepted_with_a_warning(
    networks: tuple[str, ...], warned: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings.load(environ={"NEWSBOT_ALLOWED_NETWORKS": ",".join(networks)}, env_file=None, toml_file=None)
    with caplog.at_level(logging.WARNING, logger="bot.sources.guard"):
        Fetcher.from_settings(settings)
    if warned is None:
        assert not caplog.records
    else:
        [record] = caplog.records
        assert f"every public {warned} address" in record.getMessage()
        assert "NEWSBOT_ALLOWED_NETWORKS" in record.getMessage()
