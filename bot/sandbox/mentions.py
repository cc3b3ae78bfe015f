"""Who a message pings: Discord's mention resolution from ``content`` and ``allowed_mentions``.

Rules from resources/message.mdx ("Allowed Mentions Object"):

* only mentions written in the content (or in text-display components) can ping; embeds never do;
* without ``allowed_mentions``, channel messages parse users, roles and ``@everyone``/``@here``, while interaction
  responses and webhook messages parse users only;
* ``parse`` lists the types parsed from the content; ``users``/``roles`` list the only ids that may ping (ids not in
  the content ping no one); ``replied_user`` says whether a reply pings the author it replies to;
* a role pings only if it is mentionable or the sender may Mention Everyone; ``@everyone``/``@here`` need Mention
  Everyone.

A mention escaped with a backslash or placed in a code block is still counted: Discord documents no exception for
either, so a test cannot pass on an escape real Discord might not honour. A zero-width character between ``@`` and
the name breaks the mention, as it does on Discord.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

USER_MENTION = re.compile(r"<@!?(\d{1,20})>")
ROLE_MENTION = re.compile(r"<@&(\d{1,20})>")
EVERYONE_MENTION = re.compile(r"@(?:everyone|here)")

ALL_TYPES = ("users", "roles", "everyone")
USERS_ONLY = ("users",)


@dataclass(frozen=True, slots=True)
class Mentions:
    users: list[int] = field(default_factory=list)
    roles: list[int] = field(default_factory=list)
    everyone: bool = False


def mentionable_text(body: Mapping[str, Any]) -> str:
    """The text Discord parses mentions from: the content and the content of text-display components."""
    parts = [str(body.get("content") or "")]

    def walk(components: Iterable[Any]) -> None:
        for comp in components:
            if not isinstance(comp, Mapping):
                continue
            if comp.get("type") == 10:
                parts.append(str(comp.get("content") or ""))
            walk(comp.get("components") or [])
            for key in ("component", "accessory"):
                if isinstance(comp.get(key), Mapping):
                    walk([comp[key]])

    walk(body.get("components") or [])
    return "\n".join(parts)


def _ids(pattern: re.Pattern[str], text: str) -> list[int]:
    return list(dict.fromkeys(int(m.group(1)) for m in pattern.finditer(text)))


def _id_set(values: Any) -> set[int]:
    return {int(v) for v in values or [] if str(v).isdigit()}


def resolve_mentions(
    body: Mapping[str, Any],
    *,
    default_parse: Collection[str],
    is_user: Callable[[int], bool],
    role_pingable: Callable[[int], bool],
    may_mention_everyone: bool,
    replied_user_id: int | None = None,
) -> Mentions:
    """Who ``body`` (a message create/edit body) pings.

    ``role_pingable(id)`` says whether a role exists and may be pinged by this sender (mentionable, or the
    sender has Mention Everyone); ``replied_user_id`` is the author of the message replied to, if any.
    """
    text = mentionable_text(body)
    allowed = body.get("allowed_mentions")
    if isinstance(allowed, Mapping):
        parse = set(allowed.get("parse") or [])
        only_users = _id_set(allowed.get("users"))
        only_roles = _id_set(allowed.get("roles"))
        replied = bool(allowed.get("replied_user", False))
    else:
        parse = set(default_parse)
        only_users, only_roles = set(), set()
        # With no allowed_mentions at all, a reply pings its author, as in the Discord client's default.
        replied = True

    users = [uid for uid in _ids(USER_MENTION, text) if is_user(uid) and ("users" in parse or uid in only_users)]
    if replied_user_id is not None and replied and replied_user_id not in users and is_user(replied_user_id):
        users.append(replied_user_id)
    roles = [rid for rid in _ids(ROLE_MENTION, text) if role_pingable(rid) and ("roles" in parse or rid in only_roles)]
    everyone = "everyone" in parse and may_mention_everyone and EVERYONE_MENTION.search(text) is not None
    return Mentions(users, roles, everyone)
