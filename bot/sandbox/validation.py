"""Request-body validation for the emulator: Discord's OpenAPI spec (when present) plus hand-written rules.

Two layers, run in this order:

* ``openapi``: the JSON body is validated against the operation's request schema in Discord's own OpenAPI 3.1
  spec (``discord-api-spec/specs/openapi.json``). The spec is optional: when it cannot be found the layer is
  skipped and :attr:`OpenApiValidator.available` says so.
* ``rules``: limits that Discord enforces but the spec leaves out or states differently from the docs
  (GUIDE §4): 2000-character content, the 6000-character embed total, lowercase command names, 1–5 modal
  components, string choice values of at most 100 characters, well-formed http(s) URLs in embeds and link
  buttons, and so on. The rules always run, with or without the spec; the schema layer does not check
  ``format: uri`` (jsonschema skips formats without a format checker), so URLs are checked here.

Errors are returned in Discord's nested 50035 shape: ``{"content": {"_errors": [{"code": ..., "message": ...}]}}``.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

OPENAPI_ENV = "NEWSBOT_OPENAPI"
_SPEC_URI = "urn:discord-openapi"

# Limits from GUIDE §4 / discord-api-docs.
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
EMBED_FIELD_NAME = 256
EMBED_FIELD_VALUE = 1024
EMBED_FOOTER = 2048
EMBED_AUTHOR = 256
MAX_CHOICES = 25
CHOICE_NAME = 100
CHOICE_STRING_VALUE = 100
MODAL_TITLE = 45
MODAL_MIN_COMPONENTS = 1
MODAL_MAX_COMPONENTS = 5
CUSTOM_ID = 100
BUTTON_LABEL = 80
ROW_MAX_CHILDREN = 5
MESSAGE_MAX_COMPONENTS = 40
TEXT_INPUT_LABEL = 45
TEXT_INPUT_MAX = 4000
TEXT_INPUT_PLACEHOLDER = 100
LABEL_DESCRIPTION = 100
COMMAND_DESCRIPTION = 100
COMMAND_OPTIONS = 25
COMMANDS_PER_SCOPE = 100
COMMAND_TOTAL_SIZE = 8000
THREAD_NAME = 100
GUILD_MEDIA = 16
NONCE = 25  # resources/message.mdx, Create Message: "up to 25 characters"
ALLOWED_MENTION_IDS = 100  # "Array of role ids to mention, max 100" (and the same for users)
MENTION_TYPES = ("users", "roles", "everyone")
# The spec's maxLength for every embed URL; link buttons: "max 512 characters" (components reference).
EMBED_URL = 2048
BUTTON_URL = 512
LINK_BUTTON = 5
PREMIUM_BUTTON = 6

# The schemes Discord lists in its URL_TYPE_INVALID_SCHEME errors for each kind of field.
WEB_SCHEMES = ("http", "https")
MEDIA_SCHEMES = ("http", "https", "attachment")  # embed image, thumbnail and icons: "http(s) and attachments"
BUTTON_SCHEMES = ("http", "https", "discord")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")

# The docs' pattern is ``^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$``; Python's Unicode-aware ``\w`` covers
# letters, digits and ``_``, which is close enough without depending on the third-party ``regex`` module.
COMMAND_NAME_RE = re.compile(r"^[-_'\w]{1,32}$")

Path_ = tuple[str | int, ...]
Layer = Literal["openapi", "rules"]


@dataclass(frozen=True, slots=True)
class Violation:
    path: Path_
    code: str
    message: str


@dataclass(slots=True)
class ValidationResult:
    layer: Layer | None = None
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def errors(self) -> dict[str, Any]:
        return errors_tree(self.violations)

    def summary(self) -> str:
        return "; ".join(f"{'.'.join(map(str, v.path)) or '<body>'}: {v.message}" for v in self.violations)


def errors_tree(violations: Iterable[Violation]) -> dict[str, Any]:
    """Nest violations the way Discord's 50035 ``errors`` object does."""
    tree: dict[str, Any] = {}
    for violation in violations:
        node = tree
        for part in violation.path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": violation.code, "message": violation.message})
    return tree


def find_openapi_spec(explicit: Path | str | None = None, *, start: Path | None = None) -> Path | None:
    """Locate ``openapi.json``: an explicit path, then ``$NEWSBOT_OPENAPI``, then ``../shared/discord-api``.

    The last one is searched upwards from this file (or ``start``), so it works from the repo root, a worktree or
    an installed checkout that sits next to ``shared/``.
    """
    if explicit is not None:
        path = Path(explicit)
        return path if path.is_file() else None
    env = os.environ.get(OPENAPI_ENV, "").strip()
    if env:
        path = Path(env)
        if path.is_file():
            return path
        log.warning("%s points to %s, which does not exist", OPENAPI_ENV, env)
        return None
    here = (start or Path(__file__)).resolve()
    for parent in here.parents:
        candidate = parent / "shared" / "discord-api" / "openapi.json"
        if candidate.is_file():
            return candidate
    return None


class OpenApiValidator:
    """Validates JSON bodies against the request schema of one spec operation (``METHOD /template``)."""

    def __init__(self, spec_path: Path | None) -> None:
        self.spec_path = spec_path
        self._spec: dict[str, Any] | None = None
        self._registry: Any = None
        self._validators: dict[tuple[str, str, int | None], Any] = {}
        if spec_path is None:
            log.warning("Discord OpenAPI spec not found; the emulator skips the schema layer (rules still apply)")
            return
        # Imported lazily: only the schema layer needs them.
        import referencing
        from referencing.jsonschema import DRAFT202012

        self._spec = json.loads(spec_path.read_text(encoding="utf-8"))
        resource = DRAFT202012.create_resource(self._spec)
        self._registry = referencing.Registry().with_resource(_SPEC_URI, resource)
        log.info("Validating request bodies against %s", spec_path)

    @property
    def available(self) -> bool:
        return self._spec is not None

    def has_operation(self, method: str, template: str) -> bool:
        return self._validator(method, template, None) is not None

    def _validator(self, method: str, template: str, body: Any) -> Any:
        """The validator for this operation; for a union discriminated by ``type``, the matching member's.

        Interaction callbacks are an ``anyOf`` of seven request shapes told apart by ``type``. Validating only
        the member the body claims to be is several times faster than trying every member, and its errors
        point at the field that is wrong rather than at the union.
        """
        if self._spec is None:
            return None
        kind = body.get("type") if isinstance(body, dict) else None
        key = (method.lower(), template, kind if isinstance(kind, int) else None)
        if key in self._validators:
            return self._validators[key]
        validator = None
        operation = self._spec.get("paths", {}).get(template, {}).get(key[0])
        content = (operation or {}).get("requestBody", {}).get("content", {})
        if "application/json" in content:
            from jsonschema import Draft202012Validator

            escaped = template.replace("~", "~0").replace("/", "~1")
            ref = f"{_SPEC_URI}#/paths/{escaped}/{key[0]}/requestBody/content/application~1json/schema"
            member = self._member_for(content["application/json"].get("schema", {}), key[2])
            validator = Draft202012Validator({"$ref": member or ref}, registry=self._registry)
        self._validators[key] = validator
        return validator

    def _member_for(self, schema: Mapping[str, Any], kind: int | None) -> str | None:
        if kind is None or self._spec is None:
            return None
        for branch in schema.get("anyOf") or []:
            ref = branch.get("$ref", "") if isinstance(branch, Mapping) else ""
            if not ref.startswith("#/components/schemas/"):
                return None
            target = self._spec["components"]["schemas"].get(ref.rsplit("/", 1)[1], {})
            if kind in ((target.get("properties") or {}).get("type") or {}).get("enum", []):
                return _SPEC_URI + ref
        return None

    def validate(self, method: str, template: str, body: Any) -> list[Violation]:
        validator = self._validator(method, template, body)
        if validator is None:
            return []
        errors = list(validator.iter_errors(_as_spec_expects(body)))
        if not errors:
            return []
        best = _most_specific(max(errors, key=lambda e: len(e.absolute_path)))
        path: Path_ = tuple(best.absolute_path)
        limit = best.validator_value
        code, message = {
            "maxLength": ("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."),
            "maxItems": ("BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."),
            "minLength": ("BASE_TYPE_MIN_LENGTH", f"Must be {limit} or more in length."),
            "minItems": ("BASE_TYPE_MIN_LENGTH", f"Must be {limit} or more in length."),
            "type": ("BASE_TYPE_BAD_TYPE", f"Must be of type {limit}."),
            "required": ("BASE_TYPE_REQUIRED", best.message[:200]),
            "enum": ("BASE_TYPE_CHOICES", f"Value must be one of {limit}."),
        }.get(str(best.validator), ("SCHEMA_VALIDATION_FAILED", best.message[:200]))
        return [Violation(path, code, message)]


def _most_specific(error: Any) -> Any:
    """Descend through ``anyOf`` failures to the leaf that explains them, as Discord's error paths do.

    Branches that failed on their ``type`` discriminator (``enum``/``const`` at ``type``), or whose JSON type does
    not match at all (``null`` versus object), are the wrong union member and are skipped; among the rest, the
    branch with the fewest errors is the one the body was meant to be, and its deepest error is reported.
    """
    while error.context:
        branches: dict[Any, list[Any]] = {}
        for sub in error.context:
            branches.setdefault(sub.schema_path[0] if sub.schema_path else None, []).append(sub)
        viable = [errs for errs in branches.values() if not any(_wrong_branch(e) for e in errs)]
        errs = min(viable or list(branches.values()), key=len)
        error = max(errs, key=lambda e: len(e.absolute_path))
    return error


def _wrong_branch(error: Any) -> bool:
    relative = list(error.path)
    if error.validator == "type" and not relative:
        return True
    return error.validator in ("enum", "const") and relative == ["type"]


def _snowflake(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else value


def _as_spec_expects(body: Any) -> Any:
    """Undo the spec's known divergences from what Discord accepts before checking a body against it.

    Rejecting what Discord accepts would make the emulator stricter than Discord in a way no bot can satisfy:

    * the docs (and discord.py, and Discord itself) send ``default_member_permissions`` as a bitfield *string*;
      the spec types it as an integer, so such strings are read as the integers the spec expects;
    * Discord takes snowflakes as JSON numbers as well as strings, and discord.py sends numbers for
      ``allowed_mentions`` ids, ``message_reference`` ids and forum tags; the spec only allows strings;
    * GUILD_MEDIA (16) is a channel type in the docs (resources/channel.mdx) but missing from the spec's
      ChannelTypes, and discord.py lists it for options that take any channel.
    """
    if isinstance(body, list):
        return [_as_spec_expects(item) for item in body]
    if isinstance(body, dict):
        out = {k: _as_spec_expects(v) for k, v in body.items()}
        value = out.get("default_member_permissions")
        if isinstance(value, str) and value.isdigit():
            out["default_member_permissions"] = int(value)
        mentions = out.get("allowed_mentions")
        if isinstance(mentions, dict):
            out["allowed_mentions"] = {
                k: [_snowflake(i) for i in v] if k in ("users", "roles") and isinstance(v, list) else v
                for k, v in mentions.items()
            }
        reference = out.get("message_reference")
        if isinstance(reference, dict):
            out["message_reference"] = {k: _snowflake(v) if k.endswith("_id") else v for k, v in reference.items()}
        for key in ("applied_tags", "sticker_ids"):
            if isinstance(out.get(key), list):
                out[key] = [_snowflake(i) for i in out[key]]
        types = out.get("channel_types")
        if isinstance(types, list):
            out["channel_types"] = [t for t in types if t != GUILD_MEDIA]
        return out
    return body


# --------------------------------------------------------------------------------------------------------------
# Hand-written rules


def _length(value: Any) -> int:
    return len(value) if isinstance(value, str) else 0


def _max_len(out: list[Violation], path: Path_, value: Any, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        out.append(Violation(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."))


def _between(out: list[Violation], path: Path_, value: Any, low: int, high: int) -> None:
    size = len(value) if isinstance(value, (str, list)) else -1
    if not low <= size <= high:
        out.append(Violation(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length."))


def url_problem(value: str, schemes: Sequence[str]) -> tuple[str, str] | None:
    """Why Discord would refuse ``value`` as a URL with one of ``schemes``: ``(code, message)``, or ``None``.

    Absolute URLs only: a relative path (``images/photo.jpg``) or anything with whitespace or control characters
    is "Not a well formed URL."; a well-formed URL with another scheme (``javascript:``, ``ftp:``) gets
    Discord's scheme error. http(s) URLs need a host; ``attachment://`` and ``discord://`` need something after
    the scheme.
    """
    malformed = ("URL_TYPE_INVALID_URL", "Not a well formed URL.")
    if not value or any(ch.isspace() or not ch.isprintable() for ch in value):
        return malformed
    match = _SCHEME_RE.match(value)
    if match is None:
        return malformed
    scheme = match.group(1).lower()
    if scheme not in schemes:
        allowed = "(" + ", ".join(repr(s) for s in schemes) + ")"
        return (
            "URL_TYPE_INVALID_SCHEME",
            f'Scheme "{match.group(1)}" is not supported. Scheme must be one of {allowed}.',
        )
    if scheme in ("http", "https"):
        try:
            parts = urlsplit(value)
            host, _port = parts.hostname, parts.port  # .port raises ValueError unless it is a number in range
        except ValueError:
            return malformed
        if not value[match.end() :].startswith("//") or not host:
            return malformed
    elif not value[match.end() :].lstrip("/"):
        return malformed
    return None


def _check_url(out: list[Violation], path: Path_, value: Any, schemes: Sequence[str], limit: int) -> None:
    """A URL field: at most ``limit`` characters and well formed with an allowed scheme (``None`` is no URL)."""
    if not isinstance(value, str):
        return  # absent, null, or a wrong type (which is the schema layer's business)
    if len(value) > limit:
        out.append(Violation(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."))
        return
    problem = url_problem(value, schemes)
    if problem is not None:
        out.append(Violation(path, *problem))


def _check_embed_urls(out: list[Violation], path: Path_, embed: Mapping[str, Any]) -> None:
    _check_url(out, (*path, "url"), embed.get("url"), WEB_SCHEMES, EMBED_URL)
    for key, attr, schemes in (
        ("image", "url", MEDIA_SCHEMES),
        ("thumbnail", "url", MEDIA_SCHEMES),
        ("author", "url", WEB_SCHEMES),
        ("author", "icon_url", MEDIA_SCHEMES),
        ("footer", "icon_url", MEDIA_SCHEMES),
    ):
        part = embed.get(key)
        if isinstance(part, Mapping):
            _check_url(out, (*path, key, attr), part.get(attr), schemes, EMBED_URL)


def embed_total(embeds: Sequence[Any]) -> int:
    total = 0
    for embed in embeds:
        if not isinstance(embed, Mapping):
            continue
        total += _length(embed.get("title")) + _length(embed.get("description"))
        for fld in embed.get("fields") or []:
            if isinstance(fld, Mapping):
                total += _length(fld.get("name")) + _length(fld.get("value"))
        total += _length((embed.get("footer") or {}).get("text"))
        total += _length((embed.get("author") or {}).get("name"))
    return total


def check_message(body: Any, base: Path_ = ()) -> list[Violation]:
    """Message-like bodies: channel messages, webhook executes/edits, callback types 4 and 7."""
    out: list[Violation] = []
    if not isinstance(body, Mapping):
        return out
    _max_len(out, (*base, "content"), body.get("content"), MAX_CONTENT)
    embeds = body.get("embeds")
    if isinstance(embeds, list):
        if len(embeds) > MAX_EMBEDS:
            out.append(
                Violation((*base, "embeds"), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_EMBEDS} or fewer in length.")
            )
        for i, embed in enumerate(embeds):
            if not isinstance(embed, Mapping):
                continue
            p: Path_ = (*base, "embeds", i)
            _max_len(out, (*p, "title"), embed.get("title"), EMBED_TITLE)
            _max_len(out, (*p, "description"), embed.get("description"), EMBED_DESCRIPTION)
            _max_len(out, (*p, "footer", "text"), (embed.get("footer") or {}).get("text"), EMBED_FOOTER)
            _max_len(out, (*p, "author", "name"), (embed.get("author") or {}).get("name"), EMBED_AUTHOR)
            _check_embed_urls(out, p, embed)
            fields = embed.get("fields") or []
            if len(fields) > EMBED_FIELDS:
                out.append(
                    Violation((*p, "fields"), "BASE_TYPE_MAX_LENGTH", f"Must be {EMBED_FIELDS} or fewer in length.")
                )
            for j, fld in enumerate(fields):
                if isinstance(fld, Mapping):
                    _max_len(out, (*p, "fields", j, "name"), fld.get("name"), EMBED_FIELD_NAME)
                    _max_len(out, (*p, "fields", j, "value"), fld.get("value"), EMBED_FIELD_VALUE)
        total = embed_total(embeds)
        if total > MAX_EMBED_TOTAL:
            out.append(
                Violation(
                    (*base, "embeds"),
                    "MESSAGE_EMBED_TOTAL_TOO_LONG",
                    f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL} ({total}).",
                )
            )
    components = body.get("components")
    if isinstance(components, list):
        out.extend(check_message_components(components, (*base, "components")))
    _max_len(out, (*base, "nonce"), body.get("nonce"), NONCE)
    _check_allowed_mentions(out, (*base, "allowed_mentions"), body.get("allowed_mentions"))
    return out


def _check_allowed_mentions(out: list[Violation], path: Path_, value: Any) -> None:
    """``parse`` types, the 100-id lists, and ``parse`` being exclusive with the matching id list.

    The docs call ``parse: ["users"]`` with a ``users`` list "an *invalid* configuration"; an empty or null list is
    accepted. The code and wording are the ones Discord answers with.
    """
    if not isinstance(value, Mapping):
        return
    parse = value.get("parse")
    if isinstance(parse, list):
        for i, kind in enumerate(parse):
            if kind not in MENTION_TYPES:
                out.append(
                    Violation((*path, "parse", i), "BASE_TYPE_CHOICES", f"Value must be one of {MENTION_TYPES}.")
                )
        for key in ("users", "roles"):
            if key in parse and value.get(key):
                out.append(
                    Violation(
                        path,
                        "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                        f'parse:["{key}"] and {key}: [ids...] are mutually exclusive.',
                    )
                )
    for key in ("users", "roles"):
        ids = value.get(key)
        if isinstance(ids, list) and len(ids) > ALLOWED_MENTION_IDS:
            out.append(
                Violation((*path, key), "BASE_TYPE_MAX_LENGTH", f"Must be {ALLOWED_MENTION_IDS} or fewer in length.")
            )


def _walk_components(components: Sequence[Any], base: Path_) -> Iterable[tuple[Path_, Mapping[str, Any]]]:
    for i, comp in enumerate(components):
        if not isinstance(comp, Mapping):
            continue
        path: Path_ = (*base, i)
        yield path, comp
        children = comp.get("components")
        if isinstance(children, list):
            yield from _walk_components(children, (*path, "components"))
        child = comp.get("component")
        if isinstance(child, Mapping):
            yield from _walk_components([child], (*path, "component"))
        accessory = comp.get("accessory")
        if isinstance(accessory, Mapping):
            yield from _walk_components([accessory], (*path, "accessory"))


def _check_component(out: list[Violation], path: Path_, comp: Mapping[str, Any]) -> None:
    if "custom_id" in comp:
        _between(out, (*path, "custom_id"), comp.get("custom_id"), 1, CUSTOM_ID)
    kind = comp.get("type")
    if kind == 1:
        children = comp.get("components") or []
        if len(children) > ROW_MAX_CHILDREN:
            out.append(
                Violation(
                    (*path, "components"), "BASE_TYPE_MAX_LENGTH", f"Must be {ROW_MAX_CHILDREN} or fewer in length."
                )
            )
    elif kind == 2:
        _max_len(out, (*path, "label"), comp.get("label"), BUTTON_LABEL)
        _check_button(out, path, comp)
    elif kind == 4:
        _max_len(out, (*path, "label"), comp.get("label"), TEXT_INPUT_LABEL)
        _max_len(out, (*path, "placeholder"), comp.get("placeholder"), TEXT_INPUT_PLACEHOLDER)
        _max_len(out, (*path, "value"), comp.get("value"), TEXT_INPUT_MAX)
        for key, low in (("max_length", 1), ("min_length", 0)):
            value = comp.get(key)
            if value is not None and (not isinstance(value, int) or not low <= value <= TEXT_INPUT_MAX):
                out.append(Violation((*path, key), "NUMBER_TYPE_MAX", f"Must be between {low} and {TEXT_INPUT_MAX}."))
    elif kind == 18:
        _between(out, (*path, "label"), comp.get("label"), 1, TEXT_INPUT_LABEL)
        _max_len(out, (*path, "description"), comp.get("description"), LABEL_DESCRIPTION)


def _present(comp: Mapping[str, Any], key: str) -> bool:
    return comp.get(key) is not None


def _check_button(out: list[Violation], path: Path_, button: Mapping[str, Any]) -> None:
    """Which of ``custom_id``, ``url`` and ``sku_id`` a button must and must not have (components reference).

    Link buttons must have a ``url`` (http, https or discord; at most 512 characters) and no ``custom_id``;
    premium buttons must have a ``sku_id`` and neither; every other style must have a ``custom_id`` and no ``url``.
    """
    style = button.get("style")
    required = "url" if style == LINK_BUTTON else "sku_id" if style == PREMIUM_BUTTON else "custom_id"
    forbidden = [key for key in ("custom_id", "url", "sku_id") if key != required and _present(button, key)]
    if not _present(button, required):
        out.append(Violation((*path, required), "BASE_TYPE_REQUIRED", "This field is required"))
    kind = "Link" if style == LINK_BUTTON else "Premium" if style == PREMIUM_BUTTON else "Non-link"
    for key in forbidden:
        out.append(Violation((*path, key), "COMPONENT_INVALID_FIELD", f"{kind} buttons cannot have a {key}."))
    if style == LINK_BUTTON:
        _check_url(out, (*path, "url"), button.get("url"), BUTTON_SCHEMES, BUTTON_URL)


def check_message_components(components: Sequence[Any], base: Path_) -> list[Violation]:
    out: list[Violation] = []
    count = 0
    for path, comp in _walk_components(components, base):
        count += 1
        _check_component(out, path, comp)
    if count > MESSAGE_MAX_COMPONENTS:
        out.append(Violation(base, "BASE_TYPE_MAX_LENGTH", f"Must be {MESSAGE_MAX_COMPONENTS} or fewer in length."))
    return out


def check_modal(data: Any, base: Path_ = ("data",)) -> list[Violation]:
    out: list[Violation] = []
    if not isinstance(data, Mapping):
        return [Violation(base, "BASE_TYPE_REQUIRED", "This field is required")]
    _between(out, (*base, "title"), data.get("title"), 1, MODAL_TITLE)
    _between(out, (*base, "custom_id"), data.get("custom_id"), 1, CUSTOM_ID)
    components = data.get("components")
    _between(out, (*base, "components"), components, MODAL_MIN_COMPONENTS, MODAL_MAX_COMPONENTS)
    if isinstance(components, list):
        for path, comp in _walk_components(components, (*base, "components")):
            _check_component(out, path, comp)
    return out


def check_autocomplete(data: Any, base: Path_ = ("data",)) -> list[Violation]:
    out: list[Violation] = []
    choices = data.get("choices") if isinstance(data, Mapping) else None
    if not isinstance(choices, list):
        return [Violation((*base, "choices"), "BASE_TYPE_REQUIRED", "This field is required")]
    if len(choices) > MAX_CHOICES:
        out.append(Violation((*base, "choices"), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CHOICES} or fewer in length."))
    out.extend(_check_choices(choices, (*base, "choices")))
    return out


def _check_choices(choices: Sequence[Any], base: Path_) -> list[Violation]:
    out: list[Violation] = []
    for i, choice in enumerate(choices):
        if not isinstance(choice, Mapping):
            out.append(Violation((*base, i), "BASE_TYPE_BAD_TYPE", "Must be an object."))
            continue
        name = choice.get("name")
        # Discord trims the name before checking its length, so a blank name is an empty one.
        _between(out, (*base, i, "name"), name.strip() if isinstance(name, str) else name, 1, CHOICE_NAME)
        _max_len(out, (*base, i, "value"), choice.get("value"), CHOICE_STRING_VALUE)
    return out


def _check_name(out: list[Violation], path: Path_, name: Any, *, chat_input: bool) -> None:
    if not isinstance(name, str) or not 1 <= len(name) <= 32:
        out.append(Violation(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length."))
        return
    if chat_input and (not COMMAND_NAME_RE.match(name) or name != name.lower()):
        out.append(Violation(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"))


def _option_size(option: Mapping[str, Any]) -> int:
    size = _length(option.get("name")) + _length(option.get("description"))
    for choice in option.get("choices") or []:
        if isinstance(choice, Mapping):
            size += _length(choice.get("name")) + len(str(choice.get("value", "")))
    for sub in option.get("options") or []:
        if isinstance(sub, Mapping):
            size += _option_size(sub)
    return size


def _check_options(out: list[Violation], options: Sequence[Any], base: Path_) -> None:
    if len(options) > COMMAND_OPTIONS:
        out.append(Violation(base, "BASE_TYPE_MAX_LENGTH", f"Must be {COMMAND_OPTIONS} or fewer in length."))
    for i, option in enumerate(options):
        if not isinstance(option, Mapping):
            continue
        path: Path_ = (*base, i)
        _check_name(out, (*path, "name"), option.get("name"), chat_input=True)
        _between(out, (*path, "description"), option.get("description"), 1, COMMAND_DESCRIPTION)
        choices = option.get("choices")
        if isinstance(choices, list):
            if len(choices) > MAX_CHOICES:
                out.append(
                    Violation((*path, "choices"), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_CHOICES} or fewer in length.")
                )
            out.extend(_check_choices(choices, (*path, "choices")))
        sub = option.get("options")
        if isinstance(sub, list):
            _check_options(out, sub, (*path, "options"))


def check_commands(body: Any) -> list[Violation]:
    """A bulk-overwrite body: names, descriptions, options, choices, per-scope count and combined size."""
    out: list[Violation] = []
    if not isinstance(body, list):
        return [Violation((), "BASE_TYPE_BAD_TYPE", "Must be an array.")]
    chat_input = [c for c in body if isinstance(c, Mapping) and c.get("type", 1) == 1]
    if len(chat_input) > COMMANDS_PER_SCOPE:
        out.append(Violation((), "BASE_TYPE_MAX_LENGTH", f"Must be {COMMANDS_PER_SCOPE} or fewer in length."))
    seen: set[tuple[Any, Any]] = set()
    for i, command in enumerate(body):
        if not isinstance(command, Mapping):
            out.append(Violation((i,), "BASE_TYPE_BAD_TYPE", "Must be an object."))
            continue
        out.extend(check_command(command, (i,)))
        key = (command.get("type", 1), command.get("name"))
        if key in seen:
            out.append(
                Violation(
                    (i, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique"
                )
            )
        seen.add(key)
    return out


def check_command(command: Mapping[str, Any], base: Path_ = ()) -> list[Violation]:
    out: list[Violation] = []
    chat_input = command.get("type", 1) == 1
    _check_name(out, (*base, "name"), command.get("name"), chat_input=chat_input)
    if chat_input:
        _between(out, (*base, "description"), command.get("description"), 1, COMMAND_DESCRIPTION)
        options = command.get("options")
        if isinstance(options, list):
            _check_options(out, options, (*base, "options"))
        size = _option_size(command)
        if size > COMMAND_TOTAL_SIZE:
            out.append(
                Violation(base, "APPLICATION_COMMAND_TOO_LARGE", f"Command exceeds maximum size ({COMMAND_TOTAL_SIZE})")
            )
    return out


def check_callback(body: Any) -> list[Violation]:
    if not isinstance(body, Mapping):
        return [Violation((), "BASE_TYPE_BAD_TYPE", "Must be an object.")]
    kind = body.get("type")
    data = body.get("data")
    if kind in (4, 7):
        return check_message(data or {}, ("data",))
    if kind == 8:
        return check_autocomplete(data)
    if kind == 9:
        return check_modal(data)
    if kind in (1, 5, 6):
        return []
    return [Violation(("type",), "BASE_TYPE_CHOICES", f"Value must be one of (1, 4, 5, 6, 7, 8, 9); got {kind!r}.")]


def check_thread(body: Any) -> list[Violation]:
    """A thread (or forum post): its name, and the starter message of a forum post."""
    out: list[Violation] = []
    name = body.get("name") if isinstance(body, Mapping) else None
    _between(out, ("name",), name.strip() if isinstance(name, str) else name, 1, THREAD_NAME)
    message = body.get("message") if isinstance(body, Mapping) else None
    if isinstance(message, Mapping):
        out.extend(check_message(message, ("message",)))
    return out


class RequestValidator:
    """Both layers. ``kind`` selects the rule set; ``template`` selects the spec operation."""

    def __init__(self, spec_path: Path | None) -> None:
        self.openapi = OpenApiValidator(spec_path)

    def validate(self, method: str, template: str, kind: str | None, body: Any) -> ValidationResult:
        violations = self.openapi.validate(method, template, body)
        if violations:
            return ValidationResult("openapi", violations)
        rules: list[Violation] = []
        if kind == "message":
            rules = check_message(body)
        elif kind == "callback":
            rules = check_callback(body)
        elif kind == "commands":
            rules = check_commands(body)
        elif kind == "command":
            rules = check_command(body) if isinstance(body, Mapping) else []
        elif kind == "thread":
            rules = check_thread(body)
        return ValidationResult("rules" if rules else None, rules)
