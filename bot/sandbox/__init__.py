"""The local Discord emulator (REST + gateway on loopback) and the driver that acts as Discord members."""

from bot.sandbox.driver import CommandNotVisible, Driver, DriverError, InteractionResult
from bot.sandbox.emulator import (
    DiscordEmulator,
    Fault429,
    FaultDelay,
    FaultStatus,
    Rejection,
    RequestRecord,
    discord_pointed_at,
)
from bot.sandbox.ratelimits import RateLimitHit
from bot.sandbox.validation import find_openapi_spec

__all__ = [
    "CommandNotVisible",
    "DiscordEmulator",
    "Driver",
    "DriverError",
    "Fault429",
    "FaultDelay",
    "FaultStatus",
    "InteractionResult",
    "RateLimitHit",
    "Rejection",
    "RequestRecord",
    "discord_pointed_at",
    "find_openapi_spec",
]
