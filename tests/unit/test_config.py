from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.config import ConfigError, Secret, Settings

TOKEN = "MTIzNDU2Nzg5.secret-token-value"


def test_environment_overrides_dotenv_and_toml(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"DISCORD_TOKEN={TOKEN}\nNEWSBOT_LOG_LEVEL=debug\n")
    (tmp_path / "newsbot.toml").write_text('[newsbot]\ndb_path = "from-toml.db"\npoll_interval = 60\n')
    settings = Settings.load(
        environ={"NEWSBOT_DEV_GUILD_ID": "42"}, env_file=tmp_path / ".env", toml_file=tmp_path / "newsbot.toml"
    )
    assert settings.token.get() == TOKEN
    assert settings.log_level == "DEBUG"
    assert settings.db == "from-toml.db"  # the older key name still works
    assert settings.poll_interval == 60.0
    assert settings.dev_guild_id == 42


def test_defaults_without_any_source(tmp_path: Path) -> None:
    settings = Settings.load(environ={}, env_file=tmp_path / "none", toml_file=tmp_path / "none.toml")
    assert settings.db == "data/newsbot.sqlite3" and settings.store_target.kind == "sqlite"
    assert not settings.token
    assert settings.dev_guild_id is None


def test_token_never_shows(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings.load(environ={"DISCORD_TOKEN": TOKEN}, env_file=None, toml_file=None)
    logging.getLogger("test").warning("settings: %s %r", settings, settings.token)
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)
    assert TOKEN not in caplog.text
    assert repr(Secret("")) == "Secret('')"


def test_bad_values_are_clear_errors_without_the_token(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="dev_guild_id"):
        Settings.load(environ={"NEWSBOT_DEV_GUILD_ID": "not-a-number"}, env_file=None, toml_file=None)
    toml = tmp_path / "newsbot.toml"
    toml.write_text(f'token = "{TOKEN}"\n')
    with pytest.raises(ConfigError, match="not in the TOML file") as info:
        Settings.load(environ={}, env_file=None, toml_file=toml)
    assert TOKEN not in str(info.value)
    toml.write_text("typo_setting = 1\n")
    with pytest.raises(ConfigError, match="unknown setting"):
        Settings.load(environ={}, env_file=None, toml_file=toml)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("NEWSBOT_MAX_RESPONSE_BYTES", "0", "max_response_bytes must be between 65,536 and"),
        ("NEWSBOT_MAX_RESPONSE_BYTES", "1000", "max_response_bytes must be between 65,536 and"),
        ("NEWSBOT_MAX_RESPONSE_BYTES", "-5", "max_response_bytes must be between"),
        ("NEWSBOT_MAX_RESPONSE_BYTES", "1.5", "max_response_bytes has an invalid value"),
        ("NEWSBOT_HTTP_TIMEOUT", "0", "http_timeout must be between 1 and 600 seconds, not 0"),
        ("NEWSBOT_HTTP_TIMEOUT", "inf", "http_timeout must be between"),
        ("NEWSBOT_HTTP_TIMEOUT", "3600", "http_timeout must be between 1 and 600 seconds"),
        ("NEWSBOT_POLL_INTERVAL", "0.2", "poll_interval must be between 1 and 604,800 seconds, not 0.2"),
        ("NEWSBOT_POLL_INTERVAL", "nan", "poll_interval must be between"),
        ("NEWSBOT_POLL_INTERVAL", "-1", "poll_interval must be between"),
    ],
)
def test_numeric_settings_are_range_checked(variable: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Settings.load(environ={variable: value}, env_file=None, toml_file=None)


def test_numeric_settings_in_range_and_from_toml(tmp_path: Path) -> None:
    settings = Settings.load(
        environ={"NEWSBOT_MAX_RESPONSE_BYTES": "65536", "NEWSBOT_HTTP_TIMEOUT": "1", "NEWSBOT_POLL_INTERVAL": "1"},
        env_file=None,
        toml_file=None,
    )
    assert (settings.max_response_bytes, settings.http_timeout, settings.poll_interval) == (65536, 1.0, 1.0)
    toml = tmp_path / "newsbot.toml"
    toml.write_text("max_response_bytes = 2_097_152\nhttp_timeout = 30\n")
    loaded = Settings.load(environ={}, env_file=None, toml_file=toml)
    assert loaded.max_response_bytes == 2 * 1024 * 1024 and loaded.http_timeout == 30.0
    toml.write_text("max_response_bytes = true\n")
    with pytest.raises(ConfigError, match="max_response_bytes has an invalid value"):
        Settings.load(environ={}, env_file=None, toml_file=toml)
    toml.write_text("poll_interval = 0\n")
    with pytest.raises(ConfigError, match="poll_interval must be between"):
        Settings.load(environ={}, env_file=None, toml_file=toml)


def test_allowed_networks_are_parsed_and_checked() -> None:
    settings = Settings.load(
        environ={"NEWSBOT_ALLOWED_NETWORKS": "10.1.0.0/16, 192.168.5.7"}, env_file=None, toml_file=None
    )
    assert settings.allowed_networks == ("10.1.0.0/16", "192.168.5.7")
    with pytest.raises(ConfigError, match="allowed_networks"):
        Settings.load(environ={"NEWSBOT_ALLOWED_NETWORKS": "intranet"}, env_file=None, toml_file=None)


def test_a_postgres_dsn_is_a_store_and_never_shown_with_its_password(tmp_path: Path) -> None:
    dsn = "postgresql://bot:s3cret@db.example:5433/news"
    settings = Settings.load(environ={"NEWSBOT_DB": dsn}, env_file=None, toml_file=None)
    assert settings.store_target.kind == "postgres"
    assert settings.store_target.describe() == "postgresql://bot@db.example:5433/news"
    with pytest.raises(ConfigError, match="NEWSBOT_DB") as refused:
        Settings.load(environ={"NEWSBOT_DB": "mysql://bot:s3cret@db/news"}, env_file=None, toml_file=None)
    assert "s3cret" not in str(refused.value)


def test_parse_budgets_load_and_are_range_checked() -> None:
    environ = {
        "NEWSBOT_PARSE_CPU_SECONDS": "2.5",
        "NEWSBOT_PARSE_WALL_SECONDS": "30",
        "NEWSBOT_PARSE_MEMORY_MB": "256",
        "NEWSBOT_PARSE_WORKERS": "3",
    }
    settings = Settings.load(environ=environ, env_file=None, toml_file=None)
    assert (settings.parse_cpu_seconds, settings.parse_wall_seconds) == (2.5, 30.0)
    assert (settings.parse_memory_mb, settings.parse_workers) == (256, 3)
    defaults = Settings.load(environ={}, env_file=None, toml_file=None)
    assert (defaults.parse_cpu_seconds, defaults.parse_wall_seconds, defaults.parse_memory_mb) == (10.0, 20.0, 512)
    for variable, value, message in [
        ("NEWSBOT_PARSE_CPU_SECONDS", "0.5", "parse_cpu_seconds must be between 1 and 600 seconds, not 0.5"),
        ("NEWSBOT_PARSE_WALL_SECONDS", "3601", "parse_wall_seconds must be between 1 and 600 seconds"),
        ("NEWSBOT_PARSE_MEMORY_MB", "32", "parse_memory_mb must be between 64 and 16,384 MB, not 32"),
        ("NEWSBOT_PARSE_WORKERS", "0", "parse_workers must be between 1 and 32 processes"),
        ("NEWSBOT_PARSE_MEMORY_MB", "lots", "parse_memory_mb has an invalid value"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Settings.load(environ={variable: value}, env_file=None, toml_file=None)
