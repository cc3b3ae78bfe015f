"""The article card's persistent buttons through the real discord.py client and the emulator, restarts included."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot.client import EXTENSIONS, NewsBot
from bot.db.store import open_store
from bot.news.loader import load_article_file
from bot.news.models import Article, ParsedArticle
from bot.sandbox import DiscordEmulator, Driver
from bot.sandbox.driver import InteractionResult
from cogs import cards, render
from tests.conftest import SEED
from tests.markup import is_invisible, live_markup, pings, shown_text, strings


@pytest.fixture
def bot_extensions() -> list[str]:
    return list(EXTENSIONS)


LONG_BODY = "\n\n".join(
    f"Paragraph {n} opens here. " + " ".join(f"Sentence {n}.{i} carries the story further along." for i in range(40))
    for n in range(1, 7)
)


@contextlib.asynccontextmanager
async def another_bot(emulator: DiscordEmulator, old: NewsBot) -> AsyncIterator[NewsBot]:
    """A new bot process, as after a restart: its own store connection to the same file, nothing in memory."""
    settings = old.settings
    async with open_store(settings.store_target) as store:
        bot = NewsBot(settings=settings, store=store, extensions=list(EXTENSIONS), guild_ready_timeout=0.05)
        runner = asyncio.create_task(bot.start(settings.token.get()), name="newsbot-restarted")
        try:
            await asyncio.wait_for(bot.wait_until_ready(), 10.0)
            yield bot
        finally:
            await bot.close()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(runner, 5.0)


async def stop(bot: NewsBot) -> None:
    await bot.close()
    await asyncio.sleep(0.05)


def assert_inert(result: InteractionResult) -> None:
    assert pings(result.content, result.allowed_mentions) == set()
    for embed in result.embeds:
        assert live_markup(embed.get("title", "")) == []
        assert live_markup(embed.get("description", "")) == []
    for text in strings([result.content, result.embeds, result.components]):
        assert not any(is_invisible(ch) for ch in text), text


async def card_for(driver: Driver, query: str) -> InteractionResult:
    card = await driver.invoke("reader", "/news headline", {"query": query})
    assert not card.ephemeral and card.embeds, card.content
    return card


async def test_card_buttons_carry_persistent_ids(driver: Driver, newsbot: NewsBot) -> None:
    article_id = (await newsbot.store.articles.add(load_article_file(SEED).article)).article_id
    card = await card_for(driver, "trump putin meeting")
    ids = [b.get("custom_id") for b in card.buttons()]
    assert ids == [f"newsbot:summary:{article_id}", f"newsbot:read:{article_id}"]  # the seed has no link
    assert all(len(i) <= 100 for i in ids if i)
    assert driver.rejections == []


async def test_summary_is_private_and_leads_with_the_opening(driver: Driver, newsbot: NewsBot) -> None:
    await newsbot.store.articles.add(load_article_file(SEED).article)
    card = await card_for(driver, "trump putin meeting")
    summary = await driver.click("reader", render.SUMMARY_LABEL, message=card.message)
    assert summary.error is None and summary.ephemeral
    [embed] = summary.embeds
    lines = embed["description"].splitlines()
    assert 1 <= len(lines) <= cards.SUMMARY_SENTENCES
    assert lines[0].startswith("• Amid the backdrop of the G20 summit in Hamburg")
    assert embed["title"] == "Trump-Putin Meeting Yields Success and Concession"
    assert embed["footer"]["text"].startswith("Summary · ")
    assert_inert(summary)
    # Only the member who clicked sees it; the channel still has just the card.
    assert card.message is not None
    assert [m.id for m in driver.messages() if not m.ephemeral] == [card.message.id]
    assert driver.rejections == []


async def test_read_pages_forward_and_back_in_place(driver: Driver, newsbot: NewsBot) -> None:
    await newsbot.store.articles.add(ParsedArticle("A very long report", LONG_BODY, url="https://news.example/long"))
    card = await card_for(driver, "very long report")
    reader = await driver.click("reader", render.READ_LABEL, message=card.message)
    assert reader.ephemeral and reader.message is not None
    [embed] = reader.embeds
    total = int(embed["footer"]["text"].split(" of ")[1].split(" ")[0])
    assert total >= 3
    assert embed["footer"]["text"].startswith(f"Page 1 of {total}")
    assert shown_text(embed["description"]).startswith("Paragraph 1 opens here.")
    previous, following = reader.buttons()
    assert previous["label"] == render.PREVIOUS_LABEL and previous.get("disabled")
    assert following["label"] == render.NEXT_LABEL and not following.get("disabled")

    seen = [shown_text(embed["description"])]
    for page in range(2, total + 1):
        turned = await driver.click("reader", render.NEXT_LABEL, message=reader.message)
        assert turned.error is None
        assert turned.message is not None and turned.message.id == reader.message.id  # edited, not a new message
        [embed] = turned.embeds
        assert embed["footer"]["text"].startswith(f"Page {page} of {total}")
        seen.append(shown_text(embed["description"]))
    last = driver.find_component("reader", label=render.NEXT_LABEL, message=reader.message)[1]
    assert last.get("disabled")
    # Every word of the article, once, in order.
    assert " ".join(" ".join(seen).split()) == " ".join(LONG_BODY.split())

    back = await driver.click("reader", render.PREVIOUS_LABEL, message=reader.message)
    assert back.embeds[0]["footer"]["text"].startswith(f"Page {total - 1} of {total}")
    assert all(len(e.get("description", "")) <= render.DESCRIPTION_LIMIT for e in back.embeds)
    assert driver.rejections == []


async def test_a_short_article_reads_on_one_page_without_pager(driver: Driver, newsbot: NewsBot) -> None:
    await newsbot.store.articles.add(ParsedArticle("Short note on the weather", "Sunny. Warm later."))
    card = await card_for(driver, "short note weather")
    reader = await driver.click("reader", render.READ_LABEL, message=card.message)
    assert reader.embeds[0]["footer"]["text"].startswith("Page 1 of 1")
    assert reader.buttons() == []


async def test_buttons_work_after_the_bot_restarts(driver: Driver, emulator: DiscordEmulator, newsbot: NewsBot) -> None:
    await newsbot.store.articles.add(ParsedArticle("A very long report", LONG_BODY, url="https://news.example/long"))
    card = await card_for(driver, "very long report")
    reader = await driver.click("reader", render.READ_LABEL, message=card.message)
    assert reader.embeds[0]["footer"]["text"].startswith("Page 1 of ")

    await stop(newsbot)
    async with another_bot(emulator, newsbot):
        # Messages sent by the previous process: their buttons still dispatch, by custom id alone.
        summary = await driver.click("reader", render.SUMMARY_LABEL, message=card.message)
        assert summary.error is None and summary.ephemeral
        assert summary.embeds[0]["description"].startswith("• Paragraph 1 opens here.")
        fresh = await driver.click("reader", render.READ_LABEL, message=card.message)
        assert fresh.error is None and fresh.embeds[0]["footer"]["text"].startswith("Page 1 of ")
        turned = await driver.click("reader", render.NEXT_LABEL, message=reader.message)
        assert turned.error is None
        assert turned.embeds[0]["footer"]["text"].startswith("Page 2 of ")
    assert driver.rejections == []


async def test_hostile_article_buttons_stay_inert(driver: Driver, newsbot: NewsBot) -> None:
    body = (
        "<@&42> @everyone **Read this** [now](http://evil.example/phish) \u202eevil.\n\n"
        "- item\n> quote\n\n# heading <#7> ||spoiler||. " + "More words here. " * 400
    )
    await newsbot.store.articles.add(ParsedArticle("Hostile @here story ||x||", body, url="http://169.254.169.254/x"))
    card = await card_for(driver, "hostile here story")
    assert_inert(card)
    assert [b["label"] for b in card.buttons()] == [render.SUMMARY_LABEL, render.READ_LABEL]  # no private link
    summary = await driver.click("reader", render.SUMMARY_LABEL, message=card.message)
    assert_inert(summary)
    reader = await driver.click("reader", render.READ_LABEL, message=card.message)
    assert_inert(reader)
    assert shown_text(reader.embeds[0]["description"]).startswith("<@&42> @everyone **Read this** [now](")
    turned = await driver.click("reader", render.NEXT_LABEL, message=reader.message)
    assert_inert(turned)
    assert driver.rejections == []


# The emulator's OpenAPI check wants snowflakes as strings, but discord.py sends allowed_mentions.roles as integers
# (which Discord accepts), so this one test runs on the emulator's hand-written rules only.
@pytest.mark.parametrize("emulator_options", [{"openapi": None}])
async def test_cards_sent_to_a_channel_ping_only_the_configured_role(driver: Driver, newsbot: NewsBot) -> None:
    stored = await newsbot.store.articles.add(
        ParsedArticle("Storm warning @everyone <@&1>", "Gusts of 120 km/h tonight.", url="https://weather.example/a")
    )
    article = await newsbot.store.articles.get(stored.article_id)
    assert article is not None
    channel = newsbot.get_channel(driver.channel().id)
    assert channel is not None and hasattr(channel, "send")
    role_id = driver.world.moderator_role.id
    sent = await channel.send(**cards.article_card(article, ping_role_id=role_id).send_kwargs())
    message = driver.world.messages[sent.id]
    assert message.content == f"<@&{role_id}>"
    assert pings(message.content, message.allowed_mentions) == {f"role:{role_id}"}
    plain = await channel.send(**cards.article_card(article).send_kwargs())
    assert pings(driver.world.messages[plain.id].content, driver.world.messages[plain.id].allowed_mentions) == set()
    # The buttons of a card sent this way (as announcements will) work like the command's.
    summary = await driver.click("reader", render.SUMMARY_LABEL, message=plain.id)
    assert summary.embeds[0]["description"] == "• Gusts of 120 km/h tonight."
    assert driver.rejections == []


async def test_a_card_for_a_vanished_article_says_so_privately(driver: Driver, newsbot: NewsBot) -> None:
    gone = Article(
        id=987654,
        identity="sha256:gone",
        title="Withdrawn story",
        body="It was here.",
        author=None,
        published=dt.date(2024, 1, 1),
        caption=None,
        url=None,
        image_url=None,
        site_name=None,
        source_id=None,
        ingested_at=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
    )
    channel = newsbot.get_channel(driver.channel().id)
    assert channel is not None and hasattr(channel, "send")
    sent = await channel.send(**cards.article_card(gone).send_kwargs())
    for label in (render.SUMMARY_LABEL, render.READ_LABEL):
        result = await driver.click("reader", label, message=sent.id)
        assert result.ephemeral and result.content == "That article is no longer available."
    assert driver.rejections == []
