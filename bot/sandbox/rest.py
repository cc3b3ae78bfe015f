"""The REST half of the emulator: routing, the request pipeline and Discord's response shapes.

Every request under ``/api/v10`` goes through one pipeline, in Discord's order: authentication, scripted faults,
rate limits, body validation (:mod:`bot.sandbox.validation`), then the route's handler. Each request is logged as
a :class:`RequestRecord`, and each body refused by validation as a :class:`Rejection`, so a test can assert on
what the bot sent even when the bot swallowed the error.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from bot.sandbox.faults import Fault429, FaultDelay, FaultStatus
from bot.sandbox.ratelimits import major_of
from bot.sandbox.validation import Layer, ValidationResult

if TYPE_CHECKING:
    from bot.sandbox.emulator import DiscordEmulator

log = logging.getLogger(__name__)

API_PREFIX = "/api/v10"
JSON = "application/json"


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


# The errors Discord answers most, by name (topics/opcodes-and-status-codes, "JSON Error Codes").
def unknown_channel() -> ApiError:
    return ApiError(404, 10003, "Unknown Channel")


def unknown_message() -> ApiError:
    return ApiError(404, 10008, "Unknown Message")


def missing_access() -> ApiError:
    return ApiError(403, 50001, "Missing Access")


def missing_permissions() -> ApiError:
    return ApiError(403, 50013, "Missing Permissions")


def empty_message() -> ApiError:
    return ApiError(400, 50006, "Cannot send an empty message")


def invalid_form(path: Sequence[str | int], code: str, message: str) -> ApiError:
    node: dict[str, Any] = {"_errors": [{"code": code, "message": message}]}
    for part in reversed(list(path)):
        node = {str(part): node}
    return ApiError(400, 50035, "Invalid Form Body", node)


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
class Ctx:
    request: web.Request
    params: dict[str, str]
    query: dict[str, str]
    body: Any


Reply = tuple[int, Any]
Handler = Callable[[Ctx], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Route:
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


def json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py compares the header string and treats anything else as text.
    out = dict(headers or {})
    if body is None:
        return web.Response(status=status, headers=out)
    out["Content-Type"] = JSON
    return web.Response(status=status, body=json.dumps(body).encode(), headers=out)


async def read_body(request: web.Request) -> Any:
    """JSON, or multipart with ``payload_json`` (file parts are read and named in ``_files``)."""
    if not request.can_read_body:
        return None
    if request.content_type.startswith("multipart/"):
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


class RestApi:
    """The aiohttp handler for ``/api/v10/*``: one pipeline for every route of every group."""

    def __init__(self, emulator: DiscordEmulator, routes: Sequence[Route]) -> None:
        self.emu = emulator
        self.routes = list(routes)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        parts = path.strip("/").split("/")
        for route in self.routes:
            params = route.match(method, parts)
            if params is not None:
                return route, params
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        emu = self.emu
        if emu.latency > 0:
            await asyncio.sleep(emu.latency)
        path = request.path[len(API_PREFIX) :] or "/"
        query = dict(request.query)
        record = RequestRecord(request.method, path, None, query, None, at=emu.now())
        emu.requests.append(record)
        try:
            return await self._handle(request, record, path, query)
        finally:
            emu.world.notify()

    async def _handle(
        self, request: web.Request, record: RequestRecord, path: str, query: dict[str, str]
    ) -> web.Response:
        emu = self.emu
        matched = self.match(request.method, path)
        if matched is None:
            log.warning("Emulator has no route for %s %s", request.method, path)
            return self._finish(record, 404, {"message": "404: Not Found", "code": 0})
        route, params = matched
        record.route = route.template
        try:
            record.body = await read_body(request)
        except ApiError as exc:
            return self._finish(record, exc.status, exc.body())
        if route.auth and request.headers.get("Authorization") != f"Bot {emu.token}":
            return self._finish(record, 401, {"message": "401: Unauthorized", "code": 0})

        limiter = emu.rate_limiter
        major = major_of(params)
        fault = emu.faults.take(route.key)
        if isinstance(fault, FaultDelay):
            record.fault = f"delay {fault.seconds}s"
            await asyncio.sleep(fault.seconds)
            fault = None
        if isinstance(fault, Fault429):
            record.fault = "429 global" if fault.is_global else "429"
            headers, body = limiter.too_many(
                route.key, major, fault.retry_after, is_global=fault.is_global, scope=fault.scope, scripted=True
            )
            return self._too_many(record, headers, body)
        if isinstance(fault, FaultStatus) and not fault.after_processing:
            record.fault = f"{fault.status}"
            return self._finish(record, fault.status, {"message": "Internal Server Error", "code": 0})

        limited = limiter.check(route.key, major, exempt_global=route.interaction)
        if limited is not None:
            headers, body = limiter.too_many(route.key, major, limited.retry_after, is_global=limited.is_global)
            return self._too_many(record, headers, body)

        if route.kind is not None and record.body is not None:
            result = emu.validator.validate(route.method, route.template, route.kind, record.body)
            if not result.ok:
                return self._reject(record, route, result, limiter.headers(route.key, major))

        ctx = Ctx(request, params, query, record.body)
        try:
            status, body = await route.handler(ctx)
        except ApiError as exc:
            status, body = exc.status, exc.body()
        if isinstance(fault, FaultStatus):
            record.fault = f"{fault.status} after processing"
            status, body = fault.status, {"message": "Internal Server Error", "code": 0}
        return self._finish(record, status, body, limiter.headers(route.key, major))

    def _finish(
        self, record: RequestRecord, status: int, body: Any, headers: Mapping[str, str] | None = None
    ) -> web.Response:
        record.status = status
        record.response = body
        if status >= 400 and status != 429:
            log.debug("Emulator %s %s -> %s %s", record.method, record.path, status, body)
        return json_response(status, body, headers)

    def _too_many(self, record: RequestRecord, headers: dict[str, str], body: dict[str, Any]) -> web.Response:
        # Without Via discord.py assumes a Cloudflare ban and raises instead of retrying.
        return self._finish(record, 429, body, {**headers, "Via": "1.1 google"})

    def _reject(
        self, record: RequestRecord, route: Route, result: ValidationResult, headers: Mapping[str, str]
    ) -> web.Response:
        assert result.layer is not None, "a failed validation always names its layer"
        errors = result.errors()
        rejection = Rejection(
            route.method, record.path, route.template, result.layer, errors, result.summary(), record.body
        )
        self.emu.rejections.append(rejection)
        log.warning("Emulator rejected %s %s (%s): %s", route.method, record.path, result.layer, rejection.summary)
        return self._finish(record, 400, {"code": 50035, "errors": errors, "message": "Invalid Form Body"}, headers)
