"""Discord's permission bits and the algorithm that turns roles and overwrites into a member's permissions.

The algorithm is the one in ``topics/permissions.mdx`` ("Permission Overwrites"), with the implicit rules from the
same page: without View Channel nothing else in the channel applies, and without Send Messages neither do Embed
Links, Attach Files, Mention Everyone or Send TTS Messages. Threads take their parent's overwrites, except that
posting needs Send Messages in Threads instead of Send Messages ("Inherited Permissions (Threads)").
"""

from __future__ import annotations

from collections.abc import Iterable

import discord


def _bit(name: str) -> int:
    return int(discord.Permissions(**{name: True}).value)


ADMINISTRATOR = _bit("administrator")
VIEW_CHANNEL = _bit("view_channel")
SEND_MESSAGES = _bit("send_messages")
SEND_MESSAGES_IN_THREADS = _bit("send_messages_in_threads")
SEND_TTS_MESSAGES = _bit("send_tts_messages")
CREATE_PUBLIC_THREADS = _bit("create_public_threads")
CREATE_PRIVATE_THREADS = _bit("create_private_threads")
EMBED_LINKS = _bit("embed_links")
ATTACH_FILES = _bit("attach_files")
READ_MESSAGE_HISTORY = _bit("read_message_history")
MENTION_EVERYONE = _bit("mention_everyone")
MANAGE_MESSAGES = _bit("manage_messages")
MANAGE_THREADS = _bit("manage_threads")
MANAGE_CHANNELS = _bit("manage_channels")
MANAGE_WEBHOOKS = _bit("manage_webhooks")
MANAGE_GUILD = _bit("manage_guild")
USE_APPLICATION_COMMANDS = _bit("use_application_commands")
ALL = int(discord.Permissions.all().value)

# What Send Messages implicitly carries: without it these are ignored in the channel.
NEEDS_SEND = MENTION_EVERYONE | SEND_TTS_MESSAGES | ATTACH_FILES | EMBED_LINKS


def permission_value(perms: int | str | Iterable[str]) -> int:
    """``int`` bits, a decimal string, or permission names as in :class:`discord.Permissions`."""
    if isinstance(perms, int):
        return perms
    if isinstance(perms, str):
        return int(perms) if perms.isdigit() else int(discord.Permissions(**{perms: True}).value)
    return int(discord.Permissions(**dict.fromkeys(perms, True)).value)


# discord.py's canonical name for a bit is sometimes an older one; show the name Discord's docs and settings use.
DISCORD_NAMES = {
    "read_messages": "view_channel",
    "external_emojis": "use_external_emojis",
    "external_stickers": "use_external_stickers",
}


def permission_names(bits: int) -> list[str]:
    """The names of the set bits, as Discord names them (``view_channel``, not discord.py's ``read_messages``)."""
    return [DISCORD_NAMES.get(name, name) for name, value in discord.Permissions(bits) if value]


def unknown_permissions(names: Iterable[str]) -> list[str]:
    return [name for name in names if name not in discord.Permissions.VALID_FLAGS]


def describe(bit: int) -> str:
    """``EMBED_LINKS`` → ``"Embed Links"``, as the Discord client names it in its settings."""
    names = permission_names(bit)
    return ", ".join(name.replace("_", " ").title() for name in names) or "no permission"


def apply_implicit(perms: int, *, thread: bool) -> int:
    """Drop what the channel's missing base permissions make meaningless (topics/permissions, "Implicit")."""
    if perms & ADMINISTRATOR:
        return ALL
    if not perms & VIEW_CHANNEL:
        return 0
    send = SEND_MESSAGES_IN_THREADS if thread else SEND_MESSAGES
    if not perms & send:
        perms &= ~NEEDS_SEND
    return perms
