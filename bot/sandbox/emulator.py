"""A loopback Discord: REST under ``/api/v10`` and the gateway at ``/gateway``, both on one aiohttp app.

The real discord.py client talks to it unmodified once :func:`discord_pointed_at` has patched the two class
attributes that hold Discord's URLs. The emulator enforces what Discord enforces (interaction deadlines,
double acknowledgements, rate limits, nonces, request-body limits) and records every request, so tests can
assert on what the bot sent even when the bot swallowed an error. See ``shared/notes/discord-emulator.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import discord
import yarl
from aiohttp import BodyPartReader, WSMsgType, web

from bot.sandbox.state import (
    EPHEMERAL,
    LOADING,
    Channel,
    Interaction,
    Member,
    StoredMessage,
    User,
    World,
    permission_value,
)
from bot.sandbox.validation import Layer, RequestValidator, ValidationResult, find_openapi_spec

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
JSON = "application/json"
DEFAULT_TOKEN = "sandbox-token"
SEND_MESSAGES = 1 << 11
SEND_MESSAGES_IN_THREADS = 1 << 38
VIEW_CHANNEL = 1 << 10
MANAGE_MESSAGES = 1 << 13

# Per-route limits (count, window seconds). Discord's real numbers vary and must never be hard-coded by a
# client; these keep tests quick while still making discord.py throttle itself from the headers.
DEFAULT_ROUTE_LIMIT = (50, 1.0)
DEFAULT_ROUTE_LIMITS: Mapping[str, tuple[int, float]] = {
    "POST /channels/{channel_id}/messages": (5, 1.0),
    "PATCH /channels/{channel_id}/messages/{message_id}": (5, 1.0),
    "DELETE /channels/{channel_id}/messages/{message_id}": (5, 1.0),
}


class ApiError(Exception):
    """Raised by a handler to answer with Discord's error shape."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors is not None:
            data["errors"] = self.errors
        return data


# ---- fault injection ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fault429:
    """Answer 429 with ``retry_after``; ``is_global`` makes it a global limit (pauses every bot request)."""

    retry_after: float = 0.1
    is_global: bool = False


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


# ---- records ----------------------------------------------------------------------------------------------


@dataclass(slots=True)
class RequestRecord:
    method: str
    path: str
    route: str | None
    query: dict[str, str]
    body: Any
    status: int = 0
    response: Any = None
    at: float = 0.0
    fault: str | None = None

    @property
    def key(self) -> str:
        return f"{self.method} {self.route}"

    @property
    def code(self) -> int | None:
        return self.response.get("code") if isinstance(self.response, dict) else None


@dataclass(frozen=True, slots=True)
class Rejection:
    method: str
    path: str
    route: str
    layer: Layer
    errors: dict[str, Any]
    summary: str
    body: Any


@dataclass(slots=True)
class _Bucket:
    limit: int
    window: float
    remaining: int
    reset_at: float


@dataclass(slots=True)
class _Ctx:
    request: web.Request
    params: dict[str, str]
    query: dict[str, str]
    body: Any


Reply = tuple[int, Any]
Handler = Callable[[_Ctx], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    template: str
    handler: Handler
    kind: str | None = None  # which hand-written rule set applies to the body
    auth: bool = True  # webhook and interaction endpoints authenticate with their token instead
    interaction: bool = False  # exempt from the global limit, as on Discord

    @property
    def key(self) -> str:
        return f"{self.method} {self.template}"

    def match(self, method: str, parts: list[str]) -> dict[str, str] | None:
        if method != self.method:
            return None
        tparts = self.template.strip("/").split("/")
        if len(tparts) != len(parts):
            return None
        params: dict[str, str] = {}
        for t, p in zip(tparts, parts, strict=True):
            if t.startswith("{") and t.endswith("}"):
                params[t[1:-1]] = p
            elif t != p:
                return None
        return params


@dataclass(slots=True)
class GatewaySession:
    id: str
    intents: int
    seq: int = 0
    ws: web.WebSocketResponse | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@contextlib.contextmanager
def discord_pointed_at(api_base: str, gateway_url: str) -> Iterator[None]:
    """Point discord.py's REST and gateway at another host; restore the originals afterwards.

    These are process-wide class attributes, so only one emulator can be targeted at a time.
    """
    route_cls = discord.http.Route
    ws_cls = discord.gateway.DiscordWebSocket
    old_base, old_gateway = route_cls.BASE, ws_cls.DEFAULT_GATEWAY
    route_cls.BASE = api_base
    ws_cls.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        route_cls.BASE = old_base
        ws_cls.DEFAULT_GATEWAY = old_gateway


def _json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py compares the header string and treats anything else as text.
    out = dict(headers or {})
    if body is None:
        return web.Response(status=status, headers=out)
    out["Content-Type"] = JSON
    return web.Response(status=status, body=json.dumps(body).encode(), headers=out)


class DiscordEmulator:
    """The emulated Discord. Use as ``async with DiscordEmulator() as emu, emu.patched():``."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        openapi: Path | str | Literal["auto"] | None = "auto",
        deadline_s: float = 3.0,
        token_ttl_s: float = 15 * 60,
        heartbeat_interval_ms: int = 41250,
        route_limits: Mapping[str, tuple[int, float]] | None = None,
        default_route_limit: tuple[int, float] = DEFAULT_ROUTE_LIMIT,
        global_limit: int = 50,
        guild_name: str = "Sandbox",
        channels: tuple[str, ...] = ("news", "general"),
    ) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the emulator listens on loopback only")
        self.token = token
        self.host = host
        self.port = port
        self.deadline_s = deadline_s
        self.token_ttl_s = token_ttl_s
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.route_limits = dict(DEFAULT_ROUTE_LIMITS if route_limits is None else route_limits)
        self.default_route_limit = default_route_limit
        self.global_limit = global_limit
        spec = find_openapi_spec() if openapi == "auto" else (find_openapi_spec(openapi) if openapi else None)
        self.validator = RequestValidator(spec)
        self.world = World(guild_name=guild_name, channel_names=channels)
        self.requests: list[RequestRecord] = []
        self.rejections: list[Rejection] = []
        self.latency = 0.0
        self.ack_heartbeats = True
        self.identify_count = 0
        self.resume_count = 0
        # Every dispatch event re-sent on a RESUME because the bot had not received it (it was sent while the
        # socket was down, or lost with it), in order: proof that a test's event really crossed a drop.
        self.replayed: list[dict[str, Any]] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.session: GatewaySession | None = None
        self._faults: dict[str, deque[Fault | None]] = {}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._global_hits: deque[float] = deque()
        self._time_offset = 0.0
        self._sockets: set[web.WebSocketResponse] = set()
        self._runner: web.AppRunner | None = None
        self._routes = self._build_routes()

    # ---- lifecycle --------------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else self.port
        log.info("Discord emulator listening on %s", self.base_url)

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close(code=1001, message=b"emulator shutting down")
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> DiscordEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_base(self) -> str:
        return self.base_url + API_PREFIX

    @property
    def gateway_url(self) -> str:
        return f"ws://{self.host}:{self.port}/gateway"

    def patched(self) -> contextlib.AbstractContextManager[None]:
        """Point discord.py at this emulator for the duration of the ``with`` block."""
        return discord_pointed_at(self.api_base, self.gateway_url)

    @property
    def openapi_available(self) -> bool:
        return self.validator.openapi.available

    # ---- clock, waiting, faults ---------------------------------------------------------------------------

    def now(self) -> float:
        """Monotonic time plus :meth:`advance_time` offsets, so token expiry can be tested without waiting."""
        return time.monotonic() + self._time_offset

    def advance_time(self, seconds: float) -> None:
        self._time_offset += seconds

    async def wait_for(self, predicate: Callable[[], bool], within: float) -> None:
        """Wait until ``predicate()`` holds; it is re-checked whenever the emulator's state changes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError("condition not met in time")
            event = self.world.changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(remaining, 0.25))

    async def wait_for_request(
        self,
        method: str,
        route: str,
        *,
        status: int | None = None,
        within: float = 5.0,
        start: int = 0,
    ) -> RequestRecord:
        """The first logged request (from index ``start``) with this method, route template and status."""

        def find() -> RequestRecord | None:
            for record in self.requests[start:]:
                if record.method == method and record.route == route and (status is None or record.status == status):
                    return record
            return None

        await self.wait_for(lambda: find() is not None, within)
        found = find()
        assert found is not None
        return found

    def script(self, route: str, *faults: Fault | None) -> None:
        """Queue faults for ``"METHOD /template"`` (or ``"*"`` for any REST route), used one per request.

        ``None`` lets one request through, so a storm can be spread over several requests: discord.py gives each
        request five tries.
        """
        self._faults.setdefault(route, deque()).extend(faults)

    def pending_faults(self, route: str) -> int:
        return len(self._faults.get(route, ()))

    def _take_fault(self, key: str) -> Fault | None:
        for name in (key, "*"):
            queue = self._faults.get(name)
            if queue:
                return queue.popleft()
        return None

    # ---- world helpers ------------------------------------------------------------------------------------

    @property
    def guild_id(self) -> int:
        return self.world.guild.id

    @property
    def application_id(self) -> int:
        return self.world.application_id

    def messages_in(self, channel: Channel | str | int) -> list[StoredMessage]:
        return self.world.channel_messages(self.world.channel(channel).id)

    def add_member(self, name: str, permissions: int | str | list[str] | None = None) -> Member:
        return self.world.add_member(name, permissions=permissions)

    def create_webhook(self, channel: Channel | str | int, name: str = "Captain Hook") -> tuple[int, str]:
        wid = self.world.ids.next()
        token = uuid.uuid4().hex
        self.world.webhooks[wid] = (token, self.world.channel(channel).id, name)
        return wid, token

    # ---- routing ------------------------------------------------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        msg = "/channels/{channel_id}/messages"
        hook = "/webhooks/{webhook_id}/{webhook_token}"
        app = "/applications/{application_id}"
        r = _Route
        return [
            r("GET", "/users/@me", self._get_me),
            r("GET", "/oauth2/applications/@me", self._get_application),
            r("GET", "/applications/@me", self._get_application),
            r("GET", "/gateway", self._get_gateway, auth=False),
            r("GET", "/gateway/bot", self._get_gateway_bot),
            r("GET", app + "/commands", self._get_global_commands),
            r("PUT", app + "/commands", self._put_global_commands, kind="commands"),
            r("GET", app + "/guilds/{guild_id}/commands", self._get_guild_commands),
            r("PUT", app + "/guilds/{guild_id}/commands", self._put_guild_commands, kind="commands"),
            r("POST", app + "/guilds/{guild_id}/commands", self._post_guild_command, kind="command"),
            r("GET", "/guilds/{guild_id}", self._get_guild),
            r("GET", "/guilds/{guild_id}/channels", self._get_guild_channels),
            r("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
            r("GET", "/channels/{channel_id}", self._get_channel),
            r("GET", msg, self._list_messages),
            r("POST", msg, self._create_message, kind="message"),
            r("GET", msg + "/{message_id}", self._get_message),
            r("PATCH", msg + "/{message_id}", self._edit_message, kind="message"),
            r("DELETE", msg + "/{message_id}", self._delete_message),
            r("POST", msg + "/{message_id}/threads", self._thread_from_message, kind="thread"),
            r("POST", "/channels/{channel_id}/threads", self._thread_without_message, kind="thread"),
            r("POST", "/channels/{channel_id}/webhooks", self._create_channel_webhook),
            r(
                "POST",
                "/interactions/{interaction_id}/{interaction_token}/callback",
                self._callback,
                kind="callback",
                auth=False,
                interaction=True,
            ),
            r("POST", hook, self._execute_webhook, kind="message", auth=False, interaction=True),
            r("GET", hook + "/messages/@original", self._get_webhook_message, auth=False, interaction=True),
            r(
                "PATCH",
                hook + "/messages/@original",
                self._edit_webhook_message,
                kind="message",
                auth=False,
                interaction=True,
            ),
            r("DELETE", hook + "/messages/@original", self._delete_webhook_message, auth=False, interaction=True),
            r("GET", hook + "/messages/{message_id}", self._get_webhook_message, auth=False, interaction=True),
            r(
                "PATCH",
                hook + "/messages/{message_id}",
                self._edit_webhook_message,
                kind="message",
                auth=False,
                interaction=True,
            ),
            r("DELETE", hook + "/messages/{message_id}", self._delete_webhook_message, auth=False, interaction=True),
        ]

    def _match(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        parts = path.strip("/").split("/")
        for route in self._routes:
            params = route.match(method, parts)
            if params is not None:
                return route, params
        return None

    # ---- REST pipeline ------------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        path = request.path[len(API_PREFIX) :] or "/"
        query = dict(request.query)
        record = RequestRecord(request.method, path, None, query, None, at=self.now())
        self.requests.append(record)
        try:
            response = await self._handle(request, record, path, query)
        finally:
            self.world.notify()
        return response

    async def _handle(
        self, request: web.Request, record: RequestRecord, path: str, query: dict[str, str]
    ) -> web.Response:
        matched = self._match(request.method, path)
        if matched is None:
            log.warning("Emulator has no route for %s %s", request.method, path)
            return self._finish(record, 404, {"message": "404: Not Found", "code": 0})
        route, params = matched
        record.route = route.template
        try:
            record.body = await self._read_body(request)
        except ApiError as exc:
            return self._finish(record, exc.status, exc.body())
        if route.auth and request.headers.get("Authorization") != f"Bot {self.token}":
            return self._finish(record, 401, {"message": "401: Unauthorized", "code": 0})

        fault = self._take_fault(route.key)
        if isinstance(fault, FaultDelay):
            record.fault = f"delay {fault.seconds}s"
            await asyncio.sleep(fault.seconds)
            fault = None
        if isinstance(fault, Fault429):
            record.fault = "429 global" if fault.is_global else "429"
            return self._too_many(record, route, params, fault.retry_after, is_global=fault.is_global, scope="user")
        if isinstance(fault, FaultStatus) and not fault.after_processing:
            record.fault = f"{fault.status}"
            return self._finish(record, fault.status, {"message": "Internal Server Error", "code": 0})

        limited = self._check_rate_limits(route, params)
        if limited is not None:
            retry_after, is_global = limited
            return self._too_many(record, route, params, retry_after, is_global=is_global, scope="user")

        if route.kind is not None and record.body is not None:
            result = self.validator.validate(route.method, route.template, route.kind, record.body)
            if not result.ok:
                return self._reject(record, route, result)

        ctx = _Ctx(request, params, query, record.body)
        try:
            status, body = await route.handler(ctx)
        except ApiError as exc:
            status, body = exc.status, exc.body()
        if isinstance(fault, FaultStatus):
            record.fault = f"{fault.status} after processing"
            status, body = fault.status, {"message": "Internal Server Error", "code": 0}
        return self._finish(record, status, body, self._rate_headers(route, params))

    async def _read_body(self, request: web.Request) -> Any:
        if not request.can_read_body:
            return None
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            payload: Any = {}
            files: list[str] = []
            reader = await request.multipart()
            while True:
                part = await reader.next()
                if part is None:
                    break
                if not isinstance(part, BodyPartReader):
                    continue
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    await part.read()
                    files.append(part.filename or part.name or "?")
            if isinstance(payload, dict) and files:
                payload.setdefault("attachments", [])
                payload["_files"] = files
            return payload
        raw = await request.read()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, 50109, "The request body contains invalid JSON.") from exc

    def _finish(
        self, record: RequestRecord, status: int, body: Any, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        record.status = status
        record.response = body
        if status >= 400 and status != 429:
            log.debug("Emulator %s %s -> %s %s", record.method, record.path, status, body)
        return _json_response(status, body, headers)

    def _reject(self, record: RequestRecord, route: _Route, result: ValidationResult) -> web.Response:
        assert result.layer is not None, "a failed validation always names its layer"
        errors = result.errors()
        rejection = Rejection(
            route.method, record.path, route.template, result.layer, errors, result.summary(), record.body
        )
        self.rejections.append(rejection)
        log.warning("Emulator rejected %s %s (%s): %s", route.method, record.path, result.layer, rejection.summary)
        return self._finish(record, 400, {"code": 50035, "errors": errors, "message": "Invalid Form Body"})

    # ---- rate limits --------------------------------------------------------------------------------------

    @staticmethod
    def _major(params: Mapping[str, str]) -> str:
        for key in ("channel_id", "guild_id", "interaction_id"):
            if key in params:
                return params[key]
        if "webhook_id" in params:
            return f"{params['webhook_id']}:{params.get('webhook_token', '')}"
        return "-"

    @staticmethod
    def _bucket_hash(route: _Route) -> str:
        return hashlib.sha1(route.key.encode()).hexdigest()[:16]

    def _bucket(self, route: _Route, params: Mapping[str, str]) -> _Bucket:
        key = (route.key, self._major(params))
        bucket = self._buckets.get(key)
        now = self.now()
        if bucket is None:
            limit, window = self.route_limits.get(route.key, self.default_route_limit)
            bucket = _Bucket(limit, window, limit, now + window)
            self._buckets[key] = bucket
        elif now >= bucket.reset_at:
            bucket.remaining = bucket.limit
            bucket.reset_at = now + bucket.window
        return bucket

    def _check_rate_limits(self, route: _Route, params: Mapping[str, str]) -> tuple[float, bool] | None:
        now = self.now()
        if not route.interaction:
            while self._global_hits and now - self._global_hits[0] >= 1.0:
                self._global_hits.popleft()
            if len(self._global_hits) >= self.global_limit:
                return max(0.01, 1.0 - (now - self._global_hits[0])), True
            self._global_hits.append(now)
        bucket = self._bucket(route, params)
        if bucket.remaining <= 0:
            return max(0.01, bucket.reset_at - now), False
        bucket.remaining -= 1
        return None

    def _rate_headers(self, route: _Route, params: Mapping[str, str]) -> dict[str, str]:
        bucket = self._bucket(route, params)
        reset_after = max(0.0, bucket.reset_at - self.now())
        return {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(max(0, bucket.remaining)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": self._bucket_hash(route),
        }

    def _too_many(
        self,
        record: RequestRecord,
        route: _Route,
        params: Mapping[str, str],
        retry_after: float,
        *,
        is_global: bool,
        scope: str,
    ) -> web.Response:
        headers = self._rate_headers(route, params)
        headers.update(
            {
                "Retry-After": str(max(1, round(retry_after))),
                "X-RateLimit-Scope": "global" if is_global else scope,
                # Without Via discord.py assumes a Cloudflare ban and raises instead of retrying.
                "Via": "1.1 google",
            }
        )
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers["X-RateLimit-Remaining"] = "0"
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global, "code": 0}
        return self._finish(record, 429, body, headers)

    # ---- gateway ------------------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        self._sockets.add(ws)
        session: GatewaySession | None = None
        try:
            await ws.send_str(
                json.dumps({"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}, "s": None, "t": None})
            )
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    frame = json.loads(msg.data)
                except ValueError:
                    await ws.close(code=4002, message=b"Decode error")
                    break
                op = frame.get("op")
                data = frame.get("d")
                if op == 1:
                    if self.ack_heartbeats:
                        await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
                elif op == 2:
                    session = await self._identify(ws, data or {})
                elif op == 6:
                    session = await self._resume(ws, data or {})
                elif op in (3, 4, 8):
                    pass  # presence, voice and member requests: accepted and ignored
                else:
                    await ws.close(code=4001, message=b"Unknown opcode")
        finally:
            self._sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
            self.world.notify()
        return ws

    async def _identify(self, ws: web.WebSocketResponse, data: Mapping[str, Any]) -> GatewaySession | None:
        if data.get("token") != self.token and data.get("token") != f"Bot {self.token}":
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        session = GatewaySession(uuid.uuid4().hex, int(data.get("intents") or 0), ws=ws)
        self.sessions[session.id] = session
        self.session = session
        self.identify_count += 1
        ready = {
            "v": 10,
            "user": self.world.bot_user.payload(),
            "guilds": [{"id": str(self.guild_id), "unavailable": True}],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "shard": [0, 1],
            "private_channels": [],
            "relationships": [],
        }
        await self._send_event(session, "READY", ready)
        await self._send_event(session, "GUILD_CREATE", self.world.guild.payload())
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: Mapping[str, Any]) -> GatewaySession | None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or data.get("token") not in (self.token, f"Bot {self.token}"):
            await ws.send_str(json.dumps({"op": 9, "d": False, "s": None, "t": None}))
            return None
        self.session = session
        seq = int(data.get("seq") or 0)
        async with session.lock:
            session.ws = ws
            for event in session.events:
                if event["s"] > seq:
                    await ws.send_str(json.dumps(event))
                    self.replayed.append(event)
        await self._send_event(session, "RESUMED", {})
        self.resume_count += 1
        self.world.notify()
        return session

    async def _send_event(self, session: GatewaySession, name: str, data: Any) -> None:
        async with session.lock:
            session.seq += 1
            event = {"op": 0, "t": name, "s": session.seq, "d": data}
            session.events.append(event)
            if session.ws is not None and not session.ws.closed:
                try:
                    await session.ws.send_str(json.dumps(event))
                except ConnectionError:
                    # The client went away mid-send; the event stays in the log and is replayed on RESUME.
                    log.debug("Gateway send of %s failed; kept for resume", name)

    async def dispatch(self, name: str, data: Any) -> None:
        """Send a dispatch event to the bot; while it is disconnected the event waits for its RESUME."""
        if self.session is None:
            log.debug("No gateway session; dropping %s", name)
            return
        await self._send_event(self.session, name, data)

    @property
    def connected(self) -> bool:
        return self.session is not None and self.session.ws is not None and not self.session.ws.closed

    async def drop_gateway(self, code: int = 4000, *, invalidate: bool = False) -> None:
        """Close the bot's gateway socket. 4000 is resumable; ``invalidate`` forgets the session (re-IDENTIFY)."""
        session = self.session
        if session is None or session.ws is None:
            return
        ws = session.ws
        session.ws = None
        if invalidate:
            self.sessions.pop(session.id, None)
        await ws.close(code=code, message=b"emulated drop")

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT, as Discord does before moving a session."""
        if self.session is not None and self.session.ws is not None:
            await self.session.ws.send_str(json.dumps({"op": 7, "d": None, "s": None, "t": None}))

    # ---- interactions (called by the driver) -----------------------------------------------------------------

    async def create_interaction(
        self,
        kind: int,
        member: Member,
        channel: Channel,
        data: dict[str, Any],
        *,
        message: StoredMessage | None = None,
    ) -> Interaction:
        guild = self.world.guild
        bot_member = guild.members[self.world.bot_user.id]
        iid = self.world.ids.next()
        token = Interaction.new_token()
        payload: dict[str, Any] = {
            "id": str(iid),
            "application_id": str(self.application_id),
            "type": kind,
            "token": token,
            "version": 1,
            "data": data,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "member": member.payload(permissions=guild.channel_permissions(member, channel)),
            "app_permissions": str(guild.channel_permissions(bot_member, channel)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        if message is not None:
            payload["message"] = message.payload
        interaction = Interaction(
            iid,
            token,
            kind,
            member.id,
            guild.id,
            channel.id,
            payload,
            created_at=self.now(),
            source_message_id=message.id if message else None,
        )
        self.world.interactions[iid] = interaction
        self.world.interactions_by_token[token] = interaction
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    # ---- REST handlers: identity, gateway, commands, guild ------------------------------------------------

    async def _get_me(self, ctx: _Ctx) -> Reply:
        return 200, self.world.bot_user.payload()

    async def _get_application(self, ctx: _Ctx) -> Reply:
        return 200, {
            "id": str(self.application_id),
            "name": self.world.bot_user.username,
            "description": "newsbot (emulated)",
            "icon": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "owner": self.world.owner.payload(),
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
            "summary": "",
            "bot": self.world.bot_user.payload(),
            "guild_id": None,
            "interactions_endpoint_url": None,
        }

    async def _get_gateway(self, ctx: _Ctx) -> Reply:
        return 200, {"url": self.gateway_url}

    async def _get_gateway_bot(self, ctx: _Ctx) -> Reply:
        return 200, {
            "url": self.gateway_url,
            "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1},
        }

    def _check_app(self, ctx: _Ctx) -> None:
        if ctx.params.get("application_id") != str(self.application_id):
            raise ApiError(403, 50001, "Missing Access")

    def _check_guild(self, ctx: _Ctx) -> None:
        if ctx.params.get("guild_id") != str(self.guild_id):
            raise ApiError(404, 10004, "Unknown Guild")

    async def _get_global_commands(self, ctx: _Ctx) -> Reply:
        self._check_app(ctx)
        return 200, [c.payload() for c in self.world.global_commands.values()]

    async def _put_global_commands(self, ctx: _Ctx) -> Reply:
        self._check_app(ctx)
        commands = self.world.replace_commands(None, list(ctx.body or []))
        return 200, [c.payload() for c in commands]

    async def _get_guild_commands(self, ctx: _Ctx) -> Reply:
        self._check_app(ctx)
        self._check_guild(ctx)
        return 200, [c.payload() for c in self.world.commands_for(self.guild_id).values()]

    async def _put_guild_commands(self, ctx: _Ctx) -> Reply:
        self._check_app(ctx)
        self._check_guild(ctx)
        commands = self.world.replace_commands(self.guild_id, list(ctx.body or []))
        return 200, [c.payload() for c in commands]

    async def _post_guild_command(self, ctx: _Ctx) -> Reply:
        self._check_app(ctx)
        self._check_guild(ctx)
        existing = [c.data for c in self.world.commands_for(self.guild_id).values() if c.name != ctx.body.get("name")]
        commands = self.world.replace_commands(self.guild_id, [*existing, dict(ctx.body)])
        return 201, commands[-1].payload()

    async def _get_guild(self, ctx: _Ctx) -> Reply:
        self._check_guild(ctx)
        data = self.world.guild.payload()
        for key in ("channels", "members", "threads", "voice_states", "presences"):
            data.pop(key, None)
        return 200, data

    async def _get_guild_channels(self, ctx: _Ctx) -> Reply:
        self._check_guild(ctx)
        return 200, [c.payload() for c in self.world.guild.channels.values() if not c.is_thread]

    async def _get_member(self, ctx: _Ctx) -> Reply:
        self._check_guild(ctx)
        member = self.world.guild.members.get(int(ctx.params["user_id"]))
        if member is None:
            raise ApiError(404, 10007, "Unknown Member")
        return 200, member.payload()

    # ---- REST handlers: channels and messages ---------------------------------------------------------------

    def _channel(self, ctx: _Ctx) -> Channel:
        try:
            return self.world.guild.channels[int(ctx.params["channel_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, 10003, "Unknown Channel") from None

    def _message(self, channel_id: int, raw_id: str) -> StoredMessage:
        try:
            message = self.world.messages[int(raw_id)]
        except (KeyError, ValueError):
            raise ApiError(404, 10008, "Unknown Message") from None
        if message.deleted or message.channel_id != channel_id or message.ephemeral_to is not None:
            raise ApiError(404, 10008, "Unknown Message")
        return message

    def _bot_can(self, channel: Channel, bits: int) -> bool:
        bot_member = self.world.guild.members[self.world.bot_user.id]
        return self.world.guild.channel_permissions(bot_member, channel) & bits == bits

    async def _get_channel(self, ctx: _Ctx) -> Reply:
        return 200, self._channel(ctx).payload()

    async def _list_messages(self, ctx: _Ctx) -> Reply:
        channel = self._channel(ctx)
        if not self._bot_can(channel, VIEW_CHANNEL):
            raise ApiError(403, 50001, "Missing Access")
        messages = self.world.channel_messages(channel.id)
        limit = max(1, min(100, int(ctx.query.get("limit", "50"))))
        if "before" in ctx.query:
            messages = [m for m in messages if m.id < int(ctx.query["before"])]
        if "after" in ctx.query:
            messages = [m for m in messages if m.id > int(ctx.query["after"])][:limit]
        newest_first = list(reversed(messages))[:limit]
        return 200, [m.payload for m in newest_first]

    async def _get_message(self, ctx: _Ctx) -> Reply:
        channel = self._channel(ctx)
        return 200, self._message(channel.id, ctx.params["message_id"]).payload

    @staticmethod
    def _require_content(body: Mapping[str, Any]) -> None:
        if not any(
            body.get(k) for k in ("content", "embeds", "components", "attachments", "sticker_ids", "poll", "_files")
        ):
            raise ApiError(400, 50006, "Cannot send an empty message")

    async def _create_message(self, ctx: _Ctx) -> Reply:
        channel = self._channel(ctx)
        need = SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES
        if not self._bot_can(channel, VIEW_CHANNEL | need):
            raise ApiError(403, 50013, "Missing Permissions")
        body: dict[str, Any] = dict(ctx.body or {})
        self._require_content(body)
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            previous = self.world.nonces.get((channel.id, str(nonce)))
            if previous is not None and not self.world.messages[previous].deleted:
                # Discord returns the message that the first request with this nonce created.
                return 200, self.world.messages[previous].payload
        payload = self.world.message_payload(
            body, channel_id=channel.id, message_type=19 if body.get("message_reference") else 0
        )
        stored = StoredMessage(
            payload, channel.id, body.get("allowed_mentions"), str(nonce) if nonce is not None else None
        )
        self.world.messages[stored.id] = stored
        if nonce is not None and body.get("enforce_nonce"):
            self.world.nonces[(channel.id, str(nonce))] = stored.id
        await self._announce_create(stored)
        return 200, payload

    async def _store_interaction_message(
        self, interaction: Interaction, body: dict[str, Any], *, flags: int, ephemeral: bool
    ) -> StoredMessage:
        """A response or follow-up message: stored, and announced unless only its invoker can see it."""
        payload = self.world.message_payload(
            body,
            channel_id=interaction.channel_id,
            message_type=20 if interaction.type == 2 else 0,
            webhook_id=self.application_id,
            interaction=interaction,
            flags=flags,
        )
        stored = StoredMessage(
            payload,
            interaction.channel_id,
            body.get("allowed_mentions"),
            ephemeral_to=interaction.user_id if ephemeral else None,
            interaction_id=interaction.id,
        )
        self.world.messages[stored.id] = stored
        await self._announce_create(stored)
        return stored

    async def _announce_create(self, stored: StoredMessage) -> None:
        if stored.ephemeral_to is not None:
            return
        event = dict(stored.payload)
        author = self.world.guild.members.get(stored.author_id)
        if author is not None:
            event["member"] = author.payload(with_user=False)
        await self.dispatch("MESSAGE_CREATE", event)

    def _apply_edit(self, stored: StoredMessage, body: Mapping[str, Any]) -> None:
        payload = stored.payload
        for key in ("content", "embeds", "components", "attachments"):
            if key in body:
                payload[key] = body[key] if body[key] is not None else ("" if key == "content" else [])
        if "allowed_mentions" in body:
            stored.allowed_mentions = body["allowed_mentions"]
        if payload.get("flags", 0) & LOADING:
            payload["flags"] &= ~LOADING
        else:
            payload["edited_timestamp"] = payload["timestamp"]

    async def _edit_message(self, ctx: _Ctx) -> Reply:
        channel = self._channel(ctx)
        stored = self._message(channel.id, ctx.params["message_id"])
        if stored.author_id != self.world.bot_user.id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        self._apply_edit(stored, ctx.body or {})
        await self.dispatch("MESSAGE_UPDATE", stored.payload)
        return 200, stored.payload

    async def _delete_message(self, ctx: _Ctx) -> Reply:
        channel = self._channel(ctx)
        stored = self._message(channel.id, ctx.params["message_id"])
        if stored.author_id != self.world.bot_user.id and not self._bot_can(channel, MANAGE_MESSAGES):
            raise ApiError(403, 50013, "Missing Permissions")
        stored.deleted = True
        await self.dispatch(
            "MESSAGE_DELETE", {"id": str(stored.id), "channel_id": str(channel.id), "guild_id": str(self.guild_id)}
        )
        return 204, None

    async def _new_thread(self, parent: Channel, body: Mapping[str, Any], thread_id: int | None, kind: int) -> Channel:
        thread = Channel(
            thread_id or self.world.ids.next(),
            self.guild_id,
            str(body.get("name")),
            type=kind,
            parent_id=parent.id,
            owner_id=self.world.bot_user.id,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
        )
        self.world.guild.channels[thread.id] = thread
        await self.dispatch("THREAD_CREATE", {**thread.payload(), "newly_created": True})
        return thread

    async def _thread_from_message(self, ctx: _Ctx) -> Reply:
        channel = self._channel(ctx)
        stored = self._message(channel.id, ctx.params["message_id"])
        if channel.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        if stored.id in self.world.guild.channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        # On Discord a thread started from a message shares that message's id.
        thread = await self._new_thread(channel, ctx.body or {}, stored.id, 11)
        stored.payload["thread"] = thread.payload()
        return 201, thread.payload()

    async def _thread_without_message(self, ctx: _Ctx) -> Reply:
        channel = self._channel(ctx)
        body = ctx.body or {}
        thread = await self._new_thread(channel, body, None, int(body.get("type") or 12))
        return 201, thread.payload()

    async def _create_channel_webhook(self, ctx: _Ctx) -> Reply:
        channel = self._channel(ctx)
        name = str((ctx.body or {}).get("name") or "webhook")
        wid, token = self.create_webhook(channel, name)
        return 200, {
            "id": str(wid),
            "type": 1,
            "guild_id": str(self.guild_id),
            "channel_id": str(channel.id),
            "name": name,
            "avatar": None,
            "token": token,
            "application_id": str(self.application_id),
            "user": self.world.bot_user.payload(),
        }

    # ---- REST handlers: interactions and webhooks ----------------------------------------------------------

    async def _callback(self, ctx: _Ctx) -> Reply:
        try:
            interaction = self.world.interactions[int(ctx.params["interaction_id"])]
        except (KeyError, ValueError):
            raise ApiError(404, 10062, "Unknown interaction") from None
        if interaction.token != ctx.params["interaction_token"]:
            raise ApiError(404, 10062, "Unknown interaction")
        if interaction.acked:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if interaction.expired or self.now() - interaction.created_at > self.deadline_s:
            interaction.expired = True
            interaction.late_callbacks += 1
            raise ApiError(404, 10062, "Unknown interaction")
        body: dict[str, Any] = dict(ctx.body or {})
        kind = int(body.get("type", 0))
        data: dict[str, Any] = dict(body.get("data") or {})
        self._check_callback_type(interaction, kind)
        if kind == 4:
            # A new message needs something to show, exactly as a channel message does. Type 7 edits the source
            # message instead, and Discord lets edits leave a message empty, so only creation is checked.
            self._require_content({**data, "_files": body.get("_files")})
        resource: dict[str, Any] | None = None
        response_message_id: int | None = None
        if kind in (4, 5):
            flags = int(data.get("flags") or 0)
            ephemeral = bool(flags & EPHEMERAL)
            if kind == 5:
                flags = LOADING | (EPHEMERAL if ephemeral else 0)
                data = {"content": ""}
            stored = await self._store_interaction_message(interaction, data, flags=flags, ephemeral=ephemeral)
            interaction.original_message_id = stored.id
            response_message_id = stored.id
            resource = {"type": kind, "message": stored.payload}
        elif kind in (6, 7):
            source = self.world.messages.get(interaction.source_message_id or 0)
            interaction.original_message_id = interaction.source_message_id
            response_message_id = interaction.source_message_id
            if kind == 7 and source is not None:
                self._apply_edit(source, data)
                if source.ephemeral_to is None:
                    await self.dispatch("MESSAGE_UPDATE", source.payload)
                resource = {"type": kind, "message": source.payload}
        elif kind == 8:
            interaction.choices = list(data.get("choices") or [])
        elif kind == 9:
            interaction.modal = data
            self.world.last_modal[interaction.user_id] = (interaction, data)
        interaction.acked = True
        interaction.callback_type = kind
        interaction.callback_body = body
        answer: dict[str, Any] = {"interaction": {"id": str(interaction.id), "type": interaction.type}}
        if response_message_id is not None:
            message = self.world.messages.get(response_message_id)
            answer["interaction"].update(
                response_message_id=str(response_message_id),
                response_message_loading=kind == 5,
                response_message_ephemeral=bool(message and message.ephemeral),
            )
        if resource is not None:
            answer["resource"] = resource
        with_response = ctx.query.get("with_response", "").lower() in ("1", "true")
        return (200, answer) if with_response else (204, None)

    @staticmethod
    def _check_callback_type(interaction: Interaction, kind: int) -> None:
        allowed = {
            2: {4, 5, 9},
            3: {4, 5, 6, 7, 9},
            4: {8},
            5: {4, 5, 6, 7},
        }.get(interaction.type, set())
        if interaction.type == 5 and interaction.source_message_id is None:
            allowed = {4, 5}
        if kind not in allowed:
            error = {
                "code": "INTERACTION_CALLBACK_TYPE_INVALID",
                "message": f"Callback type {kind} is not valid for interaction type {interaction.type}.",
            }
            raise ApiError(400, 50035, "Invalid Form Body", {"type": {"_errors": [error]}})

    def _webhook_interaction(self, ctx: _Ctx) -> Interaction | None:
        """The interaction behind an application webhook token, or ``None`` for a channel webhook."""
        if ctx.params["webhook_id"] != str(self.application_id):
            return None
        interaction = self.world.interactions_by_token.get(ctx.params["webhook_token"])
        if interaction is None or not interaction.acked:
            raise ApiError(404, 10015, "Unknown Webhook")
        if self.now() - interaction.created_at > self.token_ttl_s:
            raise ApiError(401, 50027, "Invalid Webhook Token")
        return interaction

    async def _execute_webhook(self, ctx: _Ctx) -> Reply:
        body: dict[str, Any] = dict(ctx.body or {})
        self._require_content(body)
        wait = ctx.query.get("wait", "").lower() in ("1", "true")
        interaction = self._webhook_interaction(ctx)
        if interaction is None:
            entry = self.world.webhooks.get(int(ctx.params["webhook_id"]))
            if entry is None or entry[0] != ctx.params["webhook_token"]:
                raise ApiError(404, 10015, "Unknown Webhook")
            _token, channel_id, name = entry
            wid = int(ctx.params["webhook_id"])
            author = User(wid, str(body.get("username") or name), bot=True)
            target = int(ctx.query["thread_id"]) if "thread_id" in ctx.query else channel_id
            payload = self.world.message_payload(body, channel_id=target, author=author, webhook_id=wid)
            stored = StoredMessage(payload, target, body.get("allowed_mentions"))
            self.world.messages[stored.id] = stored
            await self._announce_create(stored)
            return (200, payload) if wait else (204, None)
        original = self.world.messages.get(interaction.original_message_id or 0)
        if (
            interaction.callback_type == 5
            and original is not None
            and not original.deleted
            and original.flags & LOADING
        ):
            # The first follow-up after a "thinking" defer replaces the loading message.
            self._apply_edit(original, body)
            interaction.followup_ids.append(original.id)
            if original.ephemeral_to is None:
                await self.dispatch("MESSAGE_UPDATE", original.payload)
            return (200, original.payload) if wait else (204, None)
        flags = int(body.get("flags") or 0)
        stored = await self._store_interaction_message(
            interaction, body, flags=flags, ephemeral=bool(flags & EPHEMERAL)
        )
        interaction.followup_ids.append(stored.id)
        return (200, stored.payload) if wait else (204, None)

    def _webhook_message(self, ctx: _Ctx) -> StoredMessage:
        interaction = self._webhook_interaction(ctx)
        raw = ctx.params.get("message_id", "@original")
        if interaction is None:
            entry = self.world.webhooks.get(int(ctx.params["webhook_id"]))
            if entry is None or entry[0] != ctx.params["webhook_token"] or raw == "@original":
                raise ApiError(404, 10015, "Unknown Webhook")
            stored = self.world.messages.get(int(raw))
            if stored is None or stored.deleted or stored.author_id != int(ctx.params["webhook_id"]):
                raise ApiError(404, 10008, "Unknown Message")
            return stored
        mid = interaction.original_message_id if raw == "@original" else int(raw)
        stored = self.world.messages.get(mid or 0)
        if stored is None or stored.deleted:
            raise ApiError(404, 10008, "Unknown Message")
        if raw != "@original" and stored.id not in interaction.followup_ids:
            raise ApiError(404, 10008, "Unknown Message")
        return stored

    async def _get_webhook_message(self, ctx: _Ctx) -> Reply:
        return 200, self._webhook_message(ctx).payload

    async def _edit_webhook_message(self, ctx: _Ctx) -> Reply:
        stored = self._webhook_message(ctx)
        self._apply_edit(stored, ctx.body or {})
        if stored.ephemeral_to is None:
            await self.dispatch("MESSAGE_UPDATE", stored.payload)
        return 200, stored.payload

    async def _delete_webhook_message(self, ctx: _Ctx) -> Reply:
        stored = self._webhook_message(ctx)
        stored.deleted = True
        if stored.ephemeral_to is None:
            await self.dispatch(
                "MESSAGE_DELETE",
                {"id": str(stored.id), "channel_id": str(stored.channel_id), "guild_id": str(self.guild_id)},
            )
        return 204, None

    # ---- convenience for tests -----------------------------------------------------------------------------

    def requests_to(self, method: str, route: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.method == method and r.route == route]

    def permissions_of(self, who: Member | str | int, channel: Channel | str | int | None = None) -> int:
        member = self.world.member(who)
        target = self.world.channel(channel) if channel is not None else next(iter(self.world.guild.channels.values()))
        return self.world.guild.channel_permissions(member, target)

    @staticmethod
    def permission_bits(perms: int | str | list[str]) -> int:
        return permission_value(perms)
