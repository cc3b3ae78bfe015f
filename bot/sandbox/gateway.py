"""The gateway half of the emulator: HELLO, heartbeats, IDENTIFY → READY + GUILD_CREATE, RESUME with replay.

Events go to the current session only if its intents ask for them (events/gateway.mdx, "Gateway Intents"), and
without the Message Content intent a member's message arrives with its content fields empty unless it mentions the
bot ("Message Content Intent"). Events sent while the bot is disconnected wait in the session and are replayed on
RESUME, as Discord does; a fresh IDENTIFY starts a new session and what the old one missed is gone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from bot.sandbox.emulator import DiscordEmulator

log = logging.getLogger(__name__)

# Intents (events/gateway.mdx, "List of Intents").
GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MESSAGES = 1 << 9
MESSAGE_CONTENT = 1 << 15

EVENT_INTENTS: Mapping[str, int] = {
    "GUILD_ROLE_CREATE": GUILDS,
    "GUILD_ROLE_UPDATE": GUILDS,
    "GUILD_ROLE_DELETE": GUILDS,
    "CHANNEL_CREATE": GUILDS,
    "CHANNEL_UPDATE": GUILDS,
    "CHANNEL_DELETE": GUILDS,
    "THREAD_CREATE": GUILDS,
    "THREAD_UPDATE": GUILDS,
    "THREAD_DELETE": GUILDS,
    "GUILD_MEMBER_ADD": GUILD_MEMBERS,
    "GUILD_MEMBER_UPDATE": GUILD_MEMBERS,
    "GUILD_MEMBER_REMOVE": GUILD_MEMBERS,
    "MESSAGE_CREATE": GUILD_MESSAGES,
    "MESSAGE_UPDATE": GUILD_MESSAGES,
    "MESSAGE_DELETE": GUILD_MESSAGES,
    "MESSAGE_DELETE_BULK": GUILD_MESSAGES,
}
CONTENT_FIELDS = ("content", "embeds", "attachments", "components", "poll")


@dataclass(slots=True)
class GatewaySession:
    id: str
    intents: int
    seq: int = 0
    ws: web.WebSocketResponse | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def _frame(op: int, d: Any = None) -> str:
    return json.dumps({"op": op, "d": d, "s": None, "t": None})


class Gateway:
    def __init__(self, emulator: DiscordEmulator, *, heartbeat_interval_ms: int = 41250) -> None:
        self.emu = emulator
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.ack_heartbeats = True
        self.identify_count = 0
        self.resume_count = 0
        # Every dispatch event re-sent on a RESUME because the bot had not received it (it was sent while the
        # socket was down, or lost with it), in order: proof that a test's event really crossed a drop.
        self.replayed: list[dict[str, Any]] = []
        self.sessions: dict[str, GatewaySession] = {}
        self.session: GatewaySession | None = None
        self.sockets: set[web.WebSocketResponse] = set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=16 * 1024 * 1024)
        await ws.prepare(request)
        self.sockets.add(ws)
        session: GatewaySession | None = None
        try:
            await ws.send_str(_frame(10, {"heartbeat_interval": self.heartbeat_interval_ms}))
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
                        await ws.send_str(_frame(11))
                elif op == 2:
                    session = await self._identify(ws, data or {})
                elif op == 6:
                    session = await self._resume(ws, data or {})
                elif op in (3, 4, 8):
                    pass  # presence, voice and member requests: accepted and ignored
                else:
                    await ws.close(code=4001, message=b"Unknown opcode")
        finally:
            self.sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
            self.emu.world.notify()
        return ws

    def _token_ok(self, token: Any) -> bool:
        return token in (self.emu.token, f"Bot {self.emu.token}")

    async def _identify(self, ws: web.WebSocketResponse, data: Mapping[str, Any]) -> GatewaySession | None:
        if not self._token_ok(data.get("token")):
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        world = self.emu.world
        session = GatewaySession(uuid.uuid4().hex, int(data.get("intents") or 0), ws=ws)
        self.sessions[session.id] = session
        self.session = session
        self.identify_count += 1
        ready = {
            "v": 10,
            "user": world.bot_user.payload(),
            "guilds": [{"id": str(world.guild.id), "unavailable": True}],
            "session_id": session.id,
            "session_type": "normal",
            "resume_gateway_url": self.emu.gateway_url,
            "application": {"id": str(world.application_id), "flags": 0},
            "shard": [0, 1],
            "private_channels": [],
            "relationships": [],
        }
        await self._send(session, "READY", ready)
        await self._send(session, "GUILD_CREATE", world.guild.payload())
        world.notify()
        return session

    async def _resume(self, ws: web.WebSocketResponse, data: Mapping[str, Any]) -> GatewaySession | None:
        session = self.sessions.get(str(data.get("session_id")))
        if session is None or not self._token_ok(data.get("token")):
            await ws.send_str(_frame(9, False))
            return None
        self.session = session
        seq = int(data.get("seq") or 0)
        async with session.lock:
            session.ws = ws
            for event in session.events:
                if event["s"] > seq:
                    await ws.send_str(json.dumps(event))
                    self.replayed.append(event)
        await self._send(session, "RESUMED", {})
        self.resume_count += 1
        self.emu.world.notify()
        return session

    def _for_session(self, session: GatewaySession, name: str, data: Any) -> Any:
        """What this session receives of the event: ``None`` when its intents exclude it."""
        needed = EVENT_INTENTS.get(name)
        bot_id = str(self.emu.world.bot_user.id)
        if needed is not None and not session.intents & needed:
            # "Guild Member Update is sent for current-user updates regardless of whether the GUILD_MEMBERS
            # intent is set" (events/gateway.mdx, "Caveats").
            own = name == "GUILD_MEMBER_UPDATE" and isinstance(data, Mapping) and data["user"]["id"] == bot_id
            if not own:
                return None
        if name in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not session.intents & MESSAGE_CONTENT:
            author = (data.get("author") or {}).get("id")
            mentioned = any(u.get("id") == bot_id for u in data.get("mentions") or [])
            if author != bot_id and not mentioned:
                data = {**data, **{key: "" if key == "content" else [] for key in CONTENT_FIELDS if key in data}}
        return data

    async def _send(self, session: GatewaySession, name: str, data: Any) -> None:
        data = self._for_session(session, name, data)
        if data is None:
            return
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
        await self._send(self.session, name, data)

    @property
    def connected(self) -> bool:
        return self.session is not None and self.session.ws is not None and not self.session.ws.closed

    async def drop(self, code: int = 4000, *, invalidate: bool = False) -> None:
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
            await self.session.ws.send_str(_frame(7))

    async def close_all(self) -> None:
        for ws in list(self.sockets):
            await ws.close(code=1001, message=b"emulator shutting down")
