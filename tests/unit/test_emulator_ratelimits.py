"""Rate limits and nonces as Discord does them, spoken to with a plain aiohttp client on the emulator's own clock."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.sandbox import DiscordEmulator, Fault429
from bot.sandbox.ratelimits import DEFAULT_ROUTE_LIMITS, RateLimiter, bucket_hash

CREATE = "POST /channels/{channel_id}/messages"
EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"


class Client:
    def __init__(self, emu: DiscordEmulator, session: aiohttp.ClientSession) -> None:
        self.emu = emu
        self.session = session

    async def call(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> tuple[int, Any, Any]:
        headers = {"Authorization": f"Bot {self.emu.token}"} if auth else {}
        async with self.session.request(method, self.emu.api_base + path, json=body, headers=headers) as resp:
            data = await resp.json(content_type=None) if resp.status != 204 else None
            return resp.status, data, resp.headers

    async def post(self, channel: str, body: Any) -> tuple[int, Any, Any]:
        return await self.call("POST", f"/channels/{self.emu.world.channel(channel).id}/messages", body)


@pytest.fixture
async def emu() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator(openapi=None) as emulator:
        yield emulator


@pytest.fixture
async def client(emu: DiscordEmulator) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(emu, session)


async def test_message_create_is_five_per_five_seconds_per_channel(emu: DiscordEmulator, client: Client) -> None:
    assert emu.route_limits[CREATE] == (5, 5.0)
    results = [await client.post("news", {"content": f"m{i}"}) for i in range(6)]
    assert [status for status, _, _ in results] == [200] * 5 + [429]
    first_headers = results[0][2]
    assert first_headers["X-RateLimit-Limit"] == "5"
    assert first_headers["X-RateLimit-Remaining"] == "4"
    assert 4.9 <= float(first_headers["X-RateLimit-Reset-After"]) <= 5.0
    assert first_headers["X-RateLimit-Bucket"] == bucket_hash(CREATE)
    assert results[4][2]["X-RateLimit-Remaining"] == "0"
    _status, body, headers = results[5]
    assert set(body) == {"message", "retry_after", "global"}
    assert body["message"] == "You are being rate limited." and body["global"] is False
    assert 0 < body["retry_after"] <= 5.0
    assert headers["Retry-After"] == str(math.ceil(body["retry_after"]))
    assert headers["X-RateLimit-Scope"] == "user" and "X-RateLimit-Global" not in headers
    assert headers["Via"], "discord.py retries a 429 only with a Via header"
    # Another channel is another bucket (the top-level resource).
    assert (await client.post("general", {"content": "elsewhere"}))[0] == 200
    # The emulator's clock, not the wall clock: a test moves it instead of sleeping.
    emu.advance_time(5.0)
    assert (await client.post("news", {"content": "later"}))[0] == 200
    assert [m.content for m in emu.messages_in("news")] == ["m0", "m1", "m2", "m3", "m4", "later"]
    [hit] = emu.rate_limit_hits
    assert (hit.route, hit.scope, hit.is_global, hit.scripted) == (CREATE, "user", False, False)
    assert hit.major == str(emu.world.channel("news").id)


async def test_edit_has_its_own_bucket(emu: DiscordEmulator, client: Client) -> None:
    _, sent, _ = await client.post("news", {"content": "x"})
    path = f"/channels/{emu.world.channel('news').id}/messages/{sent['id']}"
    statuses = [(await client.call("PATCH", path, {"content": f"v{i}"}))[0] for i in range(6)]
    assert statuses == [200] * 5 + [429]
    assert (await client.post("news", {"content": "create still has room"}))[0] == 200
    assert bucket_hash(EDIT) != bucket_hash(CREATE)


async def test_global_limit_is_50_per_second_and_interactions_are_exempt(emu: DiscordEmulator, client: Client) -> None:
    assert emu.global_limit == 50
    statuses = [(await client.call("GET", "/users/@me"))[0] for _ in range(51)]
    assert statuses == [200] * 50 + [429]
    status, body, headers = await client.call("GET", "/users/@me")
    assert status == 429 and body["global"] is True
    assert headers["X-RateLimit-Global"] == "true" and headers["X-RateLimit-Scope"] == "global"
    # Interaction callbacks are not bound to the global limit.
    interaction = await emu.create_interaction(
        2, emu.world.member("reader"), emu.world.channel("news"), {"id": "1", "name": "x", "type": 1}
    )
    status, _, _ = await client.call(
        "POST", f"/interactions/{interaction.id}/{interaction.token}/callback", {"type": 5}, auth=False
    )
    assert status == 204
    emu.advance_time(1.0)
    assert (await client.call("GET", "/users/@me"))[0] == 200
    assert [h.is_global for h in emu.rate_limit_hits] == [True, True]


async def test_limits_can_be_lowered_or_switched_off() -> None:
    lowered = DiscordEmulator(openapi=None, route_limits={CREATE: (1, 10.0)}, global_limit=1000)
    async with lowered as emu, aiohttp.ClientSession() as session:
        client = Client(emu, session)
        assert [(await client.post("news", {"content": "a"}))[0] for _ in range(2)] == [200, 429]
        emu.rate_limits_enabled = False
        status, _, headers = await client.post("news", {"content": "b"})
        assert status == 200 and "X-RateLimit-Limit" not in headers
    async with DiscordEmulator(openapi=None, rate_limits=False) as emu, aiohttp.ClientSession() as session:
        client = Client(emu, session)
        assert {(await client.post("news", {"content": "c"}))[0] for _ in range(20)} == {200}
        assert emu.rate_limit_hits == []


async def test_scripted_shared_429_is_recorded(emu: DiscordEmulator, client: Client) -> None:
    emu.script(CREATE, Fault429(2.5, scope="shared"))
    status, body, headers = await client.post("news", {"content": "a"})
    assert status == 429 and body["message"] == "The resource is being rate limited."
    assert headers["X-RateLimit-Scope"] == "shared" and headers["Retry-After"] == "3"
    [hit] = emu.rate_limit_hits
    assert hit.scripted and hit.scope == "shared"


def test_least_time_is_the_floor_of_the_limits() -> None:
    limiter = RateLimiter(lambda: 0.0)
    # 500 channels, one message each: only the global limit binds (50 per second).
    assert limiter.least_time(CREATE, {str(i): 1 for i in range(500)}) == 9.0
    # 11 messages to one channel at 5 per 5 s: three windows.
    assert limiter.least_time(CREATE, {"1": 11}) == 10.0
    assert limiter.least_time(CREATE, {}) == 0.0
    assert DEFAULT_ROUTE_LIMITS[CREATE] == (5, 5.0)


# ---- nonces -----------------------------------------------------------------------------------------------


async def test_enforced_nonce_returns_the_first_message(emu: DiscordEmulator, client: Client) -> None:
    body = {"content": "once", "nonce": "article-7-channel-3", "enforce_nonce": True}
    s1, first, _ = await client.post("news", body)
    s2, again, _ = await client.post("news", {**body, "content": "a retry with other text"})
    assert (s1, s2) == (200, 200)
    assert again == first
    assert [m.content for m in emu.messages_in("news")] == ["once"]
    # Per channel: the same nonce elsewhere is a new message.
    _, other, _ = await client.post("general", body)
    assert other["id"] != first["id"]
    # "in the past few minutes": after the window the nonce is free again.
    emu.advance_time(emu.nonce_window_s + 1)
    _, later, _ = await client.post("news", body)
    assert later["id"] != first["id"]
    assert len(emu.messages_in("news")) == 2


async def test_nonce_of_a_deleted_message_is_unknown_message(emu: DiscordEmulator, client: Client) -> None:
    body = {"content": "gone soon", "nonce": "n1", "enforce_nonce": True}
    _, first, _ = await client.post("news", body)
    channel = emu.world.channel("news").id
    assert (await client.call("DELETE", f"/channels/{channel}/messages/{first['id']}"))[0] == 204
    # Deliberate on Discord: the retry of a deleted message is not posted again.
    status, answer, _ = await client.post("news", body)
    assert (status, answer["code"]) == (404, 10008)
    assert emu.messages_in("news") == []


async def test_nonce_without_enforce_is_only_echoed_and_long_nonces_are_refused(
    emu: DiscordEmulator, client: Client
) -> None:
    for _ in range(2):
        status, message, _ = await client.post("news", {"content": "twice", "nonce": "n"})
        assert status == 200 and message["nonce"] == "n"
    assert len(emu.messages_in("news")) == 2
    status, answer, _ = await client.post("news", {"content": "x", "nonce": "n" * 26, "enforce_nonce": True})
    assert status == 400 and "nonce" in answer["errors"]
