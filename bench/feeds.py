"""Feed polling at scale: `Poller.poll` over 1,000 loopback feeds, against plain feedparser.

Why: the project's issue sets three targets for one polling cycle over 1,000 feeds of 50
entries: the first cycle (everything new: fetch, parse, normalise, match, store, fan out)
at >= 100 feeds/s, a second cycle with nothing changed in <= 2 s (conditional GETs
should make most feeds answer 304), and a peak RSS of <= 250 MB. It also compares both
cycles with the obvious baseline, a sequential `feedparser.parse(url)` per feed using
feedparser's own fetching (and, for the second pass, the ETag and Last-Modified the first
pass returned, as a careful user would pass them).

What: a deterministic set (fixed seed) of feeds, half English and half Chinese, half RSS 2.0
and half Atom, some Chinese ones in GB18030. Entries have news-like titles and HTML
summaries; about 6% are headlines that the built-in watchlist's topic matches ("China's
central bank bans bitcoin OTC trading", "央行：严禁为虚拟货币交易提供服务"), 6% are
near-misses (crypto without enforcement) and about 3% are wire stories that several feeds
carry (stored once, then noted as "also reported"). Transport varies per feed: about a third
gzip-encoded; validators ETag and Last-Modified (35%), ETag only (25%), Last-Modified only
(25%) or neither (15%, answering 200 every time).

The feeds are served by a small asyncio HTTP/1.1 server (keep-alive, gzip, If-None-Match
and If-Modified-Since) that runs in a child process, so that its CPU time and memory are
not charged to the process under test. `crackdown.demo.site.LoopbackSite` is not used: it
binds 127.0.0.1 only, knows no Last-Modified, closes every connection, and in-process it
would share the GIL with the poller. The feeds are spread over host names 127.0.0.1 ..
127.0.0.N (all loopback on Linux), one listening socket per address, because polling is
limited per host; where 127.0.0.x (x > 1) cannot be bound, everything falls back to
127.0.0.1 with a note. Proxy variables are removed from this process's environment so
that no request leaves loopback.

The crackdown side is wired like the daemon: `open_app(build_config(...))` on a fresh
SQLite file in a temp dir, with a few subscribers following the topic so that matched
stories fan out to the outbox, then `app.poller(client).poll(app.feeds())` twice with the
same client and poller (as `crackdown.daemon.run_forever` does). Peak RSS is
`ru_maxrss` read after both crackdown cycles and before the baseline runs. A big poll
parses in worker processes (`crackdown.runtime.parse_pool.ParsePool`): their forkserver and workers
are watched through /proc, and their CPU time and peak RSS are reported next to this
process's (`--profile` sees this process only).

Run from the repository root: `python bench/feeds.py [--quick] [--feeds N] [--json]
[--profile N]`. Exits 0 unless the code under test raises.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import gzip
import hashlib
import io
import json
import multiprocessing
import os
import pstats
import random
import resource
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime, formatdate, parsedate_to_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

# A parse worker (and the feed server) re-imports this module as `__mp_main__` before it
# works. A daemon's worker re-imports the `crackdown` console script, which imports
# `crackdown.cli` and no more; importing crackdown.app here too (about 0.7 s of a worker's
# start) made the bench's workers start later than the daemon's (bench/README.md, session 10).
if __name__ == "__mp_main__":
    import crackdown.cli  # noqa: F401  what a daemon's worker imports, no more
else:
    import feedparser
    from sqlalchemy import func, select

    from crackdown.app import App, open_app
    from crackdown.config import DEFAULT_TOPIC, build_config
    from crackdown.runtime.polling import PollReport
    from crawler.http import make_client
    from storage import subscribers as subscriber_store
    from storage.models import StoryRow

    try:
        from bench.stages import StageTimer
    except ImportError:  # run as `python bench/feeds.py`: bench/ is on sys.path, not the root
        from stages import StageTimer  # type: ignore[no-redef]

SEED = 20240615
FEEDS, QUICK_FEEDS, ENTRIES, HOSTS = 1000, 100, 50, 8
CONCURRENCY, PER_HOST, SUBSCRIBERS = 32, 4, 20
TARGET_FEEDS_PER_S, TARGET_UNCHANGED_S, TARGET_RSS_MB = 100.0, 2.0, 250.0
# Issue 20's targets are ratios to sequential feedparser in the same run (machines are noisy).
TARGET_RATIO = 2.0
HIT_SHARE, NEAR_SHARE, WIRE_SHARE = 0.06, 0.06, 0.03  # of entries
WIRE_POOL = 300  # wire stories per language that feeds pick from
GZIP_SHARE = 1 / 3
VALIDATORS = {"both": 0.35, "etag": 0.25, "last-modified": 0.25, "none": 0.15}
NEWEST = datetime(2024, 6, 15, 9, 30, tzinfo=UTC)
CST = timezone(timedelta(hours=8))
MB = 1_000_000

# Headlines the built-in topic matches, and near-misses it must not (crypto, no enforcement).
EN_HITS = (
    "China's central bank bans bitcoin OTC trading",
    "Beijing regulators order platforms to halt crypto services",
    "Guangzhou police bust underground bank that swapped yuan for USDT",
    "PBOC warns banks over stablecoin payments",
    "Shanghai police arrest crypto miners in Inner Mongolia",
)
ZH_HITS = (
    "央行：严禁为虚拟货币交易提供服务",
    "北京警方破获一起利用虚拟货币洗钱案",
    "人民银行上海总部：持续打击虚拟货币非法金融活动",
    "法院判决：比特币交易合同无效",
)
EN_NEAR = (
    "Bitcoin climbs above $70,000 as ETF inflows grow",
    "Ethereum developers schedule next network upgrade",
    "Crypto funds see a fourth week of inflows",
)
ZH_NEAR = (
    "比特币价格突破七万美元",
    "以太坊开发者确定下一次网络升级时间",
    "央行发布二季度货币政策执行报告",
)
EN_HIT_LINES = (
    "The notice said banks and payment firms must not provide services related to "
    "virtual currency transactions.",
    "Officials said the operation followed months of complaints from investors.",
)
ZH_HIT_LINES = (
    "通知要求，金融机构和支付机构不得为虚拟货币相关业务提供账户开立、交易、清算等服务。",
    "警方表示，该团伙利用多个账户为境外平台转移资金。",
)

EN_WORDS = {
    "company": "Northwind Logistics|Bluepeak Energy|Harbor Foods|Lumen Systems|Redstone Motors"
    "|Silverleaf Insurance|Copperline Telecom|Greenfield Retail",
    "city": "Shanghai|Shenzhen|Hangzhou|Chengdu|Wuhan|Singapore|Tokyo|London",
    "sector": "solar|logistics|retail|semiconductor|housing|shipping|tourism|battery",
    "metric": "revenue|profit|sales|orders",
    "move": "rise|fall|jump|slip",
    "trend": "recover|soften|stabilise|grow",
    "month": "January|February|March|April|May|June|July|August|September|October",
    "facility": "factory|warehouse|research centre|data centre",
    "adj": "new|regional|national|major|small|recent|annual|stable|digital|private",
    "noun": "market|report|policy|investor|budget|agency|meeting|statement|sector|quarter"
    "|fund|index|project|contract|network|platform",
    "verb": "reviewed|approved|discussed|expanded|reduced|released|confirmed|delayed|updated",
    "day": "Monday|Tuesday|Wednesday|Thursday|Friday|last week|this month",
    "source": "analysts said|a spokesperson said|local media reported|the company said",
}
EN_TITLES = (
    "{company} reports {num}% rise in quarterly {metric}",
    "{city} unveils plan to expand {sector} investment",
    "Shares of {company} {move} after {metric} update",
    "{sector} output in {city} saw a {num}% {move} in {month}",
    "Analysts expect {sector} demand to {trend} this year",
    "{company} opens new {facility} in {city}",
    "{city} approves {adj} {sector} budget",
)
EN_LINES = (
    "The {adj} {noun} in {city} {verb} a {adj} {noun} on {day}, {source}.",
    "{company} said {metric} rose {num} percent from a year earlier.",
    "The {sector} project is expected to be completed by {month}, {source}.",
    "Investors {verb} the {adj} {noun} while the {noun} remained {adj}.",
    "The {adj} {sector} {noun} was {verb} on {day}.",
)
ZH_WORDS = {
    "company": "远航物流 蓝峰能源 海港食品 流明科技 红石汽车 银叶保险 铜线通信 绿野零售",
    "city": "上海 深圳 杭州 成都 武汉 新加坡 东京 伦敦",
    "sector": "光伏 物流 零售 半导体 住房 航运 旅游 电池",
    "metric": "营收 利润 销量 订单",
    "move": "增长 下降 回升 回落",
    "trend": "回暖 放缓 企稳 增长",
    "facility": "工厂 仓库 研发中心 数据中心",
    "adj": "新的 区域 全国 主要 小型 近期 年度 稳定 数字 私营",
    "noun": "市场 报告 政策 投资者 预算 会议 声明 行业 季度 基金 指数 项目 合同 网络 平台",
    "verb": "审查了 批准了 讨论了 扩大了 减少了 发布了 确认了 推迟了 更新了",
    "day": "周一 周二 周三 周四 周五 上周 本月",
    "source": "分析人士指出 发言人称 当地媒体报道 公司表示",
}
ZH_TITLES = (
    "{company}第{q}季度{metric}同比{move}{num}%",
    "{city}发布{sector}产业发展规划",
    "{city}{sector}产量{m}月{move}{num}%",
    "分析师预计今年{sector}需求将{trend}",
    "{company}在{city}新建{facility}",
    "{city}{adj}{sector}预算获批",
)
ZH_LINES = (
    "{day}，{city}{adj}{noun}{verb}{adj}{noun}，{source}。",
    "{company}表示，{metric}较去年同期{move}{num}%。",
    "{source}，该{sector}项目预计将于{m}月完工。",
    "投资者{verb}{adj}{noun}，{noun}保持{adj}。",
)


# ----------------------------------------------------------------------------- the feeds


@dataclass(frozen=True)
class FeedSpec:
    """One generated feed and how it is served."""

    key: str
    path: str
    lang: str  # "en" | "zh"
    form: str  # "rss" | "atom"
    charset: str  # "utf-8" | "gb18030"
    gzip: bool
    validators: str  # a key of VALIDATORS
    host: int  # index into the bound addresses


@dataclass
class Corpus:
    """Generated feeds: specs, bodies by path, and what a correct poller should store."""

    specs: list[FeedSpec]
    bodies: dict[str, bytes]
    newest: dict[str, datetime]
    unique_urls: int
    entries: int
    hit_entries: int  # distinct stories with a watchlist headline


class Writer:
    """Fills title and sentence templates from one language's word lists."""

    def __init__(self, lang: str, rng: random.Random) -> None:
        self.rng = rng
        self.lang = lang
        words = EN_WORDS if lang == "en" else ZH_WORDS
        self.words = {k: v.split("|") if "|" in v else v.split() for k, v in words.items()}
        self.titles, self.lines = (EN_TITLES, EN_LINES) if lang == "en" else (ZH_TITLES, ZH_LINES)
        self.hits, self.near = (EN_HITS, EN_NEAR) if lang == "en" else (ZH_HITS, ZH_NEAR)
        self.hit_lines = EN_HIT_LINES if lang == "en" else ZH_HIT_LINES

    def fill(self, template: str) -> str:
        rng = self.rng
        slots = {k: rng.choice(v) for k, v in self.words.items()}
        text = template.format(
            num=rng.randint(2, 40), q=rng.randint(1, 4), m=rng.randint(1, 12), **slots
        )
        return text[0].upper() + text[1:] if self.lang == "en" else text

    def entry(self) -> tuple[str, list[str], bool]:
        """A title, its summary sentences, and whether it is a watchlist headline."""
        rng = self.rng
        roll = rng.random()
        lines = [self.fill(rng.choice(self.lines)) for _ in range(rng.randint(2, 4))]
        if roll < HIT_SHARE:
            lines.insert(0, rng.choice(self.hit_lines))
            return rng.choice(self.hits), lines, True
        if roll < HIT_SHARE + NEAR_SHARE:
            return rng.choice(self.near), lines, False
        return self.fill(rng.choice(self.titles)), lines, False


def _summary_html(lines: list[str], link: str, lang: str) -> str:
    sep = " " if lang == "en" else ""
    more = "Read more &amp; comment" if lang == "en" else "阅读全文"
    return f'<p>{sep.join(lines[:2])}</p><p>{sep.join(lines[2:])} <a href="{link}">{more}</a></p>'


def _rss(spec: FeedSpec, site: str, items: list[dict[str, Any]], cdata: bool) -> str:
    out = [
        f'<?xml version="1.0" encoding="{spec.charset}"?>\n<rss version="2.0">\n<channel>\n'
        f"<title>{site}</title>\n<link>https://www.{site}.example/</link>\n"
        f"<description>News from {site}</description>\n"
        f"<language>{'en-us' if spec.lang == 'en' else 'zh-cn'}</language>\n"
        f"<lastBuildDate>{format_datetime(items[0]['published'])}</lastBuildDate>\n"
    ]
    for item in items:
        html = item["summary"]
        summary = f"<![CDATA[{html}]]>" if cdata else escape(html)
        out.append(
            f"<item>\n<title>{escape(item['title'])}</title>\n<link>{escape(item['link'])}</link>\n"
            f'<guid isPermaLink="false">{item["guid"]}</guid>\n'
            f"<pubDate>{format_datetime(item['published'])}</pubDate>\n"
            f"<description>{summary}</description>\n</item>\n"
        )
    out.append("</channel>\n</rss>\n")
    return "".join(out)


def _atom(spec: FeedSpec, site: str, items: list[dict[str, Any]], _cdata: bool) -> str:
    lang = "en" if spec.lang == "en" else "zh-CN"
    out = [
        f'<?xml version="1.0" encoding="{spec.charset}"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{lang}">\n'
        f"<title>{site}</title>\n<id>tag:{site}.example,2024:feed</id>\n"
        f'<link rel="alternate" href="https://www.{site}.example/"/>\n'
        f"<updated>{items[0]['published'].isoformat()}</updated>\n"
    ]
    for item in items:
        out.append(
            f"<entry>\n<title>{escape(item['title'])}</title>\n"
            f'<link rel="alternate" href="{escape(item["link"])}"/>\n'
            f"<id>tag:{site}.example,2024:{item['guid']}</id>\n"
            f"<published>{item['published'].isoformat()}</published>\n"
            f"<updated>{item['published'].isoformat()}</updated>\n"
            f'<summary type="html">{escape(item["summary"])}</summary>\n</entry>\n'
        )
    out.append("</feed>\n")
    return "".join(out)


def make_corpus(n_feeds: int, n_entries: int, seed: int, n_hosts: int) -> Corpus:
    """`n_feeds` feeds of `n_entries` entries each; the same seed gives the same bytes."""
    rng = random.Random(seed)
    writers = {lang: Writer(lang, rng) for lang in ("en", "zh")}
    wire = {  # stories several feeds carry: one URL, one title
        lang: [
            (f"https://wire.example/{lang}/{i}.html", *writers[lang].entry())
            for i in range(WIRE_POOL)
        ]
        for lang in ("en", "zh")
    }
    kinds, weights = list(VALIDATORS), list(VALIDATORS.values())
    specs: list[FeedSpec] = []
    bodies: dict[str, bytes] = {}
    newest: dict[str, datetime] = {}
    urls: set[str] = set()
    hit_entries = 0
    for i in range(n_feeds):
        lang = "en" if i % 2 == 0 else "zh"
        form = "rss" if (i // 2) % 2 == 0 else "atom"
        charset = "gb18030" if lang == "zh" and rng.random() < 0.2 else "utf-8"
        spec = FeedSpec(
            key=f"feed-{i:04d}",
            path=f"/feeds/{i:04d}.{'xml' if form == 'rss' else 'atom'}",
            lang=lang,
            form=form,
            charset=charset,
            gzip=rng.random() < GZIP_SHARE,
            validators=rng.choices(kinds, weights)[0],
            host=i % n_hosts,
        )
        site = f"site{i:04d}"
        tracking = "?utm_source=rss&utm_medium=feed" if rng.random() < 0.3 else ""
        when = NEWEST - timedelta(minutes=rng.randint(0, 600))
        tz = UTC if lang == "en" else CST
        items = []
        for j in range(n_entries):
            if rng.random() < WIRE_SHARE:
                base, title, lines, hit = rng.choice(wire[lang])
                link = base
            else:
                title, lines, hit = writers[lang].entry()
                day = when.strftime("%Y/%m/%d")
                base = f"https://{site}.example/{day}/story-{j}.html"
                link = f"https://www.{site}.example/{day}/story-{j}.html{tracking}"
            if base not in urls:  # `base` is what canonical_url() makes of `link`
                urls.add(base)
                hit_entries += hit
            items.append(
                {
                    "title": title,
                    "link": link,
                    "guid": f"{site}-{j}",
                    "published": when.astimezone(tz),
                    "summary": _summary_html(lines, link, lang),
                }
            )
            when -= timedelta(minutes=rng.randint(5, 90))
        write = _rss if form == "rss" else _atom
        text = write(spec, site, items, i % 3 == 0)
        bodies[spec.path] = text.encode(charset)
        newest[spec.path] = items[0]["published"]
        specs.append(spec)
    return Corpus(specs, bodies, newest, len(urls), n_feeds * n_entries, hit_entries)


# ----------------------------------------------------------------------------- the server


@dataclass
class Doc:
    """A feed as served: both representations and its validators."""

    spec: FeedSpec
    body: bytes
    gz: bytes | None
    etag: str | None
    last_modified: str | None

    @property
    def content_type(self) -> str:
        kind = "rss" if self.spec.form == "rss" else "atom"
        return f"application/{kind}+xml; charset={self.spec.charset}"


def _doc(spec: FeedSpec, body: bytes, newest: datetime) -> Doc:
    digest = hashlib.sha1(body).hexdigest()[:16]
    etag = f'"{digest}"' if spec.validators in ("both", "etag") else None
    modified = (
        format_datetime(newest.astimezone(UTC), usegmt=True)
        if spec.validators in ("both", "last-modified")
        else None
    )
    gz = gzip.compress(body, compresslevel=6, mtime=0) if spec.gzip else None
    return Doc(spec, body, gz, etag, modified)


def _not_modified(doc: Doc, headers: dict[str, str], etag: str | None) -> bool:
    """RFC 9110: If-None-Match decides when present; else If-Modified-Since."""
    if "if-none-match" in headers:
        tags = [t.strip() for t in headers["if-none-match"].split(",")]
        return etag is not None and (etag in tags or "*" in tags)
    since = headers.get("if-modified-since")
    if since and doc.last_modified:
        try:
            return parsedate_to_datetime(since) >= parsedate_to_datetime(doc.last_modified)
        except (TypeError, ValueError):
            return False
    return False


class FeedServer:
    """The asyncio side of the child process: serves docs and counts what it sent."""

    def __init__(self, docs: dict[str, Doc]) -> None:
        self.docs = docs
        self.stats: Counter[str] = Counter()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats["connections"] += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                method, path, headers, close = _parse_head(head)
                writer.write(self.respond(method, path, headers, close))
                await writer.drain()
                if close:
                    return
        finally:
            writer.close()

    def respond(self, method: str, path: str, headers: dict[str, str], close: bool) -> bytes:
        doc = self.docs.get(path) if method in ("GET", "HEAD") else None
        extra = ["Connection: close"] if close else []
        if doc is None:
            self.stats["404"] += 1
            return _response("404 Not Found", [*extra, "Content-Type: text/plain"], b"not found")
        zipped = doc.gz is not None and "gzip" in headers.get("accept-encoding", "")
        etag = doc.etag and (doc.etag[:-1] + '-gz"' if zipped else doc.etag)
        validators = [f"ETag: {etag}"] if etag else []
        if doc.last_modified:
            validators.append(f"Last-Modified: {doc.last_modified}")
        if doc.gz is not None:
            validators.append("Vary: Accept-Encoding")
        if _not_modified(doc, headers, etag):
            self.stats["304"] += 1
            return _response("304 Not Modified", [*extra, *validators], None)
        body = doc.gz if zipped and doc.gz is not None else doc.body
        self.stats["200"] += 1
        self.stats["gzip"] += zipped
        self.stats["bytes"] += len(body)
        fields = [*extra, f"Content-Type: {doc.content_type}", *validators]
        if zipped:
            fields.append("Content-Encoding: gzip")
        return _response("200 OK", fields, body if method == "GET" else b"", len(body))


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str], bool]:
    """Method, path, lower-cased headers, and whether to close the connection after."""
    lines = head.decode("latin-1").split("\r\n")
    method, target, version = [*lines[0].split(" "), "", ""][:3]
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name:
            headers[name.strip().lower()] = value.strip()
    connection = headers.get("connection", "").lower()
    close = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
    return method, target.split("?", 1)[0], headers, close


def _response(status: str, fields: list[str], body: bytes | None, length: int = -1) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Date: {formatdate(usegmt=True)}", "Server: bench-feeds"]
    if body is not None:
        head.append(f"Content-Length: {length if length >= 0 else len(body)}")
    return ("\r\n".join([*head, *fields]) + "\r\n\r\n").encode("latin-1") + (body or b"")


async def _bind(handle: Callable[..., Any], n_hosts: int) -> tuple[list[asyncio.Server], str]:
    """One listening socket per 127.0.0.x; all on 127.0.0.1 where that is impossible."""
    servers: list[asyncio.Server] = []
    try:
        for x in range(1, n_hosts + 1):
            servers.append(await asyncio.start_server(handle, f"127.0.0.{x}", 0, backlog=512))
        return servers, ""
    except OSError as exc:
        for server in servers:
            server.close()
        note = f"cannot bind 127.0.0.{len(servers) + 1} ({exc}); every feed is on 127.0.0.1"
        return [await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)], note


async def _serve(conn: Connection, n_feeds: int, n_entries: int, seed: int, n_hosts: int) -> None:
    started = time.perf_counter()
    corpus = make_corpus(n_feeds, n_entries, seed, n_hosts)
    docs = {s.path: _doc(s, corpus.bodies[s.path], corpus.newest[s.path]) for s in corpus.specs}
    server = FeedServer(docs)
    servers, note = await _bind(server.handle, n_hosts)
    addresses = [s.sockets[0].getsockname()[:2] for s in servers]
    feeds = []
    for spec in corpus.specs:
        host, port = addresses[spec.host % len(addresses)]
        feeds.append({**asdict(spec), "url": f"http://{host}:{port}{spec.path}"})
    conn.send(
        {
            "feeds": feeds,
            "hosts": [host for host, _ in addresses],
            "note": note,
            "pid": os.getpid(),
            "xml_bytes": sum(len(d.body) for d in docs.values()),
            "gzip_bytes": sum(len(d.gz) for d in docs.values() if d.gz is not None),
            "unique_urls": corpus.unique_urls,
            "entries": corpus.entries,
            "hit_entries": corpus.hit_entries,
            "build_seconds": time.perf_counter() - started,
        }
    )
    del corpus
    loop = asyncio.get_running_loop()
    while (command := await loop.run_in_executor(None, conn.recv)) != "stop":
        if command == "stats":
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            conn.send({**server.stats, "peak_rss_mb": rss})
    for listener in servers:
        listener.close()


def serve(conn: Connection, n_feeds: int, n_entries: int, seed: int, n_hosts: int) -> None:
    """The child process: build the corpus, serve it, answer 'stats' until 'stop'."""
    asyncio.run(_serve(conn, n_feeds, n_entries, seed, n_hosts))


class ServerProcess:
    """Starts `serve` in a spawned child; `stats()` and a clean stop by its own pid."""

    def __init__(self, n_feeds: int, n_entries: int, seed: int, n_hosts: int) -> None:
        context = multiprocessing.get_context("spawn")  # no copy of this process's memory
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=serve, args=(child, n_feeds, n_entries, seed, n_hosts), daemon=True
        )

    def __enter__(self) -> ServerProcess:
        self.process.start()
        self.manifest: dict[str, Any] = self.conn.recv()
        return self

    def stats(self) -> Counter[str]:
        self.conn.send("stats")
        return Counter(self.conn.recv())

    def __exit__(self, *_: object) -> None:
        with contextlib.suppress(OSError):
            self.conn.send("stop")
        self.process.join(5)
        if self.process.is_alive():
            self.process.terminate()  # our own child, by its handle
            self.process.join(5)


# ----------------------------------------------------------------------------- the runs


@dataclass
class Cycle:
    seconds: float
    cpu_seconds: float = 0.0  # of this process (the event loop and its threads)
    statuses: Counter[str] = field(default_factory=Counter)
    stories: int = 0
    matched: int = 0
    queued: int = 0
    also_reported: int = 0
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    server: Counter[str] = field(default_factory=Counter)


def _cycle(report: PollReport, seconds: float, cpu: float, server: Counter[str]) -> Cycle:
    return Cycle(
        seconds=seconds,
        cpu_seconds=cpu,
        statuses=Counter(r.status for r in report.results),
        stories=report.stories,
        matched=report.matched,
        queued=report.queued,
        also_reported=report.also_reported,
        failed=report.failed,
        errors=[f"{r.key}: {r.error}" for r in report.results if r.error][:5],
        server=server,
    )


def _app(feeds: list[dict[str, Any]], folder: Path, args: argparse.Namespace) -> App:
    document = {
        "storage": {"url": f"sqlite:///{folder / 'bench.db'}"},
        "http": {"concurrency": args.concurrency},
        "polling": {"per_host": args.per_host},
        "cluster": {"enabled": not args.no_cluster},
        "sources": [
            {"key": f["key"], "url": f["url"], "interval": "10m", "lang": f["lang"]} for f in feeds
        ],
    }
    app = open_app(build_config(document, {}))
    with app.db.session() as session:
        for chat in range(args.subscribers):
            subscriber_store.subscribe(session, 900_000 + chat, topic=DEFAULT_TOPIC)
    return app


async def crackdown_cycles(
    app: App,
    server: ServerProcess,
    profile: cProfile.Profile | None,
    stages: StageTimer | None = None,
) -> tuple[Cycle, Cycle]:
    """Two polls of every feed with one client and one poller, as the daemon keeps them."""
    async with make_client(app.policy) as client:
        poller = app.poller(client)
        before = server.stats()
        if profile is not None:
            profile.enable()
        started, cpu = time.perf_counter(), time.process_time()
        with stages.active() if stages is not None else contextlib.nullcontext():
            report = await poller.poll(app.feeds())
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        if profile is not None:
            profile.disable()
        after = server.stats()
        first = _cycle(report, seconds, cpu, after - before)
        del report
        say(f"  first cycle: {seconds:.2f} s; unchanged cycle ...")
        started, cpu = time.perf_counter(), time.process_time()
        report = await poller.poll(app.feeds())
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        second = _cycle(report, seconds, cpu, server.stats() - after)
    return first, second


class Helpers:
    """Watches the processes the poller starts (forkserver, parse workers) through /proc.

    Why: `ru_maxrss` of this process no longer covers all the work; a parse
    worker's memory and CPU belong in the figures too. Every 0.1 s each
    descendant of this process except the feed server is sampled for its
    peak RSS (VmHWM: pages shared with the forkserver count in both) and
    its CPU time (its own plus its reaped children's: the forkserver's
    includes the workers it forked once they have exited). Linux only;
    elsewhere nothing is found.
    """

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.peak_kb: dict[int, int] = {}
        self.cpu_s: dict[int, float] = {}
        self.parent: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="helper-watch", daemon=True)
        self._tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __enter__(self) -> Helpers:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            self._sample()

    def _sample(self) -> None:
        me, stats = os.getpid(), _proc_stats()
        family = {me}
        for _ in range(3):  # children, grandchildren, great-grandchildren
            family |= {pid for pid, (ppid, _, _) in stats.items() if ppid in family}
        for pid in family - {me, self.server_pid}:
            ppid, ticks, hwm = stats[pid]
            self.parent[pid] = ppid
            self.cpu_s[pid] = max(self.cpu_s.get(pid, 0.0), ticks / self._tick)
            self.peak_kb[pid] = max(self.peak_kb.get(pid, 0), hwm)

    def summary(self) -> dict[str, Any]:
        """Forkserver(s): this process's direct children; workers: theirs."""
        me = os.getpid()
        servers = [pid for pid, ppid in self.parent.items() if ppid == me]
        workers = [pid for pid, ppid in self.parent.items() if ppid in servers]
        return {
            "parse_workers": len(workers),
            "helper_cpu_s": round(sum(self.cpu_s[pid] for pid in servers), 2),
            "forkserver_peak_rss_mb": round(
                max((self.peak_kb[p] for p in servers), default=0) / 1024, 1
            ),
            "worker_peak_rss_mb": round(
                max((self.peak_kb[p] for p in workers), default=0) / 1024, 1
            ),
        }


def _proc_stats() -> dict[int, tuple[int, int, int]]:
    """pid -> (parent pid, CPU ticks incl. reaped children, VmHWM in kB), from /proc.

    Only this process's descendants (`/proc/<pid>/task/<tid>/children`): reading
    every process on a shared machine ten times a second took a tenth of the
    GIL from the cycle being measured.
    """
    found: dict[int, tuple[int, int, int]] = {}
    if not os.path.isdir("/proc"):
        return found
    todo = [os.getpid()]
    while todo:
        pid = todo.pop()
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            status = Path(f"/proc/{pid}/status").read_text()
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:  # gone meanwhile
            continue
        hwm = next(
            (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0
        )
        found[pid] = (int(stat[1]), sum(int(v) for v in stat[11:15]), hwm)
        for task in tasks:
            try:
                children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            except OSError:
                continue
            todo.extend(int(child) for child in children if int(child) not in found)
    return found


@dataclass
class Baseline:
    first_seconds: float
    second_seconds: float
    entries: int
    bozo: int
    not_modified: int


def feedparser_baseline(urls: Sequence[str]) -> Baseline:
    """Sequential `feedparser.parse(url)`; the second pass sends the validators it got.

    Each result is dropped once counted: only the validators are kept between passes.
    """
    entries = bozo = not_modified = 0
    validators: list[tuple[str | None, Any]] = []
    started = time.perf_counter()
    for url in urls:
        parsed = feedparser.parse(url)
        entries += len(parsed.entries)
        bozo += bool(parsed.get("bozo"))
        validators.append((parsed.get("etag"), parsed.get("modified")))
    first_seconds = time.perf_counter() - started
    say(f"  first pass: {first_seconds:.2f} s; second pass ...")
    started = time.perf_counter()
    for url, (etag, modified) in zip(urls, validators, strict=True):
        parsed = feedparser.parse(url, etag=etag, modified=modified)
        not_modified += parsed.get("status") == 304
    second_seconds = time.perf_counter() - started
    return Baseline(first_seconds, second_seconds, entries, bozo, not_modified)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _no_proxies() -> list[str]:
    """Drop proxy settings from this process so that every request stays on loopback."""
    names = [n for n in os.environ if n.lower() in ("http_proxy", "https_proxy", "all_proxy")]
    for name in names:
        del os.environ[name]
    return names


def _profile_text(profile: cProfile.Profile, top: int) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_FEEDS} feeds")
    parser.add_argument("--feeds", type=int, help=f"number of feeds (default {FEEDS})")
    parser.add_argument("--entries", type=int, default=ENTRIES, help="entries per feed")
    parser.add_argument("--hosts", type=int, default=HOSTS, help="loopback addresses to use")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="http.concurrency")
    parser.add_argument("--per-host", type=int, default=PER_HOST, help="polling.per_host")
    parser.add_argument(
        "--subscribers", type=int, default=SUBSCRIBERS, help="chats following the topic (fan-out)"
    )
    parser.add_argument(
        "--stages",
        action="store_true",
        help="CPU time per feed of each storing stage in the first cycle (bench/stages.py)",
    )
    parser.add_argument(
        "--profile",
        type=int,
        metavar="N",
        default=0,
        help="cProfile the first cycle; top N functions to stderr",
    )
    parser.add_argument(
        "--no-cluster", action="store_true", help="[cluster] enabled = false (the default is on)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    n_feeds = args.feeds if args.feeds is not None else QUICK_FEEDS if args.quick else FEEDS

    if dropped := _no_proxies():
        say(f"note: ignoring {', '.join(dropped)}: every request goes to 127.0.0.x")
    say(f"generating {n_feeds:,} feeds x {args.entries} entries in a server process ...")
    with (
        ServerProcess(n_feeds, args.entries, SEED, args.hosts) as server,
        tempfile.TemporaryDirectory(prefix="crackdown-bench-") as folder,
    ):
        manifest = server.manifest
        if manifest["note"]:
            say(f"note: {manifest['note']}")
        feeds = manifest["feeds"]
        say(
            f"  built in {manifest['build_seconds']:.1f} s; serving on "
            f"{', '.join(manifest['hosts'])} (pid {manifest['pid']})"
        )
        app = _app(feeds, Path(folder), args)
        profile = cProfile.Profile() if args.profile else None
        stages = StageTimer() if args.stages else None
        say("crackdown: first cycle ...")
        with Helpers(manifest["pid"]) as helpers:
            first, second = asyncio.run(crackdown_cycles(app, server, profile, stages))
            time.sleep(0.3)  # let the forkserver reap its workers: their CPU joins its own
        with app.db.session() as session:
            stored = session.scalar(select(func.count()).select_from(StoryRow)) or 0
        app.db.dispose()
        rss = peak_rss_mb()
        say("baseline: sequential feedparser.parse(url) ...")
        baseline = feedparser_baseline([f["url"] for f in feeds])
        server_stats = server.stats()

    for error in first.errors + second.errors:
        say(f"error: {error}")
    if stages is not None:
        say("first cycle, CPU ms per feed by stage (nested stages count in their parent too):")
        for name, ms in stages.per_feed_ms(n_feeds).items():
            say(f"  {name:32}{ms:8.2f}  ({stages.calls[name]:,} calls)")
    if profile is not None:
        say("profile of the first cycle (timings above are inflated by cProfile):")
        say(_profile_text(profile, args.profile))
    with_validators = sum(f["validators"] != "none" for f in feeds)
    first_fps = n_feeds / first.seconds
    baseline_fps = n_feeds / baseline.first_seconds
    report: dict[str, Any] = {
        "feeds": n_feeds,
        "entries": manifest["entries"],
        "xml_mb": round(manifest["xml_bytes"] / MB, 2),
        "gzip_feeds": sum(f["gzip"] for f in feeds),
        "validators": dict(Counter(f["validators"] for f in feeds)),
        "hosts": manifest["hosts"],
        "server": f"out of process (asyncio, pid {manifest['pid']})",
        "server_note": manifest["note"],
        "concurrency": args.concurrency,
        "per_host": args.per_host,
        "subscribers": args.subscribers,
        "first_seconds": round(first.seconds, 3),
        "first_feeds_per_s": round(first_fps, 1),
        "first_cpu_s": round(first.cpu_seconds, 2),
        **helpers.summary(),
        "first_statuses": dict(first.statuses),
        "first_failed": len(first.failed),
        "stories_stored": first.stories,
        "stories_in_db": stored,
        "stories_expected": manifest["unique_urls"],
        "also_reported": first.also_reported,
        "matched": first.matched,
        "watchlist_headlines": manifest["hit_entries"],
        "alerts_queued": first.queued,
        "first_mb_sent": round(first.server["bytes"] / MB, 2),
        "first_gzip_sent": first.server["gzip"],
        "first_connections": first.server["connections"],
        "unchanged_seconds": round(second.seconds, 3),
        "unchanged_cpu_s": round(second.cpu_seconds, 2),
        "unchanged_304": second.statuses["304"],
        "unchanged_304_expected": with_validators,
        "unchanged_statuses": dict(second.statuses),
        "unchanged_failed": len(second.failed),
        "unchanged_new_stories": second.stories,
        "unchanged_304_sent": second.server["304"],
        "baseline_first_seconds": round(baseline.first_seconds, 3),
        "baseline_first_feeds_per_s": round(baseline_fps, 1),
        "baseline_entries": baseline.entries,
        "baseline_bozo": baseline.bozo,
        "baseline_unchanged_seconds": round(baseline.second_seconds, 3),
        "baseline_unchanged_304": baseline.not_modified,
        "first_ratio": round(first_fps / baseline_fps, 2),
        "unchanged_ratio": round(baseline.second_seconds / second.seconds, 2),
        "peak_rss_mb": round(rss, 1),
        "peak_rss_mb_with_baseline": round(peak_rss_mb(), 1),
        "server_peak_rss_mb": round(server_stats["peak_rss_mb"], 1),
        "profiled": profile is not None,
        "stages_ms_per_feed": stages.per_feed_ms(n_feeds) if stages is not None else None,
        "pass_first": first_fps >= TARGET_FEEDS_PER_S,
        "pass_unchanged": second.seconds <= TARGET_UNCHANGED_S,
        "pass_first_ratio": first_fps / baseline_fps >= TARGET_RATIO,
        "pass_unchanged_ratio": baseline.second_seconds / second.seconds >= TARGET_RATIO,
        "pass_rss": rss <= TARGET_RSS_MB,
    }
    print(json.dumps(report) if args.json else render(report))
    return 0


def render(r: dict[str, Any]) -> str:
    """The figures as a table, then the checks, then the targets."""
    verdict = {True: "PASS", False: "FAIL"}

    def counts(statuses: dict[str, int]) -> str:
        return ", ".join(f"{n:,} x {s}" for s, n in sorted(statuses.items()))

    hosts = r["hosts"]
    head = [
        (
            "feeds",
            f"{r['feeds']:,} on {len(hosts)} hosts ({hosts[0]}..{hosts[-1]}), "
            f"{r['gzip_feeds']:,} gzip; validators "
            + ", ".join(f"{k} {v}" for k, v in sorted(r["validators"].items())),
        ),
        (
            "entries",
            f"{r['entries']:,} ({r['xml_mb']:.1f} MB of XML, "
            f"{r['stories_expected']:,} distinct stories)",
        ),
        (
            "settings",
            f"http.concurrency={r['concurrency']}, polling.per_host={r['per_host']}, "
            f"{r['subscribers']} subscribers following the topic",
        ),
        ("server", r["server"] + (f"; {r['server_note']}" if r["server_note"] else "")),
    ]
    lines = [f"{label:<9} {value}" for label, value in head]
    table = [
        ("", "crackdown", "feedparser", "speed-up"),
        (
            "first cycle (s)",
            f"{r['first_seconds']:.2f}",
            f"{r['baseline_first_seconds']:.2f}",
            f"{r['first_ratio']:.2f}x",
        ),
        (
            "first cycle (feeds/s)",
            f"{r['first_feeds_per_s']:.1f}",
            f"{r['baseline_first_feeds_per_s']:.1f}",
            "",
        ),
        (
            "unchanged cycle (s)",
            f"{r['unchanged_seconds']:.2f}",
            f"{r['baseline_unchanged_seconds']:.2f}",
            f"{r['unchanged_ratio']:.2f}x",
        ),
        (
            "unchanged cycle (304s)",
            f"{r['unchanged_304']:,}",
            f"{r['baseline_unchanged_304']:,}",
            "",
        ),
        ("peak RSS (MB)", f"{r['peak_rss_mb']:.0f}", "", ""),
    ]
    lines.append("")
    lines += [f"{a:<24}{b:>10}{c:>12}{d:>10}".rstrip() for a, b, c, d in table]
    lines += [
        "",
        f"first cycle      {counts(r['first_statuses'])}; {r['first_failed']} failed; "
        f"{r['first_mb_sent']:.1f} MB sent ({r['first_gzip_sent']:,} gzip-encoded) over "
        f"{r['first_connections']:,} connections",
        f"                 {r['stories_stored']:,} stories stored (expected "
        f"{r['stories_expected']:,}; {r['stories_in_db']:,} in the db), "
        f"{r['also_reported']:,} also-reported",
        f"                 {r['matched']:,} matched the topic ({r['watchlist_headlines']:,} "
        f"watchlist headlines planted), {r['alerts_queued']:,} alerts queued",
        f"unchanged cycle  {counts(r['unchanged_statuses'])} (304s expected: "
        f"{r['unchanged_304_expected']:,}, sent: {r['unchanged_304_sent']:,}); "
        f"{r['unchanged_failed']} failed, "
        f"{r['unchanged_new_stories']} new stories",
        f"baseline         {r['baseline_entries']:,} entries parsed, {r['baseline_bozo']} bozo",
        f"CPU              first cycle {r['first_cpu_s']:.1f} s in this process, "
        f"{r['helper_cpu_s']:.1f} s in {r['parse_workers']} parse worker(s) and their forkserver; "
        f"unchanged cycle {r['unchanged_cpu_s']:.1f} s",
        f"peak RSS         read after the crackdown cycles; {r['peak_rss_mb_with_baseline']:.0f} "
        f"MB after the baseline; the server process ({r['server_peak_rss_mb']:.0f} MB) is apart",
        f"                 forkserver {r['forkserver_peak_rss_mb']:.0f} MB, parse worker "
        f"{r['worker_peak_rss_mb']:.0f} MB (each counts the pages they share)",
        "speed-up         crackdown feeds/s over the baseline's; baseline seconds over crackdown's",
    ]
    if r["profiled"]:
        lines.append("note             profiled run: the first cycle's figures are inflated")
    targets = [
        (
            f"first cycle >= {TARGET_FEEDS_PER_S:g} feeds/s",
            f"{r['first_feeds_per_s']:.1f}",
            r["pass_first"],
        ),
        (
            f"unchanged cycle <= {TARGET_UNCHANGED_S:g} s",
            f"{r['unchanged_seconds']:.2f} s",
            r["pass_unchanged"],
        ),
        (
            f"first cycle >= {TARGET_RATIO:g}x feedparser",
            f"{r['first_ratio']:.2f}x",
            r["pass_first_ratio"],
        ),
        (
            f"unchanged cycle >= {TARGET_RATIO:g}x feedparser",
            f"{r['unchanged_ratio']:.2f}x",
            r["pass_unchanged_ratio"],
        ),
        (f"peak RSS <= {TARGET_RSS_MB:g} MB", f"{r['peak_rss_mb']:.0f} MB", r["pass_rss"]),
    ]
    lines += ["", "targets"]
    lines += [f"  {label:<34}{value:>10}  {verdict[ok]}" for label, value, ok in targets]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
