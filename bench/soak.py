"""Soak: the real daemon for minutes on 2,000 changing feeds and 5,000 subscribers.

Why: operators run `crackdown run` for months. The operations issue asks for memory that
does not grow (no more than 10% after warm-up), the time from an item appearing in a feed
to its message at Telegram (p50/p95), and the daemon's CPU share.

How, all on 127.0.0.1:

* a feed site in this process serves 2,000 RSS feeds; each gains one item a minute, at a
  second of the minute of its own, and keeps its latest 20. About 3 items a minute name
  one of 50 watchlist entities ("Regulators fine Binance over OTC trading"); the rest are
  noise the filter must drop.
* the Bot API stand-in runs in a child process (`python -m crackdown.standin`) with 5,000
  users; each follows one of the 50 entities (100 chats per entity), so every relevant
  item is 100 messages, about 300 a minute, well under Telegram's limits.
* `crackdown run` is a child process with a fresh SQLite file, 1-minute poll intervals,
  a 5 s scheduler tick and metrics on. Every 10 s the bench reads the RSS and CPU time of
  the daemon and its children from /proc.

Latency is from the moment an item appears in its feed to the moment the stand-in
records its message, for every (item, chat). The reference in the same run is what the
poll interval alone costs: an item waits for the next poll, 30 s on average and up to
60 s, so "p50 / 30 s" shows what the rest of the pipeline adds. Memory growth compares the
peak after warm-up with the first sample after warm-up.

Run from the repository root: `python bench/soak.py [--minutes 10] [--feeds 2000]
[--subscribers 5000] [--json]`; `--quick` is 3 minutes, 300 feeds and 500 subscribers.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from crackdown.demo.site import LoopbackSite, Page
from crawler.watchlist import builtin_watchlist
from storage import subscribers
from storage.db import Database

TOKEN = "123456:SOAK"
ENTITIES = 50
RELEVANT_PER_MINUTE = 3
ITEMS_KEPT = 20
SAMPLE_EVERY = 10.0
for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
    os.environ.pop(proxy, None)  # nothing may leave loopback


def _entities() -> list[tuple[str, str]]:
    """(key, English alias) of 50 watchlist entities with a plain Latin alias."""
    chosen: list[tuple[str, str]] = []
    for entity in builtin_watchlist().entities:
        alias = next((a for a in entity.aliases if re.fullmatch(r"[A-Za-z][A-Za-z ]{3,}", a)), None)
        if alias and entity.report and not entity.key.startswith("blocker-"):
            chosen.append((entity.key, alias))
    if len(chosen) < ENTITIES:
        raise SystemExit(f"the watchlist has only {len(chosen)} usable entities")
    return chosen[:ENTITIES]


class Feeds:
    """Feed i gains item m at start + m*60 + (i % 60) seconds; ~3 a minute are relevant."""

    def __init__(self, count: int, start: float, entities: list[tuple[str, str]]) -> None:
        self.count = count
        self.start = start
        self.entities = entities
        self.every = max(1, count // RELEVANT_PER_MINUTE)

    def appears_at(self, feed: int, minute: int) -> float:
        return self.start + minute * 60 + feed % 60

    def relevant(self, feed: int, minute: int) -> tuple[str, str] | None:
        if (feed + minute * 7) % self.every:
            return None
        return self.entities[(feed + minute) % len(self.entities)]

    def title(self, feed: int, minute: int) -> str:
        tag = f"[s{feed}-{minute}]"
        named = self.relevant(feed, minute)
        if named is None:
            return f"Weather and sports roundup number {minute} from desk {feed} {tag}"
        return f"Regulators fine {named[1]} over OTC trading {tag}"

    def render(self, feed: int) -> Page:
        now = time.time()
        latest = int((now - self.start - feed % 60) // 60)
        items = []
        for minute in range(max(0, latest - ITEMS_KEPT + 1), latest + 1):
            when = datetime.fromtimestamp(self.appears_at(feed, minute), UTC)
            items.append(
                f"<item><title>{self.title(feed, minute)}</title>"
                f"<link>http://127.0.0.1/soak/{feed}/{minute}</link>"
                f"<guid>soak-{feed}-{minute}</guid>"
                f"<pubDate>{format_datetime(when)}</pubDate>"
                f"<description>Item {minute} of feed {feed}.</description></item>"
            )
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>soak {feed}</title><link>http://127.0.0.1/</link>"
            + "".join(reversed(items))
            + "</channel></rss>"
        )
        return Page(body.encode())


@dataclass
class Sample:
    at: float
    rss_mb: float  # the daemon and its children (the parse worker lives only during polls)
    main_rss_mb: float  # the daemon's own process
    cpu_seconds: float
    processes: int


def _tree(pid: int) -> list[int]:
    """The process and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def sample(pid: int, started: float) -> Sample:
    rss = cpu = main = 0.0
    pids = _tree(pid)
    tick = os.sysconf("SC_CLK_TCK")
    for each in pids:
        try:
            with open(f"/proc/{each}/statm") as statm:
                resident = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            rss += resident
            main = resident if each == pid else main
            with open(f"/proc/{each}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            cpu += sum(int(v) for v in fields[11:15]) / tick  # utime stime cutime cstime
        except (OSError, IndexError, ValueError):
            continue
    return Sample(
        round(time.time() - started, 1),
        round(rss / 1e6, 1),
        round(main / 1e6, 1),
        round(cpu, 2),
        len(pids),
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_standin(users: int) -> tuple[subprocess.Popen[str], str]:
    standin = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crackdown.standin",
            "--port",
            "0",
            "--token",
            TOKEN,
            "--users",
            f"1:{users}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert standin.stdout is not None
    base_url = standin.stdout.readline().strip().split()[-1]
    return standin, base_url


def _config(folder: Path, site: LoopbackSite, api: str, feeds: int, metrics_port: int) -> Path:
    lines = [
        f'[storage]\nurl = "sqlite:///{folder / "soak.db"}"',
        f'[telegram]\napi_base_url = "{api}"\npoll_timeout = "5s"',
        '[delivery]\ninterval = "1s"',
        '[polling]\ntick = "5s"\nmin_interval = "1m"\nadaptive = false\njitter = 0',
        f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"',
        '[logging]\nlevel = "WARNING"',
    ]
    for feed in range(feeds):
        lines.append(
            f'[[sources]]\nkey = "soak-{feed}"\nurl = "{site.url(f"/feed/{feed}.xml")}"\n'
            'interval = "1m"\nlang = "en"'
        )
    path = folder / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _seed(folder: Path, users: int, entities: list[tuple[str, str]]) -> None:
    db = Database(f"sqlite:///{folder / 'soak.db'}")
    db.upgrade()
    with db.session() as session:
        for user in range(1, users + 1):
            subscribers.add(session, user, "entity", entities[user % len(entities)][0])
    db.dispose()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def run(minutes: float, feeds: int, users: int, warmup: float) -> dict[str, object]:
    entities = _entities()
    folder = Path(tempfile.mkdtemp(prefix="crackdown-soak-"))
    start = time.time() + 20  # the first items appear once the daemon is up
    source = Feeds(feeds, start, entities)
    site = LoopbackSite()
    for feed in range(feeds):
        site.pages[f"/feed/{feed}.xml"] = lambda _path, feed=feed: source.render(feed)
    site.start()
    standin, api = _start_standin(users)
    metrics_port = _free_port()
    config = _config(folder, site, api, feeds, metrics_port)
    _seed(folder, users, entities)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRACKDOWN_")}
    env["CRACKDOWN_TELEGRAM_TOKEN"] = TOKEN
    log = (folder / "daemon.log").open("w")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "crackdown", "--config", str(config), "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    started = time.time()
    samples: list[Sample] = []
    deadline = started + minutes * 60
    print(f"soak: {feeds} feeds, {users} chats, {minutes:g} min; log {log.name}", file=sys.stderr)
    try:
        while time.time() < deadline:
            if daemon.poll() is not None:
                raise SystemExit(f"the daemon exited with {daemon.returncode}; see {log.name}")
            samples.append(sample(daemon.pid, started))
            last = samples[-1]
            print(
                f"  t={last.at:6.0f}s rss={last.rss_mb:7.1f} MB (daemon {last.main_rss_mb:6.1f})"
                f" cpu={last.cpu_seconds:7.1f}s",
                file=sys.stderr,
            )
            time.sleep(SAMPLE_EVERY)
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/healthz", timeout=10) as r:
            health = json.loads(r.read())
        daemon.send_signal(signal.SIGTERM)
        stop_started = time.time()
        code = daemon.wait(timeout=60)
        stop_seconds = time.time() - stop_started
        with urllib.request.urlopen(f"{api.rsplit('/bot', 1)[0]}/_sim/sent", timeout=60) as r:
            sent = json.loads(r.read())["result"]
        with urllib.request.urlopen(f"{api.rsplit('/bot', 1)[0]}/_sim/summary", timeout=60) as r:
            summary = json.loads(r.read())["result"]
    finally:
        if daemon.poll() is None:
            daemon.kill()
        standin.terminate()
        site.stop()
        log.close()
    wall = samples[-1].at - samples[0].at if len(samples) > 1 else 1.0
    latencies: list[float] = []
    for message in sent:
        found = re.search(r"\[s(\d+)-(\d+)\]", message["plain_text"])
        if found:
            feed, minute = int(found.group(1)), int(found.group(2))
            latencies.append(message["sent_at"] - source.appears_at(feed, minute))
    # Items that appeared early enough to be polled, stored and sent before the end.
    cutoff = deadline - 120
    expected = sum(
        users // len(entities)
        for feed in range(feeds)
        for minute in range(int(minutes) + 1)
        if source.relevant(feed, minute) and source.appears_at(feed, minute) < cutoff
    )
    # Growth: the peak of the last third of the run against the peak of the first third
    # after warm-up, so a parse worker alive in one sample and not the next is not "growth".
    warm = [s for s in samples if s.at >= warmup]
    third = max(1, len(warm) // 3)
    early = max((s.rss_mb for s in warm[:third]), default=0.0)
    late = max((s.rss_mb for s in warm[-third:]), default=0.0)
    early_main = max((s.main_rss_mb for s in warm[:third]), default=0.0)
    late_main = max((s.main_rss_mb for s in warm[-third:]), default=0.0)
    return {
        "feeds": feeds,
        "chats": users,
        "minutes": minutes,
        "messages": len(sent),
        "expected_messages_at_least": expected,
        "duplicates": summary.get("duplicates"),
        "rate_limited": summary.get("rate_limited"),
        "latency_p50_s": round(_percentile(latencies, 0.5), 1),
        "latency_p95_s": round(_percentile(latencies, 0.95), 1),
        "latency_mean_s": round(statistics.fmean(latencies), 1) if latencies else None,
        "poll_wait_reference_s": 30.0,
        "p50_vs_poll_wait": round(_percentile(latencies, 0.5) / 30.0, 2),
        "rss_peak_early_mb": early,
        "rss_peak_late_mb": late,
        "rss_growth_after_warmup": round(late / early - 1, 3) if early else None,
        "main_rss_peak_early_mb": early_main,
        "main_rss_peak_late_mb": late_main,
        "main_rss_growth_after_warmup": round(late_main / early_main - 1, 3)
        if early_main
        else None,
        "cpu_share_of_one_core": round((samples[-1].cpu_seconds - samples[0].cpu_seconds) / wall, 3)
        if len(samples) > 1
        else None,
        "exit_code": code,
        "stop_seconds": round(stop_seconds, 1),
        "health_at_end": health,
        "samples": [asdict(s) for s in samples],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--warmup", type=float, default=180.0, help="seconds before memory counts")
    parser.add_argument("--quick", action="store_true", help="3 min, 300 feeds, 500 chats")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.feeds, args.subscribers, args.warmup = 3.0, 300, 500, 60.0
    result = run(args.minutes, args.feeds, args.subscribers, args.warmup)
    if args.json:
        print(json.dumps(result))
        return 0
    for key, value in result.items():
        if key != "samples":
            print(f"{key:30} {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
