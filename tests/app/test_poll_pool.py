"""A busy poll: feeds parsed in worker processes, several polls stored per transaction.

Whatever the speed-ups do, the outcome must be that of polling one feed at a
time with in-line parsing: the same stories, matches and alerts, one story
per canonical URL across feeds, a failing source failing alone, and no
worker process left behind.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from crackdown.app import App, open_app
from crackdown.config import DEFAULT_TOPIC, build_config
from crackdown.demo.site import LoopbackSite, Page
from crackdown.runtime import parse_pool, polling
from crackdown.runtime.polling import ParsePool, PollReport
from crawler.http import make_client
from storage import sources, stories, subscribers
from storage.db import Database

ROOT = Path(__file__).resolve().parents[2]
WIRE = "https://wire.example/pboc-otc-ban"


def feed(n: int) -> bytes:
    """Feed n: two stories of its own (one that matches), and the wire story everyone has."""
    when = f"<pubDate>Wed, 25 Nov 2026 0{n % 10}:00:00 +0000</pubDate>"
    summary = "&lt;p&gt;Sales &lt;b&gt;rose&lt;/b&gt;.&lt;/p&gt;&lt;script&gt;x()&lt;/script&gt;"
    return f"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>f</title>
<item><title>Harbor Foods opens warehouse {n}</title><link>https://s{n}.example/a</link>
<description>{summary}</description>{when}</item>
<item><title>Guangzhou police bust underground bank that swapped yuan for USDT ({n})</title>
<link>https://s{n}.example/b?utm_source=rss</link>{when}</item>
<item><title>PBoC bans bitcoin OTC trading</title><link>{WIRE}</link>
<pubDate>Wed, 25 Nov 2026 06:00:00 +0000</pubDate></item>
</channel></rss>""".encode()


def make_app(tmp_path: Path, site: LoopbackSite, n: int, name: str = "db") -> App:
    for i in range(n):
        site.pages[f"/f{i}"] = Page(feed(i))
    document = {
        "storage": {"url": f"sqlite:///{tmp_path / f'{name}.sqlite'}"},
        "polling": {"jitter": 0, "per_host": 8},  # the site is one host
        "sources": [{"key": f"s{i}", "url": site.url(f"/f{i}")} for i in range(n)],
    }
    app = open_app(build_config(document, {}))
    with app.db.session() as session:
        subscribers.subscribe(session, 1001, topic=DEFAULT_TOPIC)
        subscribers.subscribe(session, 1002, topic=DEFAULT_TOPIC)
    return app


def poll(app: App) -> PollReport:
    async def go() -> PollReport:
        async with make_client(app.policy) as client:
            return await app.poller(client).poll(app.feeds())

    return asyncio.run(go())


def contents(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Everything a poll stores, in a form two databases can be compared by."""
    queries = {
        "stories": "SELECT s.canonical_url, s.url, s.title, s.summary, s.lang, s.published_at, "
        "s.fingerprint FROM stories s ORDER BY 1",
        "reports": "SELECT s.canonical_url, src.key, ss.url FROM story_sources ss "
        "JOIN stories s ON s.id = ss.story_id JOIN sources src ON src.id = ss.source_id "
        "ORDER BY 1, 2",
        "matches": "SELECT s.canonical_url, m.entities, m.topics, m.hits, m.score FROM matches m "
        "JOIN stories s ON s.id = m.story_id ORDER BY 1",
        "alerts": "SELECT s.canonical_url, sub.chat_id, d.status FROM deliveries d "
        "JOIN stories s ON s.id = d.story_id JOIN subscribers sub ON sub.id = d.subscriber_id "
        "ORDER BY 1, 2",
        "health": "SELECT key, etag, consecutive_failures, items_seen FROM sources ORDER BY key",
    }
    with db.engine.connect() as connection:
        return {k: [tuple(r) for r in connection.execute(text(q))] for k, q in queries.items()}


def test_a_busy_poll_stores_what_one_feed_at_a_time_stores(
    tmp_path: Path, site: LoopbackSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 8
    monkeypatch.setattr(polling, "PARSE_POOL_MIN_SOURCES", n)
    monkeypatch.setattr(polling, "default_parse_workers", lambda: 2)
    started: list[ProcessPoolExecutor | None] = []
    real_start = ParsePool._start

    def spy(self: ParsePool) -> ProcessPoolExecutor | None:
        started.append(real_start(self))
        return started[-1]

    monkeypatch.setattr(ParsePool, "_start", spy)
    monkeypatch.setattr(polling, "STORE_DELAY", 0.3)  # every poll joins one transaction
    batches: list[int] = []
    real_record = polling.Poller._record
    monkeypatch.setattr(
        polling.Poller,
        "_record",
        lambda self, polls: batches.append(len(polls)) or real_record(self, polls),
    )
    busy = make_app(tmp_path, site, n, "busy")
    report = poll(busy)
    assert started and started[0] is not None  # the workers did start
    assert max(batches) > 1

    monkeypatch.setattr(polling, "PARSE_POOL_MIN_SOURCES", 10**6)  # in-line parsing
    monkeypatch.setattr(polling, "STORE_BATCH", 1)  # a transaction per poll
    quiet = make_app(tmp_path, site, n, "quiet")
    again = poll(quiet)

    assert report.failed == again.failed == []
    assert (report.stories, report.matched, report.queued, report.also_reported) == (
        again.stories,
        again.matched,
        again.queued,
        again.also_reported,
    )
    assert report.stories == 2 * n + 1 and report.also_reported == n - 1
    ours, theirs = contents(busy.db), contents(quiet.db)
    assert ours["stories"] == theirs["stories"]
    assert ours["matches"] == theirs["matches"]
    assert ours["alerts"] == theirs["alerts"]
    # Which feed carried the wire story first depends on timing; that it is one story does not.
    assert [h[:3] for h in ours["health"]] == [h[:3] for h in theirs["health"]]
    assert sum(h[3] for h in ours["health"]) == sum(h[3] for h in theirs["health"]) == 2 * n + 1
    assert len(ours["reports"]) == len(theirs["reports"]) == 3 * n
    assert all(
        "<" not in summary and "x()" not in summary for _, _, _, summary, *_ in ours["stories"]
    )


def test_a_story_in_several_feeds_of_one_transaction_is_stored_and_alerted_once(
    tmp_path: Path, site: LoopbackSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(polling, "STORE_DELAY", 0.3)
    app = make_app(tmp_path, site, 4)
    report = poll(app)
    assert report.stories == 9 and report.also_reported == 3
    with app.db.session() as session:
        story_id = session.execute(
            text("SELECT id FROM stories WHERE canonical_url = :u"), {"u": WIRE}
        ).scalar_one()
        assert sorted(stories.reporting_sources(session, story_id)) == ["s0", "s1", "s2", "s3"]
        alerts = session.execute(
            text("SELECT count(*) FROM deliveries WHERE story_id = :s"), {"s": story_id}
        ).scalar_one()
    assert alerts == 2  # one per subscriber, not one per feed
    assert sum(r.report.also_reported for r in report.results) == 3
    assert sum(r.report.stories for r in report.results) == 9


def test_a_source_whose_stories_fail_to_store_fails_alone(
    tmp_path: Path, site: LoopbackSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(polling, "STORE_DELAY", 0.3)
    real_store = polling.store_found
    calls: list[int] = []

    def store_found(session: Any, matcher: Any, batches: Any, **kwargs: Any) -> Any:
        calls.append(len(batches))
        if any(story.source_key == "s2" for batch in batches for story in batch.values()):
            raise RuntimeError("a bad row")
        return real_store(session, matcher, batches, **kwargs)

    monkeypatch.setattr(polling, "store_found", store_found)
    app = make_app(tmp_path, site, 5)
    report = poll(app)
    assert calls[0] == 5  # one transaction for all five, rolled back, then one each
    assert report.failed == ["s2"]
    assert report.stories == 2 * 4 + 1
    with app.db.session() as session:
        health = {r.key: r for r in sources.list_sources(session)}
    assert health["s2"].last_error == "internal error: RuntimeError"
    assert health["s2"].etag is None  # validators are kept only with the stories
    assert all(health[k].consecutive_failures == 0 for k in ("s0", "s1", "s3", "s4"))


def test_polls_that_found_nothing_new_share_a_transaction(
    tmp_path: Path, site: LoopbackSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path, site, 6)
    poll(app)
    monkeypatch.setattr(polling, "STORE_DELAY", 0.3)
    batches: list[int] = []
    real_record = polling.Poller._record
    monkeypatch.setattr(
        polling.Poller,
        "_record",
        lambda self, polls: batches.append(len(polls)) or real_record(self, polls),
    )
    report = poll(app)
    assert [r.status for r in report.results] == ["304"] * 6
    assert batches == [6]
    with app.db.session() as session:
        assert all(r.last_polled_at is not None for r in sources.list_sources(session))


def test_without_worker_processes_feeds_are_parsed_in_line(
    tmp_path: Path,
    site: LoopbackSite,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def no_forkserver(method: str) -> Any:
        raise ValueError(f"cannot find context for {method!r}")

    monkeypatch.setattr(polling, "PARSE_POOL_MIN_SOURCES", 2)
    monkeypatch.setattr(polling, "default_parse_workers", lambda: 2)
    monkeypatch.setattr(parse_pool.multiprocessing, "get_context", no_forkserver)
    app = make_app(tmp_path, site, 3)
    with caplog.at_level(logging.WARNING, logger="crackdown.runtime"):
        report = poll(app)
    assert report.failed == [] and report.stories == 7
    assert sum("no worker processes" in r.message for r in caplog.records) == 1


def test_a_worker_that_dies_costs_speed_not_feeds(
    tmp_path: Path,
    site: LoopbackSite,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = ProcessPoolExecutor(1, mp_context=get_context("forkserver"))
    with pytest.raises(BrokenProcessPool):  # its one worker is gone, as if OOM-killed
        broken.submit(os._exit, 1).result(timeout=30)
    monkeypatch.setattr(polling, "PARSE_POOL_MIN_SOURCES", 2)
    monkeypatch.setattr(polling, "default_parse_workers", lambda: 1)
    monkeypatch.setattr(ParsePool, "_start", lambda self: broken)
    app = make_app(tmp_path, site, 6)
    for i in range(2, 6):  # these answer once the pool has "started"
        site.pages[f"/f{i}"] = slowly(feed(i))
    with caplog.at_level(logging.WARNING, logger="crackdown.runtime"):
        report = poll(app)
    assert report.failed == [] and report.stories == 13
    assert sum("in-line for the rest of this poll" in r.message for r in caplog.records) == 1


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_workers_do_not_outlive_a_killed_poller(tmp_path: Path) -> None:
    """SIGKILL leaves no shutdown to run: the workers notice and leave by themselves."""
    script = tmp_path / "poller.py"
    script.write_text(
        textwrap.dedent(
            """
            import asyncio, os, sys, time
            from crackdown.runtime.polling import ParsePool

            async def main() -> None:
                pool = ParsePool(2)
                async with pool.using() as parse:
                    while (executor := await pool._ready()) is None:
                        await asyncio.sleep(0.05)
                    pids = {executor.submit(os.getpid).result() for _ in range(20)}
                    rss = b"<rss><channel><item><title>t</title></item></channel></rss>"
                    await parse(rss, "s", "http://x/", {}, None)
                    print(*pids, flush=True)
                    time.sleep(600)

            if __name__ == "__main__":
                asyncio.run(main())
            """
        )
    )
    with subprocess.Popen(
        [sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            workers = [int(pid) for pid in child.stdout.readline().split()]
            assert workers and all(_alive(pid) for pid in workers)
        finally:
            child.send_signal(signal.SIGKILL)  # our own child, by its handle
            child.wait(10)
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)


def slowly(body: bytes) -> Callable[[str], Page]:
    def respond(_path: str) -> Page:
        time.sleep(0.3)
        return Page(body)

    return respond


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_the_parse_workers_never_import_from_the_working_folder(tmp_path: Path) -> None:
    """Under systemd the working folder is the writable state directory: a crawler.py there
    must not replace our package in the forkserver or its workers."""
    state, bin_dir = tmp_path / "state", tmp_path / "bin"
    state.mkdir()
    bin_dir.mkdir()
    (state / "crawler.py").write_text("SHADOW = 'not our crawler package'\n")
    script = bin_dir / "pool.py"
    script.write_text(
        textwrap.dedent(
            """
            import asyncio

            from crackdown.runtime.polling import ParsePool

            async def main() -> None:
                pool = ParsePool(1)
                async with pool.using():
                    while await pool._ready() is None and not pool._failed:
                        await asyncio.sleep(0.05)
                    print("failed" if pool._failed else "workers up", flush=True)

            if __name__ == "__main__":
                asyncio.run(main())
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"}
    env["PYTHONPATH"] = str(ROOT)  # this checkout's code
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=state,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.strip() == "workers up", result.stderr[-2000:]
