"""Shared fixtures: a real SQLite store in a temp dir, and paths to the project's and shared data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.db import Database, open_database
from bot.db.articles import ArticleRepository

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = REPO_ROOT / "tests" / "fixtures"
SEED = REPO_ROOT / "data" / "articles" / "000_6f969e6731c04e5e.txt"
SHARED = REPO_ROOT.parent / "shared"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, skipping the calling test cleanly when it is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available")
    return path


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with open_database(tmp_path / "test.sqlite3") as database:
        yield database


@pytest.fixture
def articles(db: Database) -> ArticleRepository:
    return ArticleRepository(db)
