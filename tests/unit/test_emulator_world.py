"""Roles, mentions, channel types, permissions and overwrites, deleting channels, and what the gateway tells the bot
about them: the emulator over plain aiohttp (REST) and a plain websocket client (gateway)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.sandbox import DiscordEmulator, Driver, DriverError
from bot.sandbox.gateway import GUILD_MESSAGES, GUILDS, MESSAGE_CONTENT
from bot.sandbox.mentions import resolve_mentions
from bot.sandbox.state import ANNOUNCEMENT, ANNOUNCEMENT_THREAD, FORUM, PUBLIC_THREAD


class Client:
    def __init__(self, emu: DiscordEmulator, session: aiohttp.ClientSession) -> None:
        self.emu = emu
        self.session = session

    async def call(self, method: str, path: str, body: Any = None, **query: str) -> tuple[int, Any]:
        headers = {"Authorization": f"Bot {self.emu.token}"}
        url = self.emu.api_base + path
        async with self.session.request(method, url, json=body, headers=headers, params=query or None) as resp:
            return resp.status, (await resp.json(content_type=None) if resp.status != 204 else None)

    def cid(self, name: str) -> int:
        return self.emu.world.channel(name).id

    async def post(self, channel: str | int, body: Any) -> tuple[int, Any]:
        cid = channel if isinstance(channel, int) else self.cid(channel)
        return await self.call("POST", f"/channels/{cid}/messages", body)


class GatewayClient:
    """A bare gateway client: IDENTIFY with chosen intents and collect the dispatch events."""

    def __init__(self, emu: DiscordEmulator, session: aiohttp.ClientSession, intents: int) -> None:
        self.emu, self.session, self.intents = emu, session, intents
        self.events: list[dict[str, Any]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> GatewayClient:
        self.ws = await self.session.ws_connect(self.emu.gateway_url)
        hello = await self.ws.receive_json()
        assert hello["op"] == 10
        await self.ws.send_json({"op": 2, "d": {"token": self.emu.token, "intents": self.intents, "properties": {}}})
        self._task = asyncio.create_task(self._read())
        await self.wait_for("GUILD_CREATE")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.ws.close()
        if self._task is not None:
            await self._task

    async def _read(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                frame = json.loads(msg.data)
                if frame["op"] == 0:
                    self.events.append(frame)

    def of(self, name: str) -> list[dict[str, Any]]:
        return [e["d"] for e in self.events if e["t"] == name]

    async def wait_for(self, name: str, count: int = 1) -> list[dict[str, Any]]:
        for _ in range(200):
            if len(self.of(name)) >= count:
                return self.of(name)
            await asyncio.sleep(0.01)
        raise AssertionError(f"no {name} event; got {[e['t'] for e in self.events]}")


@pytest.fixture
async def emu() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator(openapi=None, rate_limits=False) as emulator:
        yield emulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def client(emu: DiscordEmulator, session: aiohttp.ClientSession) -> Client:
    return Client(emu, session)


# ---- the sandbox world ----------------------------------------------------------------------------------------


async def test_default_world_has_the_sandbox_channels_roles_and_members(emu: DiscordEmulator, client: Client) -> None:
    kinds = {c.name: c.type for c in emu.world.guild.channels.values()}
    assert kinds == {"news": 0, "general": 0, "announcements": ANNOUNCEMENT, "forum": FORUM}
    assert {"reader", "moderator", "owner", "newsbot"} <= {m.name for m in emu.world.guild.members.values()}
    moderator = emu.permissions_of("moderator", "news")
    assert moderator & emu.permission_bits(["manage_messages", "manage_guild"]) == emu.permission_bits(
        ["manage_messages", "manage_guild"]
    )
    assert not emu.permissions_of("reader", "news") & emu.permission_bits(["manage_messages"])
    status, roles = await client.call("GET", f"/guilds/{emu.guild_id}/roles")
    assert status == 200
    by_name = {r["name"]: r for r in roles}
    assert {"@everyone", "newsbot", "Moderator", "news-alerts"} <= set(by_name)
    assert by_name["@everyone"]["id"] == str(emu.guild_id)
    assert by_name["newsbot"]["managed"] and by_name["newsbot"]["tags"] == {"bot_id": str(emu.world.bot_user.id)}
    assert by_name["news-alerts"]["mentionable"] is True


async def test_guild_create_carries_roles_and_channel_types(
    emu: DiscordEmulator, session: aiohttp.ClientSession
) -> None:
    async with GatewayClient(emu, session, GUILDS) as gw:
        [guild] = gw.of("GUILD_CREATE")
    assert {r["name"] for r in guild["roles"]} >= {"@everyone", "news-alerts", "Moderator"}
    forum = next(c for c in guild["channels"] if c["name"] == "forum")
    assert forum["type"] == FORUM and forum["available_tags"] == []


# ---- mentions -----------------------------------------------------------------------------------------------


def mentions_of(message: dict[str, Any]) -> tuple[list[str], list[str], bool]:
    return [u["username"] for u in message["mentions"]], message["mention_roles"], message["mention_everyone"]


async def test_channel_message_mentions_follow_allowed_mentions(emu: DiscordEmulator, client: Client) -> None:
    reader = emu.world.member("reader").id
    alerts = emu.world.role("news-alerts").id
    moderators = emu.world.role("Moderator").id
    content = f"@everyone <@{reader}> <@&{alerts}> <@&{moderators}>"
    # No allowed_mentions on a channel message: users, roles and everyone are parsed. The bot lacks Mention
    # Everyone, so @everyone and the unmentionable Moderator role ping no one; the mentionable role does.
    _, message = await client.post("news", {"content": content})
    assert mentions_of(message) == (["reader"], [str(alerts)], False)
    _, message = await client.post("news", {"content": content, "allowed_mentions": {"parse": []}})
    assert mentions_of(message) == ([], [], False)
    _, message = await client.post("news", {"content": content, "allowed_mentions": {"roles": [str(alerts)]}})
    assert mentions_of(message) == ([], [str(alerts)], False)
    # An id that is not in the content pings no one.
    _, message = await client.post("news", {"content": "hi", "allowed_mentions": {"users": [str(reader)]}})
    assert mentions_of(message) == ([], [], False)
    stored = emu.messages_in("news")
    assert [m.pinged_nobody for m in stored] == [False, True, False, True]


async def test_embeds_never_ping_and_mention_everyone_needs_the_permission(
    emu: DiscordEmulator, client: Client
) -> None:
    embed = {"title": "@everyone", "description": f"<@{emu.world.member('reader').id}>"}
    _, message = await client.post("news", {"content": "news", "embeds": [embed]})
    assert mentions_of(message) == ([], [], False)
    await emu.update_role("newsbot", permissions=[*emu_permissions(emu), "mention_everyone"])
    _, message = await client.post("news", {"content": "@here now"})
    assert message["mention_everyone"] is True
    moderators = emu.world.role("Moderator").id
    _, message = await client.post("news", {"content": f"<@&{moderators}>"})
    assert message["mention_roles"] == [str(moderators)], "Mention Everyone may ping any role"


def emu_permissions(emu: DiscordEmulator) -> list[str]:
    from bot.sandbox.permissions import permission_names

    return permission_names(emu.world.role("newsbot").permissions)


async def test_parse_and_ids_together_are_refused(emu: DiscordEmulator, client: Client) -> None:
    reader = emu.world.member("reader").id
    status, body = await client.post(
        "news", {"content": f"<@{reader}>", "allowed_mentions": {"parse": ["users"], "users": [str(reader)]}}
    )
    assert (status, body["code"]) == (400, 50035)
    [error] = body["errors"]["allowed_mentions"]["_errors"]
    assert error["code"] == "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"
    # An empty list is accepted (the docs say so).
    status, _ = await client.post("news", {"content": "x", "allowed_mentions": {"parse": ["users"], "users": []}})
    assert status == 200


async def test_interaction_responses_parse_users_only_by_default(emu: DiscordEmulator, client: Client) -> None:
    reader = emu.world.member("reader").id
    alerts = emu.world.role("news-alerts").id
    interaction = await emu.create_interaction(
        2, emu.world.member("reader"), emu.world.channel("news"), {"id": "1", "name": "x", "type": 1}
    )
    path = f"/interactions/{interaction.id}/{interaction.token}/callback"
    status, answer = await client.call(
        "POST", path, {"type": 4, "data": {"content": f"<@{reader}> <@&{alerts}> @everyone"}}, with_response="1"
    )
    assert status == 200
    assert mentions_of(answer["resource"]["message"]) == (["reader"], [], False)


def test_replies_ping_their_author_unless_told_not_to() -> None:
    def ping(allowed: Any) -> list[int]:
        body: dict[str, Any] = {"content": "thanks"}
        if allowed is not None:
            body["allowed_mentions"] = allowed
        return resolve_mentions(
            body,
            default_parse=("users", "roles", "everyone"),
            is_user=lambda uid: True,
            role_pingable=lambda rid: True,
            may_mention_everyone=False,
            replied_user_id=42,
        ).users

    assert ping(None) == [42]
    assert ping({"parse": []}) == []
    assert ping({"parse": [], "replied_user": True}) == [42]


def test_zero_width_character_breaks_a_mention() -> None:
    found = resolve_mentions(
        {"content": "@\u200beveryone and <@\u200b123>"},
        default_parse=("users", "roles", "everyone"),
        is_user=lambda uid: True,
        role_pingable=lambda rid: True,
        may_mention_everyone=True,
    )
    assert (found.users, found.roles, found.everyone) == ([], [], False)


# ---- channel types: announcement, forum, threads ------------------------------------------------------------


async def test_announcement_channel_takes_messages_and_announcement_threads(
    emu: DiscordEmulator, client: Client
) -> None:
    status, message = await client.post("announcements", {"content": "Big news"})
    assert status == 200
    cid = client.cid("announcements")
    status, thread = await client.call("POST", f"/channels/{cid}/messages/{message['id']}/threads", {"name": "Talk"})
    assert status == 201 and thread["type"] == ANNOUNCEMENT_THREAD and thread["id"] == message["id"]


async def test_forum_post_is_a_named_thread_with_its_starter_message(
    emu: DiscordEmulator, client: Client, session: aiohttp.ClientSession
) -> None:
    forum = client.cid("forum")
    status, body = await client.post("forum", {"content": "not here"})
    assert (status, body["code"]) == (400, 50008)
    async with GatewayClient(emu, session, GUILDS | GUILD_MESSAGES) as gw:
        status, post = await client.call(
            "POST",
            f"/channels/{forum}/threads",
            {"name": "Trump-Putin meeting", "message": {"content": "The card", "embeds": [{"title": "T"}]}},
        )
        assert status == 201
        assert (
            post["type"] == PUBLIC_THREAD and post["parent_id"] == str(forum) and post["name"] == "Trump-Putin meeting"
        )
        assert post["message"]["id"] == post["id"] and post["message"]["channel_id"] == post["id"]
        [created] = await gw.wait_for("THREAD_CREATE")
        [starter] = await gw.wait_for("MESSAGE_CREATE")
    assert created["id"] == post["id"] and starter["id"] == post["id"]
    assert [m.content for m in emu.messages_in(int(post["id"]))] == ["The card"]
    # Named by the caller, at most 100 characters; a post needs its message.
    status, body = await client.call(
        "POST", f"/channels/{forum}/threads", {"name": "x" * 101, "message": {"content": "y"}}
    )
    assert (status, body["code"]) == (400, 50035) and "name" in body["errors"]
    status, body = await client.call("POST", f"/channels/{forum}/threads", {"name": "No message"})
    assert (status, body["code"]) == (400, 50035) and "message" in body["errors"]
    status, _ = await client.post(int(post["id"]), {"content": "a reply in the post"})
    assert status == 200


async def test_threads_without_a_message(emu: DiscordEmulator, client: Client) -> None:
    news = client.cid("news")
    status, thread = await client.call("POST", f"/channels/{news}/threads", {"name": "Side talk", "type": 11})
    assert status == 201 and thread["type"] == PUBLIC_THREAD
    status, _ = await client.post(int(thread["id"]), {"content": "in the thread"})
    assert status == 200
    status, body = await client.call("POST", f"/channels/{thread['id']}/threads", {"name": "nested", "type": 11})
    assert (status, body["code"]) == (400, 50024)


# ---- permissions and overwrites -----------------------------------------------------------------------------


async def test_bot_permissions_are_enforced(emu: DiscordEmulator, client: Client) -> None:
    news = client.cid("news")
    await emu.set_overwrite("news", "newsbot", deny=["send_messages"])
    status, body = await client.post("news", {"content": "x"})
    assert (status, body["code"], body["message"]) == (403, 50013, "Missing Permissions")
    await emu.set_overwrite("news", "newsbot", deny=["view_channel"])
    status, body = await client.post("news", {"content": "x"})
    assert (status, body["code"], body["message"]) == (403, 50001, "Missing Access")
    status, body = await client.call("GET", f"/channels/{news}")
    assert (status, body["code"]) == (403, 50001)
    await emu.set_overwrite("news", "newsbot")  # nothing allowed or denied: the overwrite is removed
    assert (await client.post("news", {"content": "back"}))[0] == 200


async def test_embed_links_missing_drops_embeds_or_refuses_an_embed_only_message(
    emu: DiscordEmulator, client: Client
) -> None:
    await emu.set_overwrite("news", "@everyone", deny=["embed_links"])
    await emu.set_overwrite("news", "newsbot", deny=["embed_links"])
    status, message = await client.post("news", {"content": "text stays", "embeds": [{"title": "dropped"}]})
    assert status == 200 and message["content"] == "text stays" and message["embeds"] == []
    status, body = await client.post("news", {"embeds": [{"title": "only an embed"}]})
    assert (status, body["code"]) == (403, 50013)


async def test_thread_permissions(emu: DiscordEmulator, client: Client) -> None:
    news = client.cid("news")
    _, starter = await client.post("news", {"content": "start"})
    await emu.set_overwrite("news", "@newsbot", deny=["create_public_threads"])
    status, body = await client.call("POST", f"/channels/{news}/messages/{starter['id']}/threads", {"name": "t"})
    assert (status, body["code"]) == (403, 50013)
    await emu.set_overwrite("news", "@newsbot", deny=["send_messages"])
    status, thread = await client.call("POST", f"/channels/{news}/messages/{starter['id']}/threads", {"name": "t"})
    assert status == 201
    # Send Messages is not inherited by threads; Send Messages in Threads is what counts there.
    assert (await client.post(int(thread["id"]), {"content": "ok"}))[0] == 200
    await emu.set_overwrite("news", "@newsbot", deny=["send_messages_in_threads"])
    status, body = await client.post(int(thread["id"]), {"content": "no"})
    assert (status, body["code"]) == (403, 50013)


async def test_manage_messages_to_delete_others(emu: DiscordEmulator, client: Client) -> None:
    driver = Driver(emu)
    said = await driver.say("reader", "hello")
    news = client.cid("news")
    await emu.set_member_roles("newsbot", [])  # the bot loses its role (and Manage Messages with it)
    status, body = await client.call("DELETE", f"/channels/{news}/messages/{said.id}")
    assert (status, body["code"]) == (403, 50013)
    await emu.set_member_roles("newsbot", ["newsbot"])
    assert (await client.call("DELETE", f"/channels/{news}/messages/{said.id}"))[0] == 204


async def test_reading_history_needs_read_message_history(emu: DiscordEmulator, client: Client) -> None:
    await client.post("news", {"content": "one"})
    news = client.cid("news")
    await emu.set_overwrite("news", "newsbot", deny=["read_message_history"])
    assert await client.call("GET", f"/channels/{news}/messages") == (200, [])


async def test_permission_changes_reach_the_gateway(emu: DiscordEmulator, session: aiohttp.ClientSession) -> None:
    async with GatewayClient(emu, session, GUILDS) as gw:
        await emu.set_overwrite("news", "newsbot", deny=["embed_links"])
        [update] = await gw.wait_for("CHANNEL_UPDATE")
        [overwrite] = update["permission_overwrites"]
        assert overwrite == {
            "id": str(emu.world.bot_user.id),
            "type": 1,
            "allow": "0",
            "deny": str(emu.permission_bits(["embed_links"])),
        }
        await emu.update_role("news-alerts", mentionable=False)
        [role] = await gw.wait_for("GUILD_ROLE_UPDATE")
        assert role["role"]["name"] == "news-alerts" and role["role"]["mentionable"] is False
        await emu.set_member_roles("newsbot", ["newsbot", "news-alerts"])
        await emu.set_member_roles("reader", ["news-alerts"])
        [member] = await gw.wait_for("GUILD_MEMBER_UPDATE")
    # Without the members intent only the bot's own member update arrives (events/gateway.mdx, "Caveats").
    assert member["user"]["id"] == str(emu.world.bot_user.id) and len(member["roles"]) == 2


async def test_message_content_needs_the_intent_unless_the_bot_is_mentioned(
    emu: DiscordEmulator, session: aiohttp.ClientSession
) -> None:
    driver = Driver(emu)
    async with GatewayClient(emu, session, GUILDS | GUILD_MESSAGES) as gw:
        await driver.say("reader", "plain words")
        await driver.say("reader", f"<@{emu.world.bot_user.id}> hello bot")
        events = await gw.wait_for("MESSAGE_CREATE", 2)
    assert [e["content"] for e in events] == ["", f"<@{emu.world.bot_user.id}> hello bot"]
    async with GatewayClient(emu, session, GUILDS | GUILD_MESSAGES | MESSAGE_CONTENT) as gw:
        await driver.say("reader", "plain words")
        [event] = await gw.wait_for("MESSAGE_CREATE")
    assert event["content"] == "plain words"


# ---- deleting a channel -------------------------------------------------------------------------------------


async def test_deleted_channel_is_unknown_afterwards(
    emu: DiscordEmulator, client: Client, session: aiohttp.ClientSession
) -> None:
    general = client.cid("general")
    await client.post("general", {"content": "before"})
    async with GatewayClient(emu, session, GUILDS) as gw:
        await emu.delete_channel("general")
        [deleted] = await gw.wait_for("CHANNEL_DELETE")
    assert deleted["id"] == str(general)
    status, body = await client.post(general, {"content": "after"})
    assert (status, body["code"], body["message"]) == (404, 10003, "Unknown Channel")
    assert [m.content for m in emu.messages_in(general)] == ["before"], "its messages stay for inspection"
    # The route: the bot deleting a channel needs Manage Channels.
    news = client.cid("news")
    status, body = await client.call("DELETE", f"/channels/{news}")
    assert (status, body["code"]) == (403, 50013)
    await emu.update_role("newsbot", permissions=[*emu_permissions(emu), "manage_channels"])
    status, body = await client.call("DELETE", f"/channels/{news}")
    assert status == 200 and body["id"] == str(news)
    assert (await client.call("GET", f"/channels/{news}"))[0] == 404


# ---- options as a member types them ----------------------------------------------------------------------


def option_spec(kind: int, **extra: Any) -> dict[str, Any]:
    return {"name": "value", "type": kind, "description": "d", **extra}


@pytest.mark.parametrize(
    ("kind", "extra", "given", "message"),
    [
        (4, {}, "3.5", "value must be a whole number, not '3.5'."),
        (4, {}, 3.5, "value must be a whole number, not 3.5."),
        (4, {}, True, "value must be a whole number, not True."),
        (4, {"min_value": 1, "max_value": 10}, 11, "value must be between 1 and 10."),
        (4, {"min_value": 1}, 0, "value must be at least 1."),
        (10, {}, "nan", "value must be a number, not 'nan'."),
        (10, {"max_value": 2.5}, 3, "value must be at most 2.5."),
        (3, {"max_length": 5}, "toolong", "value must be at most 5 characters. (got 7)"),
        (5, {}, "maybe", "value must be true or false, not 'maybe'."),
    ],
)
def test_option_values_the_client_refuses(kind: int, extra: dict[str, Any], given: Any, message: str) -> None:
    from bot.sandbox.driver import convert_bool, convert_scalar

    with pytest.raises(DriverError) as info:
        convert_bool("value", given) if kind == 5 else convert_scalar(option_spec(kind, **extra), given)
    assert str(info.value) == message


def test_option_values_the_client_accepts() -> None:
    from bot.sandbox.driver import convert_scalar

    assert convert_scalar(option_spec(4), "3") == 3
    assert convert_scalar(option_spec(4), 3.0) == 3
    assert convert_scalar(option_spec(10), "2.5") == 2.5
    choices = [{"name": "CSV", "value": "csv"}, {"name": "JSON", "value": "json"}]
    assert convert_scalar(option_spec(3, choices=choices), "JSON") == "json"
    with pytest.raises(DriverError, match="must be one of: CSV, JSON"):
        convert_scalar(option_spec(3, choices=choices), "xml")
