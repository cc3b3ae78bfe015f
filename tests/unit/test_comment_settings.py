"""Comment settings: anchor defaults, parsing what moderators type, validation, description, JSON form."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import fields

import pytest

from bot.comments.durations import format_duration, parse_ban_duration, parse_duration
from bot.comments.errors import DurationError, SettingError
from bot.comments.settings import (
    SETTING_NAMES,
    SPECS,
    CommentSettings,
    describe_settings,
    describe_value,
    setting_spec,
    settings_audit,
    update_setting,
)


def test_defaults_are_the_anchors() -> None:
    s = CommentSettings()
    assert s.flood_interval == dt.timedelta(seconds=15)  # WordPress wp_throttle_comment_flood
    assert s.refuse_duplicates is True  # WordPress 409 on duplicates
    assert s.max_links == 2  # WordPress comment_max_links
    assert s.hold_words == () and s.block_words == ()  # moderation_keys / disallowed_keys empty
    assert s.premoderation is False  # comment_moderation 0
    assert s.trust_approved_authors is True  # comment_previously_approved 1
    assert s.min_account_age == dt.timedelta(0)  # off
    assert s.flag_threshold == 3  # Disqus strict profile
    assert s.edit_window == dt.timedelta(minutes=15)
    assert s.max_length == 4000  # Discord modal text input


def test_every_field_has_a_spec_and_a_description() -> None:
    names = [f.name for f in fields(CommentSettings)]
    assert list(SETTING_NAMES) == names == list(SPECS)
    described = describe_settings(CommentSettings())
    assert [d.name for d in described] == names
    assert all(d.help and d.is_default and d.value == d.default for d in described)


def test_description_shows_values_and_defaults_as_text() -> None:
    s = update_setting(CommentSettings(), "hold_words", 'casino "cheap pills"')
    s = update_setting(s, "max_links", "off")
    s = update_setting(s, "edit_window", "0")
    shown = {d.name: d for d in describe_settings(s)}
    assert shown["flood_interval"].value == "15s"
    assert shown["refuse_duplicates"].value == "on"
    assert shown["max_links"].value == "off" and shown["max_links"].default == "2"
    assert shown["hold_words"].value == 'casino, "cheap pills"' and not shown["hold_words"].is_default
    assert shown["block_words"].value == "none"
    assert shown["min_account_age"].value == "off"
    assert shown["edit_window"].value == "no edits" and shown["edit_window"].default == "15m"
    assert shown["flag_threshold"].value == "3"
    assert describe_value("flood_interval", dt.timedelta(seconds=90)) == "1m 30s"


@pytest.mark.parametrize(
    ("name", "raw", "expected"),
    [
        ("flood_interval", "30", dt.timedelta(seconds=30)),
        ("flood_interval", "1m", dt.timedelta(minutes=1)),
        ("flood_interval", "off", dt.timedelta(0)),
        ("flood_interval", "0", dt.timedelta(0)),
        ("flood_interval", "1h", dt.timedelta(hours=1)),
        ("refuse_duplicates", "off", False),
        ("refuse_duplicates", "Yes", True),
        ("max_links", "0", 0),
        ("max_links", "5", 5),
        ("max_links", "off", None),
        ("max_links", "unlimited", None),
        ("premoderation", "on", True),
        ("trust_approved_authors", "false", False),
        ("min_account_age", "7", dt.timedelta(days=7)),
        ("min_account_age", "12h", dt.timedelta(hours=12)),
        ("flag_threshold", "5", 5),
        ("flag_threshold", "off", 0),
        ("edit_window", "30", dt.timedelta(minutes=30)),
        ("edit_window", "1h", dt.timedelta(hours=1)),
        ("max_length", "500", 500),
        ("max_length", "4000", 4000),
        ("Max Links", "3", 3),
        ("max-links", "3", 3),
    ],
)
def test_values_parse_as_typed(name: str, raw: str, expected: object) -> None:
    s = update_setting(CommentSettings(), name, raw)
    assert getattr(s, setting_spec(name).name) == expected


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("nope", "1", "no comment setting called 'nope'"),
        ("flood_interval", "2h", "between 0s and 1h"),
        ("flood_interval", "soon", "duration"),
        ("flood_interval", "-5", "duration"),
        ("refuse_duplicates", "maybe", "on or off"),
        ("max_links", "many", "whole number"),
        ("max_links", "101", "between 0 and 100"),
        ("max_links", "-1", "between 0 and 100"),
        ("max_length", "0", "between 1 and 4000"),
        ("max_length", "4001", "between 1 and 4000"),
        ("max_length", "off", "whole number"),
        ("flag_threshold", "2.5", "whole number"),
        ("min_account_age", "400d", "between 0s and 365d"),
        ("edit_window", "8d", "between 0s and 7d"),
        ("hold_words", '"unclosed', "quote is not closed"),
        ("hold_words", "!!! ???", "no letters or digits"),
        ("hold_words", "x" * 101, "at most 100 characters"),
        ("hold_words", "   ", "Give the words"),
    ],
)
def test_bad_values_get_a_clear_error(name: str, raw: str, message: str) -> None:
    with pytest.raises(SettingError, match=message):
        update_setting(CommentSettings(), name, raw)


def test_word_lists_replace_add_remove_and_clear() -> None:
    s = update_setting(CommentSettings(), "block_words", 'casino "cheap pills"')
    assert s.block_words == ("casino", "cheap pills")
    s = update_setting(s, "block_words", "+ scam CASINO")
    assert s.block_words == ("casino", "cheap pills", "scam")  # CASINO folds to casino: kept once
    s = update_setting(s, "block_words", '- "Cheap Pills" unknown')
    assert s.block_words == ("casino", "scam")
    s = update_setting(s, "block_words", "none")
    assert s.block_words == ()
    s = update_setting(s, "block_words", "a b")
    assert update_setting(s, "block_words", "default").block_words == ()


def test_word_list_size_is_bounded() -> None:
    # Distinct after folding: letters only, no repeats squeezed together.
    letters = "bcdfghjkmnpqrtvwxz"
    words = " ".join(f"{a}{b}{c}a" for a in letters for b in letters for c in letters[:7])
    assert len(words.split()) > 2000
    with pytest.raises(SettingError, match="at most 2000 entries"):
        update_setting(CommentSettings(), "hold_words", words)


def test_default_resets_any_setting() -> None:
    s = CommentSettings(flood_interval=dt.timedelta(seconds=60), max_links=None, premoderation=True)
    for name in ("flood_interval", "max_links", "premoderation"):
        s = update_setting(s, name, "default")
    assert s == CommentSettings()


def test_construction_validates_too() -> None:
    with pytest.raises(SettingError):
        CommentSettings(max_length=10_000)
    with pytest.raises(SettingError):
        CommentSettings(flood_interval=dt.timedelta(seconds=-1))
    with pytest.raises(SettingError):
        CommentSettings(premoderation=1)  # type: ignore[arg-type]
    with pytest.raises(SettingError):
        CommentSettings(max_links=True)
    with pytest.raises(SettingError):
        CommentSettings(hold_words=["list"])  # type: ignore[arg-type]


def test_json_round_trip_through_text() -> None:
    s = CommentSettings(
        flood_interval=dt.timedelta(seconds=30),
        max_links=None,
        hold_words=("casino", "cheap pills"),
        premoderation=True,
        min_account_age=dt.timedelta(days=7),
        edit_window=dt.timedelta(0),
    )
    data = json.loads(json.dumps(s.to_json()))
    assert data["flood_interval"] == 30 and data["min_account_age"] == 7 * 86400 and data["max_links"] is None
    assert CommentSettings.from_json(data) == s


def test_from_json_fills_defaults_ignores_unknown_names_and_rejects_bad_types(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        s = CommentSettings.from_json({"max_links": 4, "from_the_future": True})
    assert s == CommentSettings(max_links=4)
    assert "from_the_future" in caplog.text
    with pytest.raises(SettingError):
        CommentSettings.from_json({"flood_interval": "15"})
    with pytest.raises(SettingError):
        CommentSettings.from_json({"hold_words": "casino"})


# --- durations ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("30m", 1800),
        ("1h", 3600),
        ("7d", 7 * 86400),
        ("2w", 14 * 86400),
        ("1h30m", 5400),
        ("1h 30m", 5400),
        ("1 hour and 30 minutes", 5400),
        ("1h, 30m", 5400),
        ("90 Seconds", 90),
        (" 2 DAYS ", 2 * 86400),
        ("1mo", 30 * 86400),
        ("1y", 365 * 86400),
    ],
)
def test_durations_parse(text: str, seconds: int) -> None:
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Give a duration"),
        ("7", "needs a unit"),
        ("7x", "not a unit of time"),
        ("soon", "Can't read"),
        ("1h soon", "Can't read"),
        ("-1h", "Can't read"),
        ("1.5h", "whole numbers"),
        ("99999999999d", "too long"),
        ("3651d", "too long"),
        ("1h 30", "needs a unit"),
    ],
)
def test_bad_durations_get_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(DurationError, match=message):
        parse_duration(text)


def test_a_bare_number_takes_the_default_unit() -> None:
    assert parse_duration("15", default_unit="s") == dt.timedelta(seconds=15)
    assert parse_duration("15", default_unit="m") == dt.timedelta(minutes=15)


@pytest.mark.parametrize("text", [None, "", "  ", "forever", "Permanent", "perm", "never"])
def test_ban_durations_without_end(text: str | None) -> None:
    assert parse_ban_duration(text) is None


def test_ban_durations() -> None:
    assert parse_ban_duration("1h") == dt.timedelta(hours=1)
    assert parse_ban_duration("7d") == dt.timedelta(days=7)
    assert parse_ban_duration("30m") == dt.timedelta(minutes=30)
    with pytest.raises(DurationError, match="at least one second"):
        parse_ban_duration("0s")
    with pytest.raises(DurationError, match="needs a unit"):
        parse_ban_duration("7")
    with pytest.raises(DurationError, match="too long"):
        parse_ban_duration("20y")


@pytest.mark.parametrize("seconds", [0, 1, 59, 60, 90, 3600, 5400, 86400, 90061, 7 * 86400])
def test_format_duration_round_trips(seconds: int) -> None:
    text = format_duration(dt.timedelta(seconds=seconds))
    assert parse_duration(text) == dt.timedelta(seconds=seconds)


def test_setting_changes_are_audited_one_entry_per_setting() -> None:
    now = dt.datetime(2025, 3, 1, tzinfo=dt.UTC)
    before = CommentSettings()
    after = update_setting(update_setting(before, "flood_interval", "30s"), "hold_words", "casino")
    entries = settings_audit(before, after, guild_id=1, actor_id=5, now=now)
    assert [(e.subject, e.before, e.after, e.action) for e in entries] == [
        ("flood_interval", "15s", "30s", "settings"),
        ("hold_words", "none", "casino", "settings"),
    ]
    assert entries[0].describe() == "settings flood_interval: 15s → 30s"
    assert settings_audit(after, after, guild_id=1, actor_id=5, now=now) == []
