"""``newsbot summarize``: extractive summaries of article files, on the same code the bot uses."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import get_args

import click

from bot.errors import NewsError
from bot.news.loader import load_article_file
from bot.news.summarize import LENGTHS, SummaryLength, summarize

MAX_SENTENCES = 50


@click.command(name="summarize")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=True, path_type=Path))
@click.option(
    "--sentences",
    type=click.IntRange(1, MAX_SENTENCES),
    help="Exactly this many sentences (overrides --length).",
)
@click.option(
    "--length",
    type=click.Choice(get_args(SummaryLength)),
    default="medium",
    show_default=True,
    help=f"short: {LENGTHS['short']} sentence (2 if it is brief), medium: {LENGTHS['medium']}, "
    f"long: {LENGTHS['long']}.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one object per file, a list for several.")
def summarize_cmd(files: tuple[Path, ...], sentences: int | None, length: SummaryLength, as_json: bool) -> None:
    """Summarise article files (.txt, .md, .html) without storing them.

    A file that cannot be read or parsed gets a one-line error; the others are still summarised, and the
    exit status is 1.
    """
    results: list[tuple[Path, str, list[str]]] = []
    failed = False
    for path in files:
        try:
            if path.is_dir():
                raise NewsError("is a folder, not an article file.")
            loaded = load_article_file(path)
        except NewsError as exc:
            click.echo(f"error: {path}: {exc}", err=True)
            failed = True
            continue
        if loaded.notice:
            click.echo(f"note: {path}: {loaded.notice}", err=True)
        article = loaded.article
        chosen = summarize(article.body, title=article.title, length=length, sentences=sentences)
        results.append((path, article.title, chosen))

    if as_json:
        objects = [{"file": str(path), "title": title, "sentences": chosen} for path, title, chosen in results]
        if len(files) > 1:
            click.echo(json.dumps(objects, ensure_ascii=False, indent=2))
        elif objects:
            click.echo(json.dumps(objects[0], ensure_ascii=False, indent=2))
    else:
        for number, (path, title, chosen) in enumerate(results):
            if len(files) > 1:
                if number:
                    click.echo()
                click.echo(f"== {path}: {title}")
            for sentence in chosen:
                click.echo(sentence)
    sys.exit(1 if failed else 0)
