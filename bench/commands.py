"""Command latency of one user while other chats hammer /watch (issue 15, item 5).

Why: PTB handled updates one at a time, and a /watch dry run over 20,000
stories took about 1.5 s, so a few chats alternating /watch and /unwatch
within their flood limit kept everyone else's commands waiting.

What: a SQLite archive of `--stories` synthetic stories of the last six
days (watchlist names among made-up words), the daemon's own PTB
application (`App.application()`) polling the Bot API stand-in, `--chats`
chats each sending /watch QUERY and /unwatch 1 in turn, one command every
`--every` seconds (3 s: their flood limit of 20 a minute), and one more
user sending /latest every 2 s. Timed: from sending /latest to its reply
arriving at the stand-in, for `--seconds`. Run it on two checkouts to
compare them; it only uses what both have.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crackdown.app import App, open_app
from crackdown.config import TOKEN_ENV, build_config
from crackdown.standin import BotApiStandIn
from crawler.normalize import normalise
from crawler.types import RawStory
from storage import sources, stories

TOKEN = "424242:BENCH-TOKEN-aaaaBBBBccccDDDD"
NAMES = ["Binance", "PBoC", "OTC", "USDT", "bitcoin", "Huobi", "OKX", "Alipay", "mining"]
QUERIES = ["bitcoin", "binance AND OTC", "NOT price", "PBoC OR USDT", "mining AND NOT OKX"]
PROBE = 999_999


def seed(app: App, count: int) -> None:
    rng = random.Random(15)
    words = [f"w{n:04d}" for n in range(3000)]
    now = datetime.now(UTC)
    with app.db.session() as session:
        sources.sync_sources(session, [("wire", "feed", "https://wire.example/feed")])
    for start in range(0, count, 1000):
        batch = []
        for n in range(start, min(count, start + 1000)):
            title = " ".join(rng.choices(words, k=9) + rng.sample(NAMES, 1))
            summary = " ".join(rng.choices(words, k=40) + rng.sample(NAMES, 2))
            published = now - timedelta(seconds=rng.uniform(0, 6 * 86400))
            raw = RawStory("wire", f"https://wire.example/{n}", title, summary, "", published)
            story = normalise(raw, fetched_at=now)
            batch.append((story, app.matcher.match(story)))
        with app.db.session() as session:
            stories.store_stories(session, batch)
        print(f"stored {start + len(batch)} stories", file=sys.stderr)


def hammer(standin: BotApiStandIn, chat: int, every: float, stop: threading.Event) -> None:
    query = QUERIES[chat % len(QUERIES)]
    turn = 0
    while not stop.is_set():
        standin.send_text(chat, f"/watch {query}" if turn % 2 == 0 else "/unwatch 1")
        turn += 1
        stop.wait(every)


def probe(standin: BotApiStandIn, stop: threading.Event, latencies: list[float]) -> None:
    while not stop.is_set():
        answered = len(standin.sent_messages(PROBE))
        sent = time.monotonic()
        standin.send_text(PROBE, "/latest")
        standin.wait_for_messages(answered + 1, PROBE, timeout=120)
        latencies.append(time.monotonic() - sent)
        stop.wait(max(0.0, 2.0 - (time.monotonic() - sent)))


async def measure(app: App, standin: BotApiStandIn, args: argparse.Namespace) -> list[float]:
    stop = threading.Event()
    latencies: list[float] = []
    async with app.application() as application:
        assert application.updater is not None
        await application.start()
        await application.updater.start_polling(poll_interval=0, timeout=1)
        threads = [
            threading.Thread(target=hammer, args=(standin, chat, args.every, stop))
            for chat in range(1, args.chats + 1)
        ]
        for thread in threads:
            thread.start()
        await asyncio.sleep(1.0)
        prober = threading.Thread(target=probe, args=(standin, stop, latencies))
        prober.start()
        await asyncio.sleep(args.seconds)
        stop.set()
        await asyncio.to_thread(prober.join)
        for thread in threads:
            await asyncio.to_thread(thread.join)
        await application.updater.stop()
        await application.stop()
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=20_000)
    parser.add_argument("--chats", type=int, default=5)
    parser.add_argument("--every", type=float, default=3.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, BotApiStandIn(TOKEN) as standin:
        for user in [*range(1, args.chats + 1), PROBE]:
            standin.add_user(user, f"User {user}")
        document = {
            "storage": {"url": f"sqlite:///{Path(tmp) / 'bench.db'}"},
            "telegram": {"api_base_url": standin.base_url},
            "cluster": {"enabled": False},
        }
        app = open_app(build_config(document, {TOKEN_ENV: TOKEN}))
        seed(app, args.stories)
        latencies = asyncio.run(measure(app, standin, args))
        app.db.dispose()
    latencies.sort()
    print(
        f"/latest of another user while {args.chats} chats hammer /watch over "
        f"{args.stories} stories: {len(latencies)} probes, "
        f"median {statistics.median(latencies):.2f} s, "
        f"p90 {latencies[int(0.9 * (len(latencies) - 1))]:.2f} s, max {latencies[-1]:.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
