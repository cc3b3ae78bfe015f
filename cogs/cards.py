"""The article card and its persistent buttons: Summary, Read, and the reader's Previous/Next.

Each button is a discord.py ``DynamicItem``: everything it needs is in its custom id
(``newsbot:summary:<article_id>``, ``newsbot:read:<article_id>``, ``newsbot:read:<article_id>:<page>``), and the
classes are registered when this extension loads, so a click on a card posted before a restart still works.
The buttons do their work through the :class:`Cards` cog, which is given its collaborators explicitly.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Self

import discord
from discord.ext import commands

from bot.db.articles import ArticleRepository
from bot.errors import ArticleNotFound, NewsError
from bot.news.format import split_sentences, strip_control
from bot.news.models import Article
from bot.tree import GENERIC_ERROR, send_ephemeral
from cogs import render

if TYPE_CHECKING:
    from bot.client import NewsBot

log = logging.getLogger(__name__)

SUMMARY_SENTENCES = 3
SUMMARY_SCAN_CHARS = 20_000
_ARTICLE_ID = r"(?P<article_id>[0-9]{1,19})"
_PAGE = r"(?P<page>[0-9]{1,6})"

Button = discord.ui.Button[discord.ui.View]


def summary_sentences(article: Article) -> list[str]:
    """The sentences the Summary button shows: the one place the summariser plugs in (today, the lead)."""
    text = article.body if article.paragraphs else (article.summary or "")
    # The lead needs only the opening; a hostile 2 MB body is not split whole for three sentences.
    return split_sentences(" ".join(strip_control(text[:SUMMARY_SCAN_CHARS]).split()))[:SUMMARY_SENTENCES]


class SummaryButton(discord.ui.DynamicItem[Button], template=rf"newsbot:summary:{_ARTICLE_ID}"):
    """Shows the article's summary to the member who clicked, privately."""

    def __init__(self, article_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=render.SUMMARY_LABEL, style=discord.ButtonStyle.primary, custom_id=f"newsbot:summary:{article_id}"
            )
        )
        self.article_id = article_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["article_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _answer(interaction, self.custom_id, lambda cards: cards.show_summary(interaction, self.article_id))


class ReadButton(discord.ui.DynamicItem[Button], template=rf"newsbot:read:{_ARTICLE_ID}"):
    """Opens the full text, page 1, privately."""

    def __init__(self, article_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label=render.READ_LABEL, style=discord.ButtonStyle.secondary, custom_id=f"newsbot:read:{article_id}"
            )
        )
        self.article_id = article_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["article_id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _answer(interaction, self.custom_id, lambda cards: cards.open_reader(interaction, self.article_id))


class PageButton(discord.ui.DynamicItem[Button], template=rf"newsbot:read:{_ARTICLE_ID}:{_PAGE}"):
    """Previous or Next in the reader: turns the private message it is on to another page.

    The custom id carries the page it leads to, so Previous and Next on one message always differ.
    """

    def __init__(self, article_id: int, page: int, label: str = render.NEXT_LABEL, *, disabled: bool = False) -> None:
        super().__init__(
            discord.ui.Button(
                label=render.plain(label, render.BUTTON_LABEL_LIMIT),
                style=discord.ButtonStyle.secondary,
                custom_id=f"newsbot:read:{article_id}:{page}",
                disabled=disabled,
            )
        )
        self.article_id = article_id
        self.page = page

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> Self:
        return cls(int(match["article_id"]), int(match["page"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _answer(
            interaction, self.custom_id, lambda cards: cards.turn_page(interaction, self.article_id, self.page)
        )


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Button]], ...] = (SummaryButton, ReadButton, PageButton)


def card_items(article_id: int) -> list[discord.ui.Item[Any]]:
    """The card's own buttons, in order. The Share Your Thoughts button joins them here when comments land."""
    return [SummaryButton(article_id), ReadButton(article_id)]


def article_card(article: Article, *, ping_role_id: int | None = None) -> render.Rendered:
    """The one article card, for /news headline, announcements, summaries and comments alike."""
    return render.card_message(article, items=card_items(article.id), ping_role_id=ping_role_id)


def read_message(article: Article, page: int) -> render.Rendered:
    """Page ``page`` of the reader (clamped to the pages there are), with Previous/Next when there are several."""
    text_pages = render.read_pages(article)
    total = max(1, len(text_pages))
    page = min(max(1, page), total)
    items: list[discord.ui.Item[Any]] = []
    if total > 1:
        items = [
            PageButton(article.id, page - 1, render.PREVIOUS_LABEL, disabled=page == 1),
            PageButton(article.id, page + 1, render.NEXT_LABEL, disabled=page == total),
        ]
    return render.read_message(article, text_pages, page, items=items)


class Cards(commands.Cog):
    """What the card buttons do. The buttons find this cog through the bot; it holds the store."""

    def __init__(self, bot: commands.Bot, *, articles: ArticleRepository) -> None:
        self.bot = bot
        self.articles = articles

    async def cog_load(self) -> None:
        self.bot.add_dynamic_items(*DYNAMIC_ITEMS)

    async def cog_unload(self) -> None:
        self.bot.remove_dynamic_items(*DYNAMIC_ITEMS)

    async def article(self, article_id: int) -> Article:
        article = await self.articles.get(article_id)
        if article is None:
            raise ArticleNotFound("That article is no longer available.")
        return article

    async def show_summary(self, interaction: discord.Interaction[Any], article_id: int) -> None:
        article = await self.article(article_id)
        await render.summary_message(article, summary_sentences(article)).respond(interaction, ephemeral=True)

    async def open_reader(self, interaction: discord.Interaction[Any], article_id: int) -> None:
        await read_message(await self.article(article_id), 1).respond(interaction, ephemeral=True)

    async def turn_page(self, interaction: discord.Interaction[Any], article_id: int, page: int) -> None:
        await read_message(await self.article(article_id), page).replace(interaction)


def _cards(interaction: discord.Interaction[Any]) -> Cards | None:
    client = interaction.client
    cog = client.get_cog(Cards.__cog_name__) if isinstance(client, commands.Bot) else None
    return cog if isinstance(cog, Cards) else None


async def _answer(
    interaction: discord.Interaction[Any], custom_id: str, work: Callable[[Cards], Awaitable[None]]
) -> None:
    """Run a button's work; a domain error becomes a private reply, anything else is logged for the operators.

    Component clicks do not pass through the command tree's error handler, so this is their equivalent.
    """
    cards = _cards(interaction)
    try:
        if cards is None:
            raise NewsError("This button is not available right now. Please try again in a moment.")
        await work(cards)
        return
    except NewsError as error:
        reply = render.notice_text(str(error))
    except Exception:
        log.exception(
            "Button %s failed (guild %s, channel %s, user %s)",
            custom_id,
            interaction.guild_id,
            interaction.channel_id,
            interaction.user.id,
        )
        reply = GENERIC_ERROR
    try:
        await send_ephemeral(interaction, reply)
    except discord.HTTPException:
        log.warning("Could not deliver the error reply for button %s", custom_id, exc_info=True)


async def setup(bot: NewsBot) -> None:
    await bot.add_cog(Cards(bot, articles=bot.store.articles))
