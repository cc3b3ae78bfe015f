"""The sandbox's plain-text rendering of what Discord received."""

from __future__ import annotations

import io
import json
from typing import Any, cast

from bot.sandbox.render import (
    modal_fields,
    plain,
    render_choices,
    render_components,
    render_embed,
    render_event,
    terminal_safe,
)
from bot.sandbox.script import event_line
from bot.sandbox.terminal import Terminal

HOSTILE = "Hello \x1b]0;pwned\x07\x1b[31mRED\u202e"

CARD: dict[str, Any] = {
    "type": "rich",
    "title": "Trump-Putin Meeting Yields Success and Concession",
    "url": "https://example.org/trump-putin",
    "description": "Amid the backdrop of the G20 summit.\n\nSecond paragraph with a \\*literal\\* star.",
    "fields": [
        {"name": "Author", "value": "Laurie Kotka", "inline": True},
        {"name": "Published", "value": "<t:1499385600:D>", "inline": True},
    ],
    "footer": {"text": "Source: example.org · Photo: REUTERS/Carlos Barria"},
    "image": {"url": "https://example.org/photo.jpg"},
}


def test_plain_turns_markdown_into_readable_text() -> None:
    linked = "**1.** [Some *title*](https://x.org/a) · 7 Jul 2017"
    assert plain(linked) == "1. Some *title* <https://x.org/a> · 7 Jul 2017"
    assert plain(r"a \_b\_ \[c\]") == "a _b_ [c]"
    assert plain("<t:1499385600:D>") == "7 July 2017"
    assert plain("<t:1499385600:d>") == "2017-07-07"
    assert plain("<t:1499385600>") == "7 July 2017 00:00 UTC"
    assert plain("no markdown here") == "no markdown here"


def test_embed_shows_title_url_description_fields_image_and_footer() -> None:
    text = "\n".join(render_embed(CARD))
    assert "| Trump-Putin Meeting Yields Success and Concession" in text
    assert "| <https://example.org/trump-putin>" in text
    assert "| Amid the backdrop of the G20 summit." in text
    assert "*literal*" in text and "\\*" not in text
    assert "| Author: Laurie Kotka" in text
    assert "| Published: 7 July 2017" in text
    assert "[image: https://example.org/photo.jpg]" in text
    assert text.rstrip().endswith("Source: example.org · Photo: REUTERS/Carlos Barria")
    # Order as in the Discord client: title before description before fields before footer.
    assert text.index("Trump-Putin") < text.index("Amid") < text.index("Author:") < text.index("Source:")


def test_empty_embed_says_so() -> None:
    assert render_embed({}) == ["  | (empty embed)"]


def test_multiline_field_values_stay_aligned() -> None:
    lines = render_embed({"fields": [{"name": "Tags", "value": "one\ntwo"}]})
    assert lines[-2:] == ["  | Tags: one", "  |       two"]


def test_buttons_render_with_labels_links_and_state() -> None:
    rows = [
        {
            "type": 1,
            "components": [
                {"type": 2, "style": 1, "label": "Share Your Thoughts", "custom_id": "newsbot:thoughts:1"},
                {"type": 2, "style": 5, "label": "Read", "url": "https://example.org/a"},
                {"type": 2, "style": 2, "label": "Summary", "custom_id": "s", "disabled": True},
            ],
        },
        {
            "type": 1,
            "components": [
                {
                    "type": 3,
                    "custom_id": "pick",
                    "placeholder": "Pick one",
                    "options": [{"label": "A", "value": "a"}, {"label": "B", "value": "b"}],
                }
            ],
        },
    ]
    assert render_components(rows) == [
        "  [Share Your Thoughts] [Read -> https://example.org/a] [Summary (disabled)]",
        "  <Pick one: A | B>",
    ]


def test_components_v2_text_display_in_container() -> None:
    container = [{"type": 17, "components": [{"type": 10, "content": "**Breaking**"}, {"type": 14}]}]
    assert render_components(container) == ["  Breaking", "  " + "-" * 20]


def test_reply_event_header_notes_ephemeral_and_edits() -> None:
    event = {
        "type": "reply",
        "user": "reader",
        "channel": "news",
        "ephemeral": True,
        "edited": True,
        "author": "newsbot",
        "content": "Thanks for your comment",
        "embeds": [],
        "components": [],
    }
    text = render_event(event)
    assert text.splitlines()[0] == "[#news] newsbot replied to reader (only reader can see this, edited):"
    assert "  Thanks for your comment" in text


def test_message_event_renders_embed_and_buttons() -> None:
    event = {
        "type": "message",
        "channel": "news",
        "ephemeral": False,
        "author": "newsbot",
        "content": "",
        "embeds": [CARD],
        "components": [{"type": 1, "components": [{"type": 2, "label": "Share Your Thoughts", "custom_id": "x"}]}],
    }
    lines = render_event(event).splitlines()
    assert lines[0] == "[#news] newsbot:"
    assert lines[-1] == "  [Share Your Thoughts]"
    assert sum(1 for line in lines if line.startswith("  +---")) == 2


def test_autocomplete_choices_are_numbered() -> None:
    choices = [{"name": "Trump-Putin Meeting", "value": "#1"}, {"name": "Other", "value": "#2"}]
    assert render_choices(choices) == ["  1. Trump-Putin Meeting  (#1)", "  2. Other  (#2)"]
    assert render_choices([]) == ["  (no suggestions)"]
    event = {"type": "autocomplete", "option": "query", "value": "putn", "choices": choices}
    assert render_event(event).splitlines()[0] == "[suggestions for query: 'putn']"


def test_modal_fields_from_action_rows_and_labels() -> None:
    components = [
        {
            "type": 1,
            "components": [
                {"type": 4, "custom_id": "c", "label": "Comment", "style": 2, "max_length": 4000, "required": True}
            ],
        },
        {"type": 18, "label": "Name", "component": {"type": 4, "custom_id": "n", "style": 1, "required": False}},
    ]
    fields = modal_fields(components)
    assert [(f.custom_id, f.label, f.style, f.required) for f in fields] == [
        ("c", "Comment", "paragraph", True),
        ("n", "Name", "short", False),
    ]
    assert fields[0].describe() == "Comment (paragraph, required, 0-4000 characters)"
    event = {"type": "modal", "user": "reader", "title": "Share Your Thoughts", "components": components}
    assert render_event(event).splitlines() == [
        "[modal for reader] Share Your Thoughts",
        "  - Comment (paragraph, required, 0-4000 characters)",
        "  - Name (short, optional)",
    ]


def test_error_ready_and_done_events() -> None:
    assert render_event({"type": "error", "error": "no response within 3 s"}) == "! error: no response within 3 s"
    assert render_event({"type": "ready", "seconds": 0.4, "commands": ["/news latest"]}) == (
        "[ready in 0.4 s; commands: /news latest]"
    )
    assert render_event({"type": "done", "actions": 2, "events": 3, "errors": 0}) == (
        "[done: 2 actions, 3 events, 0 errors]"
    )


def test_terminal_safe_strips_controls_and_bidi_overrides() -> None:
    assert terminal_safe(HOSTILE) == "Hello ]0;pwned[31mRED"
    assert terminal_safe("tab\tand\nnewline stay") == "tab\tand\nnewline stay"
    assert terminal_safe("cr\r del\x7f csi\x9b1m nul\x00") == "cr del csi1m nul"
    isolates = "".join(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
    assert terminal_safe(f"a{isolates}b") == "ab"
    assert terminal_safe("Zürich · 東京 — “quotes” 🙂") == "Zürich · 東京 — “quotes” 🙂"


def test_rendered_events_carry_no_escape_sequences() -> None:
    embed = {"title": HOSTILE, "description": HOSTILE, "fields": [{"name": HOSTILE, "value": HOSTILE}]}
    button = {"type": 2, "style": 1, "label": HOSTILE, "custom_id": "x"}
    events: list[dict[str, Any]] = [
        {
            "type": "message",
            "channel": "news",
            "author": HOSTILE,
            "content": HOSTILE,
            "embeds": [{**embed, "footer": {"text": HOSTILE}, "author": {"name": HOSTILE}}],
            "components": [{"type": 1, "components": [button]}],
        },
        {"type": "autocomplete", "option": "q", "value": HOSTILE, "choices": [{"name": HOSTILE, "value": HOSTILE}]},
        {"type": "modal", "user": "reader", "title": HOSTILE, "components": []},
        {"type": "error", "error": HOSTILE},
        {"type": "surprise", "payload": HOSTILE},
    ]
    for event in events:
        text = render_event(event)
        assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text, event["type"]
    assert "Hello ]0;pwned[31mRED" in render_event(events[0])


def test_terminal_prints_nothing_raw() -> None:
    out = io.StringIO()
    terminal = Terminal(cast(Any, None), out=out, echo=False)
    terminal.say(HOSTILE)
    terminal.show([{"type": "error", "error": HOSTILE}])
    assert out.getvalue() == "Hello ]0;pwned[31mRED\n! error: Hello ]0;pwned[31mRED\n"


def test_transcript_lines_escape_what_json_leaves_raw() -> None:
    event = {"type": "message", "content": HOSTILE + "\x9b2J Zürich"}
    line = event_line(event)
    assert all(ch not in line for ch in ("\x1b", "\x07", "\u202e", "\x9b"))
    assert "Zürich" in line  # still written as UTF-8, not escaped ASCII
    assert json.loads(line) == event
