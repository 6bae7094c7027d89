"""`crackdown poll` against hostile sources: each fails alone, in bounded time and memory.

Each case runs the real CLI in a subprocess next to a well-behaved feed,
and measures the child's wall time and peak RSS (wait4). Figures on this
machine are in the commit that added the test.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from crackdown.demo.site import LoopbackSite, Page
from crackdown.standin import BotApiStandIn
from tests.e2e.conftest import cli_env
from tests.e2e.test_lifecycle import _free_port, running
from tests.hostile import BROTLI_BOMB, Measured, TrickleServer, gzip_bomb, run_measured

GOOD = resources.files("crackdown.demo").joinpath("data", "lianwen.xml").read_bytes()
# `crackdown poll` of two small feeds peaks at about 175 MB here; the old code took 1.8-2.2 GB.
MEMORY_BOUND_MB = 400
BOMB_BOUND_MB = 250  # the old code: 2.2 GB for the br bomb, 296 MB for the gzip one
# A poll still running after this is stuck (the old code never ended on a trickle). Wall-time
# bounds tighter than this failed on a loaded machine (42 s at load 10, start-up included):
# the time a source took is read from its own line, the CPU from the child's rusage.
POLL_TIMEOUT = 75


@pytest.fixture
def trickle() -> Iterator[TrickleServer]:
    with TrickleServer() as server:
        yield server


def poll(tmp_path: Path, sources: dict[str, str], http: str = "", full_text: str = "") -> Measured:
    """`crackdown poll` of the good feed plus `sources` (key -> URL); its figures."""
    lines = [f'[storage]\nurl = "sqlite:///{tmp_path / "crackdown.db"}"', f"[http]\n{http}"]
    for key, url in sources.items():
        extra = "\nfull_text = true" if key == full_text else ""
        lines.append(f'[[sources]]\nkey = "{key}"\nurl = "{url}"{extra}')
    config = tmp_path / "config.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_measured(["--config", str(config), "poll"], cli_env(), timeout=POLL_TIMEOUT)
    print(f"\n{result.seconds:.1f} s ({result.cpu_seconds:.1f} s CPU), {result.peak_mb:.0f} MB")
    print(result.stdout)
    # The good feed is always read: exit 3 (some sources failed) exactly when another failed.
    failed = any(" failed " in line for line in result.stdout.splitlines()[:-1])
    assert result.returncode == (3 if failed else 0), result.stderr[-3000:]
    return result


def line_of(result: Measured, key: str) -> str:
    return next(line for line in result.stdout.splitlines() if line.startswith(key + " "))


def source_seconds(result: Measured, key: str) -> float:
    """The time a source's poll took, as its line prints it ("1311 ms")."""
    found = re.search(r"(\d+) ms", line_of(result, key))
    assert found, line_of(result, key)
    return int(found.group(1)) / 1000


def stored_titles(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "crackdown.db") as conn:
        return [row[0] for row in conn.execute("SELECT title FROM stories")]


def test_a_trickling_feed_fails_alone_at_its_deadline(
    tmp_path: Path, site: LoopbackSite, trickle: TrickleServer
) -> None:
    site.pages["/good.xml"] = Page(GOOD)
    result = poll(
        tmp_path,
        {"good": site.url("/good.xml"), "slow": trickle.url("/feed.xml")},
        http='deadline = "2s"\nread_timeout = "30s"',
    )
    # The old code never ended: run_measured fails it at POLL_TIMEOUT.
    assert "HTTP 200" in line_of(result, "good")
    assert "within the 2s deadline" in line_of(result, "slow")
    assert "source slow: poll failed" in result.stderr


@pytest.mark.parametrize(
    ("encoding", "bomb"), [("br", lambda: BROTLI_BOMB), ("gzip", lambda: gzip_bomb(256))]
)
def test_a_compression_bomb_fails_alone_in_bounded_memory(
    tmp_path: Path, site: LoopbackSite, encoding: str, bomb: object
) -> None:
    site.pages["/good.xml"] = Page(GOOD)
    site.pages["/bomb.xml"] = Page(bomb(), headers={"Content-Encoding": encoding})  # type: ignore[operator]
    result = poll(
        tmp_path,
        {"good": site.url("/good.xml"), "bomb": site.url("/bomb.xml")},
        http="max_bytes = 1000000",
    )
    assert result.peak_mb < BOMB_BOUND_MB
    assert "HTTP 200" in line_of(result, "good")
    assert "exceeds 1000000 bytes" in line_of(result, "bomb")


def test_full_text_pages_that_trickle_or_explode_cost_the_feed_a_bounded_time(
    tmp_path: Path, site: LoopbackSite, trickle: TrickleServer
) -> None:
    items = "".join(
        f"<item><title>t{n}</title><link>{link}?{n}</link></item>"
        for n, link in enumerate(
            [trickle.url("/a.html"), site.url("/bomb.html"), trickle.url("/b.html")] * 3
        )
    )
    site.pages["/summaries.xml"] = Page(f"<rss><channel>{items}</channel></rss>".encode())
    site.pages["/bomb.html"] = Page(BROTLI_BOMB, "text/html", headers={"Content-Encoding": "br"})
    site.pages["/good.xml"] = Page(GOOD)
    result = poll(
        tmp_path,
        {"good": site.url("/good.xml"), "summaries": site.url("/summaries.xml")},
        http='deadline = "2s"\nmax_bytes = 1000000',
        full_text="summaries",
    )
    # Nine pages, but one deadline's budget for them all: the source's own time, not start-up.
    assert source_seconds(result, "summaries") < 10
    assert result.peak_mb < MEMORY_BOUND_MB
    assert "HTTP 200" in line_of(result, "good")
    assert "9 new" in line_of(result, "summaries")  # the stories keep their summaries


def test_a_huge_title_costs_little_and_is_cut(tmp_path: Path, site: LoopbackSite) -> None:
    title = "比特币 bitcoin " * 550_000  # 9.9 MB of UTF-8, under the default max_bytes
    site.pages["/good.xml"] = Page(GOOD)
    site.pages["/huge.xml"] = Page(
        f"<rss><channel><item><title>{title}</title><link>https://x.example/1</link>"
        "</item></channel></rss>".encode()
    )
    result = poll(tmp_path, {"good": site.url("/good.xml"), "huge": site.url("/huge.xml")})
    assert result.cpu_seconds < 30  # the old code took over 60 s
    assert result.peak_mb < MEMORY_BOUND_MB
    assert "HTTP 200" in line_of(result, "good") and "HTTP 200" in line_of(result, "huge")
    assert max(len(t) for t in stored_titles(tmp_path)) <= 1000


def test_the_daemon_keeps_polling_past_a_trickling_feed_and_healthz_tells_a_stuck_poll(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, trickle: TrickleServer
) -> None:
    site.pages["/good.xml"] = Page(GOOD)
    port = _free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[storage]
url = "sqlite:///{tmp_path / "crackdown.db"}"
[telegram]
api_base_url = "{standin.base_url}"
poll_timeout = "1s"
[http]
deadline = "4s"
[metrics]
listen = "127.0.0.1:{port}"
poll_stale_after = "2s"
[polling]
tick = "1s"
min_interval = "1s"
jitter = 0
[[sources]]
key = "good"
url = "{site.url("/good.xml")}"
interval = "1s"
[[sources]]
key = "slow"
url = "{trickle.url("/feed.xml")}"
interval = "1s"
""",
        encoding="utf-8",
    )
    verdicts = []
    with running(config, tmp_path / "run.log") as daemon:
        daemon.wait_for(lambda log: "source good: HTTP 200" in log)
        ends = time.monotonic() + 14
        while time.monotonic() < ends:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    verdicts.append(json.loads(r.read())["polling"])
            except urllib.error.HTTPError as error:
                verdicts.append(json.loads(error.read())["polling"])
            except OSError:
                pass
            time.sleep(0.3)
        code, _ = daemon.stop()
        log = daemon.text()
    assert code == 0
    assert log.count("within the 4s deadline") >= 2  # polled, failed alone, polled again
    good_polls = [line for line in log.splitlines() if "source good: " in line]
    assert len(good_polls) >= 3, log[-3000:]
    assert "stalled" in verdicts and "ok" in verdicts, verdicts  # each 4 s poll, then done
