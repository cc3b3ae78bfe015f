"""Plain-text rendering of what Discord shows: messages, embeds, buttons, autocomplete choices and modals.

Pure functions over the JSON Discord received (transcript events), so they work the same for the terminal, for
a transcript read back later and in tests. Output is ASCII framing around the message text, and needs no TTY.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.news.format import strip_control

BAR = "  | "
INDENT = "  "

_MASKED_LINK = re.compile(r"\[([^\]\n]+)\]\((<?)(https?://[^)\s>]+)>?\)")
_TIMESTAMP = re.compile(r"<t:(-?\d+)(?::([tTdDfFR]))?>")
_BOLD = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
# Discord shows any ASCII punctuation after a backslash as it is (bot/news/format.py escapes with that).
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_HEADING = re.compile(r"^#{1,3} ", re.MULTILINE)

BUTTON_STYLES = {1: "primary", 2: "secondary", 3: "success", 4: "danger", 5: "link", 6: "premium"}
TEXT_INPUT_STYLES = {1: "short", 2: "paragraph"}


def _timestamp(match: re.Match[str]) -> str:
    try:
        when = dt.datetime.fromtimestamp(int(match.group(1)), tz=dt.UTC)
    except (OverflowError, OSError, ValueError):
        return match.group(0)
    style = match.group(2) or "f"
    if style == "t":
        return f"{when:%H:%M}"
    if style == "T":
        return f"{when:%H:%M:%S}"
    if style == "d":
        return f"{when:%Y-%m-%d}"
    if style == "D":
        return f"{when.day} {when:%B %Y}"
    # f, F and R: a full UTC date and time reads better in a log than "3 years ago".
    return f"{when.day} {when:%B %Y} {when:%H:%M} UTC"


def terminal_safe(text: str) -> str:
    """``text`` without the characters a terminal would interpret: every message, label and name the bot or a
    member chose passes through here before it is printed, so none of them can recolour, retitle or rearrange
    the terminal."""
    # The project's one filter: C0/C1 controls but tab and newline (ESC starts colour, title and cursor
    # sequences; 0x9b is a one-byte CSI), and the bidi and zero-width characters that reorder or hide text.
    return strip_control(text)


def plain(text: str) -> str:
    """Discord markdown to plain text: masked links as ``title <url>``, timestamps as dates, no bold or escapes."""
    text = _MASKED_LINK.sub(lambda m: f"{m.group(1)} <{m.group(3)}>", text)
    text = _TIMESTAMP.sub(_timestamp, text)
    text = _BOLD.sub(lambda m: m.group(1) or m.group(2) or "", text)
    text = _HEADING.sub("", text)
    return _ESCAPE.sub(r"\1", text)


def _lines(text: str, prefix: str) -> list[str]:
    return [prefix + line if line else prefix.rstrip() for line in text.splitlines()]


def render_embed(embed: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    author = embed.get("author") or {}
    if author.get("name"):
        out.append(f"{BAR}{author['name']}")
    if embed.get("title"):
        out.append(f"{BAR}{plain(str(embed['title']))}")
    if embed.get("url"):
        out.append(f"{BAR}<{embed['url']}>")
    if embed.get("description"):
        if out:
            out.append(BAR.rstrip())
        out.extend(_lines(plain(str(embed["description"])), BAR))
    fields = list(embed.get("fields") or [])
    if fields:
        out.append(BAR.rstrip())
        for field in fields:
            name, value = plain(str(field.get("name", ""))), plain(str(field.get("value", "")))
            first, *rest = value.splitlines() or [""]
            out.append(f"{BAR}{name}: {first}")
            out.extend(f"{BAR}{' ' * (len(name) + 2)}{line}" for line in rest)
    for key in ("image", "thumbnail"):
        media = embed.get(key) or {}
        if media.get("url"):
            out.append(f"{BAR}[{key}: {media['url']}]")
    footer = (embed.get("footer") or {}).get("text")
    if footer or embed.get("timestamp"):
        out.append(BAR.rstrip())
        tail = " · ".join(p for p in (plain(str(footer or "")), str(embed.get("timestamp") or "")) if p)
        out.extend(_lines(tail, BAR))
    return out or [f"{BAR}(empty embed)"]


def render_button(button: Mapping[str, Any]) -> str:
    label = str(button.get("label") or (button.get("emoji") or {}).get("name") or "?")
    if button.get("url"):
        label += f" -> {button['url']}"
    if button.get("disabled"):
        label += " (disabled)"
    return f"[{label}]"


def _component_lines(components: Iterable[Mapping[str, Any]]) -> list[str]:
    out: list[str] = []
    for comp in components:
        kind = comp.get("type")
        if kind == 1:  # action row: one line of buttons, or a select menu
            inner = list(comp.get("components") or [])
            buttons = [c for c in inner if c.get("type") == 2]
            if buttons:
                out.append(INDENT + " ".join(render_button(b) for b in buttons))
            out.extend(_component_lines(c for c in inner if c.get("type") != 2))
        elif kind == 2:
            out.append(INDENT + render_button(comp))
        elif kind in (3, 5, 6, 7, 8):
            options = " | ".join(str(o.get("label")) for o in comp.get("options") or [])
            placeholder = comp.get("placeholder") or "choose"
            out.append(f"{INDENT}<{placeholder}{': ' + options if options else ''}>")
        elif kind == 10:  # text display (components v2)
            out.extend(_lines(plain(str(comp.get("content") or "")), INDENT))
        elif kind in (9, 17):  # section, container
            out.extend(_component_lines(comp.get("components") or []))
            if isinstance(comp.get("accessory"), Mapping):
                out.extend(_component_lines([comp["accessory"]]))
        elif kind == 14:  # separator
            out.append(INDENT + "-" * 20)
    return out


def render_components(components: Sequence[Mapping[str, Any]]) -> list[str]:
    return _component_lines(components)


def _header(event: Mapping[str, Any]) -> str:
    where = f"#{event.get('channel')}"
    author = event.get("author") or "newsbot"
    what = f"{author} replied to {event.get('user')}" if event.get("type") == "reply" else author
    notes = []
    if event.get("ephemeral"):
        notes.append(f"only {event.get('user') or 'you'} can see this")
    if event.get("edited"):
        notes.append("edited")
    if event.get("deleted"):
        notes.append("deleted")
    return f"[{where}] {what}" + (f" ({', '.join(notes)})" if notes else "") + ":"


def render_message(event: Mapping[str, Any]) -> list[str]:
    out = [_header(event)]
    if event.get("deleted"):
        return out
    if event.get("content"):
        out.extend(_lines(plain(str(event["content"])), INDENT))
    for embed in event.get("embeds") or []:
        out.append(INDENT + "+" + "-" * 60)
        out.extend(render_embed(embed))
        out.append(INDENT + "+" + "-" * 60)
    out.extend(render_components(event.get("components") or []))
    return out


def render_choices(choices: Sequence[Mapping[str, Any]]) -> list[str]:
    if not choices:
        return [f"{INDENT}(no suggestions)"]
    width = len(str(len(choices)))
    return [f"{INDENT}{i:>{width}}. {c.get('name')}  ({c.get('value')})" for i, c in enumerate(choices, start=1)]


@dataclass(frozen=True, slots=True)
class ModalField:
    """One text input of a modal, whether laid out in an action row or in a Label (type 18)."""

    custom_id: str
    label: str
    style: str
    required: bool
    min_length: int | None
    max_length: int | None
    placeholder: str | None
    value: str | None

    def describe(self) -> str:
        notes = [self.style, "required" if self.required else "optional"]
        if self.min_length or self.max_length:
            notes.append(f"{self.min_length or 0}-{self.max_length or 4000} characters")
        if self.placeholder:
            notes.append(f"e.g. {self.placeholder}")
        return f"{self.label} ({', '.join(notes)})"


def modal_fields(components: Sequence[Mapping[str, Any]]) -> list[ModalField]:
    fields: list[ModalField] = []

    def add(text_input: Mapping[str, Any], label: Any) -> None:
        fields.append(
            ModalField(
                custom_id=str(text_input.get("custom_id")),
                label=str(label or text_input.get("custom_id")),
                style=TEXT_INPUT_STYLES.get(int(text_input.get("style") or 1), "short"),
                required=bool(text_input.get("required", True)),
                min_length=text_input.get("min_length"),
                max_length=text_input.get("max_length"),
                placeholder=text_input.get("placeholder"),
                value=text_input.get("value"),
            )
        )

    for comp in components:
        if comp.get("type") == 1:
            for inner in comp.get("components") or []:
                if inner.get("type") == 4:
                    add(inner, inner.get("label"))
        elif (
            comp.get("type") == 18 and isinstance(comp.get("component"), Mapping) and comp["component"].get("type") == 4
        ):
            add(comp["component"], comp.get("label"))
    return fields


def render_modal(event: Mapping[str, Any]) -> list[str]:
    out = [f"[modal for {event.get('user')}] {event.get('title')}"]
    out.extend(f"{INDENT}- {field.describe()}" for field in modal_fields(event.get("components") or []))
    return out


def render_event(event: Mapping[str, Any]) -> str:
    """A transcript event as the lines a person would read in the terminal, safe to print (:func:`terminal_safe`)."""
    kind = event.get("type")
    if kind in ("message", "reply"):
        lines = render_message(event)
    elif kind == "autocomplete":
        lines = [f"[suggestions for {event.get('option')}: {event.get('value')!r}]", *render_choices(event["choices"])]
    elif kind == "modal":
        lines = render_modal(event)
    elif kind == "error":
        lines = [f"! error: {event.get('error')}"]
    elif kind == "ready":
        lines = [f"[ready in {event.get('seconds')} s; commands: {', '.join(event.get('commands') or [])}]"]
    elif kind == "done":
        lines = [f"[done: {event.get('actions')} actions, {event.get('events')} events, {event.get('errors')} errors]"]
    else:
        lines = [f"[{kind}] {event}"]
    return terminal_safe("\n".join(lines))
