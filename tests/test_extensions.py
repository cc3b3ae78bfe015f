"""Every extension imports without side effects and defines ``setup``; the domain never imports discord."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

from bot.client import EXTENSIONS
from tests.conftest import REPO_ROOT


def test_every_extension_has_setup() -> None:
    for name in EXTENSIONS:
        module = importlib.import_module(name)
        assert callable(getattr(module, "setup", None)), name


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module.split(".")[0])
    return found


def test_domain_packages_never_import_discord() -> None:
    for package in ("news", "comments", "db", "sources"):
        for path in (REPO_ROOT / "bot" / package).rglob("*.py"):
            assert "discord" not in _imports(path), path


def test_sql_lives_only_in_bot_db() -> None:
    sql_words = ("SELECT ", "INSERT INTO", "CREATE TABLE", "DELETE FROM", "UPDATE ")
    for path in [*(REPO_ROOT / "bot").rglob("*.py"), *(REPO_ROOT / "cogs").rglob("*.py")]:
        if "db" in path.relative_to(REPO_ROOT).parts[:2] or "sandbox" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for word in sql_words:
            assert f'"{word}' not in text and f"'{word}" not in text, (path, word)
