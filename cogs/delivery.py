"""The sender: posts every queued delivery (``bot/db/deliveries.py``) exactly once, whatever crashes in between.

Each kind of message (an article announcement, a published comment, a moderation-queue entry, a notice) registers a
:class:`DeliveryHandler` that renders it and reacts to its outcome; the sender does the rest, the same for all:

* claims ready rows with a lease (so any number of senders, in any number of processes, share the queue),
* paces sends under Discord's global limit (discord.py follows the per-route buckets itself, not the global one),
* sends with a nonce derived from the row, so a send repeated after a crash returns the first message, and records
  the message and the new state in one transaction with what the handler adds (``DeliveryHandler.sent``),
* forum channels get a post named by the handler; a post has no nonce, so a retry first looks for the post an earlier
  attempt may already have made,
* a channel that is gone or a permission that is missing is the handler's to decide (``unreachable``): such a row is
  never retried blindly; a server error or a lost connection is retried with backoff, so nothing is lost while
  Discord is unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp
import discord
from discord.ext import commands

from bot.db.deliveries import Delivery, DeliveryKind
from bot.db.errors import LeaseLost, StoreError
from bot.db.store import Store, Tx

if TYPE_CHECKING:
    from bot.client import NewsBot
    from cogs.render import Rendered

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=2)
"""Far longer than one send takes (discord.py waits out per-route limits inside it), short enough that a crashed
sender's rows are picked up again soon."""
CLAIM_BATCH = 50
IDLE_POLL_SECONDS = 5.0
"""With nothing woken, how often the queue is looked at (rows queued by other processes, retries coming due)."""
GLOBAL_RATE = 45.0
"""Requests per second, under Discord's 50 per second global limit, leaving room for the bot's other calls."""
MAX_ATTEMPTS = 12
FORUM_POST_NAME_LIMIT = 100


class SkipDelivery(Exception):
    """Raised by a handler's ``render``: this row should not be posted after all (with why)."""

    def __init__(self, reason: str, detail: str | None = None) -> None:
        super().__init__(detail or reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What to post for one delivery."""

    message: Rendered
    thread_name: str | None = None
    """In a forum channel, the post's name (required there); elsewhere, open a thread of this name on the message."""


Target = discord.TextChannel | discord.Thread | discord.ForumChannel
"""Where deliveries go: text and announcement channels (both ``TextChannel``), threads, forums."""


class DeliveryHandler(Protocol):
    """One kind of delivery. ``render`` may raise :class:`SkipDelivery`; the two hooks run inside the unit of work
    that records the outcome, so what they write commits with it."""

    kind: DeliveryKind

    async def render(self, delivery: Delivery, channel: Target) -> Outgoing: ...

    async def sent(self, tx: Tx, delivery: Delivery, message: discord.Message, thread_id: int | None) -> None: ...

    async def unreachable(self, tx: Tx, delivery: Delivery, reason: str, detail: str) -> None:
        """The channel is gone (``reason`` "channel_deleted", "not_postable") or the bot lacks a permission
        ("missing_permission"). The row is recorded as skipped with that reason in the same transaction; the handler
        deals with the cause (pauses a subscription, tells the server) and may queue the row again later with
        ``tx.deliveries.retry`` (a permission given back)."""
        ...


class Pacer:
    """A token bucket: at most ``rate`` sends per second on average, bursts up to one second's worth."""

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self.tokens = rate
        self.updated = clock()
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            while True:
                now = self.clock()
                self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
                self.updated = now
                if self.tokens >= 1:
                    self.tokens -= 1
                    return
                await asyncio.sleep((1 - self.tokens) / self.rate)


def retry_delay(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min … capped at an hour."""
    return dt.timedelta(seconds=min(3600.0, 30.0 * 2 ** max(0, attempts - 1)))


REQUIRED: dict[str, str] = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "embed_links": "Embed Links",
}


def missing_permissions(channel: Target, me: discord.Member, out: Outgoing) -> list[str]:
    """The permissions this post needs in ``channel`` that the bot does not have, by their names in Discord."""
    perms = channel.permissions_for(me)
    needed = ["view_channel"]
    if isinstance(channel, discord.Thread):
        needed.append("send_messages_in_threads")
    elif isinstance(channel, discord.ForumChannel):
        needed += ["send_messages", "create_public_threads"]
    else:
        needed.append("send_messages")
        if out.thread_name:
            needed.append("create_public_threads")
    if out.message.embeds:
        needed.append("embed_links")
    names = {
        **REQUIRED,
        "send_messages_in_threads": "Send Messages in Threads",
        "create_public_threads": "Create Public Threads",
    }
    return [names[p] for p in needed if not getattr(perms, p)]


class Sender(commands.Cog, name="Deliveries"):
    """Background sender of the delivery queue (no commands)."""

    def __init__(self, bot: NewsBot, *, store: Store, enabled: bool = True, rate: float = GLOBAL_RATE) -> None:
        self.bot = bot
        self.store = store
        self.enabled = enabled
        self.handlers: dict[str, DeliveryHandler] = {}
        self.pacer = Pacer(rate)
        self.worker_id = f"{store.worker_id}/sender"
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self.concurrency = asyncio.Semaphore(16)

    def register(self, handler: DeliveryHandler) -> None:
        self.handlers[handler.kind] = handler

    def wake(self) -> None:
        """New rows were committed: look now rather than at the next poll."""
        self._wake.set()

    async def cog_load(self) -> None:
        if self.enabled:
            self._stop.clear()
            self._task = asyncio.create_task(self._run(), name="newsbot-sender")

    async def cog_unload(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(StoreError):
            await self.store.deliveries.release_all(worker_id=self.worker_id)

    async def _run(self) -> None:
        await self.bot.wait_until_ready()
        while not self._stop.is_set():
            try:
                handled = await self.send_due()
            except StoreError as exc:
                log.warning("Could not claim deliveries (%s); trying again shortly.", exc)
                handled = 0
            except Exception:
                log.exception("Delivery round failed")
                handled = 0
            if handled:
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=await self._idle_for())

    async def _idle_for(self) -> float:
        try:
            due = await self.store.deliveries.next_due()
        except StoreError:
            return IDLE_POLL_SECONDS
        if due is None:
            return IDLE_POLL_SECONDS
        return max(0.05, min(IDLE_POLL_SECONDS, (due - dt.datetime.now(dt.UTC)).total_seconds()))

    async def send_due(self) -> int:
        """Claim one batch of ready deliveries and send them (concurrently, paced); how many were claimed."""
        batch = await self.store.deliveries.claim(worker_id=self.worker_id, limit=CLAIM_BATCH, lease=LEASE)
        if batch:
            await asyncio.gather(*(self._guarded(d) for d in batch))
        return len(batch)

    async def _guarded(self, delivery: Delivery) -> None:
        async with self.concurrency:
            try:
                await self.deliver(delivery)
            except LeaseLost:
                log.info("Delivery %s was taken over by another sender meanwhile", delivery.id)
            except StoreError as exc:
                # The message may be out; the row stays claimed until its lease ends, and the nonce makes the retry
                # return this same message instead of posting again.
                log.warning("Could not record delivery %s (%s); it will be retried safely.", delivery.id, exc)

    async def deliver(self, delivery: Delivery) -> None:
        handler = self.handlers.get(delivery.kind)
        if handler is None:
            # Another process (a newer release) knows this kind; leave it to that one.
            await self.store.deliveries.release(delivery.id, worker_id=self.worker_id)
            return
        try:
            channel = await self._channel(delivery.channel_id)
        except discord.NotFound:
            await self._unreachable(handler, delivery, "channel_deleted", "the channel no longer exists")
            return
        except discord.Forbidden:
            await self._unreachable(handler, delivery, "missing_permission", "the bot cannot see the channel")
            return
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            await self._failed(delivery, "unreachable", f"Discord could not be reached ({exc})")
            return
        if channel is None:
            await self._unreachable(handler, delivery, "not_postable", "the bot cannot post in that kind of channel")
            return
        try:
            out = await handler.render(delivery, channel)
        except SkipDelivery as skip:
            await self.store.deliveries.skipped(
                delivery.id, worker_id=self.worker_id, reason=skip.reason, detail=skip.detail
            )
            return
        me = channel.guild.me
        missing = missing_permissions(channel, me, out) if me is not None else []
        if missing:
            await self._unreachable(handler, delivery, "missing_permission", "missing " + ", ".join(missing))
            return
        await self.pacer.wait()
        try:
            message, thread_id = await self._post(delivery, channel, out)
        except discord.NotFound:
            await self._unreachable(handler, delivery, "channel_deleted", "the channel no longer exists")
            return
        except discord.Forbidden as exc:
            await self._unreachable(handler, delivery, "missing_permission", f"Discord refused: {exc.text or exc}")
            return
        except discord.HTTPException as exc:
            if exc.status >= 500 or exc.status == 429:
                await self._failed(delivery, f"http_{exc.status}", f"Discord answered {exc.status} ({exc.text})")
            else:
                log.error("Discord refused delivery %s (%s %s): %s", delivery.id, exc.status, exc.code, exc.text)
                await self._failed(
                    delivery, f"http_{exc.status}", f"Discord refused it ({exc.status}: {exc.text})", retry=False
                )
            return
        except (aiohttp.ClientError, TimeoutError) as exc:
            await self._failed(delivery, "unreachable", f"Discord could not be reached ({exc})")
            return

        async def record(tx: Tx) -> None:
            await tx.deliveries.sent(delivery.id, worker_id=self.worker_id, message_id=message.id, thread_id=thread_id)
            await handler.sent(tx, delivery, message, thread_id)

        await self.store.run(record)
        if out.thread_name and thread_id is None and not isinstance(channel, discord.Thread | discord.ForumChannel):
            await self._open_thread(delivery, message, out.thread_name)

    async def _channel(self, channel_id: int) -> Target | None:
        """The channel from the cache, else from Discord; None when it is not one the bot posts in (a voice channel)."""
        channel: Any = self.bot.get_channel(channel_id)
        if channel is None:
            channel = await self.bot.fetch_channel(channel_id)
        return channel if isinstance(channel, Target) else None

    async def _post(self, delivery: Delivery, channel: Target, out: Outgoing) -> tuple[discord.Message, int | None]:
        kwargs = out.message.send_kwargs()
        if isinstance(channel, discord.ForumChannel):
            name = (out.thread_name or "News")[:FORUM_POST_NAME_LIMIT]
            if delivery.attempts > 1:
                earlier = await self._earlier_post(channel, name, delivery)
                if earlier is not None:
                    return earlier
            post = await channel.create_thread(name=name, **kwargs)
            return post.message, post.thread.id
        return await channel.send(nonce=delivery.nonce, **kwargs), None

    async def _earlier_post(
        self, forum: discord.ForumChannel, name: str, delivery: Delivery
    ) -> tuple[discord.Message, int] | None:
        """The post an earlier attempt made before it could record it (forum posts carry no nonce)."""
        me = forum.guild.me
        for thread in forum.threads:
            if (
                thread.name == name
                and thread.owner_id == (me.id if me else None)
                and (thread.created_at is None or thread.created_at >= delivery.created_at - dt.timedelta(seconds=5))
            ):
                try:
                    starter = await thread.fetch_message(thread.id)
                except discord.HTTPException:
                    continue
                log.info("Delivery %s: found the forum post an earlier attempt made", delivery.id)
                return starter, thread.id
        return None

    async def _open_thread(self, delivery: Delivery, message: discord.Message, name: str) -> None:
        try:
            thread = await message.create_thread(name=name[:FORUM_POST_NAME_LIMIT])
        except discord.HTTPException as exc:
            log.warning("Delivery %s was posted but its thread could not be opened: %s", delivery.id, exc)
            return
        try:
            await self.store.deliveries.set_thread(delivery.id, thread.id)
        except StoreError as exc:
            log.warning("Delivery %s: thread %s opened but not recorded (%s)", delivery.id, thread.id, exc)

    async def _failed(self, delivery: Delivery, reason: str, detail: str, *, retry: bool = True) -> None:
        give_up = not retry or delivery.attempts >= MAX_ATTEMPTS
        retry_at = None if give_up else dt.datetime.now(dt.UTC) + retry_delay(delivery.attempts)
        log.warning(
            "Delivery %s to channel %s failed (%s)%s",
            delivery.id,
            delivery.channel_id,
            detail,
            " and is given up" if give_up else f"; retrying at {retry_at:%H:%M:%S}",
        )
        await self.store.deliveries.failed(
            delivery.id, worker_id=self.worker_id, reason=reason, detail=detail, retry_at=retry_at
        )

    async def _unreachable(self, handler: DeliveryHandler, delivery: Delivery, reason: str, detail: str) -> None:
        log.info("Delivery %s to channel %s cannot be posted: %s", delivery.id, delivery.channel_id, detail)

        async def record(tx: Tx) -> None:
            await tx.deliveries.skipped(delivery.id, worker_id=self.worker_id, reason=reason, detail=detail)
            await handler.unreachable(tx, delivery, reason, detail)

        await self.store.run(record)


async def setup(bot: NewsBot) -> None:
    sender = Sender(bot, store=bot.store, enabled=bot.background_tasks)
    # Other cogs register their kinds of delivery through ``bot.sender`` (load this extension before them).
    bot.sender = sender
    await bot.add_cog(sender)
