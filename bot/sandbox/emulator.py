"""A loopback Discord: REST under ``/api/v10`` and the gateway at ``/gateway``, both on one aiohttp app.

The real discord.py client talks to it unmodified once :func:`discord_pointed_at` has patched the two class
attributes that hold Discord's URLs. The emulator enforces what Discord enforces (interaction deadlines, double
acknowledgements, rate limits, nonces, permissions, request-body limits) and records every request, so tests can
assert on what the bot sent even when the bot swallowed an error. See ``shared/notes/discord-emulator.md``.

:class:`DiscordEmulator` is the façade tests, the sandbox and benchmarks use; the work is done by its parts:
:mod:`~bot.sandbox.gateway`, :mod:`~bot.sandbox.rest` (the request pipeline) with the route groups in
:mod:`bot.sandbox.routes`, :mod:`~bot.sandbox.ratelimits`, :mod:`~bot.sandbox.state` and
:mod:`~bot.sandbox.validation`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

import discord
import yarl
from aiohttp import web

from bot.sandbox.faults import Fault, Fault429, FaultDelay, FaultScript, FaultStatus
from bot.sandbox.gateway import Gateway, GatewaySession
from bot.sandbox.permissions import permission_value
from bot.sandbox.ratelimits import DEFAULT_ROUTE_LIMIT, GLOBAL_LIMIT, RateLimiter, RateLimitHit
from bot.sandbox.rest import API_PREFIX, ApiError, Rejection, RequestRecord, RestApi, json_response
from bot.sandbox.routes.channels import ChannelRoutes
from bot.sandbox.routes.commands import CommandRoutes
from bot.sandbox.routes.guild import GuildRoutes
from bot.sandbox.routes.interactions import InteractionRoutes
from bot.sandbox.routes.messages import NONCE_WINDOW_S, MessageRoutes
from bot.sandbox.state import (
    DEFAULT_CHANNELS,
    DEFAULT_ROLES,
    TEXT,
    Channel,
    ChannelSpec,
    Interaction,
    Member,
    Overwrite,
    Role,
    StoredMessage,
    World,
)
from bot.sandbox.validation import RequestValidator, find_openapi_spec

__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "DiscordEmulator",
    "Fault",
    "Fault429",
    "FaultDelay",
    "FaultStatus",
    "Rejection",
    "RequestRecord",
    "discord_pointed_at",
]

log = logging.getLogger(__name__)

DEFAULT_TOKEN = "sandbox-token"
INFO_PATH = "/_emulator/info"
"""Unauthenticated, loopback-only: what a bot process needs to attach (see :mod:`bot.sandbox.attach`)."""

Who = Member | str | int
Where = Channel | str | int
Perms = int | str | Iterable[str]


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
        global_limit: int = GLOBAL_LIMIT,
        rate_limits: bool = True,
        nonce_window_s: float = NONCE_WINDOW_S,
        guild_name: str = "Sandbox",
        channels: Iterable[ChannelSpec] = DEFAULT_CHANNELS,
        roles: Iterable[tuple[str, Iterable[str], bool]] = DEFAULT_ROLES,
    ) -> None:
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError("the emulator listens on loopback only")
        self.token = token
        self.host = host
        self.port = port
        self.deadline_s = deadline_s
        self.token_ttl_s = token_ttl_s
        self.nonce_window_s = nonce_window_s
        spec = find_openapi_spec() if openapi == "auto" else (find_openapi_spec(openapi) if openapi else None)
        self.validator = RequestValidator(spec)
        self.world = World(guild_name=guild_name, channel_names=channels, roles=roles)
        self.requests: list[RequestRecord] = []
        self.rejections: list[Rejection] = []
        self.latency = 0.0
        self._time_offset = 0.0
        self.faults = FaultScript()
        self.rate_limiter = RateLimiter(
            self.now,
            route_limits=route_limits,
            default_route_limit=default_route_limit,
            global_limit=global_limit,
            enabled=rate_limits,
        )
        self.gateway = Gateway(self, heartbeat_interval_ms=heartbeat_interval_ms)
        self.message_routes = MessageRoutes(self)
        self.channel_routes = ChannelRoutes(self)
        groups = [
            CommandRoutes(self),
            GuildRoutes(self),
            self.channel_routes,
            self.message_routes,
            InteractionRoutes(self),
        ]
        self.rest = RestApi(self, [route for group in groups for route in group.routes()])
        self._runner: web.AppRunner | None = None

    # ---- lifecycle --------------------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get(INFO_PATH, self._info)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self.rest.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else self.port
        log.info("Discord emulator listening on %s", self.base_url)

    async def close(self) -> None:
        await self.gateway.close_all()
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

    def info(self) -> dict[str, Any]:
        return {
            "api": self.api_base,
            "gateway": self.gateway_url,
            "token": self.token,
            "guild_id": str(self.guild_id),
            "application_id": str(self.application_id),
        }

    async def _info(self, request: web.Request) -> web.Response:
        return json_response(200, self.info())

    # ---- clock, waiting, faults ---------------------------------------------------------------------------

    def now(self) -> float:
        """Monotonic time plus :meth:`advance_time` offsets: token expiry, nonce windows and rate-limit buckets
        run on it, so a test can move time forward instead of sleeping."""
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
        self.faults.add(route, *faults)

    def pending_faults(self, route: str) -> int:
        return self.faults.pending(route)

    # ---- rate limits --------------------------------------------------------------------------------------

    @property
    def route_limits(self) -> dict[str, tuple[int, float]]:
        """``"METHOD /template"`` → ``(requests, window seconds)``; edit it to lower or raise a route's limit."""
        return self.rate_limiter.route_limits

    @property
    def default_route_limit(self) -> tuple[int, float]:
        return self.rate_limiter.default_route_limit

    @default_route_limit.setter
    def default_route_limit(self, value: tuple[int, float]) -> None:
        self.rate_limiter.default_route_limit = value

    @property
    def global_limit(self) -> int:
        return self.rate_limiter.global_limit

    @global_limit.setter
    def global_limit(self, value: int) -> None:
        self.rate_limiter.global_limit = value

    @property
    def rate_limits_enabled(self) -> bool:
        return self.rate_limiter.enabled

    @rate_limits_enabled.setter
    def rate_limits_enabled(self, value: bool) -> None:
        self.rate_limiter.enabled = value

    @property
    def rate_limit_hits(self) -> list[RateLimitHit]:
        """Every 429 answered, scripted ones included (``hit.scripted``), oldest first."""
        return self.rate_limiter.hits

    # ---- gateway ------------------------------------------------------------------------------------------

    async def dispatch(self, name: str, data: Any) -> None:
        """Send a dispatch event to the bot; while it is disconnected the event waits for its RESUME."""
        await self.gateway.dispatch(name, data)

    @property
    def connected(self) -> bool:
        return self.gateway.connected

    @property
    def identify_count(self) -> int:
        return self.gateway.identify_count

    @property
    def resume_count(self) -> int:
        return self.gateway.resume_count

    @property
    def replayed(self) -> list[dict[str, Any]]:
        return self.gateway.replayed

    @property
    def session(self) -> GatewaySession | None:
        return self.gateway.session

    @property
    def sessions(self) -> dict[str, GatewaySession]:
        return self.gateway.sessions

    @property
    def ack_heartbeats(self) -> bool:
        return self.gateway.ack_heartbeats

    @ack_heartbeats.setter
    def ack_heartbeats(self, value: bool) -> None:
        self.gateway.ack_heartbeats = value

    @property
    def heartbeat_interval_ms(self) -> int:
        return self.gateway.heartbeat_interval_ms

    async def drop_gateway(self, code: int = 4000, *, invalidate: bool = False) -> None:
        """Close the bot's gateway socket. 4000 is resumable; ``invalidate`` forgets the session (re-IDENTIFY)."""
        await self.gateway.drop(code, invalidate=invalidate)

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT, as Discord does before moving a session."""
        await self.gateway.request_reconnect()

    # ---- the world, read --------------------------------------------------------------------------------

    @property
    def guild_id(self) -> int:
        return self.world.guild.id

    @property
    def application_id(self) -> int:
        return self.world.application_id

    def messages_in(self, channel: Where) -> list[StoredMessage]:
        """Undeleted, non-ephemeral messages in a channel (also one that was deleted since), oldest first."""
        if isinstance(channel, int) and channel in self.world.deleted_channels:
            return self.world.channel_messages(channel)
        return self.world.channel_messages(self.world.channel(channel).id)

    def requests_to(self, method: str, route: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.method == method and r.route == route]

    def permissions_of(self, who: Who, channel: Where | None = None) -> int:
        member = self.world.member(who)
        target = self.world.channel(channel) if channel is not None else next(iter(self.world.guild.channels.values()))
        return self.world.guild.channel_permissions(member, target)

    @staticmethod
    def permission_bits(perms: Perms) -> int:
        return permission_value(perms)

    # ---- the world, changed (what a server admin does; the bot hears of it on the gateway) ----------------------

    def add_member(self, name: str, permissions: Perms | None = None) -> Member:
        return self.world.add_member(name, permissions=permissions)

    def create_webhook(self, channel: Where, name: str = "Captain Hook") -> tuple[int, str]:
        return self.channel_routes.add_webhook(self.world.channel(channel), name)

    async def add_role(self, name: str, permissions: Perms = (), *, mentionable: bool = False) -> Role:
        """A new role: GUILD_ROLE_CREATE."""
        role = self.world.add_role(name, permissions, mentionable=mentionable)
        await self.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(self.guild_id), "role": role.payload()})
        return role

    async def update_role(
        self, role: Role | str | int, *, permissions: Perms | None = None, mentionable: bool | None = None
    ) -> Role:
        """Change a role's permissions or mentionability: GUILD_ROLE_UPDATE."""
        found = self.world.role(role)
        if permissions is not None:
            found.permissions = permission_value(permissions)
        if mentionable is not None:
            found.mentionable = mentionable
        await self.dispatch("GUILD_ROLE_UPDATE", {"guild_id": str(self.guild_id), "role": found.payload()})
        return found

    async def set_member_roles(self, who: Who, roles: Iterable[Role | str | int]) -> Member:
        """Replace a member's roles (the bot's too): GUILD_MEMBER_UPDATE."""
        member = self.world.member(who)
        member.role_ids = [self.world.role(r).id for r in roles if self.world.role(r).id != self.guild_id]
        await self.dispatch("GUILD_MEMBER_UPDATE", {**member.payload(), "guild_id": str(self.guild_id)})
        return member

    async def set_overwrite(
        self, channel: Where, target: Role | Member | str | int, *, allow: Perms = (), deny: Perms = ()
    ) -> Channel:
        """Set the channel overwrite for a role or member; with nothing allowed or denied it is removed.

        ``"@name"`` is the role of that name if there is one, a bare ``"name"`` the member of that name if there is
        one (``"newsbot"`` is the bot, ``"@newsbot"`` its managed role). CHANNEL_UPDATE.
        """
        found = self.world.channel(channel)
        if found.is_thread:
            raise ValueError(f"#{found.name} is a thread; threads take their parent channel's overwrites")
        target_id, kind = self._overwrite_target(target)
        found.overwrites = [o for o in found.overwrites if o.id != target_id]
        bits_allow, bits_deny = permission_value(allow), permission_value(deny)
        if bits_allow or bits_deny:
            found.overwrites.append(Overwrite(target_id, kind, bits_allow, bits_deny))
        await self.dispatch("CHANNEL_UPDATE", found.payload())
        self.world.notify()
        return found

    def _overwrite_target(self, target: Role | Member | str | int) -> tuple[int, int]:
        if isinstance(target, Role):
            return target.id, 0
        if isinstance(target, Member):
            return target.id, 1
        if isinstance(target, int):
            if target in self.world.guild.roles:
                return target, 0
            return self.world.member(target).id, 1
        text = target.strip()
        if text in ("@everyone", "everyone"):
            return self.guild_id, 0
        name = text.removeprefix("@")
        role = self.world.role_by_name(name)
        member = self.world.member_by_name(name)
        # "@name" is a role when one has that name (as in a Discord mention); a bare name is a member first.
        if role is not None and (text.startswith("@") or member is None):
            return role.id, 0
        return self.world.member(text).id, 1

    async def add_channel(self, name: str, *, type: int = TEXT, overwrites: Iterable[Overwrite] = ()) -> Channel:
        """A new channel: CHANNEL_CREATE."""
        channel = self.world.add_channel(name, type=type, overwrites=overwrites)
        await self.dispatch("CHANNEL_CREATE", channel.payload())
        return channel

    async def delete_channel(self, channel: Where) -> None:
        """Delete a channel (and its threads): CHANNEL_DELETE; the bot's later calls get 404 Unknown Channel."""
        await self.channel_routes.remove(self.world.channel(channel))
        self.world.notify()

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
        world = self.world
        guild = world.guild
        iid = world.ids.next()
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
            "app_permissions": str(guild.channel_permissions(world.bot_member, channel)),
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
        world.interactions[iid] = interaction
        world.interactions_by_token[token] = interaction
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction
