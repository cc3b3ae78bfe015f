"""/news through the real discord.py client and the emulator, with the production extensions loaded."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.client import EXTENSIONS, NewsBot
from bot.news.loader import load_article_file
from bot.news.models import ParsedArticle
from bot.sandbox import DiscordEmulator, Driver
from bot.sandbox.driver import InteractionResult
from tests.conftest import SEED
from tests.markup import is_invisible, live_markup, pings, shown_text, strings

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
    assert "\\*coast\\*" in lines[0] and "\\@everyone" in lines[0]
    assert "(warning)" in lines[0]  # brackets inside a link label would end it early
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
    # The opening stops at a sentence end and says that more follows.
    assert embed["description"].endswith(". …")
    assert "positive chemistry." in embed["description"]
    assert driver.rejections == []


async def test_headline_free_text_uses_the_best_match_and_links_the_original(
    driver: Driver, stocked: dict[str, int]
) -> None:
    card = await driver.invoke("reader", "/news headline", {"query": "bike lanes"})
    [embed] = card.embeds
    assert embed["title"] == "Council approves new bike lanes downtown"
    assert embed["url"] == "https://city.example/news/bike-lanes?utm_source=rss"
    buttons = [c for row in card.components for c in row["components"]]
    assert [b["label"] for b in buttons] == ["Summary", "Read", "Read the original"]
    assert buttons[2]["url"] == "https://city.example/news/bike-lanes?utm_source=rss"


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
    # A link button would need a URL of at most 512 characters: only the card's own buttons remain.
    assert [b["label"] for b in long_card.buttons()] == ["Summary", "Read"]
    assert driver.rejections == []


HOSTILE_TITLE = (
    "<@&42> <@123> <@!123> <#7> </news latest:1> ||spoiler|| **bold** __under__ `code` "
    "[here](http://evil.example/phish) @everyone @here \u202eevil\u2066 https://evil.example/x"
)


def assert_payload_inert(result: InteractionResult) -> None:
    """Nothing in what the member received can ping, link elsewhere, format or hide text."""
    assert pings(result.content, result.allowed_mentions) == set()
    texts = [result.content]
    for embed in result.embeds:
        texts.append(embed.get("title", ""))
        texts.extend(f["value"] for f in embed.get("fields", []))
    for text in texts:
        assert live_markup(text) == [], text
    for text in strings([result.content, result.embeds, result.components]):
        assert not any(is_invisible(ch) for ch in text), text
    assert "evil.example" not in str([e.get("url") for e in result.embeds])


async def test_hostile_title_shows_no_pill_and_pings_nobody(driver: Driver, newsbot: NewsBot) -> None:
    await newsbot.store.articles.add(
        ParsedArticle(
            HOSTILE_TITLE,
            "- item one\n> quote\n\n# Heading\n\n<@&42> pinged @everyone. Then [more](http://evil.example).",
            author="**Mal** <@1>",
            url="https://news.example/hostile",
        )
    )
    latest = await driver.invoke("reader", "/news latest")
    assert_payload_inert(latest)
    [line] = latest.embeds[0]["description"].splitlines()
    label = line.split("[", 1)[1].rsplit("](", 1)[0]
    assert live_markup(label) == []
    assert "||spoiler|| **bold**" in shown_text(label) and "(here)(http://evil.example/phish)" in shown_text(label)
    assert line.endswith("(https://news.example/hostile)")

    card = await driver.invoke("reader", "/news headline", {"query": "spoiler bold under code"})
    assert not card.ephemeral
    assert_payload_inert(card)
    [embed] = card.embeds
    assert shown_text(embed["title"]).startswith("<@&42> <@123> <@!123> <#7> </news latest:1> ||spoiler|| **bold**")
    assert embed["url"] == "https://news.example/hostile"
    assert live_markup(embed["description"]) == []
    assert shown_text(embed["description"]).startswith("- item one\n> quote\n\n# Heading")
    assert card.allowed_mentions == {"parse": []}
    assert driver.rejections == []


async def test_latest_uses_one_date_format(driver: Driver, stocked: dict[str, int]) -> None:
    result = await driver.invoke("reader", "/news latest")
    lines = result.embeds[0]["description"].splitlines()
    # A datetime, a calendar date and another calendar date, all written the same way.
    assert lines[0].endswith(" · 1 Jun 2024")
    assert lines[1].endswith(" · 2 May 2024")
    assert lines[2].endswith(" · 7 Jul 2017")


async def test_private_entry_links_are_never_shown(driver: Driver, newsbot: NewsBot) -> None:
    for n, url in enumerate(["http://169.254.169.254/latest", "http://10.0.0.1/a", "http://[::1]/b", "http://0x7f.1/"]):
        await newsbot.store.articles.add(
            ParsedArticle(f"Internal story number{n}", "Body.", url=url, image_url=url + "/img.png")
        )
    latest = await driver.invoke("reader", "/news latest", {"count": 10})
    description = latest.embeds[0]["description"]
    for host in ("169.254.169.254", "10.0.0.1", "::1", "0x7f.1"):
        assert host not in description
    for n in range(4):
        card = await driver.invoke("reader", "/news headline", {"query": f"Internal story number{n}"})
        [embed] = card.embeds
        assert "url" not in embed and "image" not in embed
        assert [b["label"] for b in card.buttons()] == ["Summary", "Read"]


async def test_queries_without_words_match_nothing_privately(driver: Driver, stocked: dict[str, int]) -> None:
    for query in ["!!!", "*", "-", '"', "\u0000", "** __"]:
        result = await driver.invoke("reader", "/news headline", {"query": query})
        assert result.ephemeral, query
        assert "No article matches" in result.content, query
        suggestions = await driver.autocomplete("reader", "/news headline", "query", query)
        assert suggestions.choices == [], query
    assert driver.messages() == []  # nothing was posted publicly


async def test_no_match_reply_echoes_the_query_inert(driver: Driver, stocked: dict[str, int]) -> None:
    query = "zzqx **bold** <@&42> @everyone [a](http://evil.example) ||s|| \u202e"
    result = await driver.invoke("reader", "/news headline", {"query": query})
    assert result.ephemeral
    assert live_markup(result.content) == []
    assert "“zzqx **bold** <@&42> @everyone [a](http://evil.example) ||s||”" in shown_text(result.content)
    assert "\u202e" not in result.content
    assert pings(result.content, result.allowed_mentions) == set()
