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
    assert settings.db_path == Path("from-toml.db")
    assert settings.poll_interval == 60.0
    assert settings.dev_guild_id == 42


def test_defaults_without_any_source(tmp_path: Path) -> None:
    settings = Settings.load(environ={}, env_file=tmp_path / "none", toml_file=tmp_path / "none.toml")
    assert settings.db_path == Path("data/newsbot.sqlite3")
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
