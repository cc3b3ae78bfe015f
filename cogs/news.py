"""/news commands: latest headlines and the article card, with fuzzy autocomplete."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import discord
from discord import app_commands
from discord.ext import commands

from bot.db.articles import ArticleRepository
from bot.errors import ArticleNotFound
from bot.news.format import markdown_link_target, paragraphs_within, shorten, web_url
from bot.news.models import Article
from bot.news.search import HeadlineIndex

if TYPE_CHECKING:
    from bot.client import NewsBot

log = logging.getLogger(__name__)

CARD_BODY_CHARS = 1500
"""The card shows the opening of the article; the full text is a click away."""
EMBED_COLOUR = discord.Colour.from_rgb(0x2B, 0x6C, 0xB0)
CHOICE_PREFIX = "#"
CHOICE_VALUE = re.compile(r"#(\d{1,18})", re.ASCII)
"""What an autocomplete choice sends back; anything else is free text."""
LINK_BUTTON_URL_MAX = 512
INDEX_CHECK_SECONDS = 2.0
"""How often autocomplete asks the store whether the headline list changed (new articles show up this fast)."""


def format_published(article: Article) -> str | None:
    value = article.published
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return discord.utils.format_dt(value, "D")
    return f"{value.day} {value:%b %Y}"


def source_label(article: Article) -> str:
    if article.site_name:
        return article.site_name
    if article.url:
        return urlsplit(article.url).hostname or article.url
    return "newsbot library"


def headline_line(rank: int, article: Article) -> str:
    # Square brackets in a title would end the masked link early.
    title = discord.utils.escape_markdown(shorten(article.title, 150)).replace("[", "(").replace("]", ")")
    url = web_url(article.url)
    linked = f"[{title}]({markdown_link_target(url)})" if url else f"**{title}**"
    when = format_published(article)
    return f"**{rank}.** {linked}" + (f" · {when}" if when else "")


def latest_embed(articles: list[Article]) -> discord.Embed:
    embed = discord.Embed(title="Latest headlines", colour=EMBED_COLOUR)
    lines: list[str] = []
    used = 0
    for rank, article in enumerate(articles, start=1):
        line = headline_line(rank, article)
        if used + len(line) + 1 > 4000:
            break
        lines.append(line)
        used += len(line) + 1
    embed.description = "\n".join(lines)
    embed.set_footer(text=f"{len(lines)} article{'s' if len(lines) != 1 else ''} · use /news headline to open one")
    return embed


def article_card(article: Article) -> discord.Embed:
    embed = discord.Embed(
        title=shorten(article.title, 256) or "(untitled)",
        url=web_url(article.url),
        description=discord.utils.escape_markdown(paragraphs_within(article.paragraphs, CARD_BODY_CHARS)),
        colour=EMBED_COLOUR,
    )
    if article.author:
        embed.add_field(name="Author", value=discord.utils.escape_markdown(shorten(article.author, 256)))
    when = format_published(article)
    if when:
        embed.add_field(name="Published", value=when)
    image = web_url(article.image_url)
    if image:
        embed.set_image(url=image)
    footer = f"Source: {source_label(article)}"
    if article.caption:
        footer += f" · Photo: {article.caption}"
    embed.set_footer(text=shorten(footer, 2048))
    return embed


def card_view(article: Article) -> discord.ui.View | None:
    url = web_url(article.url, max_length=LINK_BUTTON_URL_MAX)
    if url is None:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(discord.ui.Button(label="Read the original", url=url, style=discord.ButtonStyle.link))
    return view


class News(commands.GroupCog, group_name="news", group_description="Browse the news the bot has collected."):
    """Headlines and article cards."""

    def __init__(self, *, articles: ArticleRepository) -> None:
        self.articles = articles
        self._index = HeadlineIndex()
        self._index_revision: tuple[int, int] | None = None
        self._index_checked = -INDEX_CHECK_SECONDS
        # One rebuild at a time: a burst of keystrokes right after an ingest must not rebuild once per key.
        self._index_lock = asyncio.Lock()

    async def headline_index(self) -> HeadlineIndex:
        async with self._index_lock:
            now = time.monotonic()
            if now - self._index_checked < INDEX_CHECK_SECONDS:
                return self._index
            revision = await self.articles.revision()
            if revision != self._index_revision:
                titles = await self.articles.titles()
                self._index = await asyncio.to_thread(HeadlineIndex, titles)
                self._index_revision = revision
            self._index_checked = time.monotonic()
            return self._index

    async def resolve(self, text: str) -> Article:
        """An autocomplete choice (``#<id>``) or free text, which means the best-matching headline."""
        text = text.strip()
        chosen = CHOICE_VALUE.fullmatch(text)
        if chosen:
            article = await self.articles.get(int(chosen[1]))
            if article is None:
                raise ArticleNotFound("That article is no longer available. Pick another one.")
            return article
        match = (await self.headline_index()).best(text)
        if match is None:
            raise ArticleNotFound(f"No article matches “{shorten(text, 80)}”. Try other words, or /news latest.")
        article = await self.articles.get(match.article_id)
        if article is None:
            raise ArticleNotFound("That article is no longer available.")
        return article

    @app_commands.command(name="latest", description="Show the newest headlines.")
    @app_commands.describe(count="How many headlines to show (1-10, default 5).")
    async def latest(self, interaction: discord.Interaction, count: app_commands.Range[int, 1, 10] = 5) -> None:
        items = await self.articles.latest(count)
        if not items:
            raise ArticleNotFound("There are no articles yet. An operator can add some with `newsbot ingest`.")
        await interaction.response.send_message(embed=latest_embed(items))

    @app_commands.command(name="headline", description="Find an article by its headline and show its card.")
    @app_commands.describe(query="Words from the headline; pick a suggestion or type your own.")
    async def headline(self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 200]) -> None:
        article = await self.resolve(query)
        view = card_view(article)
        if view is None:
            await interaction.response.send_message(embed=article_card(article))
        else:
            await interaction.response.send_message(embed=article_card(article), view=view)

    @headline.autocomplete("query")
    async def headline_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        index = await self.headline_index()
        return [
            app_commands.Choice(
                name=shorten(m.title, 100) or f"(untitled #{m.article_id})", value=f"{CHOICE_PREFIX}{m.article_id}"
            )
            for m in index.search(current, limit=25)
        ]


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(News(articles=bot.store.articles))
