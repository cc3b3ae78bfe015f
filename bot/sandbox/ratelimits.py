"""Discord's REST rate limits, on the emulator's clock: per-route buckets per top-level resource, and the global
limit of 50 requests per second that interaction endpoints are exempt from (topics/rate-limits.mdx).

Every response carries ``X-RateLimit-Limit/Remaining/Reset/Reset-After/Bucket``, so discord.py throttles itself
exactly as it does against Discord; a request over a limit gets a 429 with ``Retry-After``, ``X-RateLimit-Scope``
(and ``X-RateLimit-Global`` for the global limit) and the documented body. Every 429 is recorded in
:attr:`RateLimiter.hits`, so a benchmark can count them. Time comes from the emulator's clock, so a test can move
it forward (:meth:`DiscordEmulator.advance_time`) instead of sleeping.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

Scope = Literal["user", "global", "shared"]

GLOBAL_LIMIT = 50
"""Requests per second per bot (topics/rate-limits.mdx, "Global Rate Limit")."""
GLOBAL_WINDOW = 1.0
DEFAULT_ROUTE_LIMIT = (50, 1.0)
"""For routes Discord has no tighter limit on that a bot would notice; the global limit binds first."""

# Discord tells clients not to hard-code per-route limits, and publishes none; these are the limits bots observe
# in Discord's own headers, which is what matters for pacing. Buckets are per top-level resource (channel,
# guild, webhook id + token), so each channel has its own message bucket.
DEFAULT_ROUTE_LIMITS: Mapping[str, tuple[int, float]] = {
    # "5 per 5 s per channel": the headers Discord sends on message create and edit (discord-api-docs #2761).
    "POST /channels/{channel_id}/messages": (5, 5.0),
    "PATCH /channels/{channel_id}/messages/{message_id}": (5, 5.0),
    "DELETE /channels/{channel_id}/messages/{message_id}": (5, 1.0),
    "POST /channels/{channel_id}/messages/bulk-delete": (1, 1.0),
    # Thread creation: Discord's limit is undocumented and partly dynamic (long "shared" 429s are reported in
    # discord-api-docs #7816); a bot opening a thread per article sees about the message-create rate.
    "POST /channels/{channel_id}/messages/{message_id}/threads": (5, 5.0),
    "POST /channels/{channel_id}/threads": (5, 5.0),
    # Webhooks, interaction follow-ups included: 5 per 2 s per webhook id + token (discord-api-docs #6753).
    "POST /webhooks/{webhook_id}/{webhook_token}": (5, 2.0),
    "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/@original": (5, 2.0),
    "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}": (5, 2.0),
}

MAJOR_PARAMETERS = ("channel_id", "guild_id", "interaction_id")


def major_of(params: Mapping[str, str]) -> str:
    """The top-level resource a bucket is counted per (``-`` for routes without one)."""
    for key in MAJOR_PARAMETERS:
        if key in params:
            return params[key]
    if "webhook_id" in params:
        return f"{params['webhook_id']}:{params.get('webhook_token', '')}"
    return "-"


def bucket_hash(route_key: str) -> str:
    """A stable ``X-RateLimit-Bucket`` per route, not including the top-level resource (as Discord's)."""
    return hashlib.sha1(route_key.encode()).hexdigest()[:16]


@dataclass(slots=True)
class RateLimitHit:
    """One 429 the emulator answered."""

    route: str
    """``METHOD /template``."""
    major: str
    scope: Scope
    is_global: bool
    retry_after: float
    at: float
    scripted: bool = False
    """A 429 queued by :meth:`DiscordEmulator.script` rather than earned by going over a limit."""


@dataclass(slots=True)
class _Bucket:
    limit: int
    window: float
    remaining: int
    reset_at: float


@dataclass(frozen=True, slots=True)
class Limited:
    retry_after: float
    is_global: bool


class RateLimiter:
    """Buckets, the global window and the record of every 429."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        route_limits: Mapping[str, tuple[int, float]] | None = None,
        default_route_limit: tuple[int, float] = DEFAULT_ROUTE_LIMIT,
        global_limit: int = GLOBAL_LIMIT,
        enabled: bool = True,
    ) -> None:
        self._clock = clock
        self.route_limits: dict[str, tuple[int, float]] = dict(
            DEFAULT_ROUTE_LIMITS if route_limits is None else route_limits
        )
        """Per route (``METHOD /template``) ``(requests, window seconds)``; change it freely at run time."""
        self.default_route_limit = default_route_limit
        self.global_limit = global_limit
        self.enabled = enabled
        """``False``: no limits at all and no rate-limit headers (for tests that are about something else)."""
        self.hits: list[RateLimitHit] = []
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._global_hits: deque[float] = deque()

    def limit_for(self, route_key: str) -> tuple[int, float]:
        return self.route_limits.get(route_key, self.default_route_limit)

    def _bucket(self, route_key: str, major: str) -> _Bucket:
        now = self._clock()
        limit, window = self.limit_for(route_key)
        bucket = self._buckets.get((route_key, major))
        if bucket is None:
            bucket = _Bucket(limit, window, limit, now + window)
            self._buckets[(route_key, major)] = bucket
        elif now >= bucket.reset_at:
            bucket.limit, bucket.window = limit, window
            bucket.remaining = limit
            bucket.reset_at = now + window
        elif (limit, window) != (bucket.limit, bucket.window):
            # The test changed the limit mid-window: apply it now, keeping what was already spent.
            spent = bucket.limit - bucket.remaining
            bucket.limit, bucket.window = limit, window
            bucket.remaining = max(0, limit - spent)
        return bucket

    def check(self, route_key: str, major: str, *, exempt_global: bool) -> Limited | None:
        """Count one request; ``None`` if it may go through, else how long it must wait."""
        if not self.enabled:
            return None
        now = self._clock()
        if not exempt_global:
            while self._global_hits and now - self._global_hits[0] >= GLOBAL_WINDOW:
                self._global_hits.popleft()
            if len(self._global_hits) >= self.global_limit:
                return Limited(max(0.001, GLOBAL_WINDOW - (now - self._global_hits[0])), True)
            self._global_hits.append(now)
        bucket = self._bucket(route_key, major)
        if bucket.remaining <= 0:
            return Limited(max(0.001, bucket.reset_at - now), False)
        bucket.remaining -= 1
        return None

    def headers(self, route_key: str, major: str) -> dict[str, str]:
        """The ``X-RateLimit-*`` headers of a response on this bucket."""
        if not self.enabled:
            return {}
        bucket = self._bucket(route_key, major)
        reset_after = max(0.0, bucket.reset_at - self._clock())
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(max(0, bucket.remaining)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket_hash(route_key),
        }

    def too_many(
        self,
        route_key: str,
        major: str,
        retry_after: float,
        *,
        is_global: bool,
        scope: Scope = "user",
        scripted: bool = False,
    ) -> tuple[dict[str, str], dict[str, object]]:
        """Headers and body of a 429, as in the examples of topics/rate-limits.mdx; the hit is recorded."""
        scope = "global" if is_global else scope
        self.hits.append(RateLimitHit(route_key, major, scope, is_global, retry_after, self._clock(), scripted))
        if is_global:
            headers = {"X-RateLimit-Global": "true"}
        else:
            headers = self.headers(route_key, major) or {"X-RateLimit-Bucket": bucket_hash(route_key)}
            if scope == "user":
                headers["X-RateLimit-Remaining"] = "0"
        headers["Retry-After"] = str(max(1, math.ceil(retry_after)))
        headers["X-RateLimit-Scope"] = scope
        message = "The resource is being rate limited." if scope == "shared" else "You are being rate limited."
        return headers, {"message": message, "retry_after": round(retry_after, 3), "global": is_global}

    def least_time(self, route_key: str, requests_per_major: Mapping[str, int]) -> float:
        """The least time, in seconds, Discord's limits allow for sending these requests of one route.

        For a benchmark's floor: with ``n`` requests to one resource the route bucket allows ``limit`` per
        ``window``; across resources the global limit allows ``global_limit`` per second.
        """
        limit, window = self.limit_for(route_key)
        per_resource = max(
            (math.ceil(n / limit) - 1) * window if n > 0 else 0.0 for n in requests_per_major.values() or [0]
        )
        total = sum(requests_per_major.values())
        global_floor = (math.ceil(total / self.global_limit) - 1) * GLOBAL_WINDOW if total else 0.0
        return max(per_resource, global_floor)
