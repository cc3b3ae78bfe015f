"""The emulator's two validation layers, without a server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.validation import (
    OPENAPI_ENV,
    RequestValidator,
    check_callback,
    check_commands,
    check_message,
    embed_total,
    errors_tree,
    find_openapi_spec,
    url_problem,
)

SPEC = find_openapi_spec()
needs_spec = pytest.mark.skipif(SPEC is None, reason="shared/discord-api/openapi.json is not present")

MSG = "/channels/{channel_id}/messages"
CALLBACK = "/interactions/{interaction_id}/{interaction_token}/callback"
GUILD_COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"


def command(name: str = "news", description: str = "Browse the news.", **extra: Any) -> dict[str, Any]:
    return {"name": name, "description": description, "type": 1, **extra}


def paths(violations: list[Any]) -> list[tuple[str | int, ...]]:
    return [v.path for v in violations]


@pytest.fixture(scope="module")
def rules_only() -> RequestValidator:
    return RequestValidator(None)


def test_content_2000_ok_2001_rejected() -> None:
    assert check_message({"content": "x" * 2000}) == []
    assert paths(check_message({"content": "x" * 2001})) == [("content",)]


def test_embed_total_6000_ok_6001_rejected() -> None:
    ok = [
        {
            "description": "d" * 4096,
            "fields": [{"name": "n", "value": "v" * 1000}, {"name": "n", "value": "v" * 902}],
        }
    ]
    assert embed_total(ok) == 6000
    assert check_message({"embeds": ok}) == []
    over = [{"title": "t", **ok[0]}]
    assert embed_total(over) == 6001
    assert [v.code for v in check_message({"embeds": over})] == ["MESSAGE_EMBED_TOTAL_TOO_LONG"]


def test_embed_total_counts_across_embeds_and_footer_author() -> None:
    embeds = [
        {"description": "d" * 3000},
        {"description": "d" * 2990, "footer": {"text": "f" * 6}, "author": {"name": "a" * 5}},
    ]
    assert embed_total(embeds) == 6001
    assert check_message({"embeds": embeds})


def test_embed_per_field_limits_and_count() -> None:
    assert paths(check_message({"embeds": [{"title": "t" * 257}]})) == [("embeds", 0, "title")]
    assert paths(check_message({"embeds": [{"fields": [{"name": "n", "value": "v" * 1025}]}]})) == [
        ("embeds", 0, "fields", 0, "value")
    ]
    assert paths(check_message({"embeds": [{"title": "t"}] * 11})) == [("embeds",)]


def test_autocomplete_limits() -> None:
    ok = {"type": 8, "data": {"choices": [{"name": f"c{i}", "value": str(i)} for i in range(25)]}}
    assert check_callback(ok) == []
    many = {"type": 8, "data": {"choices": [{"name": f"c{i}", "value": str(i)} for i in range(26)]}}
    assert paths(check_callback(many)) == [("data", "choices")]
    long_name = {"type": 8, "data": {"choices": [{"name": "n" * 101, "value": "1"}]}}
    assert paths(check_callback(long_name)) == [("data", "choices", 0, "name")]
    empty_name = {"type": 8, "data": {"choices": [{"name": "", "value": "1"}]}}
    assert paths(check_callback(empty_name)) == [("data", "choices", 0, "name")]
    long_value = {"type": 8, "data": {"choices": [{"name": "n", "value": "v" * 101}]}}
    assert paths(check_callback(long_value)) == [("data", "choices", 0, "value")]
    int_value = {"type": 8, "data": {"choices": [{"name": "n", "value": 10**9}]}}
    assert check_callback(int_value) == []


def test_autocomplete_choice_names_are_trimmed_before_the_length_check() -> None:
    for blank in (" ", "   ", "\t\n"):
        body = {"type": 8, "data": {"choices": [{"name": blank, "value": "1"}]}}
        assert paths(check_callback(body)) == [("data", "choices", 0, "name")], repr(blank)
    padded = {"type": 8, "data": {"choices": [{"name": "  apple 1  ", "value": "1"}]}}
    assert check_callback(padded) == []
    # Trimmed, 100 characters fit even with padding around them.
    assert check_callback({"type": 8, "data": {"choices": [{"name": " " + "n" * 100 + " ", "value": "1"}]}}) == []
    # The same rule holds for the fixed choices of a command option.
    option = {"name": "kind", "description": "d", "type": 3, "choices": [{"name": " ", "value": "a"}]}
    assert paths(check_commands([command(options=[option])])) == [(0, "options", 0, "choices", 0, "name")]


def modal(inputs: int, title: str = "Share Your Thoughts") -> dict[str, Any]:
    rows = [
        {"type": 1, "components": [{"type": 4, "custom_id": f"f{i}", "label": f"Field {i}", "style": 1}]}
        for i in range(inputs)
    ]
    return {"type": 9, "data": {"custom_id": "m", "title": title, "components": rows}}


def test_modal_limits() -> None:
    assert check_callback(modal(5)) == []
    assert paths(check_callback(modal(6))) == [("data", "components")]
    assert paths(check_callback(modal(0))) == [("data", "components")]
    assert paths(check_callback(modal(1, title="t" * 46))) == [("data", "title")]
    label_modal = {
        "type": 9,
        "data": {
            "custom_id": "m",
            "title": "Report",
            "components": [{"type": 18, "label": "L" * 46, "component": {"type": 4, "custom_id": "r", "style": 1}}],
        },
    }
    assert paths(check_callback(label_modal)) == [("data", "components", 0, "label")]


def test_components_custom_id_and_label() -> None:
    row = {"type": 1, "components": [{"type": 2, "style": 1, "label": "L" * 81, "custom_id": "c" * 101}]}
    assert sorted(paths(check_message({"components": [row]}))) == [
        ("components", 0, "components", 0, "custom_id"),
        ("components", 0, "components", 0, "label"),
    ]
    six = {"type": 1, "components": [{"type": 2, "style": 1, "label": "b", "custom_id": f"b{i}"} for i in range(6)]}
    assert paths(check_message({"components": [six]})) == [("components", 0, "components")]


WEB = ("http", "https")
MALFORMED = ("URL_TYPE_INVALID_URL", "Not a well formed URL.")


def embed_errors(embed: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str, str]]:
    return [(v.path, v.code, v.message) for v in check_message({"embeds": [embed]})]


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/article?id=1&utm=x#top",
        "http://example.org",
        "HTTPS://EXAMPLE.ORG/A",
        "https://example.org:8443/path",
        "https://[::1]/x",
        "https://例え.jp/記事",
    ],
)
def test_well_formed_http_urls_pass_everywhere(url: str) -> None:
    embed = {
        "title": "t",
        "url": url,
        "image": {"url": url},
        "thumbnail": {"url": url},
        "author": {"name": "a", "url": url, "icon_url": url},
        "footer": {"text": "f", "icon_url": url},
    }
    assert check_message({"embeds": [embed]}) == []
    link = {"type": 2, "style": 5, "label": "Read", "url": url}
    assert check_message({"components": [{"type": 1, "components": [link]}]}) == []


@pytest.mark.parametrize(
    "url",
    [
        "images/photo.jpg",
        "/images/photo.jpg",
        "//example.org/photo.jpg",
        "example.org/photo.jpg",
        "https://",
        "http:/example.org",
        "https://exa mple.org/",
        " https://example.org/",
        "https://example.org/a\nb",
        "https://example.org:99999/",
        "",
    ],
)
def test_malformed_urls_are_not_well_formed(url: str) -> None:
    assert url_problem(url, WEB) == MALFORMED
    assert embed_errors({"url": url}) == [(("embeds", 0, "url"), *MALFORMED)]


def test_other_schemes_get_discords_scheme_error() -> None:
    assert embed_errors({"url": "javascript:alert(1)"}) == [
        (
            ("embeds", 0, "url"),
            "URL_TYPE_INVALID_SCHEME",
            "Scheme \"javascript\" is not supported. Scheme must be one of ('http', 'https').",
        )
    ]
    [(path, code, message)] = embed_errors({"image": {"url": "ftp://example.org/a.png"}})
    assert (path, code) == (("embeds", 0, "image", "url"), "URL_TYPE_INVALID_SCHEME")
    assert message.endswith("Scheme must be one of ('http', 'https', 'attachment').")


def test_every_embed_url_field_is_checked() -> None:
    bad = "images/photo.jpg"
    embed = {
        "url": bad,
        "image": {"url": bad},
        "thumbnail": {"url": bad},
        "author": {"name": "a", "url": bad, "icon_url": bad},
        "footer": {"text": "f", "icon_url": bad},
    }
    assert sorted(path for path, _code, _msg in embed_errors(embed)) == sorted(
        [
            ("embeds", 0, "url"),
            ("embeds", 0, "image", "url"),
            ("embeds", 0, "thumbnail", "url"),
            ("embeds", 0, "author", "url"),
            ("embeds", 0, "author", "icon_url"),
            ("embeds", 0, "footer", "icon_url"),
        ]
    )


def test_attachment_urls_only_where_discord_takes_them() -> None:
    media = {
        "image": {"url": "attachment://photo.png"},
        "thumbnail": {"url": "attachment://thumb.png"},
        "author": {"name": "a", "icon_url": "attachment://a.png"},
        "footer": {"text": "f", "icon_url": "attachment://f.png"},
    }
    assert embed_errors(media) == []
    assert [code for _p, code, _m in embed_errors({"url": "attachment://photo.png"})] == ["URL_TYPE_INVALID_SCHEME"]
    author = {"author": {"name": "a", "url": "attachment://a.png"}}
    assert [code for _p, code, _m in embed_errors(author)] == ["URL_TYPE_INVALID_SCHEME"]
    assert [p for p, _c, _m in embed_errors({"image": {"url": "attachment://"}})] == [("embeds", 0, "image", "url")]


def test_embed_url_length_limit() -> None:
    base = "https://example.org/"
    assert embed_errors({"url": base + "a" * (2048 - len(base))}) == []
    assert embed_errors({"url": base + "a" * (2049 - len(base))}) == [
        (("embeds", 0, "url"), "BASE_TYPE_MAX_LENGTH", "Must be 2048 or fewer in length.")
    ]
    # null is "no URL", as discord.py sends for cleared fields.
    assert embed_errors({"url": None, "image": {"url": None}}) == []


def button_errors(button: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    violations = check_message({"components": [{"type": 1, "components": [button]}]})
    return [(v.path[4:], v.code) for v in violations]


def test_link_buttons_need_a_url_and_no_custom_id() -> None:
    assert button_errors({"type": 2, "style": 5, "label": "Read", "url": "https://example.org/a"}) == []
    assert button_errors({"type": 2, "style": 5, "label": "Go", "url": "discord://-/channels/1/2"}) == []
    assert button_errors({"type": 2, "style": 5, "label": "Read"}) == [(("url",), "BASE_TYPE_REQUIRED")]
    both = {"type": 2, "style": 5, "label": "Read", "url": "https://example.org/a", "custom_id": "read"}
    assert button_errors(both) == [(("custom_id",), "COMPONENT_INVALID_FIELD")]
    assert button_errors({"type": 2, "style": 5, "label": "R", "url": "javascript:alert(1)"}) == [
        (("url",), "URL_TYPE_INVALID_SCHEME")
    ]
    assert button_errors({"type": 2, "style": 5, "label": "R", "url": "articles/1"}) == [
        (("url",), "URL_TYPE_INVALID_URL")
    ]
    base = "https://example.org/"
    assert button_errors({"type": 2, "style": 5, "label": "R", "url": base + "a" * (512 - len(base))}) == []
    assert button_errors({"type": 2, "style": 5, "label": "R", "url": base + "a" * (513 - len(base))}) == [
        (("url",), "BASE_TYPE_MAX_LENGTH")
    ]
    [message] = [
        v.message
        for v in check_message(
            {"components": [{"type": 1, "components": [{"type": 2, "style": 5, "label": "R", "url": "steam://run/1"}]}]}
        )
    ]
    assert message.endswith("Scheme must be one of ('http', 'https', 'discord').")


def test_other_buttons_need_a_custom_id_and_no_url() -> None:
    assert button_errors({"type": 2, "style": 1, "label": "Count", "custom_id": "count"}) == []
    assert button_errors({"type": 2, "style": 2, "label": "Count"}) == [(("custom_id",), "BASE_TYPE_REQUIRED")]
    with_url = {"type": 2, "style": 1, "label": "Count", "custom_id": "count", "url": "https://example.org/"}
    assert button_errors(with_url) == [(("url",), "COMPONENT_INVALID_FIELD")]
    assert button_errors({"type": 2, "style": 6, "sku_id": "1"}) == []
    assert button_errors({"type": 2, "style": 6, "custom_id": "c"}) == [
        (("sku_id",), "BASE_TYPE_REQUIRED"),
        (("custom_id",), "COMPONENT_INVALID_FIELD"),
    ]


def test_url_rules_apply_without_the_spec(rules_only: RequestValidator) -> None:
    result = rules_only.validate("POST", MSG, "message", {"embeds": [{"image": {"url": "images/photo.jpg"}}]})
    assert (result.layer, result.errors()["embeds"]["0"]["image"]["url"]["_errors"][0]["code"]) == (
        "rules",
        "URL_TYPE_INVALID_URL",
    )
    callback = {"type": 4, "data": {"embeds": [{"url": "javascript:void(0)"}]}}
    assert paths(rules_only.validate("POST", CALLBACK, "callback", callback).violations) == [
        ("data", "embeds", 0, "url")
    ]


def test_command_names_and_descriptions() -> None:
    assert check_commands([command()]) == []
    assert check_commands([command("héadline-2_x")]) == []
    assert [v.code for v in check_commands([command("News")])] == ["APPLICATION_COMMAND_INVALID_NAME"]
    assert check_commands([command("has space")])
    assert check_commands([command("x" * 33)])
    assert check_commands([command(description="")])
    assert check_commands([command(description="d" * 101)])
    # User and message commands may have capitals and spaces.
    assert check_commands([{"name": "Report Message", "type": 3}]) == []
    nested = command(
        options=[
            {"name": "Sub", "description": "d", "type": 1, "options": [{"name": "q", "description": "", "type": 3}]}
        ]
    )
    assert sorted(paths(check_commands([nested]))) == [
        (0, "options", 0, "name"),
        (0, "options", 0, "options", 0, "description"),
    ]


def test_command_choices_and_counts() -> None:
    choice_option = {
        "name": "kind",
        "description": "d",
        "type": 3,
        "choices": [{"name": "a", "value": "v" * 101}],
    }
    assert paths(check_commands([command(options=[choice_option])])) == [(0, "options", 0, "choices", 0, "value")]
    assert check_commands([command(f"c{i}") for i in range(101)])
    assert check_commands([command(), command()])  # duplicate name
    huge = command(
        options=[
            {
                "name": f"o{i}",
                "description": "d" * 100,
                "type": 3,
                "choices": [{"name": "n" * 100, "value": "v" * 100}] * 25,
            }
            for i in range(3)
        ]
    )
    assert "APPLICATION_COMMAND_TOO_LARGE" in [v.code for v in check_commands([huge])]


def test_errors_tree_is_discords_shape() -> None:
    tree = errors_tree(check_message({"content": "x" * 2001, "embeds": [{"title": "t" * 257}]}))
    assert tree["content"]["_errors"][0]["code"] == "BASE_TYPE_MAX_LENGTH"
    assert "_errors" in tree["embeds"]["0"]["title"]


def test_rules_layer_when_spec_absent(rules_only: RequestValidator) -> None:
    assert not rules_only.openapi.available
    result = rules_only.validate("POST", MSG, "message", {"content": "x" * 2001})
    assert result.layer == "rules"
    assert not result.ok
    # Without the spec a wrong type slips through: only the schema layer checks types.
    assert rules_only.validate("POST", MSG, "message", {"content": 5}).ok


def test_find_spec_env_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(OPENAPI_ENV, str(tmp_path / "missing.json"))
    assert find_openapi_spec() is None
    fake = tmp_path / "openapi.json"
    fake.write_text("{}")
    monkeypatch.setenv(OPENAPI_ENV, str(fake))
    assert find_openapi_spec() == fake
    assert find_openapi_spec(tmp_path / "nope.json") is None


@needs_spec
def test_openapi_layer_catches_schema_violations() -> None:
    validator = RequestValidator(SPEC)
    assert validator.openapi.available
    bad_type = validator.validate("POST", MSG, "message", {"content": 5})
    assert bad_type.layer == "openapi"
    assert bad_type.violations[0].path == ("content",)
    title = validator.validate("POST", MSG, "message", {"embeds": [{"title": "T" * 257}]})
    assert title.layer == "openapi"
    # The spec allows 4000 characters for channel messages; the docs say 2000, so the rules catch it.
    assert validator.validate("POST", MSG, "message", {"content": "x" * 2001}).layer == "rules"
    # The spec has no name pattern; lowercase is a rule.
    assert validator.validate("PUT", GUILD_COMMANDS, "commands", [command("Search")]).layer == "rules"
    # The spec's ``format: uri`` is not checked by the schema layer; the URL rules catch what it would.
    relative = validator.validate("POST", MSG, "message", {"embeds": [{"url": "images/photo.jpg"}]})
    assert (relative.layer, relative.violations[0].code) == ("rules", "URL_TYPE_INVALID_URL")


@needs_spec
def test_openapi_layer_accepts_what_discord_py_sends() -> None:
    validator = RequestValidator(SPEC)
    bodies: list[tuple[str, str, str, Any]] = [
        (
            "POST",
            MSG,
            "message",
            {"content": "hi", "embeds": [{"title": "t", "type": "rich", "flags": 0}], "tts": False},
        ),
        ("POST", CALLBACK, "callback", {"type": 5}),
        ("POST", CALLBACK, "callback", {"type": 4, "data": {"content": "hi", "flags": 64, "tts": False}}),
        ("POST", CALLBACK, "callback", {"type": 8, "data": {"choices": [{"name": "a", "value": "1"}]}}),
        ("POST", CALLBACK, "callback", modal(5)),
        ("PUT", GUILD_COMMANDS, "commands", [command(default_member_permissions="8192")]),
    ]
    for method, template, kind, body in bodies:
        result = validator.validate(method, template, kind, body)
        assert result.ok, (template, result.summary())


@needs_spec
def test_openapi_layer_accepts_what_discord_accepts_but_the_spec_leaves_out() -> None:
    validator = RequestValidator(SPEC)
    # discord.py sends snowflakes as JSON numbers here; Discord takes them, the spec wants strings.
    body = {
        "content": "<@&123>",
        "allowed_mentions": {"parse": [], "roles": [123], "users": []},
        "message_reference": {"message_id": 456, "fail_if_not_exists": False},
    }
    assert validator.validate("POST", MSG, "message", body).ok
    # GUILD_MEDIA (16) is a documented channel type the spec's list lacks.
    option = {"name": "where", "description": "d", "type": 7, "channel_types": [0, 5, 15, 16]}
    assert validator.validate("PUT", GUILD_COMMANDS, "commands", [command(options=[option])]).ok
    # A real violation is still caught.
    assert not validator.validate("POST", MSG, "message", {"allowed_mentions": {"roles": ["x"]}}).ok


def test_allowed_mentions_and_nonce_rules() -> None:
    exclusive = check_message({"content": "x", "allowed_mentions": {"parse": ["roles"], "roles": ["1"]}})
    assert [v.code for v in exclusive] == ["MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE"]
    assert check_message({"content": "x", "allowed_mentions": {"parse": ["users"], "users": None}}) == []
    assert [v.path for v in check_message({"content": "x", "allowed_mentions": {"parse": ["pets"]}})] == [
        ("allowed_mentions", "parse", 0)
    ]
    assert [v.path for v in check_message({"content": "x", "nonce": "n" * 26})] == [("nonce",)]
    assert check_message({"content": "x", "nonce": "n" * 25}) == []
