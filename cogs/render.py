"""The one renderer: every embed, line, button label and choice name that newsbot shows in Discord is built here.

Feed and member text is never trusted. Wherever Discord formats text (message content, embed titles,
descriptions and fields) it goes through :func:`bot.news.format.escape_markdown`, so it shows verbatim: no
formatting, no masked links or autolinks, no mention pills. Where Discord shows text as it is (footers, author
names, button labels, autocomplete choices) it is filtered and cut but not escaped, since a backslash would show
there. Links and link buttons only ever point at public http(s) addresses (:func:`bot.news.format.web_url`).
Every message leaves here within Discord's limits, the 6000-character total across its embeds included, and
with ``allowed_mentions`` that pings nobody unless a moderator configured a role to ping.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import discord

from bot.news.format import (
    ELLIPSIS,
    cut,
    display_date,
    escape_within,
    escaped_length,
    link_label,
    markdown_link_target,
    opening,
    pages,
    shorten,
    strip_control,
    web_url,
)
from bot.news.models import Article

# Discord's limits (GUIDE §4, shared/notes/discord-emulator.md §5).
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELDS_LIMIT = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
EMBED_TOTAL_LIMIT = 6000
EMBEDS_LIMIT = 10
CONTENT_LIMIT = 2000
BUTTON_LABEL_LIMIT = 80
CUSTOM_ID_LIMIT = 100
LINK_BUTTON_URL_LIMIT = 512
COMPONENTS_LIMIT = 25
CHOICE_NAME_LIMIT = 100

EMBED_COLOUR = discord.Colour.from_rgb(0x2B, 0x6C, 0xB0)
CARD_DESCRIPTION_CHARS = 1500
"""The card shows the opening of the article; the full text is one click away."""
READ_PAGE_CHARS = 3500
"""A page of the reader: under the 4096 description limit, leaving the 6000 total room for title and footer."""
READ_PAGES_LIMIT = 50
"""Nobody pages through more in Discord, and the split stops there: one click stays cheap on a 2 MB article."""
READ_MORE = "… The article goes on; the original has the rest."
HEADLINE_TITLE_CHARS = 150

HEADLINES_CHARS = 4000

SUMMARY_LABEL = "Summary"
READ_LABEL = "Read"
ORIGINAL_LABEL = "Read the original"
PREVIOUS_LABEL = "Previous"
NEXT_LABEL = "Next"
UNTITLED = "(untitled)"
LIBRARY = "newsbot library"


# --------------------------------------------------------------------------------------------------------
# Text for each kind of place.
# --------------------------------------------------------------------------------------------------------


def formatted(text: str | None, limit: int) -> str:
    """Feed or member text on one line, for a place where Discord formats text (titles, field names, lists)."""
    return escape_within(text or "", limit)


def formatted_block(text: str | None, limit: int) -> str:
    """Feed or member text with its line breaks, for descriptions, field values and message content."""
    return escape_within(text or "", limit, one_line=False)


def plain(text: str | None, limit: int) -> str:
    """Text for a place that Discord shows as it is (footer, author name, button label, choice name)."""
    return shorten(strip_control(text or ""), limit)


def notice_text(text: str) -> str:
    """A reply line (an error, a notice) that may echo what a member typed: every part of it is inert."""
    return formatted_block(text, CONTENT_LIMIT)


def choice_name(title: str | None, article_id: int) -> str:
    """An autocomplete choice for an article: its title, never empty."""
    return plain(title, CHOICE_NAME_LIMIT) or f"{UNTITLED} #{article_id}"


def source_label(article: Article) -> str:
    if article.site_name and (name := plain(article.site_name, 100)):
        return name
    url = web_url(article.url)
    return (urlsplit(url).hostname or LIBRARY) if url else LIBRARY


# --------------------------------------------------------------------------------------------------------
# Messages.
# --------------------------------------------------------------------------------------------------------


def mentions(ping_role_id: int | None = None) -> discord.AllowedMentions:
    """Nobody, or the one role a moderator configured to be pinged."""
    if ping_role_id is None:
        return discord.AllowedMentions.none()
    return discord.AllowedMentions(
        everyone=False, users=False, roles=[discord.Object(id=ping_role_id)], replied_user=False
    )


@dataclass(frozen=True, slots=True)
class Rendered:
    """One message, ready to send or to put in place of another; build it with :func:`message`."""

    content: str | None = None
    embeds: tuple[discord.Embed, ...] = ()
    view: discord.ui.View | None = None
    allowed_mentions: discord.AllowedMentions = field(default_factory=discord.AllowedMentions.none)

    def send_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Messageable.send``, ``InteractionResponse.send_message`` or a follow-up."""
        kwargs: dict[str, Any] = {"allowed_mentions": self.allowed_mentions}
        if self.content:
            kwargs["content"] = self.content
        if self.embeds:
            kwargs["embeds"] = list(self.embeds)
        if self.view is not None:
            kwargs["view"] = self.view
        return kwargs

    def payload(self) -> dict[str, Any]:
        """What Discord receives, as JSON-ready data (for checks and logs)."""
        return {
            "content": self.content or "",
            "embeds": [embed.to_dict() for embed in self.embeds],
            "components": self.view.to_components() if self.view is not None else [],
            "allowed_mentions": self.allowed_mentions.to_dict(),
        }

    async def respond(self, interaction: discord.Interaction, *, ephemeral: bool = False) -> None:
        """Answer ``interaction`` with this message, or follow up if it was already acknowledged."""
        if interaction.response.is_done():
            await interaction.followup.send(ephemeral=ephemeral, **self.send_kwargs())
        else:
            await interaction.response.send_message(ephemeral=ephemeral, **self.send_kwargs())

    async def replace(self, interaction: discord.Interaction) -> None:
        """Answer a component interaction by editing the message the component is on into this one."""
        await interaction.response.edit_message(
            content=self.content,
            embeds=list(self.embeds),
            view=self.view,
            allowed_mentions=self.allowed_mentions,
        )


def _fit_embed(embed: discord.Embed) -> None:
    # The builders already keep to these; this is the last line of defence for every embed that leaves.
    if embed.title:
        embed.title = cut(embed.title, TITLE_LIMIT)
    if embed.description:
        embed.description = cut(embed.description, DESCRIPTION_LIMIT)
    if embed.author.name:
        embed.set_author(
            name=cut(embed.author.name, AUTHOR_LIMIT), url=embed.author.url, icon_url=embed.author.icon_url
        )
    if embed.footer.text:
        embed.set_footer(text=cut(embed.footer.text, FOOTER_LIMIT), icon_url=embed.footer.icon_url)
    fields = embed.fields[:FIELDS_LIMIT]
    if not fields:
        return
    embed.clear_fields()
    for item in fields:
        name = cut(item.name or "", FIELD_NAME_LIMIT) or "\u00ad"
        value = cut(item.value or "", FIELD_VALUE_LIMIT) or "\u00ad"
        embed.add_field(name=name, value=value, inline=bool(item.inline))


def _fit_total(embeds: list[discord.Embed]) -> None:
    """Cut the longest descriptions to one common length, so that all embeds together are within Discord's 6000."""
    while embeds and sum(len(e) for e in embeds) - sum(len(e.description or "") for e in embeds) > EMBED_TOTAL_LIMIT:
        embeds.pop()  # titles and fields alone are too long: never reached by the builders, never sent invalid
    lengths = [len(e.description or "") for e in embeds]
    room = EMBED_TOTAL_LIMIT - (sum(len(e) for e in embeds) - sum(lengths))
    if sum(lengths) <= room:
        return
    low, high = 0, max(lengths)
    while low < high:  # the highest common length that fits
        level = (low + high + 1) // 2
        if sum(min(n, level) for n in lengths) <= room:
            low = level
        else:
            high = level - 1
    for embed, length in zip(embeds, lengths, strict=True):
        if length > low:
            embed.description = cut(embed.description or "", low) or None


def _view(items: Sequence[discord.ui.Item[Any]]) -> discord.ui.View | None:
    if not items:
        return None
    view = discord.ui.View(timeout=None)
    for item in items[:COMPONENTS_LIMIT]:
        view.add_item(item)
    # The view only lays the buttons out. Its buttons are DynamicItems registered once by cogs/cards.py (or link
    # buttons), so clicks are dispatched by custom id, after restarts too. A stopped view is not stored per
    # message by discord.py, and does not start the 15-minute timeout task it gives ephemeral views.
    view.stop()
    return view


def message(
    *,
    content: str | None = None,
    embeds: Sequence[discord.Embed] = (),
    items: Sequence[discord.ui.Item[Any]] = (),
    allowed_mentions: discord.AllowedMentions | None = None,
) -> Rendered:
    """The one way a message is assembled: limits enforced, buttons laid out, mentions default to nobody."""
    fitted = list(embeds)[:EMBEDS_LIMIT]
    for embed in fitted:
        _fit_embed(embed)
    _fit_total(fitted)
    return Rendered(
        content=cut(content, CONTENT_LIMIT) if content else None,
        embeds=tuple(fitted),
        view=_view(items),
        allowed_mentions=allowed_mentions or discord.AllowedMentions.none(),
    )


def notice(text: str) -> Rendered:
    """A plain reply (usually ephemeral) whose text may echo member input."""
    return message(content=notice_text(text) or ELLIPSIS)


def link_button(url: str | None, label: str = ORIGINAL_LABEL) -> discord.ui.Button[discord.ui.View] | None:
    """A button that opens ``url`` in the browser, or None if ``url`` is not a public http(s) link that fits."""
    target = web_url(url, max_length=LINK_BUTTON_URL_LIMIT)
    if target is None:
        return None
    return discord.ui.Button(label=plain(label, BUTTON_LABEL_LIMIT), url=target, style=discord.ButtonStyle.link)


# --------------------------------------------------------------------------------------------------------
# Articles.
# --------------------------------------------------------------------------------------------------------


def _split_lazily(text: str, separator: str) -> Iterator[str]:
    """``text.split(separator)``, one part at a time (``Article.paragraphs`` splits a 2 MB body at once)."""
    start = 0
    while (end := text.find(separator, start)) >= 0:
        yield text[start:end]
        start = end + len(separator)
    yield text[start:]


def _clean_prefix(text: str, budget: int) -> str:
    """``strip_control(text)``, or a filtered prefix of it longer than ``budget`` (the filter is per character, so
    filtering piecewise is the same as filtering whole)."""
    out = ""
    for start in range(0, len(text), budget + 1):
        out += strip_control(text[start : start + budget + 1])
        if len(out.strip()) > budget:
            break
    return out


def _paragraphs(article: Article, budget: int | None = None) -> Iterator[str]:
    """The article's paragraphs through the one filter, lazily, so a cut that stops early never filters the rest;
    with ``budget``, each is clipped to what that many characters could show."""
    found = False
    for paragraph in _split_lazily(article.body, "\n\n"):
        if clean := (strip_control(paragraph) if budget is None else _clean_prefix(paragraph, budget)).strip():
            found = True
            yield clean
    if not found and (summary := strip_control(article.summary or "").strip()):
        yield summary


def _article_embed(article: Article, *, description: str | None = None) -> discord.Embed:
    return discord.Embed(
        title=formatted(article.title, TITLE_LIMIT) or UNTITLED,
        url=web_url(article.url),
        description=description or None,
        colour=EMBED_COLOUR,
    )


def headline_line(rank: int, article: Article) -> str:
    """``**1.** [Title](url) · 7 Jul 2017``: the only formatting in it is the bot's own."""
    url = web_url(article.url)
    if url:
        shown = f"[{link_label(article.title, HEADLINE_TITLE_CHARS) or UNTITLED}]({markdown_link_target(url)})"
    else:
        shown = f"**{formatted(article.title, HEADLINE_TITLE_CHARS) or UNTITLED}**"
    when = display_date(article.published)
    return f"**{rank}.** {shown}" + (f" · {when}" if when else "")


def headline_list(articles: Sequence[Article]) -> Rendered:
    """The /news latest list: newest first, as many as fit."""
    lines: list[str] = []
    used = 0
    for rank, article in enumerate(articles, start=1):
        line = headline_line(rank, article)
        if used + len(line) + 1 > HEADLINES_CHARS:
            break
        lines.append(line)
        used += len(line) + 1
    embed = discord.Embed(title="Latest headlines", description="\n".join(lines), colour=EMBED_COLOUR)
    embed.set_footer(text=f"{len(lines)} article{'s' if len(lines) != 1 else ''} · use /news headline to open one")
    return message(embeds=[embed])


def card_embed(article: Article) -> discord.Embed:
    """The article card: title linked to the original, the opening sentences, author, date, source, photo."""
    head = list(itertools.islice(_paragraphs(article, CARD_DESCRIPTION_CHARS), CARD_DESCRIPTION_CHARS // 2))
    lead = opening(head, CARD_DESCRIPTION_CHARS, measure=escaped_length)
    embed = _article_embed(article, description=formatted_block(lead, DESCRIPTION_LIMIT))
    if article.author and (author := formatted(article.author, FIELD_VALUE_LIMIT)):
        embed.add_field(name="Author", value=author)
    if when := display_date(article.published):
        embed.add_field(name="Published", value=when)
    if image := web_url(article.image_url):
        embed.set_image(url=image)
    footer = f"Source: {source_label(article)}"
    if article.caption and (caption := plain(article.caption, FOOTER_LIMIT)):
        footer += f" · Photo: {caption}"
    embed.set_footer(text=plain(footer, FOOTER_LIMIT))
    return embed


def card_message(
    article: Article,
    *,
    items: Sequence[discord.ui.Item[Any]] = (),
    ping_role_id: int | None = None,
) -> Rendered:
    """The card with ``items`` (its persistent buttons) and the link to the original; with ``ping_role_id`` the
    message pings that role, and nobody else."""
    buttons = list(items)
    if original := link_button(article.url):
        buttons.append(original)
    return message(
        content=f"<@&{ping_role_id}>" if ping_role_id is not None else None,
        embeds=[card_embed(article)],
        items=buttons,
        allowed_mentions=mentions(ping_role_id),
    )


def summary_message(article: Article, sentences: Sequence[str]) -> Rendered:
    """An article's summary: its sentences as a bulleted list, with the title linked to the original."""
    lines: list[str] = []
    used = 0
    for sentence in sentences:
        # "•" is not list syntax in Discord, so the bullets stay the bot's own and the sentences stay inert.
        line = "• " + formatted(sentence, DESCRIPTION_LIMIT - 2)
        if lines and used + 1 + len(line) > DESCRIPTION_LIMIT:
            break
        lines.append(line)
        used += len(line) + 1
    embed = _article_embed(article, description="\n".join(lines) or "This article has no text to summarise.")
    embed.set_footer(text=plain(f"Summary · {source_label(article)}", FOOTER_LIMIT))
    return message(embeds=[embed])


def read_pages(article: Article) -> list[str]:
    """The article's full text in pages that each fit one embed once escaped, at most :data:`READ_PAGES_LIMIT`;
    when the text goes on beyond them, the last page says so."""
    text_pages, complete = pages(
        _paragraphs(article), READ_PAGE_CHARS, measure=escaped_length, max_pages=READ_PAGES_LIMIT
    )
    if not complete:
        text_pages[-1] += "\n\n" + READ_MORE
    return text_pages


def read_message(
    article: Article,
    text_pages: Sequence[str],
    page: int,
    *,
    items: Sequence[discord.ui.Item[Any]] = (),
) -> Rendered:
    """Page ``page`` (1-based) of ``text_pages`` from :func:`read_pages`, with ``items`` (the pager buttons)."""
    total = max(1, len(text_pages))
    page = min(max(1, page), total)
    text = text_pages[page - 1] if text_pages else "This article has no text."
    embed = _article_embed(article, description=formatted_block(text, DESCRIPTION_LIMIT))
    embed.set_footer(text=plain(f"Page {page} of {total} · {source_label(article)}", FOOTER_LIMIT))
    return message(embeds=[embed], items=items)
