"""A test-only extension: commands that exercise the emulator's enforcement paths through real discord.py.

Loaded by the e2e fixtures with ``NewsBot(extensions=[...])``; never shipped.
"""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands
from discord.ext import commands

log = logging.getLogger(__name__)

FRUITS = [f"{name} {i}" for i in range(1, 6) for name in ("apple", "banana", "cherry", "damson", "elderberry", "fig")]


class CommentModal(discord.ui.Modal, title="Share Your Thoughts"):
    comment: discord.ui.TextInput[CommentModal] = discord.ui.TextInput(
        label="Comment", style=discord.TextStyle.paragraph, max_length=4000
    )

    def __init__(self, article_id: int) -> None:
        super().__init__(custom_id=f"testcmds:modal:{article_id}")
        self.article_id = article_id

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            f"Thanks for your comment on {self.article_id}: {self.comment.value}", ephemeral=True
        )


class LabelModal(discord.ui.Modal, title="Report"):
    """The Label layout (type 18) that the docs recommend over action rows."""

    def __init__(self) -> None:
        super().__init__(custom_id="testcmds:report")
        self.reason: discord.ui.TextInput[LabelModal] = discord.ui.TextInput(max_length=200)
        self.add_item(discord.ui.Label(text="Reason", component=self.reason))

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"Reported: {self.reason.value}", ephemeral=True)


class CardView(discord.ui.View):
    def __init__(self, article_id: int) -> None:
        super().__init__(timeout=None)
        self.article_id = article_id
        share: discord.ui.Button[CardView] = discord.ui.Button(
            label="Share Your Thoughts", custom_id=f"testcmds:thoughts:{article_id}", style=discord.ButtonStyle.primary
        )
        share.callback = self.share  # type: ignore[method-assign]
        self.add_item(share)
        count: discord.ui.Button[CardView] = discord.ui.Button(label="Count", custom_id=f"testcmds:count:{article_id}")
        count.callback = self.count  # type: ignore[method-assign]
        self.add_item(count)
        later: discord.ui.Button[CardView] = discord.ui.Button(label="Later", custom_id=f"testcmds:later:{article_id}")
        later.callback = self.later  # type: ignore[method-assign]
        self.add_item(later)
        self.clicks = 0

    async def share(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(CommentModal(self.article_id))

    async def later(self, interaction: discord.Interaction) -> None:
        # Type 6: acknowledge now, edit the card afterwards through @original.
        await interaction.response.defer()
        await interaction.edit_original_response(content="saved for later")

    async def count(self, interaction: discord.Interaction) -> None:
        self.clicks += 1
        await interaction.response.edit_message(content=f"clicked {self.clicks}", view=self)


class TestCommands(commands.Cog):
    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="modtest", description="A moderator-only command.")
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_messages=True)
    @app_commands.checks.has_permissions(manage_messages=True)
    async def modtest(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("moderator ok", ephemeral=True)

    @app_commands.command(name="echo", description="Say something back.")
    async def echo(self, interaction: discord.Interaction, text: str, loud: bool = False) -> None:
        await interaction.response.send_message(text, ephemeral=not loud)

    @app_commands.command(name="slow", description="Sleeps 3.5 s without deferring.")
    async def slow(self, interaction: discord.Interaction) -> None:
        await asyncio.sleep(3.5)
        await interaction.response.send_message("too late")

    @app_commands.command(name="deferred", description="Defers, then follows up.")
    async def deferred(self, interaction: discord.Interaction, private: bool = False) -> None:
        await interaction.response.defer(thinking=True, ephemeral=private)
        await asyncio.sleep(0.05)
        await interaction.followup.send("deferred done", ephemeral=private)
        await interaction.followup.send("second followup", ephemeral=private)

    @app_commands.command(name="burst", description="Posts numbered messages to this channel.")
    async def burst(self, interaction: discord.Interaction, count: int) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        channel = interaction.channel
        assert isinstance(channel, discord.TextChannel)
        for i in range(count):
            # A per-message nonce makes a retried send idempotent (GUIDE §6).
            await channel.send(f"burst {i}", nonce=f"b{interaction.id % 10**15}-{i}")  # nonces are at most 25 chars
        await interaction.edit_original_response(content=f"sent {count}")

    @app_commands.command(name="card", description="An article card with buttons.")
    async def card(self, interaction: discord.Interaction, article_id: int = 1) -> None:
        embed = discord.Embed(title=f"Article {article_id}", description="Body text.")
        embed.set_footer(text="example.org")
        await interaction.response.send_message(
            embed=embed, view=CardView(article_id), allowed_mentions=discord.AllowedMentions.none()
        )

    @app_commands.command(name="thread", description="Posts a message and starts a thread from it.")
    async def thread(self, interaction: discord.Interaction, name: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        channel = interaction.channel
        assert isinstance(channel, discord.TextChannel)
        message = await channel.send(f"Discussion: {name}")
        thread = await message.create_thread(name=name)
        await thread.send("First!")
        await interaction.followup.send(f"thread {thread.id}", ephemeral=True)

    @app_commands.command(name="resolve", description="Says what each resolved option turned into.")
    async def resolve(
        self,
        interaction: discord.Interaction,
        channel: discord.TextChannel,
        role: discord.Role,
        user: discord.Member,
        who: discord.Member | discord.Role,
        anywhere: app_commands.AppCommandChannel | None = None,
    ) -> None:
        parts = [
            f"channel={type(channel).__name__}:{channel.name}:{channel.type.name}",
            f"role={type(role).__name__}:{role.name}",
            f"user={type(user).__name__}:{user.name}",
            f"who={type(who).__name__}:{who.name}",
        ]
        if anywhere is not None:
            parts.append(f"anywhere={anywhere.name}:{anywhere.type.name}")
        await interaction.response.send_message(" ".join(parts), ephemeral=True)

    @app_commands.command(name="report", description="Opens a modal laid out with Labels.")
    async def report(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(LabelModal())

    @app_commands.command(name="find", description="Autocomplete test.")
    async def find(self, interaction: discord.Interaction, query: str) -> None:
        await interaction.response.send_message(f"picked {query}", ephemeral=True)

    @find.autocomplete("query")
    async def find_autocomplete(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        if current == "!many":
            return [app_commands.Choice(name=f"choice {i}", value=str(i)) for i in range(26)]
        if current == "!longname":
            return [app_commands.Choice(name="n" * 101, value="1")]
        matches = [f for f in FRUITS if current.lower() in f]
        return [app_commands.Choice(name=f, value=str(FRUITS.index(f))) for f in matches][:25]

    @app_commands.command(name="bad", description="Sends a body that breaks a Discord limit.")
    @app_commands.choices(
        kind=[
            app_commands.Choice(name=n, value=n)
            for n in (
                "content2001",
                "embed6001",
                "title257",
                "modal6",
                "content2000",
                "channel2001",
                "relativeurl",
                "javascriptlink",
                "empty",
            )
        ]
    )
    async def bad(self, interaction: discord.Interaction, kind: str) -> None:
        if kind == "content2001":
            await interaction.response.send_message("x" * 2001)
        elif kind == "content2000":
            await interaction.response.send_message("x" * 2000)
        elif kind == "channel2001":
            await interaction.response.send_message("posting", ephemeral=True)
            assert isinstance(interaction.channel, discord.TextChannel)
            await interaction.channel.send("y" * 2001)
        elif kind == "embed6001":
            # Every field is within its own limit; only the 6000 total is broken: title, description and both
            # fields' names and values count, 1 + 4096 + (1 + 1003) + (1 + 899) = 6001.
            embed = discord.Embed(title="t", description="d" * 4096)
            embed.add_field(name="n", value="v" * 1003)
            embed.add_field(name="n", value="v" * 899)
            await interaction.response.send_message(embed=embed)
        elif kind == "relativeurl":
            # A feed's relative image path, passed on unresolved.
            embed = discord.Embed(title="Photo", url="https://example.org/a")
            embed.set_image(url="images/photo.jpg")
            await interaction.response.send_message(embed=embed)
        elif kind == "javascriptlink":
            view = discord.ui.View()
            view.add_item(discord.ui.Button(label="Open", url="javascript:alert(1)"))
            await interaction.response.send_message("a link", view=view)
        elif kind == "empty":
            await interaction.response.send_message()
        elif kind == "title257":
            await interaction.response.send_message(embed=discord.Embed(title="T" * 257))
        elif kind == "modal6":
            modal = discord.ui.Modal(title="Too many", custom_id="testcmds:six")
            for i in range(5):
                modal.add_item(discord.ui.TextInput(label=f"Field {i}"))
            # discord.py refuses a sixth item in add_item; bypass it to prove the emulator refuses too.
            modal._children.append(discord.ui.TextInput(label="Field 5"))
            await interaction.response.send_modal(modal)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(TestCommands(bot))
    # Persistent views: clicks on cards keep dispatching even after a restart.
    for article_id in range(1, 4):
        bot.add_view(CardView(article_id))
