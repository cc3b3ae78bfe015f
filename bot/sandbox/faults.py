"""Faults a test can queue for the next requests of a route: 429s, server errors and delays."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Fault429:
    """Answer 429 with ``retry_after``; ``is_global`` makes it a global limit (pauses every bot request).

    ``scope="shared"`` is Discord's per-resource limit ("The resource is being rate limited."), which a bot cannot
    see coming from the headers.
    """

    retry_after: float = 0.1
    is_global: bool = False
    scope: Literal["user", "shared"] = "user"


@dataclass(frozen=True, slots=True)
class FaultStatus:
    """Answer with a server error. ``after_processing`` performs the request first, as when Discord created the
    message but the response was lost, which is what nonces protect against."""

    status: int = 500
    after_processing: bool = False


@dataclass(frozen=True, slots=True)
class FaultDelay:
    seconds: float


Fault = Fault429 | FaultStatus | FaultDelay
"""``None`` in a script lets that request through untouched, to space faults out."""


class FaultScript:
    """Queued faults per ``"METHOD /template"`` (or ``"*"`` for any REST route), taken one per request."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault | None]] = {}

    def add(self, route: str, *faults: Fault | None) -> None:
        self._queues.setdefault(route, deque()).extend(faults)

    def pending(self, route: str) -> int:
        return len(self._queues.get(route, ()))

    def take(self, key: str) -> Fault | None:
        for name in (key, "*"):
            queue = self._queues.get(name)
            if queue:
                return queue.popleft()
        return None
