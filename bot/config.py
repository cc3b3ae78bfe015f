"""Settings from the environment, an optional ``.env`` and an optional ``newsbot.toml``.

Precedence, highest first: real environment, ``.env``, ``newsbot.toml``, defaults. Settings are built once by
the CLI and passed down; nothing reads the environment at import time.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from bot.db.errors import StoreError
from bot.db.target import StoreTarget
from bot.errors import NewsError

log = logging.getLogger(__name__)

DEFAULT_DB = "data/newsbot.sqlite3"


def embedded_articles_dir() -> Path:
    """The articles shipped with newsbot, wherever it is run from.

    An installed wheel holds them in the package (``bot/data/articles``, put there by hatch's force-include from the
    repository's ``data/articles``); a source checkout (an editable install, ``uv run``) has them in ``data/articles``
    beside the package. Neither depends on the working directory.
    """
    package = Path(__file__).resolve().parent  # the installed package (importlib.resources would cost 4 ms more)
    packaged = package / "data" / "articles"
    return packaged if packaged.is_dir() else package.parent / "data" / "articles"


DEFAULT_ARTICLES = embedded_articles_dir()


class ConfigError(NewsError):
    pass


class Secret:
    """A string that never shows itself in ``repr``, ``str``, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


#: Accepted ranges, (lowest, highest), for the numeric settings. A poll interval under a second would hammer the
#: store and the sources; a timeout under a second fails on any slow network; a response cap below 64 KiB cannot
#: hold a real feed or article page, and one above 1 GiB is memory the bot does not have.
RANGES: dict[str, tuple[float, float]] = {
    "poll_interval": (1.0, 7 * 24 * 3600.0),
    "http_timeout": (1.0, 600.0),
    "max_response_bytes": (64 * 1024, 1024**3),
    # Parsing budgets (bot/workers.py): below a second or 64 MB a real feed or article page is refused; above
    # ten minutes, 16 GB or 32 workers one document could hold the machine.
    "parse_cpu_seconds": (1.0, 600.0),
    "parse_wall_seconds": (1.0, 600.0),
    "parse_memory_mb": (64, 16 * 1024),
    "parse_workers": (1, 32),
}
_UNITS = {
    "poll_interval": "seconds",
    "http_timeout": "seconds",
    "max_response_bytes": "bytes",
    "parse_cpu_seconds": "seconds",
    "parse_wall_seconds": "seconds",
    "parse_memory_mb": "MB",
    "parse_workers": "processes",
}

# environment variable -> field name
_ENV: dict[str, str] = {
    "DISCORD_TOKEN": "token",
    "NEWSBOT_DB": "db",
    "NEWSBOT_LOG_LEVEL": "log_level",
    "NEWSBOT_DEV_GUILD_ID": "dev_guild_id",
    "NEWSBOT_ARTICLES_DIR": "articles_dir",
    "NEWSBOT_POLL_INTERVAL": "poll_interval",
    "NEWSBOT_ALLOW_PRIVATE_ADDRESSES": "allow_private_addresses",
    "NEWSBOT_ALLOWED_NETWORKS": "allowed_networks",
    "NEWSBOT_USER_AGENT": "user_agent",
    "NEWSBOT_HTTP_TIMEOUT": "http_timeout",
    "NEWSBOT_MAX_RESPONSE_BYTES": "max_response_bytes",
    "NEWSBOT_PARSE_CPU_SECONDS": "parse_cpu_seconds",
    "NEWSBOT_PARSE_WALL_SECONDS": "parse_wall_seconds",
    "NEWSBOT_PARSE_MEMORY_MB": "parse_memory_mb",
    "NEWSBOT_PARSE_WORKERS": "parse_workers",
}


#: Older names of ``newsbot.toml`` keys, still accepted.
_TOML_ALIASES = {"db_path": "db"}


@dataclass(frozen=True, slots=True)
class Settings:
    token: Secret = field(default_factory=lambda: Secret(""))
    db: str = DEFAULT_DB
    """A SQLite file path, or a ``postgresql://`` DSN (it may hold a password: log :meth:`store_target` instead)."""
    log_level: str = "INFO"
    dev_guild_id: int | None = None
    articles_dir: Path = DEFAULT_ARTICLES
    poll_interval: float = 300.0
    """Seconds between polling rounds for sources that are due."""
    allow_private_addresses: bool = False
    """Only for tests and the sandbox: lets the fetcher reach loopback/private hosts."""
    allowed_networks: tuple[str, ...] = ()
    """Private networks the fetcher may reach anyway (an operator's own feed server), as CIDR blocks."""
    user_agent: str = "newsbot/0.1 (+https://github.com/newsbot; Discord news bot)"
    http_timeout: float = 20.0
    max_response_bytes: int = 10 * 1024 * 1024
    parse_cpu_seconds: float = 10.0
    """CPU time one feed, page or article file may take to parse before it is refused."""
    parse_wall_seconds: float = 20.0
    """Wall time one document may take to parse (waiting for a free worker not counted)."""
    parse_memory_mb: int = 512
    """Memory one document may take to parse, beyond what a parser process holds at start (about 70 MB)."""
    parse_workers: int = 2
    """Parser processes running at once."""
    configured: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    """The settings given in the environment, ``.env`` or ``newsbot.toml`` (the others are defaults): the CLI picks
    a quieter log level for one-shot commands unless one was asked for."""

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def store_target(self) -> StoreTarget:
        return StoreTarget.parse(self.db)

    @classmethod
    def load(
        cls,
        *,
        environ: Mapping[str, str] | None = None,
        env_file: Path | None = Path(".env"),
        toml_file: Path | None = Path("newsbot.toml"),
    ) -> Settings:
        raw: dict[str, Any] = {}
        if toml_file is not None and toml_file.is_file():
            import tomllib  # like dotenv below: only when there is a file to read

            try:
                data = tomllib.loads(toml_file.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise ConfigError(f"{toml_file} is not valid TOML: {exc}") from exc
            section = data.get("newsbot", data)
            known = {f.name for f in fields(cls)}
            for key, value in section.items():
                name = _TOML_ALIASES.get(key.replace("-", "_"), key.replace("-", "_"))
                if name == "token":
                    raise ConfigError(
                        f"{toml_file}: put the Discord token in DISCORD_TOKEN or .env, not in the TOML file."
                    )
                if name not in known:
                    raise ConfigError(f"{toml_file}: unknown setting {key!r}.")
                raw[name] = value
        env: dict[str, str] = {}
        if env_file is not None and env_file.is_file():
            from dotenv import dotenv_values  # only when there is a .env: it costs every command start-up otherwise

            env.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
        env.update(os.environ if environ is None else environ)
        for var, name in _ENV.items():
            if env.get(var, "") != "":
                raw[name] = env[var]
        return cls._coerce(raw)

    @classmethod
    def _coerce(cls, raw: Mapping[str, Any]) -> Settings:
        return cls(**{key: convert_setting(key, value) for key, value in raw.items()}, configured=frozenset(raw))


def convert_setting(key: str, value: Any) -> Any:
    """Check and convert one raw setting value; raises ConfigError naming the setting."""
    try:
        return _convert(key, value)
    except (TypeError, ValueError) as exc:
        shown = "(hidden)" if key in ("token", "db") else repr(value)
        expected = _EXPECTED.get(key)
        raise ConfigError(
            f"Setting {key} has an invalid value {shown}" + (f"; it must be {expected}." if expected else ".")
        ) from exc


#: What an invalid value should have been, for the settings whose form is not obvious from the name.
_EXPECTED = {
    "log_level": "DEBUG, INFO, WARNING or ERROR",
    "dev_guild_id": "a Discord server id (a number)",
    "poll_interval": "a number of seconds",
    "http_timeout": "a number of seconds",
    "max_response_bytes": "a whole number of bytes",
    "allow_private_addresses": "true or false",
    "allowed_networks": "comma-separated CIDR blocks such as 192.168.1.0/24",
}


def _in_range(key: str, number: float) -> float:
    low, high = RANGES[key]
    if not math.isfinite(number) or not low <= number <= high:
        raise ConfigError(
            f"Setting {key} must be between {_show(low)} and {_show(high)} {_UNITS[key]}, not {_show(number)}."
        )
    return number


def _show(number: float) -> str:
    return f"{int(number):,}" if math.isfinite(number) and number == int(number) else f"{number:g}"


def _convert(key: str, value: Any) -> Any:
    if key == "token":
        return Secret(str(value).strip())
    if key == "db":
        text = str(value).strip()
        try:
            StoreTarget.parse(text)
        except StoreError as exc:
            raise ConfigError(f"Setting NEWSBOT_DB: {exc}") from exc
        return text
    if key == "articles_dir":
        return Path(str(value))
    if key == "dev_guild_id":
        return int(value) if str(value).strip() else None
    if key in ("poll_interval", "http_timeout", "parse_cpu_seconds", "parse_wall_seconds"):
        if isinstance(value, bool):
            raise TypeError(key)
        return _in_range(key, float(value))
    if key == "allowed_networks":
        import ipaddress  # only when the setting is given (it costs start-up otherwise)

        items = value if isinstance(value, list | tuple) else str(value).split(",")
        networks = tuple(str(item).strip() for item in items if str(item).strip())
        for network in networks:
            ipaddress.ip_network(network, strict=False)  # ValueError names a bad block
        return networks
    if key in ("max_response_bytes", "parse_memory_mb", "parse_workers"):
        if isinstance(value, bool | float):
            raise TypeError(key)
        number = int(str(value).strip())
        _in_range(key, number)
        return number
    if key == "allow_private_addresses":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(key)
    if key == "log_level":
        level = str(value).upper()
        if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError(key)
        return level
    return value
