"""The emulator's REST enforcement, spoken to with a plain aiohttp client (no discord.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.sandbox import DiscordEmulator, Fault429, FaultStatus
from bot.sandbox.state import EPHEMERAL


class Client:
    def __init__(self, emu: DiscordEmulator, session: aiohttp.ClientSession) -> None:
        self.emu = emu
        self.session = session
        self.auth = {"Authorization": f"Bot {emu.token}"}

    async def call(
        self, method: str, path: str, body: Any = None, **query: str
    ) -> tuple[int, Any, aiohttp.ClientResponse]:
        async with self.session.request(
            method, self.emu.api_base + path, json=body, headers=self.auth, params=query or None
        ) as resp:
            data = await resp.json(content_type=None) if resp.status != 204 else None
            return resp.status, data, resp


@pytest.fixture
async def emu() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator(openapi=None, deadline_s=0.3, route_limits={}) as emulator:
        yield emulator


@pytest.fixture
async def client(emu: DiscordEmulator) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(emu, session)


def channel_path(emu: DiscordEmulator, name: str = "news") -> str:
    return f"/channels/{emu.world.channel(name).id}/messages"


async def new_interaction(emu: DiscordEmulator, who: str = "reader") -> Any:
    return await emu.create_interaction(
        2, emu.world.member(who), emu.world.channel("news"), {"id": "1", "name": "x", "type": 1}
    )


async def test_json_content_type_is_exact_and_login_works(client: Client) -> None:
    status, me, resp = await client.call("GET", "/users/@me")
    assert status == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert me["bot"] is True
    assert resp.headers["X-RateLimit-Limit"] and resp.headers["X-RateLimit-Bucket"]
    client.auth = {"Authorization": "Bot wrong"}
    status, _, _ = await client.call("GET", "/users/@me")
    assert status == 401


async def test_unknown_route_is_404_and_logged(client: Client, emu: DiscordEmulator) -> None:
    status, body, _ = await client.call("GET", "/nope/nothing")
    assert status == 404
    assert emu.requests[-1].route is None
    assert body["code"] == 0


async def test_callback_ack_then_40060(client: Client, emu: DiscordEmulator) -> None:
    interaction = await new_interaction(emu)
    path = f"/interactions/{interaction.id}/{interaction.token}/callback"
    status, body, _ = await client.call(
        "POST", path, {"type": 4, "data": {"content": "hi", "flags": EPHEMERAL}}, with_response="1"
    )
    assert status == 200
    assert body["interaction"]["response_message_ephemeral"] is True
    assert body["resource"]["message"]["content"] == "hi"
    status, body, _ = await client.call("POST", path, {"type": 4, "data": {"content": "again"}}, with_response="1")
    assert (status, body["code"]) == (400, 40060)


async def test_callback_after_deadline_is_unknown_interaction(client: Client, emu: DiscordEmulator) -> None:
    interaction = await new_interaction(emu)
    await asyncio.sleep(emu.deadline_s + 0.05)
    status, body, _ = await client.call(
        "POST", f"/interactions/{interaction.id}/{interaction.token}/callback", {"type": 5}, with_response="1"
    )
    assert (status, body["code"], body["message"]) == (404, 10062, "Unknown interaction")
    assert interaction.late_callbacks == 1 and not interaction.acked


async def test_wrong_token_is_unknown_interaction(client: Client, emu: DiscordEmulator) -> None:
    interaction = await new_interaction(emu)
    status, body, _ = await client.call("POST", f"/interactions/{interaction.id}/nottheToken/callback", {"type": 5})
    assert (status, body["code"]) == (404, 10062)


async def test_deferred_then_followup_then_token_expiry(client: Client, emu: DiscordEmulator) -> None:
    interaction = await new_interaction(emu)
    await client.call(
        "POST", f"/interactions/{interaction.id}/{interaction.token}/callback", {"type": 5}, with_response="1"
    )
    hook = f"/webhooks/{emu.application_id}/{interaction.token}"
    status, message, _ = await client.call("POST", hook, {"content": "done"}, wait="1")
    assert status == 200
    # The first follow-up after a "thinking" defer replaces the loading message.
    assert message["id"] == str(interaction.original_message_id)
    status, original, _ = await client.call("GET", hook + "/messages/@original")
    assert original["content"] == "done"
    status, second, _ = await client.call("POST", hook, {"content": "more"}, wait="1")
    assert second["id"] != message["id"]
    status, edited, _ = await client.call("PATCH", hook + f"/messages/{second['id']}", {"content": "more!"})
    assert (status, edited["content"]) == (200, "more!")
    emu.advance_time(15 * 60 + 1)
    status, body, _ = await client.call("POST", hook, {"content": "late"}, wait="1")
    assert (status, body["code"]) == (401, 50027)


async def test_followup_before_ack_is_unknown_webhook(client: Client, emu: DiscordEmulator) -> None:
    interaction = await new_interaction(emu)
    status, body, _ = await client.call("POST", f"/webhooks/{emu.application_id}/{interaction.token}", {"content": "x"})
    assert (status, body["code"]) == (404, 10015)


async def test_nonce_dedupe(client: Client, emu: DiscordEmulator) -> None:
    body = {"content": "once", "nonce": "abc123", "enforce_nonce": True}
    s1, m1, _ = await client.call("POST", channel_path(emu), body)
    s2, m2, _ = await client.call("POST", channel_path(emu), body)
    assert (s1, s2) == (200, 200)
    assert m1["id"] == m2["id"]
    assert [m.content for m in emu.messages_in("news")] == ["once"]
    # Without enforce_nonce the nonce is only echoed, as on Discord.
    await client.call("POST", channel_path(emu), {"content": "twice", "nonce": "n"})
    await client.call("POST", channel_path(emu), {"content": "twice", "nonce": "n"})
    assert [m.content for m in emu.messages_in("news")] == ["once", "twice", "twice"]


async def test_rule_rejection_is_50035_and_recorded(client: Client, emu: DiscordEmulator) -> None:
    status, body, _ = await client.call("POST", channel_path(emu), {"content": "x" * 2001})
    assert status == 400
    assert body["code"] == 50035 and body["message"] == "Invalid Form Body"
    assert body["errors"]["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    assert len(emu.rejections) == 1
    assert emu.rejections[0].layer == "rules"
    assert emu.messages_in("news") == []


async def test_route_bucket_429_with_headers(emu: DiscordEmulator, client: Client) -> None:
    emu.route_limits["POST /channels/{channel_id}/messages"] = (2, 5.0)
    statuses = []
    for i in range(3):
        status, body, resp = await client.call("POST", channel_path(emu), {"content": f"m{i}"})
        statuses.append(status)
    assert statuses == [200, 200, 429]
    assert resp.headers["Via"]
    assert resp.headers["X-RateLimit-Remaining"] == "0"
    assert resp.headers["X-RateLimit-Scope"] == "user"
    assert body["global"] is False and 0 < body["retry_after"] <= 5.0
    # Buckets are per channel: another channel is unaffected.
    status, _, resp = await client.call("POST", channel_path(emu, "general"), {"content": "other"})
    assert status == 200
    assert resp.headers["X-RateLimit-Remaining"] == "1"


async def test_global_limit(emu: DiscordEmulator, client: Client) -> None:
    emu.global_limit = 3
    results = [await client.call("GET", "/users/@me") for _ in range(4)]
    assert [r[0] for r in results] == [200, 200, 200, 429]
    assert results[-1][1]["global"] is True
    assert results[-1][2].headers["X-RateLimit-Global"] == "true"


async def test_scripted_faults(emu: DiscordEmulator, client: Client) -> None:
    route = "POST /channels/{channel_id}/messages"
    emu.script(route, Fault429(0.5, is_global=True), FaultStatus(502), FaultStatus(500, after_processing=True))
    s1, b1, r1 = await client.call("POST", channel_path(emu), {"content": "a"})
    assert (s1, b1["global"], r1.headers["Via"]) == (429, True, "1.1 google")
    s2, _, _ = await client.call("POST", channel_path(emu), {"content": "a"})
    assert s2 == 502
    assert emu.messages_in("news") == []
    s3, _, _ = await client.call("POST", channel_path(emu), {"content": "lost response"})
    assert s3 == 500
    # The request was carried out even though its response was an error.
    assert [m.content for m in emu.messages_in("news")] == ["lost response"]
    assert emu.pending_faults(route) == 0


async def test_latency(emu: DiscordEmulator, client: Client) -> None:
    emu.latency = 0.2
    loop = asyncio.get_running_loop()
    started = loop.time()
    await client.call("GET", "/users/@me")
    assert loop.time() - started >= 0.2


async def test_bot_cannot_post_where_denied(emu: DiscordEmulator, client: Client) -> None:
    from bot.sandbox.state import Overwrite, permission_value

    locked = emu.world.add_channel(
        "locked", overwrites=[Overwrite(emu.guild_id, 0, deny=permission_value(["send_messages"]))]
    )
    status, body, _ = await client.call("POST", f"/channels/{locked.id}/messages", {"content": "hi"})
    assert (status, body["code"]) == (403, 50013)
    status, body, _ = await client.call("POST", "/channels/1/messages", {"content": "hi"})
    assert (status, body["code"]) == (404, 10003)


async def test_edit_delete_list_and_thread(emu: DiscordEmulator, client: Client) -> None:
    _, first, _ = await client.call("POST", channel_path(emu), {"content": "first"})
    _, second, _ = await client.call("POST", channel_path(emu), {"content": "second"})
    status, edited, _ = await client.call("PATCH", channel_path(emu) + f"/{first['id']}", {"content": "first!"})
    assert (status, edited["content"]) == (200, "first!")
    status, listed, _ = await client.call("GET", channel_path(emu), limit="10")
    assert [m["content"] for m in listed] == ["second", "first!"]  # newest first, as on Discord
    status, thread, _ = await client.call("POST", channel_path(emu) + f"/{second['id']}/threads", {"name": "talk"})
    assert (status, thread["id"], thread["parent_id"]) == (201, second["id"], str(emu.world.channel("news").id))
    status, body, _ = await client.call("POST", channel_path(emu) + f"/{second['id']}/threads", {"name": "again"})
    assert (status, body["code"]) == (400, 160004)
    status, _, _ = await client.call("POST", f"/channels/{thread['id']}/messages", {"content": "in thread"})
    assert status == 200
    status, _, _ = await client.call("DELETE", channel_path(emu) + f"/{first['id']}")
    assert status == 204
    assert [m.content for m in emu.messages_in("news")] == ["second"]
    assert [m.content for m in emu.messages_in(int(thread["id"]))] == ["in thread"]


async def test_channel_webhook_execute(emu: DiscordEmulator, client: Client) -> None:
    wid, token = emu.create_webhook("general", "Feeds")
    status, message, _ = await client.call("POST", f"/webhooks/{wid}/{token}", {"content": "from hook"}, wait="true")
    assert status == 200
    assert message["author"]["username"] == "Feeds"
    assert message["webhook_id"] == str(wid)
    status, _, _ = await client.call("POST", f"/webhooks/{wid}/wrong", {"content": "x"})
    assert status == 404


async def test_commands_bulk_overwrite_keeps_ids(emu: DiscordEmulator, client: Client) -> None:
    path = f"/applications/{emu.application_id}/guilds/{emu.guild_id}/commands"
    body = [{"name": "news", "description": "News.", "type": 1, "default_member_permissions": "8192"}]
    status, first, _ = await client.call("PUT", path, body)
    assert status == 200 and first[0]["guild_id"] == str(emu.guild_id)
    _, second, _ = await client.call("PUT", path, body)
    assert first[0]["id"] == second[0]["id"]
    _, listed, _ = await client.call("GET", path)
    assert [c["name"] for c in listed] == ["news"]
    status, body_err, _ = await client.call("PUT", path, [{"name": "News", "description": "d", "type": 1}])
    assert (status, body_err["code"]) == (400, 50035)
    global_path = f"/applications/{emu.application_id}/commands"
    status, glob, _ = await client.call("PUT", global_path, [{"name": "ping", "description": "Ping.", "type": 1}])
    assert status == 200 and "guild_id" not in glob[0]


def test_patch_points_discord_py_and_restores() -> None:
    import discord

    emu = DiscordEmulator(openapi=None, port=5555)
    before = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
    with emu.patched():
        assert discord.http.Route.BASE == "http://127.0.0.1:5555/api/v10"
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:5555/gateway"
    assert before == (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)


def test_loopback_only() -> None:
    with pytest.raises(ValueError):
        DiscordEmulator(host="0.0.0.0")


@pytest.mark.parametrize(
    "data",
    [None, {}, {"content": ""}, {"flags": EPHEMERAL, "tts": False}, {"content": "", "embeds": [], "components": []}],
)
async def test_empty_channel_message_response_is_50006(client: Client, emu: DiscordEmulator, data: Any) -> None:
    interaction = await new_interaction(emu)
    path = f"/interactions/{interaction.id}/{interaction.token}/callback"
    body: dict[str, Any] = {"type": 4} if data is None else {"type": 4, "data": data}
    status, answer, _ = await client.call("POST", path, body)
    assert (status, answer) == (400, {"message": "Cannot send an empty message", "code": 50006})
    # Refused, so not an acknowledgement: the bot can still answer properly.
    assert not interaction.acked and interaction.original_message_id is None
    status, _, _ = await client.call("POST", path, {"type": 4, "data": {"embeds": [{"title": "only an embed"}]}})
    assert status == 204 and interaction.acked


async def test_response_with_components_or_a_file_is_not_empty(client: Client, emu: DiscordEmulator) -> None:
    interaction = await new_interaction(emu)
    row = {"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "go"}]}
    status, _, _ = await client.call(
        "POST",
        f"/interactions/{interaction.id}/{interaction.token}/callback",
        {"type": 4, "data": {"components": [row]}},
    )
    assert status == 204
    interaction = await new_interaction(emu)
    form = aiohttp.FormData()
    form.add_field("payload_json", '{"type": 4, "data": {"attachments": [{"id": 0, "filename": "a.txt"}]}}')
    form.add_field("files[0]", b"hello", filename="a.txt")
    async with client.session.post(
        emu.api_base + f"/interactions/{interaction.id}/{interaction.token}/callback", data=form
    ) as resp:
        assert resp.status == 204


async def test_deferred_response_is_not_empty(client: Client, emu: DiscordEmulator) -> None:
    """Type 5 carries no message by design; only type 4 must have something to show."""
    interaction = await new_interaction(emu)
    status, _, _ = await client.call(
        "POST", f"/interactions/{interaction.id}/{interaction.token}/callback", {"type": 5}
    )
    assert status == 204


async def test_bad_urls_are_refused_over_http(client: Client, emu: DiscordEmulator) -> None:
    embed = {"title": "t", "url": "javascript:alert(1)", "image": {"url": "images/photo.jpg"}}
    status, body, _ = await client.call("POST", channel_path(emu), {"embeds": [embed]})
    assert (status, body["code"], body["message"]) == (400, 50035, "Invalid Form Body")
    assert body["errors"]["embeds"]["0"]["url"]["_errors"] == [
        {
            "code": "URL_TYPE_INVALID_SCHEME",
            "message": "Scheme \"javascript\" is not supported. Scheme must be one of ('http', 'https').",
        }
    ]
    assert body["errors"]["embeds"]["0"]["image"]["url"]["_errors"] == [
        {"code": "URL_TYPE_INVALID_URL", "message": "Not a well formed URL."}
    ]
    assert emu.messages_in("news") == [] and emu.rejections[-1].layer == "rules"
    good = {"title": "t", "url": "https://example.org/a", "image": {"url": "https://example.org/a.jpg"}}
    status, _, _ = await client.call("POST", channel_path(emu), {"embeds": [good]})
    assert status == 200
