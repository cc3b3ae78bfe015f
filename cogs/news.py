"""/news commands: latest headlines and the article card, with fuzzy autocomplete."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot.db.articles import ArticleRepository
from bot.errors import ArticleNotFound
from bot.news.format import shorten, strip_control
from bot.news.models import Article
from bot.news.search import HeadlineIndex
from cogs import render
from cogs.cards import article_card

if TYPE_CHECKING:
    from bot.client import NewsBot

log = logging.getLogger(__name__)

CHOICE_PREFIX = "#"
CHOICE_VALUE = re.compile(r"#(\d{1,18})", re.ASCII)
"""What an autocomplete choice sends back; anything else is free text."""
INDEX_CHECK_SECONDS = 2.0
"""How often autocomplete asks the store whether the headline list changed (new articles show up this fast)."""
ECHO_CHARS = 80


def has_words(text: str) -> bool:
    """Whether ``text`` has anything to search for: ``!!!``, ``*``, a lone quote or a NUL has not."""
    return any(ch.isalnum() for ch in text)


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
        text = strip_control(text).strip()
        chosen = CHOICE_VALUE.fullmatch(text)
        if chosen:
            article = await self.articles.get(int(chosen[1]))
            if article is None:
                raise ArticleNotFound("That article is no longer available. Pick another one.")
            return article
        match = (await self.headline_index()).best(text) if has_words(text) else None
        if match is None:
            # The tree's error handler renders this through cogs/render.py, so the echo is shown inert.
            raise ArticleNotFound(
                f"No article matches “{shorten(text, ECHO_CHARS)}”. Try other words, or /news latest."
            )
        article = await self.articles.get(match.article_id)
        if article is None:
            raise ArticleNotFound("That article is no longer available.")
        return article

    @app_commands.command(name="latest", description="Show the newest headlines.")
    @app_commands.describe(count="How many headlines to show (1-10, default 5).")
    async def latest(self, interaction: discord.Interaction, count: app_commands.Range[int, 1, 10] = 5) -> None:
        items = await self.articles.latest(count)
        if not items:
            raise ArticleNotFound("There are no articles yet. An operator can add some with newsbot ingest.")
        await render.headline_list(items).respond(interaction)

    @app_commands.command(name="headline", description="Find an article by its headline and show its card.")
    @app_commands.describe(query="Words from the headline; pick a suggestion or type your own.")
    async def headline(self, interaction: discord.Interaction, query: app_commands.Range[str, 1, 200]) -> None:
        article = await self.resolve(query)
        await article_card(article).respond(interaction)

    @headline.autocomplete("query")
    async def headline_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        if current.strip() and not has_words(current):
            return []
        index = await self.headline_index()
        return [
            app_commands.Choice(name=render.choice_name(m.title, m.article_id), value=f"{CHOICE_PREFIX}{m.article_id}")
            for m in index.search(current, limit=25)
        ]


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(News(articles=bot.store.articles))
