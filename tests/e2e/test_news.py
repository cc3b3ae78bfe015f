"""/news through the real discord.py client and the emulator, with the production extensions loaded."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.client import EXTENSIONS, NewsBot
from bot.news.loader import load_article_file
from bot.news.models import ParsedArticle
from bot.sandbox import DiscordEmulator, Driver
from tests.conftest import SEED

SEED_TITLE = "Trump-Putin Meeting Yields Success and Concession"


@pytest.fixture
def bot_extensions() -> list[str]:
    return list(EXTENSIONS)


@pytest.fixture
async def stocked(newsbot: NewsBot) -> dict[str, int]:
    ids = {SEED_TITLE: (await newsbot.store.articles.add(load_article_file(SEED).article)).article_id}
    extra = [
        ParsedArticle(
            "Council approves new bike lanes downtown",
            "The council voted 7-2 for twelve kilometres of protected lanes.\n\nWork starts in autumn.",
            author="Sam Lee",
            published=dt.date(2024, 5, 2),
            url="https://city.example/news/bike-lanes?utm_source=rss",
        ),
        ParsedArticle(
            "Storm [warning] for the *coast* @everyone",
            "Forecasters expect gusts of 120 km/h overnight.",
            published=dt.datetime(2024, 6, 1, 18, 30, tzinfo=dt.UTC),
            url="https://weather.example/storm",
        ),
    ]
    for article in extra:
        ids[article.title] = (await newsbot.store.articles.add(article)).article_id
    return ids


async def test_commands_are_synced_to_the_dev_guild(emulator: DiscordEmulator, driver: Driver) -> None:
    assert "news" in driver.visible_commands("reader")
    news = emulator.world.commands_for(emulator.guild_id)["news"]
    subcommands = {o["name"]: o for o in news.data["options"]}
    assert set(subcommands) == {"latest", "headline"}
    # Every command and option carries help text.
    assert all(o["description"] for o in subcommands.values())
    assert all(opt["description"] for o in subcommands.values() for opt in o.get("options", []))
    assert emulator.rejections == []


async def test_latest_lists_newest_first_with_links(driver: Driver, stocked: dict[str, int]) -> None:
    result = await driver.invoke("reader", "/news latest", {"count": 3})
    assert not result.ephemeral
    [embed] = result.embeds
    lines = embed["description"].splitlines()
    assert len(lines) == 3
    assert "Storm" in lines[0] and "https://weather.example/storm" in lines[0]
    assert "(https://city.example/news/bike-lanes?utm_source=rss)" in lines[1]
    assert SEED_TITLE in lines[2] and "7 Jul 2017" in lines[2]
    # Markdown and mass mentions from article titles are inert.
    assert "\\*coast\\*" in lines[0]
    assert result.allowed_mentions == {"parse": []}
    assert driver.rejections == []


async def test_latest_on_an_empty_store_is_a_clear_ephemeral_error(driver: Driver) -> None:
    result = await driver.invoke("reader", "/news latest")
    assert result.ephemeral
    assert "no articles yet" in result.content


async def test_autocomplete_then_headline_card(driver: Driver, stocked: dict[str, int]) -> None:
    suggestions = await driver.autocomplete("reader", "/news headline", "query", "trump putn")
    assert suggestions.choices, "a typo'd query must still find the article"
    first = suggestions.choices[0]
    assert first["name"] == SEED_TITLE
    assert len(suggestions.choices) <= 25 and all(len(c["name"]) <= 100 for c in suggestions.choices)

    card = await driver.invoke("reader", "/news headline", {"query": first["value"]})
    [embed] = card.embeds
    assert embed["title"] == SEED_TITLE
    assert embed["description"].startswith("Amid the backdrop of the G20 summit in Hamburg")
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Author"] == "Laurie Kotka"
    assert fields["Published"] == "7 Jul 2017"
    assert "REUTERS/Carlos Barria" in embed["footer"]["text"]
    assert driver.rejections == []


async def test_headline_free_text_uses_the_best_match_and_links_the_original(
    driver: Driver, stocked: dict[str, int]
) -> None:
    card = await driver.invoke("reader", "/news headline", {"query": "bike lanes"})
    [embed] = card.embeds
    assert embed["title"] == "Council approves new bike lanes downtown"
    assert embed["url"] == "https://city.example/news/bike-lanes?utm_source=rss"
    buttons = [c for row in card.components for c in row["components"]]
    assert [b["label"] for b in buttons] == ["Read the original"]


async def test_headline_without_a_match_is_ephemeral(driver: Driver, stocked: dict[str, int]) -> None:
    result = await driver.invoke("reader", "/news headline", {"query": "zzzzqqqq"})
    assert result.ephemeral
    assert "No article matches" in result.content
    empty = await driver.autocomplete("reader", "/news headline", "query", "zzzzqqqq")
    assert empty.choices == []


async def test_hostile_autocomplete_input_never_breaks(driver: Driver, stocked: dict[str, int]) -> None:
    for text in ['"', "NEAR(", "*", "\u0000\u202e", "x" * 100, ""]:
        result = await driver.autocomplete("reader", "/news headline", "query", text)
        assert result.error is None
    assert driver.rejections == []


async def test_hostile_headline_values_are_clear_errors(driver: Driver, stocked: dict[str, int]) -> None:
    for value in ["#²", "#99999999999999999999999", "#987654"]:
        result = await driver.invoke("reader", "/news headline", {"query": value})
        assert result.ephemeral, value
        assert "Something went wrong" not in result.content, value
    gone = await driver.invoke("reader", "/news headline", {"query": "#987654"})
    assert "no longer available" in gone.content


async def test_unsafe_urls_never_reach_discord(driver: Driver, newsbot: NewsBot) -> None:
    tricky = ParsedArticle(
        "Injected link story",
        "Body text of the story.",
        author="[Click me](https://phish.example)",
        url="https://news.example/a) **FREE NITRO** [claim here](https://phish.example/x",
        image_url="images/photo.jpg",
    )
    long_url = ParsedArticle(
        "Story with a very long tracking link",
        "Body.",
        url="https://news.example/story?" + "&".join(f"p{i}=tracking-value-{i}" for i in range(40)),
    )
    await newsbot.store.articles.add(tricky)
    await newsbot.store.articles.add(long_url)
    latest = await driver.invoke("reader", "/news latest")
    description = latest.embeds[0]["description"]
    assert "phish.example" not in description and "**FREE NITRO**" not in description
    card = await driver.invoke("reader", "/news headline", {"query": "Injected link story"})
    [embed] = card.embeds
    assert "url" not in embed and "image" not in embed
    assert embed["fields"][0]["value"].startswith("\\[Click me")  # an escaped bracket cannot open a masked link
    long_card = await driver.invoke("reader", "/news headline", {"query": "very long tracking link"})
    assert long_card.embeds[0]["url"].startswith("https://news.example/story?")
    assert long_card.components == []  # a link button would need a URL of at most 512 characters
    assert driver.rejections == []
