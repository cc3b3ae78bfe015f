"""End-to-end fetching and polling against a real aiohttp server on 127.0.0.1 (no mocked sessions).

The address guard stays ON in these tests, with only 127.0.0.0/8 let through so the test server is reachable;
everything else private (10/8, 169.254/16 …) is refused before any connection is attempted.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gzip
import os
import shutil
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.config import Settings
from bot.db.store import Store
from bot.errors import FetchError
from bot.ingest import IngestReport, Pipeline
from bot.sources.fetcher import Fetcher, FetchResult, RateLimited
from bot.sources.guard import AddressGuard, AddressRefused, GuardedResolver
from bot.sources.poller import Poller, PollSettings
from tests.conftest import FIXTURES, SEED, shared_path

FEEDS = FIXTURES / "feeds"
MB = 1024 * 1024


@dataclass
class State:
    hits: Counter[str] = field(default_factory=Counter)
    wp_version: str = "wordpress_v1.xml"
    conditional: list[str | None] = field(default_factory=list)
    user_agents: list[str | None] = field(default_factory=list)


def make_app(state: State) -> web.Application:
    async def feed(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        state.hits[name] += 1
        state.user_agents.append(request.headers.get("User-Agent"))
        path = FEEDS / (state.wp_version if name == "wp.xml" else name)
        if not path.is_file():
            raise web.HTTPNotFound()
        body = path.read_bytes()
        etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
        state.conditional.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        ctype = "text/html" if name.endswith(".html") else "application/xml"
        return web.Response(body=body, headers={"ETag": etag, "Content-Type": ctype})

    async def corpus(request: web.Request) -> web.Response:
        path = shared_path("corpus", "feeds", request.match_info["rest"])
        return web.Response(body=path.read_bytes(), content_type="application/xml")

    async def redirect(request: web.Request) -> web.Response:
        state.hits["redirect"] += 1
        raise web.HTTPFound(request.query["to"])

    async def moved_feed(request: web.Request) -> web.Response:
        state.hits["old-feed"] += 1
        raise web.HTTPMovedPermanently("/feeds/rss2_relative.xml")

    async def temp_moved_feed(request: web.Request) -> web.Response:
        state.hits["temp-feed"] += 1
        raise web.HTTPFound("/feeds/rss2_relative.xml")

    async def loop_redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def big(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/xml"})
        await response.prepare(request)
        chunk = b"<!-- padding -->" * (MB // 16)
        try:
            for _ in range(20):
                await response.write(chunk)
        except (ConnectionResetError, RuntimeError):
            pass  # the client hung up once it had enough: that is the point
        return response

    async def big_declared(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * (20 * MB), content_type="application/xml")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.Response(text="too late")

    async def error(request: web.Request) -> web.Response:
        state.hits["error"] += 1
        return web.Response(status=500, text="internal error")

    async def limited(request: web.Request) -> web.Response:
        state.hits["limited"] += 1
        return web.Response(status=429, headers={"Retry-After": "120"})

    async def gzipped(request: web.Request) -> web.Response:
        body = gzip.compress((FEEDS / "rss2_relative.xml").read_bytes())
        return web.Response(body=body, headers={"Content-Encoding": "gzip", "Content-Type": "application/rss+xml"})

    async def excerpts(request: web.Request) -> web.Response:
        base = f"http://{request.host}"
        items = "".join(
            f"<item><title>Story {i}</title><link>{base}/page/{i}</link><guid>story-{i}</guid>"
            f"<description>Short teaser {i} [&#8230;]</description></item>"
            for i in (1, 2)
        )
        xml = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Teasers</title>{items}</channel></rss>'
        return web.Response(text=xml, content_type="application/rss+xml")

    async def page(request: web.Request) -> web.Response:
        state.hits["page"] += 1
        if request.match_info["n"] == "2":
            raise web.HTTPNotFound()
        return web.Response(body=(FEEDS / "article_page.html").read_bytes(), content_type="text/html")

    async def teaser(request: web.Request) -> web.Response:
        # One teaser entry whose link is given by the query: /r/1 (a redirect) or /post/1 (where it lands).
        link = f"http://{request.host}{request.query['link']}"
        item = f"<item><title>Full article</title><link>{link}</link><description>Teaser [&#8230;]</description></item>"
        xml = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Teasers</title>{item}</channel></rss>'
        return web.Response(text=xml, content_type="application/rss+xml")

    async def short_link(request: web.Request) -> web.Response:
        state.hits["short"] += 1
        raise web.HTTPFound(f"/post/{request.match_info['n']}")

    async def wall(request: web.Request) -> web.Response:
        raise web.HTTPFound("/post/subscribe")  # every article link lands on one "please subscribe" page

    async def post(request: web.Request) -> web.Response:
        state.hits["post"] += 1
        return web.Response(body=(FEEDS / "article_page.html").read_bytes(), content_type="text/html")

    app = web.Application()
    app.router.add_get("/teaser", teaser)
    app.router.add_get("/r/{n}", short_link)
    app.router.add_get("/wall/{n}", wall)
    app.router.add_get("/post/{n}", post)
    app.router.add_get("/feeds/{name}", feed)
    app.router.add_get("/corpus/{rest:.+}", corpus)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/old-feed", moved_feed)
    app.router.add_get("/temp-feed", temp_moved_feed)
    app.router.add_get("/loop", loop_redirect)
    app.router.add_get("/big", big)
    app.router.add_get("/big-declared", big_declared)
    app.router.add_get("/slow", slow)
    app.router.add_get("/error", error)
    app.router.add_get("/limited", limited)
    app.router.add_get("/gzip", gzipped)
    app.router.add_get("/excerpts", excerpts)
    app.router.add_get("/page/{n}", page)
    return app


@pytest.fixture
def state() -> State:
    return State()


@pytest.fixture
async def server(state: State) -> AsyncIterator[TestServer]:
    srv = TestServer(make_app(state), host="127.0.0.1")
    await srv.start_server()
    try:
        yield srv
    finally:
        await srv.close()


def kept_excerpts(report: IngestReport) -> list[str]:
    """Why entries kept the feed's excerpt instead of their page's full text."""
    prefix = "kept the feed's excerpt: "
    return [note.removeprefix(prefix) for _, note in report.notices if note.startswith(prefix)]


def url(server: TestServer, path: str) -> str:
    return str(server.make_url(path))


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    guard = AddressGuard(enabled=True, allow=["127.0.0.0/8"])
    async with Fetcher(user_agent="newsbot-test/1.0", timeout=2.0, guard=guard, max_bytes=10 * MB) as f:
        yield f


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now


# --- fetcher ------------------------------------------------------------------------------------------------------


async def test_conditional_get_304(server: TestServer, fetcher: Fetcher, state: State) -> None:
    first = await fetcher.fetch(url(server, "/feeds/rss2_relative.xml"))
    assert first.status == 200 and first.etag and first.body.startswith(b"<?xml")
    second = await fetcher.fetch(url(server, "/feeds/rss2_relative.xml"), etag=first.etag)
    assert second.not_modified and second.body == b""
    assert state.conditional == [None, first.etag]
    assert state.user_agents == ["newsbot-test/1.0", "newsbot-test/1.0"]


async def test_gzip_is_decoded(server: TestServer, fetcher: Fetcher) -> None:
    result = await fetcher.fetch(url(server, "/gzip"))
    assert result.body.startswith(b"<?xml") and b"First post" in result.body


@pytest.mark.parametrize("target", ["http://10.0.0.1/feed", "http://169.254.169.254/latest/meta-data/"])
async def test_redirect_to_private_address_is_refused(
    server: TestServer, fetcher: Fetcher, state: State, target: str
) -> None:
    with pytest.raises(AddressRefused, match=r"(private|link-local) address"):
        await fetcher.fetch(url(server, "/redirect") + f"?to={target}")
    assert state.hits["redirect"] == 1  # the first hop was served; the private hop was never attempted


async def test_guard_refuses_loopback_unless_allowed(server: TestServer, state: State) -> None:
    async with Fetcher(user_agent="t", timeout=2.0, guard=AddressGuard(enabled=True)) as strict:
        with pytest.raises(AddressRefused, match="loopback"):
            await strict.fetch(url(server, "/feeds/rss2_relative.xml"))
        with pytest.raises(AddressRefused, match="loopback"):
            await strict.fetch(f"http://localhost:{server.port}/feeds/rss2_relative.xml")
    assert state.hits["rss2_relative.xml"] == 0
    # The connector's resolver checks again at connect time, so a DNS answer cannot change under the guard.
    with pytest.raises(AddressRefused):
        await GuardedResolver(AddressGuard()).resolve("localhost", 80)
    with pytest.raises(FetchError, match="Only http and https"):
        await AddressGuard().check_url("file:///etc/passwd")


async def test_operator_allowed_network_is_reachable_with_the_guard_on(server: TestServer, state: State) -> None:
    settings = Settings().with_(allowed_networks=("127.0.0.0/8",), http_timeout=5.0)
    assert not settings.allow_private_addresses
    async with Fetcher.from_settings(settings) as fetcher:
        result = await fetcher.fetch(url(server, "/feeds/rss2_relative.xml"))
        assert result.status == 200
        with pytest.raises(AddressRefused):
            await fetcher.fetch("http://[::1]:9/feed.xml")  # loopback, but not in the allowed block
    assert state.hits["rss2_relative.xml"] == 1


async def test_permanent_redirect_moves_the_source_but_not_its_identity(
    server: TestServer, fetcher: Fetcher, store: Store, state: State
) -> None:
    clock = Clock()
    repo = store.sources
    moved = await repo.add(url(server, "/old-feed"), "feed", now=clock.now)
    temporary = await repo.add(url(server, "/temp-feed"), "feed", now=clock.now)
    poller = Poller(Pipeline(store, fetcher), clock=clock)
    first = {o.location: o for o in await poller.poll_due()}
    assert all(o.status == "ok" for o in first.values())
    assert (await repo.get(moved.id)).fetch_url == url(server, "/feeds/rss2_relative.xml")
    assert (await repo.get(moved.id)).location == url(server, "/old-feed")
    assert (await repo.get(temporary.id)).fetch_url is None  # a 302 is not a move
    clock.now += dt.timedelta(hours=1)
    second = {o.location: o for o in await poller.poll_due()}
    assert state.hits["old-feed"] == 1 and state.hits["temp-feed"] == 2
    assert all(o.new == [] for o in second.values()), "moving must not re-key (and so re-post) any article"


async def test_redirect_limit(server: TestServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="redirected more than 5 times"):
        await fetcher.fetch(url(server, "/loop"))


async def test_20mb_response_is_cut_off(server: TestServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="larger than the 10,485,760-byte limit; stopped reading"):
        await fetcher.fetch(url(server, "/big"))
    with pytest.raises(FetchError, match="more than the 10,485,760-byte limit; not downloaded"):
        await fetcher.fetch(url(server, "/big-declared"))


async def test_slow_server_times_out(server: TestServer) -> None:
    guard = AddressGuard(allow=["127.0.0.0/8"])
    async with Fetcher(user_agent="t", timeout=0.3, guard=guard) as quick:
        started = asyncio.get_running_loop().time()
        with pytest.raises(FetchError, match=r"timed out after 0.3 s"):
            await quick.fetch(url(server, "/slow"))
        assert asyncio.get_running_loop().time() - started < 2


async def test_retry_after_is_honoured(server: TestServer, fetcher: Fetcher, state: State) -> None:
    with pytest.raises(RateLimited) as info:
        await fetcher.fetch(url(server, "/limited"))
    assert info.value.retry_after == 120
    with pytest.raises(RateLimited):
        await fetcher.fetch(url(server, "/limited"))
    assert state.hits["limited"] == 1  # the second call never reached the server


async def test_http_error_is_a_fetch_error(server: TestServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="HTTP 500"):
        await fetcher.fetch(url(server, "/error"))


# --- polling ------------------------------------------------------------------------------------------------------


async def test_poll_stores_then_304_costs_nothing(server: TestServer, fetcher: Fetcher, store: Store) -> None:
    clock = Clock()
    sources = store.sources
    src = await sources.add(url(server, "/feeds/rss2_relative.xml"), "feed", fetch_full_text=False, now=clock.now)
    poller = Poller(Pipeline(store, fetcher), PollSettings(interval=300), clock=clock)
    [first] = await poller.poll_due()
    assert first.status == "ok" and first.entries == 4 and len(first.new) == 4
    assert await poller.poll_due() == []  # not due again for 5 minutes
    clock.now += dt.timedelta(minutes=5)
    [second] = await poller.poll_due()
    assert second.status == "not_modified" and second.new == [] and second.entries == 0
    got = await sources.get(src.id)
    assert got.etag and got.next_due_at == clock.now + dt.timedelta(minutes=5) and got.title == "Example & News"


async def test_ten_failures_pause_the_source_with_reason(
    server: TestServer, fetcher: Fetcher, store: Store, state: State
) -> None:
    clock = Clock()
    sources = store.sources
    src = await sources.add(url(server, "/error"), "feed", now=clock.now)
    poller = Poller(Pipeline(store, fetcher), clock=clock)
    delays = []
    for _ in range(10):
        [outcome] = await poller.poll_due()
        assert outcome.status == "failed"
        got = await sources.get(src.id)
        delays.append((got.next_due_at - clock.now).total_seconds())
        clock.now = got.next_due_at
    assert delays[:5] == [300, 600, 1200, 2400, 4800]
    assert max(delays) == 6 * 3600
    assert got.status == "paused" and got.failures == 10
    assert got.pause_reason is not None and got.last_error is not None and "HTTP 500" in got.last_error
    assert got.pause_reason.startswith("paused after 10 consecutive failures") and "HTTP 500" in got.pause_reason
    clock.now += dt.timedelta(days=1)
    assert await poller.poll_due() == []  # paused sources are not polled
    assert state.hits["error"] == 10
    resumed = await sources.resume(src.id, now=clock.now)
    assert resumed.failures == 0 and [s.id for s in await sources.due(clock.now)] == [src.id]


async def test_rate_limited_source_waits_without_counting_a_failure(
    server: TestServer, fetcher: Fetcher, store: Store
) -> None:
    clock = Clock()
    sources = store.sources
    src = await sources.add(url(server, "/limited"), "feed", now=clock.now)
    [outcome] = await Poller(Pipeline(store, fetcher), clock=clock).poll_due()
    assert outcome.status == "rate_limited"
    got = await sources.get(src.id)
    assert got.failures == 0 and got.next_due_at == clock.now + dt.timedelta(seconds=120)


async def test_rewritten_dates_and_guid_scheme_flip_make_no_duplicates(
    server: TestServer, fetcher: Fetcher, store: Store, state: State
) -> None:
    clock = Clock()
    sources = store.sources
    articles = store.articles
    await sources.add(url(server, "/feeds/wp.xml"), "feed", fetch_full_text=False, now=clock.now)
    poller = Poller(Pipeline(store, fetcher), clock=clock)
    [first] = await poller.poll_due()
    assert len(first.new) == 2
    state.wp_version = "wordpress_v2.xml"  # http→https GUIDs and links, new dates, an edited title, utm params
    clock.now += dt.timedelta(minutes=5)
    [second] = await poller.poll_due()
    assert second.entries == 3 and len(second.new) == 1 and second.known == 2
    assert await articles.count() == 3
    # The same articles reached through a second source are stored once.
    await sources.add(url(server, "/feeds/wordpress_v2.xml"), "feed", fetch_full_text=False, now=clock.now)
    [third] = await poller.poll_due()
    assert third.new == [] and await articles.count() == 3


async def test_excerpts_are_replaced_by_the_full_page(
    server: TestServer, fetcher: Fetcher, store: Store, state: State
) -> None:
    clock = Clock()
    await store.sources.add(url(server, "/excerpts"), "feed", now=clock.now)
    [outcome] = await Poller(Pipeline(store, fetcher), clock=clock).poll_due()
    assert len(outcome.new) == 2 and outcome.full_text == 1 and len(kept_excerpts(outcome)) == 1  # page 2 is a 404
    articles = store.articles
    stored = {a.title: a for a in await articles.latest(10)}
    assert "second paragraph continues the story" in stored["Story 1"].body
    assert stored["Story 1"].summary == "Short teaser 1 […]"
    assert stored["Story 2"].body == "Short teaser 2 […]"  # the excerpt is kept when the page fails
    clock.now += dt.timedelta(hours=1)
    before = state.hits["page"]
    await Poller(Pipeline(store, fetcher), clock=clock).poll_due()
    assert state.hits["page"] == before  # known entries never cost a page fetch again


def settled(path: Path) -> None:
    """Age a file's mtime so the poller treats it as fully copied (it waits for fresh files to settle)."""
    old = time.time() - 60
    os.utime(path, (old, old))


async def test_folder_source_picks_up_new_files(tmp_path: Path, fetcher: Fetcher, store: Store) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(FEEDS / "jsonfeed_1_1.json", folder / "feed.json")
    settled(folder / "feed.json")
    clock = Clock()
    await store.sources.add(str(folder), "folder", now=clock.now)
    poller = Poller(Pipeline(store, fetcher), clock=clock)
    [first] = await poller.poll_due()
    assert first.status == "ok" and len(first.new) == 2
    (folder / "notes.txt").write_text("Binary\x00junk", encoding="utf-8")
    settled(folder / "notes.txt")
    if SEED.is_file():
        shutil.copy(SEED, folder / "seed.txt")
        settled(folder / "seed.txt")
    clock.now += dt.timedelta(minutes=5)
    [second] = await poller.poll_due()
    assert second.status == "ok"
    assert len(second.new) == (1 if SEED.is_file() else 0)
    assert [Path(p).name for p, _ in second.failed] == ["notes.txt"]
    clock.now += dt.timedelta(minutes=5)
    [third] = await poller.poll_due()
    assert third.new == [] and third.failed == [] and third.entries == 0  # nothing re-read


async def test_missing_folder_is_a_failure(tmp_path: Path, fetcher: Fetcher, store: Store) -> None:
    clock = Clock()
    src = await store.sources.add(str(tmp_path / "gone"), "folder", now=clock.now)
    [outcome] = await Poller(Pipeline(store, fetcher), clock=clock).poll_due()
    assert outcome.status == "failed" and "not a folder" in (outcome.error or "")
    assert (await store.sources.get(src.id)).failures == 1


# --- one-off ingest and check ---------------------------------------------------------------------------------------


async def test_ingest_url_feed_and_page_and_check(server: TestServer, fetcher: Fetcher, store: Store) -> None:
    articles = store.articles
    checked = await Pipeline(store, fetcher).check_url(url(server, "/feeds/jsonfeed_1_1.json"))
    assert checked.status == "ok" and checked.kind == "feed" and checked.entries == 2 and checked.unseen == 2
    assert await articles.count() == 0  # check stores nothing
    feed = await Pipeline(store, fetcher).ingest_url(url(server, "/feeds/jsonfeed_1_1.json"))
    assert feed.kind == "feed" and len(feed.new) == 2
    page = await Pipeline(store, fetcher).ingest_url(url(server, "/page/1"))
    assert page.kind == "page" and len(page.new) == 1 and page.title == "Full article"
    again = await Pipeline(store, fetcher).check_url(url(server, "/feeds/jsonfeed_1_1.json"))
    assert again.unseen == 0
    failed = await Pipeline(store, fetcher).ingest_url("http://10.0.0.1/feed")
    assert failed.status == "failed" and "private" in (failed.error or "")


async def test_polling_real_corpus_feeds(server: TestServer, fetcher: Fetcher, store: Store) -> None:
    root = shared_path("corpus", "feeds", "integration")
    names = sorted(p.name for p in root.glob("*.xml"))[:6]
    clock = Clock()
    sources = store.sources
    for name in names:
        await sources.add(url(server, f"/corpus/integration/{name}"), "feed", fetch_full_text=False, now=clock.now)
    outcomes = await Poller(Pipeline(store, fetcher), clock=clock).poll_due()
    assert len(outcomes) == len(names)
    assert all(o.status == "ok" and o.entries > 0 for o in outcomes), [(o.location, o.error) for o in outcomes]
    assert all(len(o.new) + o.known == o.entries for o in outcomes)


# --- identity across redirects, and failures that are bugs ----------------------------------------------------------


@pytest.mark.parametrize("order", [("/r/1", "/post/1"), ("/post/1", "/r/1")])
async def test_a_redirected_link_and_the_direct_link_are_one_article(
    server: TestServer, fetcher: Fetcher, store: Store, order: tuple[str, str]
) -> None:
    clock = Clock()
    sources = store.sources
    poller = Poller(Pipeline(store, fetcher), clock=clock)
    first, second = order
    await sources.add(url(server, f"/teaser?link={first}"), "feed", now=clock.now)
    [one] = await poller.poll_due()
    assert len(one.new) == 1 and one.full_text == 1
    await sources.add(url(server, f"/teaser?link={second}"), "feed", now=clock.now)
    [two] = await poller.poll_due()
    assert two.new == [] and two.known == 1
    articles = store.articles
    assert await articles.count() == 1
    page = await Pipeline(store, fetcher).ingest_url(url(server, "/r/1"))
    assert page.status == "ok" and page.new == [] and page.known == 1


async def test_links_redirecting_to_one_wall_page_stay_different_articles(
    server: TestServer, fetcher: Fetcher, store: Store
) -> None:
    clock = Clock()
    sources = store.sources
    for n in (1, 2):
        await sources.add(url(server, f"/teaser?link=/wall/{n}"), "feed", now=clock.now)
        clock.now += dt.timedelta(seconds=1)
    poller = Poller(Pipeline(store, fetcher), clock=clock)
    outcomes = await poller.poll_due()
    assert [len(o.new) for o in outcomes] == [1, 1] and all(o.full_text == 1 for o in outcomes)
    assert await store.articles.count() == 2


async def test_a_redirected_page_ingested_first_is_found_by_a_feed_link(
    server: TestServer, fetcher: Fetcher, store: Store
) -> None:
    page = await Pipeline(store, fetcher).ingest_url(url(server, "/r/2"))
    assert page.kind == "page" and len(page.new) == 1
    for link in ("/r/2", "/post/2"):
        checked = await Pipeline(store, fetcher).check_url(url(server, f"/teaser?link={link}"))
        assert checked.status == "ok" and checked.entries == 1 and checked.unseen == 0, link


class BuggyFetcher(Fetcher):
    """A real fetcher with a bug in one place: article pages (or everything) raise an unexpected exception."""

    def __init__(self, *, pages_only: bool) -> None:
        super().__init__(user_agent="newsbot-test/1.0", timeout=2.0, guard=AddressGuard(allow=["127.0.0.0/8"]))
        self.pages_only = pages_only

    async def fetch(self, location: str, **kwargs: Any) -> FetchResult:
        if not self.pages_only or "/page/" in location:
            raise RuntimeError("boom\nsecond line of a long message")
        return await super().fetch(location, **kwargs)


async def test_a_bug_while_fetching_a_page_keeps_the_excerpt(
    server: TestServer, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async with BuggyFetcher(pages_only=True) as buggy:
        outcome = await Pipeline(store, buggy).ingest_url(url(server, "/excerpts"))
    assert outcome.status == "ok" and len(outcome.new) == 2 and outcome.full_text == 0
    assert kept_excerpts(outcome) == ["internal error (RuntimeError: boom)"] * 2
    assert any(r.exc_info for r in caplog.records)


async def test_an_unexpected_error_is_a_failed_outcome_with_one_line(
    server: TestServer, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async with BuggyFetcher(pages_only=False) as buggy:
        ingested = await Pipeline(store, buggy).ingest_url(url(server, "/excerpts"))
        checked = await Pipeline(store, buggy).check_url(url(server, "/excerpts"))
    for outcome in (ingested, checked):
        assert outcome.status == "failed" and outcome.error == "internal error (RuntimeError: boom)"
    assert sum(1 for r in caplog.records if r.exc_info) >= 2
