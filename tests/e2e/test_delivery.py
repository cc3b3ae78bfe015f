"""The sender through the real client and the emulator, on every backend: once per row, whatever happens."""

from __future__ import annotations

import asyncio

import pytest

from bot.client import NewsBot
from bot.db.deliveries import NewDelivery
from bot.sandbox import DiscordEmulator, FaultStatus
from cogs.delivery import Sender

CREATE = "POST /channels/{channel_id}/messages"


@pytest.fixture
def bot_extensions() -> list[str]:
    return ["cogs.delivery", "delivery_ext"]


def sender_of(bot: NewsBot) -> Sender:
    assert bot.sender is not None
    return bot.sender


async def queue(bot: NewsBot, emulator: DiscordEmulator, *items: tuple[int, str]) -> None:
    rows = [
        NewDelivery("notice", subject, guild_id=emulator.guild_id, channel_id=emulator.world.channel(where).id)
        for subject, where in items
    ]
    await bot.store.deliveries.enqueue(rows)
    sender_of(bot).wake()


async def settled(bot: NewsBot, emulator: DiscordEmulator, within: float = 10.0) -> None:
    async def done() -> bool:
        counts = await bot.store.deliveries.counts()
        return not counts.get("pending") and all(
            d.status != "failed" or d.due_at is None for d in await bot.store.deliveries.for_subject("notice", 1)
        )

    for _ in range(int(within / 0.05)):
        if await done():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"deliveries did not settle: {await bot.store.deliveries.counts()}")


def texts(emulator: DiscordEmulator, channel: str) -> list[str]:
    return [m.content for m in emulator.messages_in(channel)]


async def test_each_row_is_posted_once_with_its_nonce_and_pings_nobody(
    newsbot: NewsBot, emulator: DiscordEmulator
) -> None:
    await queue(newsbot, emulator, (1, "news"), (1, "general"), (2, "news"))
    await queue(newsbot, emulator, (1, "news"))  # queued again: still one row
    await settled(newsbot, emulator)
    assert sorted(texts(emulator, "news")) == ["notice 1 @everyone", "notice 2 @everyone"]
    assert texts(emulator, "general") == ["notice 1 @everyone"]
    assert all(m.pinged_nobody for m in emulator.messages_in("news"))
    rows = await newsbot.store.deliveries.for_subject("notice", 1)
    assert {r.status for r in rows} == {"sent"} and all(r.message_id for r in rows)
    posted = emulator.requests_to("POST", CREATE)
    assert all(r.body.get("nonce", "").startswith("newsbot-") and r.body.get("enforce_nonce") for r in posted)


async def test_a_send_whose_answer_was_lost_is_not_posted_twice(newsbot: NewsBot, emulator: DiscordEmulator) -> None:
    # Discord creates the message but the answer is lost (a 500 after processing): the retry carries the same nonce,
    # so Discord answers with the first message instead of posting another.
    emulator.script(CREATE, FaultStatus(500, after_processing=True))
    await queue(newsbot, emulator, (1, "news"))
    [row] = await newsbot.store.deliveries.for_subject("notice", 1)
    for _ in range(200):
        row = (await newsbot.store.deliveries.for_subject("notice", 1))[0]
        if row.status == "sent":
            break
        if row.status == "failed":
            await newsbot.store.deliveries.retry([row.id])  # don't wait out the backoff
            sender_of(newsbot).wake()
        import asyncio

        await asyncio.sleep(0.05)
    assert row.status == "sent"
    assert texts(emulator, "news") == ["notice 1 @everyone"]


async def test_a_missing_permission_or_deleted_channel_is_the_handlers_to_handle(
    newsbot: NewsBot, emulator: DiscordEmulator
) -> None:
    await emulator.set_overwrite("general", "newsbot", deny=["send_messages"])
    doomed = await emulator.add_channel("doomed")
    await emulator.delete_channel(doomed.id)
    await newsbot.store.deliveries.enqueue(
        [
            NewDelivery("notice", 1, emulator.guild_id, emulator.world.channel("general").id),
            NewDelivery("notice", 1, emulator.guild_id, doomed.id),
        ]
    )
    sender_of(newsbot).wake()
    await settled(newsbot, emulator)
    rows = {r.channel_id: r for r in await newsbot.store.deliveries.for_subject("notice", 1)}
    general = rows[emulator.world.channel("general").id]
    assert (general.status, general.reason) == ("skipped", "missing_permission") and "Send Messages" in (
        general.detail or ""
    )
    assert (rows[doomed.id].status, rows[doomed.id].reason) == ("skipped", "channel_deleted")
    reasons = sorted(r for _, r, _ in newsbot.notice_handler.unreachable_reasons)  # type: ignore[attr-defined]
    assert reasons == ["channel_deleted", "missing_permission"]
    assert texts(emulator, "general") == []


async def test_a_forum_gets_one_named_post(newsbot: NewsBot, emulator: DiscordEmulator) -> None:
    await queue(newsbot, emulator, (7, "forum"))
    await settled(newsbot, emulator)
    [row] = await newsbot.store.deliveries.for_subject("notice", 7)
    assert row.status == "sent" and row.thread_id is not None
    thread = emulator.world.channel(row.thread_id)
    assert thread.name == "Notice 7" and [m.content for m in emulator.messages_in(thread.id)] == ["notice 7 @everyone"]


async def test_a_skip_from_render_is_recorded_and_nothing_is_posted(
    newsbot: NewsBot, emulator: DiscordEmulator
) -> None:
    newsbot.notice_handler.skip_subjects.add(3)  # type: ignore[attr-defined]
    await queue(newsbot, emulator, (3, "news"))
    await settled(newsbot, emulator)
    [row] = await newsbot.store.deliveries.for_subject("notice", 3)
    assert (row.status, row.reason) == ("skipped", "filtered")
    assert texts(emulator, "news") == []
