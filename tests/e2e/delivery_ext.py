"""A test extension: the sender with a handler for 'notice' deliveries that records what happened to each row."""

from __future__ import annotations

import discord

from bot.client import NewsBot
from bot.db.deliveries import Delivery, DeliveryKind
from bot.db.store import Tx
from cogs import render
from cogs.delivery import Outgoing, SkipDelivery, Target


class NoticeHandler:
    kind: DeliveryKind = "notice"

    def __init__(self) -> None:
        self.sent_ids: list[int] = []
        self.unreachable_reasons: list[tuple[int, str, str]] = []
        self.skip_subjects: set[int] = set()
        self.forum_names: dict[int, str] = {}

    async def render(self, delivery: Delivery, channel: Target) -> Outgoing:
        if delivery.subject_id in self.skip_subjects:
            raise SkipDelivery("filtered", "subject on the skip list")
        name = f"Notice {delivery.subject_id}" if isinstance(channel, discord.ForumChannel) else None
        return Outgoing(render.message(content=f"notice {delivery.subject_id} @everyone"), thread_name=name)

    async def sent(self, tx: Tx, delivery: Delivery, message: discord.Message, thread_id: int | None) -> None:
        self.sent_ids.append(delivery.id)

    async def unreachable(self, tx: Tx, delivery: Delivery, reason: str, detail: str) -> None:
        self.unreachable_reasons.append((delivery.id, reason, detail))


async def setup(bot: NewsBot) -> None:
    assert bot.sender is not None, "load cogs.delivery first"
    handler = NoticeHandler()
    bot.sender.register(handler)
    bot.notice_handler = handler  # type: ignore[attr-defined]
