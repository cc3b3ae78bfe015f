"""Ingest article files and folders into the store: idempotent, one transaction per article, never fatal.

Each file is parsed off the event loop (in the single parse worker), then stored in its own transaction, so a
failure affects only that file and never leaves a half-written row. Whatever goes wrong with one item, even a bug,
is recorded as that item's one-line failure and the batch goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bot.db.articles import ArticleRepository
from bot.errors import NewsError
from bot.news.identity import is_url
from bot.news.loader import ARTICLE_SUFFIXES, FEED_SUFFIXES, load_article_file, walk_folder
from bot.sources.service import Outcome, ingest_feed_file, ingest_url, run_cpu

if TYPE_CHECKING:
    from bot.sources.fetcher import Fetcher

log = logging.getLogger(__name__)


@dataclass(slots=True)
class IngestResult:
    """Outcome of one batch. ``failed`` and ``notices`` hold (item, one-line reason)."""

    new: list[int] = field(default_factory=list)
    known: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    notices: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed

    def merge(self, other: IngestResult) -> None:
        self.new += other.new
        self.known += other.known
        self.failed += other.failed
        self.notices += other.notices

    def summary(self) -> str:
        return f"{len(self.new)} new, {self.known} already known, {len(self.failed)} failed"

    @classmethod
    def from_outcome(cls, outcome: Outcome) -> IngestResult:
        result = cls(new=list(outcome.new), known=outcome.known, failed=list(outcome.failed))
        if outcome.error:
            result.failed.append((outcome.location, outcome.error))
        if outcome.warning:
            result.notices.append((outcome.location, outcome.warning))
        result.notices += [(url, f"kept the feed's excerpt: {reason}") for url, reason in outcome.excerpts_kept]
        return result


INGEST_SUFFIXES = ARTICLE_SUFFIXES | FEED_SUFFIXES
"""What ``newsbot ingest`` picks up from a folder: article files and feed files."""


class Unusable(str):
    """A planned item that cannot be ingested (a link out of its folder, a folder that cannot be read): its
    location, and in ``reason`` why."""

    reason: str

    def __new__(cls, location: str, reason: str) -> Unusable:
        item = super().__new__(cls, location)
        item.reason = reason
        return item


def expand_paths(paths: Iterable[Path], suffixes: frozenset[str] = ARTICLE_SUFFIXES) -> Iterator[Path | Unusable]:
    """Files as given, and the matching files under each folder (sorted, hidden files skipped); folders never
    lead out of themselves (see :func:`bot.news.loader.walk_folder`), and what cannot be read is ``Unusable``."""
    for path in paths:
        if not path.is_dir():
            yield path
            continue
        try:
            for found, reason in walk_folder(path, suffixes):
                yield found if reason is None else Unusable(str(found), reason)
        except (OSError, RuntimeError) as exc:
            yield Unusable(str(path), f"cannot read the folder ({getattr(exc, 'strerror', None) or exc}).")


async def ingest_file(path: Path, repo: ArticleRepository, *, source_id: int | None = None) -> IngestResult:
    result = IngestResult()
    try:
        loaded = await run_cpu(load_article_file, path)
        stored = await repo.add(loaded.article, source_id=source_id)
    except NewsError as exc:
        result.failed.append((str(path), str(exc)))
        return result
    if loaded.notice:
        result.notices.append((str(path), loaded.notice))
    if stored.new:
        result.new.append(stored.article_id)
    else:
        result.known += 1
    return result


async def _ingest_item(
    item: str | Path, repo: ArticleRepository, fetcher: Fetcher | None, source_id: int | None
) -> IngestResult:
    if isinstance(item, Path):
        if item.suffix.lower() in FEED_SUFFIXES:
            return IngestResult.from_outcome(await ingest_feed_file(item, articles=repo, source_id=source_id))
        return await ingest_file(item, repo, source_id=source_id)
    if is_url(item):
        if fetcher is None:
            return IngestResult(failed=[(item, "URLs cannot be fetched here (no fetcher).")])
        return IngestResult.from_outcome(await ingest_url(item, fetcher=fetcher, articles=repo))
    return IngestResult(failed=[(item, _unusable_location(item))])


async def ingest_locations(
    planned: Iterable[str | Path],
    repo: ArticleRepository,
    *,
    fetcher: Fetcher | None = None,
    source_id: int | None = None,
    on_item: Callable[[str | Path, IngestResult], None] | None = None,
) -> IngestResult:
    """Ingest what :func:`plan_locations` produced (files, feed files, URLs through ``fetcher``) in order."""
    total = IngestResult()
    for item in planned:
        try:
            one = await _ingest_item(item, repo, fetcher, source_id)
        except Exception as exc:
            # One item's bug must not stop the batch: its traceback goes to the log, its failure to the summary.
            log.exception("Unexpected failure ingesting %s", item)
            one = IngestResult(failed=[(str(item), f"internal error ({type(exc).__name__}); see the log.")])
        total.merge(one)
        if on_item is not None:
            on_item(item, one)
    return total


async def seed_if_empty(repo: ArticleRepository, articles_dir: Path) -> IngestResult | None:
    """A new install serves the embedded articles: ingest ``articles_dir`` when the store is empty."""
    if await repo.count() > 0 or not await asyncio.to_thread(articles_dir.is_dir):
        return None
    files = await asyncio.to_thread(lambda: list(expand_paths([articles_dir])))
    result = await ingest_locations(files, repo)
    log.info("Seeded the empty store from %s: %s", articles_dir, result.summary())
    for item, reason in result.failed:
        log.warning("Could not seed %s: %s", item, reason)
    return result


def _existing_path(location: str) -> Path | None:
    try:
        path = Path(location)
        return path if path.exists() else None
    except (OSError, ValueError):  # a name too long for the file system, an embedded NUL byte …
        return None


def _unusable_location(location: str) -> str:
    if isinstance(location, Unusable):
        return location.reason
    if "://" in location:
        return "not a valid http(s) URL, and no such file or folder."
    return "no such file, folder or URL."


def plan_locations(locations: Iterable[str]) -> list[str | Path]:
    """Expand the command line: URLs stay as they are, folders become their files, missing paths stay strings."""
    planned: list[str | Path] = []
    for location in locations:
        path = None if is_url(location) else _existing_path(location)
        if path is None:
            planned.append(location)
            continue
        try:
            planned.extend(expand_paths([path], INGEST_SUFFIXES))
        except OSError as exc:
            # An unreadable folder is that location's failure, reported when it comes up (as a missing path).
            log.warning("Cannot list %s: %s", path, exc)
            planned.append(location)
    return planned
