"""Spider crawling at scale: `SpiderRunner.crawl` over 2,000 loopback article pages, against httpx.

Why: issue 7 asks for pages/s and extraction ms per page of a crawl of 2,000 article pages
on loopback, and the house style asks for a baseline measured in the same run.

What: a deterministic site (fixed seed) on 8 loopback hosts, one spider source per host.
Half the hosts are Chinese regulators: GB2312 list pages read by `spider = "gov-notices"`
(titles in `title` attributes, dates in the rows, createPageHTML paging), GBK notice pages
with the charset only in `<meta>`, attachments. The other half are English news sites
in UTF-8 read by the generic spider (`links = "ul.list a"`, `next_page = "a.next"`). Every
article page is 6-9 KB of realistic markup (navigation, breadcrumbs, a related-links box,
a footer) around 6-10 paragraphs; about 5% carry a headline the default topic matches.

The pages are served by a small asyncio HTTP/1.1 server (keep-alive) in a child process,
one listening socket per 127.0.0.x (all loopback on Linux; 127.0.0.1 alone where the
others cannot be bound). Proxy variables are removed so that no request leaves loopback.

crackdown side, wired like `crackdown crawl --all`: `open_app(build_config(...))` on a
fresh SQLite file, a few subscribers following the topic, `app.spider_runner().crawl(
app.spiders())`: one child process runs the 8 spiders (Scrapy, robots.txt, AutoThrottle,
2 requests per host, `delay = 0`), and every source's stories are normalised, matched,
stored and fanned out as it finishes. pages/s counts article pages over the whole wall
time, child start included. "extraction" is the spider's own per-page work (decode the
charset, trafilatura, attachments: `crawler.spiders.article.article_story`) timed in this
process over a sample of the same pages.

Baseline: the obvious loop, sequential `httpx.Client.get` of each article URL,
`crawler.extract.decode_html` and `extract_article` (trafilatura); no list pages, no
robots.txt, no politeness, nothing stored. "speed-up" is crackdown's pages/s over it.

On loopback a response takes well under a millisecond, so this measures CPU per page, where
a tight sequential loop has nothing to wait for. `--latency MS` makes the server wait
before every answer, as a server far away does: then the spiders' concurrency across hosts
(AutoThrottle, 2 per host) is what counts, and the sequential loop waits for every page.

Run from the repository root: `python bench/crawl.py [--quick] [--pages N] [--latency MS]
[--json]`. Exits 0 unless the code under test raises.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from email.utils import formatdate
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from parsel import Selector

from crackdown.app import open_app
from crackdown.config import DEFAULT_TOPIC, build_config
from crawler.extract import charset_of, decode_html, extract_article
from crawler.spiders.article import ListEntry, article_story
from crawler.spiders.dates import zone_for
from crawler.spiders.decoding import decode_page
from crawler.spiders.job import SpiderSpec
from storage import subscribers as subscriber_store

SEED = 20240615
PAGES, QUICK_PAGES, HOSTS, PER_LIST, SUBSCRIBERS = 2000, 200, 8, 50, 5
EXTRACT_SAMPLE = 400
HIT_SHARE = 0.05

ZH_HITS = (
    "中国人民银行：坚决打击虚拟货币非法金融活动",
    "关于进一步防范和处置虚拟货币交易炒作风险的通知",
    "人民银行上海总部：持续整治虚拟货币交易炒作",
)
ZH_TITLES = (
    "关于开展{n}年金融知识普及月活动的通知",
    "{n}年第{q}季度支付机构行政处罚信息公示",
    "关于做好{n}年反洗钱宣传工作的通知",
    "{n}年{q}月金融运行情况",
    "关于公布银行业金融机构营业网点名录的公告",
)
ZH_HIT_LINE = "人民银行将会同有关部门依法严厉打击虚拟货币交易炒作，取缔相关非法金融活动。"
EN_HIT_LINE = "Police said they had frozen hundreds of bank accounts linked to the crypto network."
ZH_LINES = (
    "各金融机构要认真履行反洗钱义务，加强客户身份识别和可疑交易监测。",
    "本季度各项贷款平稳增长，金融支持实体经济力度持续加大。",
    "请各单位高度重视，精心组织，确保各项工作落到实处。",
    "金融消费者权益保护工作取得积极成效，投诉处理效率进一步提高。",
)
EN_HITS = (
    "PBoC warns banks over USDT OTC settlement as Shenzhen police freeze accounts",
    "China's central bank bans bitcoin OTC trading",
    "Guangzhou police bust underground bank that swapped yuan for USDT",
)
EN_TITLES = (
    "Bitcoin ETF inflows slow for a week {n}",
    "Ethereum developers schedule upgrade number {n}",
    "Crypto funds see a {q}th week of inflows",
    "Stablecoin supply climbs to a record in week {n}",
)
EN_LINES = (
    "The bank told lenders to screen for accounts that receive many small transfers.",
    "Analysts said the market had priced in most of the expected rate cuts this quarter.",
    "Trading volumes on the largest venues fell for a third straight session on Monday.",
    "The developers said the upgrade would cut fees for most users of the network.",
    "The exchange said its new listing rules would take effect at the end of the month.",
)
NAV = "".join(f'<li><a href="/section/{i}/">栏目{i}</a></li>' for i in range(20))


def _article(lang: str, title: str, date: str, rng: random.Random, files: int, hit: bool) -> str:
    lines = ZH_LINES if lang == "zh" else EN_LINES
    texts = [" ".join(rng.choices(lines, k=3)) for _ in range(rng.randint(6, 10))]
    if hit:
        texts.insert(1, ZH_HIT_LINE if lang == "zh" else EN_HIT_LINE)
    paragraphs = "".join(f"<p>{text}</p>" for text in texts)
    attachments = "".join(
        f'<p><a href="./P{date.replace("-", "")}{k}.pdf">附件{k + 1}：{title}.pdf</a></p>'
        for k in range(files)
    )
    related = "".join(f'<li><a href="/a/r{rng.randint(1, 9999)}.html">{t}</a></li>' for t in lines)
    charset = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    return (
        f"<!DOCTYPE html><html><head>{charset if lang == 'zh' else '<meta charset=utf-8>'}"
        f'<title>{title}_通知公告</title><meta name="PubDate" content="{date} 10:00">'
        f'<link rel="stylesheet" href="/s.css"></head><body><div class="header"><ul class="nav">'
        f'{NAV}</ul></div><div class="position">当前位置：<a href="/">首页</a> &gt; '
        f'<a href="/list/">通知公告</a></div><div class="detail"><h2>{title}</h2>'
        f'<div class="info">发布时间：{date} 10:00</div><div class="TRS_Editor">{paragraphs}</div>'
        f'<div class="fujian">{attachments}</div></div><div class="related"><h4>相关阅读</h4>'
        f'<ul>{related}</ul></div><div class="footer"><p>主办单位：某某机构 地址：某某路1号'
        f"</p><p>ICP备00000000号</p></div></body></html>"
    )


def _list_page(lang: str, rows: list[tuple[str, str, str]], page: int, pages: int) -> str:
    items = "".join(
        f'<li><a href="{href}" title="{title}">{title}</a><span class="date">{date}</span></li>'
        for href, title, date in rows
    )
    if lang == "zh":
        pager = f'<script>createPageHTML({pages}, {page}, "index", "html");</script>'
        head = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
    else:
        nxt = f"index_{page + 1}.html"
        pager = f'<a class="next" href="{nxt}">Next</a>' if page + 1 < pages else ""
        head = "<meta charset=utf-8>"
    return (
        f"<html><head>{head}<title>List</title></head><body><ul class='nav'>{NAV}</ul>"
        f'<ul class="list">{items}</ul><div class="page">{pager}</div></body></html>'
    )


def make_site(
    pages: int, hosts: int, seed: int
) -> tuple[dict[tuple[int, str], tuple[str, bytes]], int]:
    """{(host, path): (content type, body)} and the number of matching headlines planted."""
    rng = random.Random(seed)
    docs: dict[tuple[int, str], tuple[str, bytes]] = {}
    hits = 0
    per_host = [pages // hosts + (1 if h < pages % hosts else 0) for h in range(hosts)]
    for host, count in enumerate(per_host):
        lang = "zh" if host % 2 == 0 else "en"
        encoding = "gbk" if lang == "zh" else "utf-8"
        content_type = "text/html" if lang == "zh" else "text/html; charset=utf-8"
        rows = []
        for i in range(count):
            date = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}"
            hit = rng.random() < HIT_SHARE
            if hit:
                title = rng.choice(ZH_HITS if lang == "zh" else EN_HITS) + f"（{i}）"
                hits += 1
            else:
                title = rng.choice(ZH_TITLES if lang == "zh" else EN_TITLES)
                title = title.format(n=2000 + i, q=1 + i % 4)
            path = f"/list/{date[:7].replace('-', '')}/t{host}_{i}.html"
            body = _article(lang, title, date, rng, files=rng.choice((0, 0, 1, 2)), hit=hit)
            docs[(host, path)] = (content_type, body.encode(encoding))
            rows.append((path, title, date))
        list_pages = max(1, math.ceil(count / PER_LIST))
        for page in range(list_pages):
            name = "/list/index.html" if page == 0 else f"/list/index_{page}.html"
            chunk = rows[page * PER_LIST : (page + 1) * PER_LIST]
            html = _list_page(lang, chunk, page, list_pages)
            docs[(host, name)] = (content_type, html.encode(encoding))
        docs[(host, "/robots.txt")] = ("text/plain", b"User-agent: *\nDisallow: /admin/\n")
    return docs, hits


class PageServer:
    """HTTP/1.1 with keep-alive; serves `docs` for the host each socket stands for."""

    def __init__(self, docs: dict[tuple[int, str], tuple[str, bytes]], latency: float) -> None:
        self.docs = docs
        self.latency = latency  # seconds before each answer: a server far away
        self.stats: Counter[str] = Counter()

    def handler(self, host: int):
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while True:
                    try:
                        head = await reader.readuntil(b"\r\n\r\n")
                    except (asyncio.IncompleteReadError, ConnectionError):
                        return
                    path = head.split(b" ", 2)[1].decode("latin-1").split("?", 1)[0]
                    if self.latency:
                        await asyncio.sleep(self.latency)
                    found = self.docs.get((host, path))
                    status, content_type, body = (
                        ("200 OK", *found) if found else ("404 Not Found", "text/plain", b"no")
                    )
                    self.stats[status[:3]] += 1
                    writer.write(
                        (
                            f"HTTP/1.1 {status}\r\nDate: {formatdate(usegmt=True)}\r\n"
                            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
                        ).encode("latin-1")
                        + body
                    )
                    await writer.drain()
            finally:
                writer.close()

        return handle


async def _serve(conn: Connection, pages: int, hosts: int, seed: int, latency: float) -> None:
    docs, hits = make_site(pages, hosts, seed)
    server = PageServer(docs, latency)
    listeners: list[asyncio.Server] = []
    note = ""
    for host in range(hosts):
        address = f"127.0.0.{host + 1}"
        try:
            listeners.append(await asyncio.start_server(server.handler(host), address, 0))
        except OSError as exc:
            note = f"cannot bind {address} ({exc}); hosts share 127.0.0.1 by port"
            listeners.append(await asyncio.start_server(server.handler(host), "127.0.0.1", 0))
    bases = ["http://{}:{}".format(*s.sockets[0].getsockname()[:2]) for s in listeners]
    articles = [
        (bases[host], path, content_type, body)
        for (host, path), (content_type, body) in docs.items()
        if "/t" in path
    ]
    conn.send({"bases": bases, "articles": articles, "hits": hits, "note": note})
    loop = asyncio.get_running_loop()
    while (command := await loop.run_in_executor(None, conn.recv)) != "stop":
        if command == "stats":
            conn.send(dict(server.stats))
    for listener in listeners:
        listener.close()


def serve(conn: Connection, pages: int, hosts: int, seed: int, latency: float) -> None:
    asyncio.run(_serve(conn, pages, hosts, seed, latency))


class ServerProcess:
    def __init__(self, pages: int, hosts: int, seed: int, latency: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(
            target=serve, args=(child, pages, hosts, seed, latency), daemon=True
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
            self.process.terminate()


def _sources(bases: Sequence[str], per_host: int) -> list[dict[str, Any]]:
    sources = []
    for host, base in enumerate(bases):
        zh = host % 2 == 0
        source: dict[str, Any] = {
            "key": f"host-{host + 1}",
            "kind": "spider",
            "url": f"{base}/list/index.html",
            "lang": "zh" if zh else "en",
            "max_pages": max(1, math.ceil(per_host / PER_LIST)),
            "max_articles": per_host,
        }
        if zh:
            source["spider"] = "gov-notices"
        else:
            source.update(links="ul.list a", next_page="a.next")
        sources.append(source)
    return sources


def crackdown_crawl(bases: Sequence[str], per_host: int, folder: Path) -> dict[str, Any]:
    document = {
        "storage": {"url": f"sqlite:///{folder / 'bench.db'}"},
        "crawl": {
            "delay": "0",
            "per_domain": 2,
            "timeout": "30s",
            "retries": 0,
            "batch_size": len(bases),
            "batch_timeout": "30m",
            "max_articles": 1000,
        },
        "sources": _sources(bases, per_host),
    }
    app = open_app(build_config(document, {}))
    try:
        with app.db.session() as session:
            for chat in range(SUBSCRIBERS):
                subscriber_store.subscribe(session, 10_000 + chat, topic=DEFAULT_TOPIC)
        runner = app.spider_runner()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu, started = time.process_time(), time.perf_counter()
        report = asyncio.run(runner.crawl(app.spiders()))
        seconds = time.perf_counter() - started
        cpu = time.process_time() - cpu
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        app.db.dispose()
    child_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    pages = sum(r.pages for r in report.results)
    return {
        "seconds": seconds,
        "article_pages": pages,
        "list_pages": sum(r.list_pages for r in report.results),
        "items": sum(r.items for r in report.results),
        "errors": sum(r.errors for r in report.results),
        "failed_sources": report.failed,
        "stories": report.stories,
        "matched": report.matched,
        "queued": report.queued,
        "pages_per_s": pages / seconds if seconds else 0.0,
        "parent_cpu_s": cpu,
        "child_cpu_s": child_cpu,
        "child_peak_rss_mb": after.ru_maxrss / 1024,
    }


def extraction_ms(articles: Sequence[tuple[str, str, str, bytes]], sample: int) -> float:
    """The spider's per-page work, in this process: decode, trafilatura, attachments."""
    chosen = articles[:: max(1, len(articles) // sample)][:sample]
    spec = SpiderSpec("bench", ("http://127.0.0.1/",), lang="zh")
    extract_article("<html><body><p>warm up</p></body></html>")
    started = time.perf_counter()
    for base, path, content_type, body in chosen:
        decoded = decode_page(body, content_type)
        page = Selector(text=decoded.text)
        article_story(page, decoded.text, base + path, spec, ListEntry(base + path), zone_for("zh"))
    return (time.perf_counter() - started) * 1000 / len(chosen)


def httpx_baseline(articles: Sequence[tuple[str, str, str, bytes]]) -> dict[str, Any]:
    """Sequential fetch + decode + trafilatura of every article page; nothing stored."""
    extracted = 0
    started = time.perf_counter()
    with httpx.Client(timeout=30) as client:
        for base, path, _content_type, _body in articles:
            response = client.get(base + path)
            html = decode_html(
                response.content, charset_of(response.headers.get("content-type", ""))
            )
            extracted += bool(extract_article(html, base + path).text)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "pages": len(articles),
        "extracted": extracted,
        "pages_per_s": len(articles) / seconds if seconds else 0.0,
    }


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PAGES} pages")
    parser.add_argument("--pages", type=int, help=f"article pages (default {PAGES})")
    parser.add_argument("--hosts", type=int, default=HOSTS, help="loopback hosts (sources)")
    parser.add_argument("--extract-sample", type=int, default=EXTRACT_SAMPLE)
    parser.add_argument(
        "--latency", type=float, default=0.0, help="ms the server waits before each answer"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    pages = args.pages or (QUICK_PAGES if args.quick else PAGES)
    for name in [n for n in os.environ if n.lower() in ("http_proxy", "https_proxy", "all_proxy")]:
        del os.environ[name]
        say(f"note: ignoring {name}: every request goes to 127.0.0.x")
    say(f"serving {pages:,} article pages on {args.hosts} loopback hosts ...")
    latency = args.latency / 1000
    with (
        ServerProcess(pages, args.hosts, SEED, latency) as server,
        tempfile.TemporaryDirectory() as tmp,
    ):
        manifest = server.manifest
        if manifest["note"]:
            say(f"note: {manifest['note']}")
        per_host = math.ceil(pages / args.hosts)
        say("crackdown: crawling (one child process, Scrapy) and storing ...")
        crawl = crackdown_crawl(manifest["bases"], per_host, Path(tmp))
        served = server.stats()
        say("extraction, in this process ...")
        ms = extraction_ms(manifest["articles"], args.extract_sample)
        say("baseline: sequential httpx + trafilatura ...")
        baseline = httpx_baseline(manifest["articles"])
    figures = {
        "pages": pages,
        "hosts": args.hosts,
        "latency_ms": args.latency,
        "planted_hits": manifest["hits"],
        "crackdown": crawl,
        "served": dict(served),
        "extraction_ms_per_page": ms,
        "baseline": baseline,
        "speedup": crawl["pages_per_s"] / baseline["pages_per_s"] if baseline["pages_per_s"] else 0,
    }
    print(json.dumps(figures, indent=2) if args.json else render(figures))
    return 0


def render(f: dict[str, Any]) -> str:
    c, b = f["crackdown"], f["baseline"]
    return "\n".join(
        [
            f"crawl of {f['pages']:,} article pages on {f['hosts']} loopback hosts "
            f"({f['hosts']} spider sources, one child process; "
            f"server latency {f['latency_ms']:g} ms)",
            f"  crackdown  : {c['seconds']:.1f} s, {c['pages_per_s']:.1f} article pages/s "
            f"({c['article_pages']:,} articles + {c['list_pages']} list pages; "
            f"{c['errors']} errors, failed sources: {c['failed_sources'] or 'none'})",
            f"               stored {c['stories']:,} stories, {c['matched']} matched "
            f"(planted {f['planted_hits']}), {c['queued']} alerts queued",
            f"               CPU: child {c['child_cpu_s']:.1f} s (peak RSS "
            f"{c['child_peak_rss_mb']:.0f} MB), this process {c['parent_cpu_s']:.1f} s",
            f"  extraction : {f['extraction_ms_per_page']:.1f} ms/page "
            "(decode + trafilatura + attachments, in-process sample)",
            f"  baseline   : {b['seconds']:.1f} s, {b['pages_per_s']:.1f} pages/s "
            "(sequential httpx + trafilatura, articles only, nothing stored)",
            f"  speed-up   : {f['speedup']:.2f}x",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
