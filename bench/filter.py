"""Throughput of the filter: `crawler.matcher.Matcher.match` against a regex baseline.

Why: the project's issue sets two targets for the full matcher (NFKC/case/
traditional folding, word boundaries, topic rules, snippets) with the built-in
watchlist plus 10,000 subscriber phrases compiled into one automaton, over
50 MB of ~4 KB news documents: >= 40 MB/s of UTF-8 text (title + summary), and
>= 10x a naive baseline, one compiled `re` alternation of the same terms.

What: a deterministic corpus (fixed seed) of template sentences over an ordinary
vocabulary, half English and half Chinese by bytes. Watchlist aliases are planted
about once per 250 characters, 60% of reported entities and the rest rule-only
signals (as written, traditional Chinese, UPPER CASE, full-width Latin;
acronyms exactly as written). Filler words that the watchlist names ("court",
"Beijing") are left out so that density holds. Subscriber phrases come about once
per 900 and near-misses that must not match (HOTCAKE, silicon, icon, ...) about
once per 1,200; a near-miss the watchlist does name is dropped with a note. An
independent oracle counts the reported entity hits each story should give, so
the matcher's hits can be checked. Stories are normalised before timing; only
`matcher.match` is timed (best of 2 passes). Memory of the automaton: tracemalloc
(Python heap only) and process RSS growth (the Rust automaton allocates natively,
so RSS is the figure that counts).

Run from the repository root: `python bench/filter.py [--quick] [--mb N]
[--phrases N] [--baseline-mb N] [--runs N] [--against DIR] [--json]`. Exits 0 unless
the code under test raises.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import inspect
import json
import os
import pickle
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import partial
from itertools import accumulate
from pathlib import Path
from typing import Any

from crawler.fold import fold
from crawler.genre import GENRE
from crawler.inflect import alias_forms
from crawler.matcher import LEAD_ONLY, Matcher
from crawler.normalize import normalise
from crawler.types import RawStory, Story
from crawler.watchlist import Watchlist, builtin_watchlist

SEED = 20240601
MB = 1_000_000
DOC_BYTES = 4096
TITLE_CHARS = 60  # a title takes whole sentences up to at least this many characters (~80)
ALIAS_EVERY, PHRASE_EVERY, NEAR_EVERY = 250, 900, 1200  # characters per planted term
REPORTED_SHARE = 0.6  # of planted aliases; the rest are rule-only signals (places, actions)
TARGET_MBPS, TARGET_RATIO = 40.0, 10.0
FETCHED_AT = datetime(2024, 6, 1, tzinfo=UTC)

Pool = list[tuple[str, int, int, int]]  # (sentence, UTF-8 bytes, reported hits, any aliases)

EN_WORDS = {
    "adj": "new local regional national major small large recent annual strong weak stable digital"
    " public private foreign domestic senior early late key",
    "noun": "market report company official policy plan investor trader price growth economy"
    " budget agency council meeting statement analyst sector industry quarter revenue profit"
    " share fund index loan deposit payment account platform service network customer user"
    " district court ruling tax export factory supply demand energy housing project contract",
    "verb": "announced reviewed approved rejected discussed expanded reduced increased released"
    " issued confirmed denied delayed launched updated",
    "place": "Beijing|Shanghai|Shenzhen|Guangzhou|Hangzhou|Hong Kong|Singapore|Tokyo|London"
    "|Chengdu|Wuhan|Tianjin|Macau|Seoul|the city|the region|the province|the district",
    "day": "Monday|Tuesday|Wednesday|Thursday|Friday|last week|this month|this year",
    "source": "officials said|analysts noted|a spokesperson said|state media reported"
    "|people familiar with the matter said",
}
EN_TEMPLATES = (
    "The {adj} {noun} in {place} {verb} a {adj} {noun} on {day}, {source}.",
    "{place} {noun} {verb} its {noun} {noun} after the {adj} {noun}, {source}.",
    "According to the {noun} {noun}, the {adj} {noun} rose {num} percent in the {adj} {noun}.",
    "Shares of the {adj} {noun} fell {num} percent on {day} as the {noun} {verb} its {noun}.",
    "A {adj} {noun} from {place} {verb} that the {noun} would be {verb} by the end of the {noun}.",
    "Investors {verb} the {adj} {noun} while the {noun} {noun} remained {adj}, {source}.",
)
ZH_WORDS = {
    "adj": "新的 地方 区域 全国 主要 小型 大型 近期 年度 稳定 数字 公共 私营 国外 国内 重点",
    "noun": "市场 报告 公司 官员 政策 计划 投资者 价格 经济 预算 机构 会议 声明 分析师 行业 季度"
    " 收入 利润 股票 基金 指数 贷款 存款 账户 平台 服务 网络 客户 用户 地区 法院 税收 出口 工厂"
    " 供应 需求 能源 住房 项目 合同",
    "verb": "宣布了 审查了 批准了 否决了 讨论了 扩大了 减少了 增加了 发布了 确认了 否认了 推迟了"
    " 推出了 更新了",
    "place": "北京 上海 深圳 广州 杭州 香港 新加坡 东京 伦敦 成都 武汉 天津 澳门 首尔"
    " 该市 该地区 各地",
    "day": "周一 周二 周三 周四 周五 上周 本月 今年",
    "source": "官员表示 分析人士指出 发言人称 官方媒体报道 知情人士透露",
}
ZH_TEMPLATES = (  # '|' separates the tokens a term may be inserted between
    "{place}|的|{adj}|{noun}|{day}|{verb}|{adj}|{noun}|，|{source}|。",
    "据|{noun}|{noun}|显示|，|{adj}|{noun}|{day}|增长|{num}|%|。",
    "{source}|，|{place}|{noun}|{verb}|{noun}|{noun}|。",
    "{adj}|{noun}|的|{noun}|在|{place}|{verb}|{num}|个|{noun}|。",
    "{day}|，|{place}|{adj}|{noun}|表示|{noun}|{noun}|保持|{adj}|。",
)
# Subscriber phrases come from their own vocabulary; the corpus holds them only where planted.
EN_PHRASE_WORDS = (
    "lithium semiconductor tariff stablecoin mining farm wallet ledger token miner hashrate"
    " exchange custody remittance gambling laundering fraud scam lottery casino arcade"
    " sanctions compliance audit license broker dealer futures options derivatives margin"
    " leverage collateral yield staking airdrop metaverse blockchain node validator"
    " oracle bridge hacker exploit breach phishing ransom police arrest prosecutor"
    " verdict appeal tribunal ministry commission bureau inspection hotline whistleblower"
)
ZH_PHRASE_WORDS = (
    "锂电池 半导体 关税 稳定币 矿场 钱包 账本 通证 矿工 算力 交易所 托管 汇款 赌博 洗钱 诈骗"
    " 彩票 赌场 制裁 合规 审计 牌照 经纪商 期货 期权 衍生品 保证金 杠杆 抵押品 收益 质押 空投"
    " 元宇宙 区块链 节点 验证者 智能合约 预言机 跨链桥 黑客 漏洞 泄露 钓鱼 勒索 警方 逮捕 检察官"
    " 判决 上诉 仲裁 商务部 委员会 总局 巡视 热线 举报人"
)
NEAR_MISSES = {
    "en": "HOTCAKE|hotcakes|silicon|Mexico|icon|banner|bandwidth|halter|cryptography|bitcoiners"
    "|cutoff|shutdown|central banks|antique|freezers|outlawry",
    "zh": "人民币 比特 支付 虚拟 加密 外交 银行 蚂蚁 微信 首次 清理 发行",
}
FULLWIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)} | {0x20: 0x3000}
_SLOT = re.compile(r"\{(\w+)\}")


def _split(words: str) -> list[str]:
    """Word lists are written as one string: '|'-separated where items have spaces."""
    return words.split("|") if "|" in words else words.split()


def _trie_regex(words: Iterable[str], flags: int = 0) -> re.Pattern[str]:
    """Terms as one trie-shaped lookahead (fast in `re`): the longest term starting at each
    position, in group 1; Latin ends need an ASCII letter/digit boundary."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any], last: str) -> str:
        alts = [re.escape(c) + emit(child, c) for c, child in sorted(node.items()) if c]
        if "" in node:
            alts.append(r"(?![A-Za-z0-9])" if _is_word(last) else "")
        return alts[0] if len(alts) == 1 else f"(?:{'|'.join(alts)})"

    top = [
        ("(?<![A-Za-z0-9])" if _is_word(c) else "") + re.escape(c) + emit(child, c)
        for c, child in sorted(trie.items())
    ]
    return re.compile(f"(?=({'|'.join(top) or '(?!)'}))", flags)


def _is_word(char: str) -> bool:
    return char.isascii() and char.isalnum()


class Oracle:
    """Counts planted entities by the watchlist's documented rules, not the matcher's code:
    aliases compared in `crawler.fold`'s normal form with their regular English forms
    (`crawler.inflect`), acronyms exact, ASCII word boundaries for Latin ends, a hit inside
    a longer one loses (an acronym wins an identical span) unless it is a reported crypto
    word inside a reported non-crypto name, hits that only overlap both stand, an entity
    counts with what it `implies`, only `report` entities count (one hit per entity and
    occurrence); lead-only words (market talk, rule-making) and the genre check's words
    (crawler/genre.py, read apart from the main scan) are no entity hits."""

    def __init__(self, watchlist: Watchlist) -> None:
        self.aliases: dict[str, set[str]] = {}  # folded alias -> reported entity keys
        self.acronyms: dict[str, set[str]] = {}
        by_key = {e.key: e for e in watchlist.entities}
        self.inner = {e.key for e in watchlist.entities if e.report and e.category == "crypto"}
        self.outer = {e.key for e in watchlist.entities if e.report and e.category != "crypto"}
        self.owner: dict[str, set[str]] = {}  # folded alias -> the entities that list it
        main_scan = [
            e for e in watchlist.entities if e.category not in LEAD_ONLY and e.category != GENRE
        ]
        written = {fold(a).strip() for e in main_scan for a in e.aliases}  # as the scan has them
        for entity in watchlist.entities:
            if entity.category in LEAD_ONLY or entity.category == GENRE:
                continue
            implied = [entity.key]
            for key in implied:
                more = getattr(by_key[key], "implies", ())
                implied.extend(k for k in more if k in by_key and k not in implied)
            keys = {k for k in implied if by_key[k].report}
            for alias in entity.aliases:
                folded = fold(alias).strip()
                forms = alias_forms(folded) if folded.isascii() else [folded]
                for form in forms:
                    if form == folded or form not in written:
                        self.aliases.setdefault(form, set()).update(keys)
                        self.owner.setdefault(form, set()).add(entity.key)
            for acronym in entity.acronyms:
                self.acronyms.setdefault(acronym, set()).update(keys)
        self._aliases = _trie_regex(self.aliases)
        self._acronyms = _trie_regex(self.acronyms)

    def spans(self, text: str) -> list[tuple[int, int, frozenset[str]]]:
        folded: dict[tuple[int, int], set[str]] = {}
        exact: dict[tuple[int, int], set[str]] = {}
        for regex, names, haystack, found in (
            (self._aliases, self.aliases, fold(text), folded),
            (self._acronyms, self.acronyms, text, exact),
        ):
            for m in regex.finditer(haystack):  # the longest term at every position
                found.setdefault(m.span(1), set()).update(names[m[1]])
                term, start = m[1], m.start(1)
                for cut in range(1, len(term)):  # and the terms it begins with
                    head = term[:cut]
                    if head in names and not (_is_word(head[-1]) and _is_word(term[cut])):
                        found.setdefault((start, start + cut), set()).update(names[head])
        found = folded | exact
        kept: list[tuple[int, int, frozenset[str]]] = []
        owners: list[set[str]] = []
        for (start, end), keys in sorted(found.items(), key=lambda f: f[0][0] - f[0][1]):
            mine = self.owner.get(fold(text)[start:end], set()) if (start, end) in folded else keys
            inside = [
                o for (k0, k1, _), o in zip(kept, owners, strict=True) if k0 <= start and end <= k1
            ]
            if all(mine & self.inner and o & self.outer for o in inside):
                kept.append((start, end, frozenset(keys)))
                owners.append(set(mine))
        return kept

    def count(self, text: str) -> tuple[int, int]:
        """Reported entity hits, and aliases of any entity, in `text`."""
        spans = self.spans(text)
        return sum(len(keys) for _, _, keys in spans), len(spans)


def make_phrases(count: int, rng: random.Random) -> list[str]:
    """`count` distinct phrases: English 1-3 words, Chinese 2-6 characters, half each."""
    en: dict[str, None] = {}
    zh: dict[str, None] = {}
    while len(en) < count - count // 2:
        en[" ".join(rng.sample(_split(EN_PHRASE_WORDS), rng.choice((1, 2, 2, 3, 3))))] = None
    zh_words = _split(ZH_PHRASE_WORDS)
    while len(zh) < count // 2:
        size, parts = rng.randint(2, 6), []
        while sum(map(len, parts)) < size:
            parts.append(rng.choice(zh_words))
        if len(phrase := "".join(parts)) <= 6:
            zh[phrase] = None
    return [*en, *zh]


def _pool(
    lang: str, size: int, rng: random.Random, oracle: Oracle, pick: Callable[[], str] | None = None
) -> Pool:
    """`size` template sentences with one `pick()`ed term each, and what the oracle counts."""
    words = {slot: _split(v) for slot, v in (EN_WORDS if lang == "en" else ZH_WORDS).items()}
    for slot, choices in words.items():  # "court", "Beijing" are watchlist aliases: not filler
        words[slot] = [w for w in choices if not oracle.spans(w)] or choices
    templates, split, sep = (EN_TEMPLATES, " ", " ") if lang == "en" else (ZH_TEMPLATES, "|", "")

    def fill(slot: re.Match[str]) -> str:
        return str(rng.randint(2, 95)) if slot[1] == "num" else rng.choice(words[slot[1]])

    pool: Pool = []
    while len(pool) < size:
        tokens = [_SLOT.sub(fill, t) for t in rng.choice(templates).split(split)]
        shown = list(tokens)
        if pick is not None:
            term, at = pick(), rng.randrange(1, len(tokens))
            tokens.insert(at, term)
            shown.insert(at, _variant(term, rng, exact=term in oracle.acronyms))
        text = sep.join(shown)
        pool.append((text, len(text.encode()), *oracle.count(sep.join(tokens))))
    return pool


def _variant(term: str, rng: random.Random, *, exact: bool) -> str:
    """Latin terms: a fifth UPPER CASE (not acronyms), a fifth full-width; the rest as written."""
    roll = rng.random() if term.isascii() else 1.0
    if roll < 0.2:
        return term if exact else term.upper()
    return term.translate(FULLWIDTH) if roll < 0.4 else term


def make_corpus(
    target: int, watchlist: Watchlist, phrases: Sequence[str], rng: random.Random
) -> tuple[list[Story], list[tuple[int, int]]]:
    """~4 KB stories alternating English/Chinese; reported entity hits and aliases planted."""
    oracle = Oracle(watchlist)
    terms: dict[tuple[bool, bool], list[str]] = {}  # (reported, Latin) -> aliases and acronyms
    for entity in watchlist.entities:
        for term in (*entity.aliases, *entity.acronyms):
            terms.setdefault((entity.report, term.isascii()), []).append(term)

    def pick(lang: str) -> str:
        reported = rng.random() < REPORTED_SHARE
        latin = lang == "en" or rng.random() < 0.25
        return rng.choice(terms.get((reported, latin)) or terms.get((reported, not latin)) or [""])

    plan = []
    for lang in ("en", "zh"):
        near = [t for t in _split(NEAR_MISSES[lang]) if not oracle.spans(t)]
        if dropped := [t for t in _split(NEAR_MISSES[lang]) if t not in near]:
            say(f"note: near-misses that the watchlist now names, not planted: {dropped}")
        ours = [p for p in phrases if p.isascii() == (lang == "en")] or ["placeholder"]
        plain = _pool(lang, 4000, rng, oracle)
        chars = sum(len(s) for s, *_ in plain) / len(plain)
        pools = [
            (chars / ALIAS_EVERY, _pool(lang, 3000, rng, oracle, partial(pick, lang))),
            (chars / PHRASE_EVERY, _pool(lang, 1500, rng, oracle, partial(rng.choice, ours))),
        ]
        if near:
            near_pool = _pool(lang, 500, rng, oracle, partial(rng.choice, near))
            pools.append((chars / NEAR_EVERY, near_pool))
        plan.append((lang, " " if lang == "en" else "", plain, pools))
    stories: list[Story] = []
    planted: list[tuple[int, int]] = []
    total = 0
    while total < target:
        lang, sep, plain, pools = plan[len(stories) % 2]
        parts: list[str] = []
        size = found = aliases = 0
        while size < DOC_BYTES:
            roll, pool = rng.random(), plain
            for share, candidates in pools:
                if roll < share:
                    pool = candidates
                    break
                roll -= share
            text, nbytes, reported, named = pool[rng.randrange(len(pool))]
            parts.append(text)
            size, found, aliases = size + nbytes + len(sep), found + reported, aliases + named
        head = next(i for i in range(1, len(parts) + 1) if len(sep.join(parts[:i])) >= TITLE_CHARS)
        url = f"https://news.example/{lang}/{len(stories)}"
        raw = RawStory("bench", url, sep.join(parts[:head]), sep.join(parts[head:]), lang=lang)
        story = normalise(raw, fetched_at=FETCHED_AT)
        stories.append(story)
        planted.append((found, aliases))
        total += _nbytes(story)
    return stories, planted


def _nbytes(story: Story) -> int:
    return len(story.title.encode()) + len(story.summary.encode())


def rss_kb() -> int:
    """Resident set size of this process (VmRSS), 0 where /proc is missing."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0
    lines = (line.split() for line in status.splitlines())
    return next((int(f[1]) for f in lines if f and f[0] == "VmRSS:"), 0)


def _load() -> str:
    """The 1-minute load average ("?" where the OS has none): how busy the machine was."""
    try:
        return f"{os.getloadavg()[0]:.2f}"
    except OSError:
        return "?"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def build_matcher(watchlist: Watchlist, phrases: Sequence[str]) -> Matcher:
    """`Matcher(watchlist, phrases=...)`, or `Matcher(watchlist)` where it takes no phrases."""
    if takes_phrases():
        return Matcher(watchlist, phrases=phrases)
    return Matcher(watchlist)


def takes_phrases() -> bool:
    return "phrases" in inspect.signature(Matcher).parameters


def measure_build(watchlist: Watchlist, phrases: Sequence[str]) -> tuple[Matcher, dict[str, Any]]:
    """Build the matcher; its build time, RSS growth, tracemalloc peak/retained, automaton stats."""
    gc.collect()
    rss_before, started = rss_kb(), time.perf_counter()
    matcher = build_matcher(watchlist, phrases)
    seconds, rss_after = time.perf_counter() - started, rss_kb()
    tracemalloc.start()  # a second build: tracemalloc's own bookkeeping would inflate the RSS
    again = build_matcher(watchlist, phrases)
    gc.collect()
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del again
    automaton = getattr(matcher, "_automaton", None)
    return matcher, {
        "build_seconds": round(seconds, 3),
        "rss_growth_mb": round((rss_after - rss_before) * 1024 / MB, 2),
        "tracemalloc_peak_mb": round(peak / MB, 2),
        "tracemalloc_retained_mb": round(retained / MB, 2),
        "automaton_stats": automaton.get_stats() if hasattr(automaton, "get_stats") else None,
    }


def time_baseline(terms: Sequence[str], stories: Sequence[Story]) -> tuple[float, int]:
    """Seconds for one pass of one `re` alternation (longest first) over title + summary."""
    ordered = sorted(terms, key=lambda t: (-len(t), t))
    regex = re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE)
    started = time.perf_counter()
    found = sum(1 for s in stories for text in (s.title, s.summary) for _ in regex.finditer(text))
    return time.perf_counter() - started, found


class Other:
    """Another revision's matcher in a child process (bench/filter_other.py), timed
    pass for pass with this one so that both figures come from the same machine state."""

    def __init__(self, checkout: str, phrases: Sequence[str], stories: Sequence[Story]) -> None:
        self.checkout = checkout
        self._corpus = tempfile.NamedTemporaryFile(suffix=".pickle")  # noqa: SIM115
        fields = [dataclasses.asdict(story) for story in stories]
        self._corpus.write(pickle.dumps((list(phrases), fields)))
        self._corpus.flush()
        env = dict(os.environ, PYTHONPATH=str(Path(checkout).resolve()))
        script = Path(__file__).with_name("filter_other.py")
        self._child = subprocess.Popen(
            [sys.executable, str(script), self._corpus.name],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._read()  # ready: built
        self.passes: list[dict[str, float]] = []

    def _read(self) -> dict[str, Any]:
        assert self._child.stdout is not None
        line = self._child.stdout.readline()
        if not line:
            raise RuntimeError(f"the matcher of {self.checkout} failed (see stderr)")
        return dict(json.loads(line))

    def one_pass(self) -> None:
        assert self._child.stdin is not None
        self._child.stdin.write("go\n")
        self._child.stdin.flush()
        self.passes.append(self._read())

    def close(self) -> None:
        """End the child (its passes are kept)."""
        assert self._child.stdin is not None
        if not self._child.stdin.closed:
            self._child.stdin.close()
        self._child.wait()
        self._corpus.close()

    def report(self, total: int, walls: Sequence[float], cpus: Sequence[float]) -> dict[str, Any]:
        """Its median MB/s and the median ratio of pass times (this one's speed over its),
        by wall time and by CPU time."""
        self.close()
        theirs = [p["wall"] for p in self.passes]
        their_cpus = [p["cpu"] for p in self.passes]
        return {
            "against": self.checkout,
            "against_mbps": round(total / MB / statistics.median(theirs), 2),
            "against_cpu_mbps": round(total / MB / statistics.median(their_cpus), 2),
            "against_cpu_share": round(sum(their_cpus) / sum(theirs), 2),
            "ratio_vs_against": round(
                statistics.median(t / w for t, w in zip(theirs, walls, strict=True)), 3
            ),
            "ratio_vs_against_cpu": round(
                statistics.median(t / c for t, c in zip(their_cpus, cpus, strict=True)), 3
            ),
        }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 MB corpus, 1,000 phrases")
    parser.add_argument("--mb", type=float, help="corpus size in MB (default 50)")
    parser.add_argument("--phrases", type=int, help="subscriber phrases (default 10,000)")
    parser.add_argument("--baseline-mb", type=float, default=5.0, help="regex baseline subset")
    parser.add_argument("--runs", type=int, default=5, help="timed passes (median reported)")
    parser.add_argument(
        "--against",
        metavar="DIR",
        help="another checkout (git worktree add /tmp/old REV): its matcher is timed on the "
        "same corpus, its passes alternating with these",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    mb = args.mb if args.mb is not None else 5.0 if args.quick else 50.0
    n_phrases = args.phrases if args.phrases is not None else 1000 if args.quick else 10_000

    rng = random.Random(SEED)
    watchlist = builtin_watchlist()
    phrases = make_phrases(n_phrases, rng)
    aliases = [a for e in watchlist.entities for a in (*e.aliases, *e.acronyms)]
    if not takes_phrases():
        say("note: Matcher takes no `phrases` yet; benchmarking the watchlist alone")
    compiled = phrases if takes_phrases() else []  # the baseline gets the same terms
    matcher, build = measure_build(watchlist, phrases)

    say(f"generating a {mb:g} MB corpus ...")
    started = time.perf_counter()
    stories, counts = make_corpus(int(mb * MB), watchlist, phrases, rng)
    planted = [reported for reported, _ in counts]
    sizes = [_nbytes(s) for s in stories]
    total, chars = sum(sizes), sum(len(s.title) + len(s.summary) for s in stories)
    say(f"  {len(stories):,} stories in {time.perf_counter() - started:.1f} s")

    other = Other(args.against, phrases, stories) if args.against else None
    # With --against, this checkout is timed in a child process too, so both sides run alike:
    # the same code measured 1-3% slower in the parent (its heap holds the corpus, the oracle).
    mine = Other(str(Path(__file__).resolve().parent.parent), phrases, stories) if other else None
    say(f"timing matcher.match, {args.runs} passes{' alternating' if other else ''} ...")
    results: list[Any] = []
    walls: list[float] = []
    cpus: list[float] = []
    load_before = _load()
    for _ in range(args.runs):
        if mine is not None and other is not None:
            mine.one_pass()
            walls.append(mine.passes[-1]["wall"])
            cpus.append(mine.passes[-1]["cpu"])
            other.one_pass()
            continue
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        results = [matcher.match(story) for story in stories]
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu_started)
    if mine is not None:
        mine.close()
        results = [matcher.match(story) for story in stories]  # for the oracle, not timed
    # The median pass is the figure; the spread and the CPU share (CPU time over wall time:
    # below 1, other processes took the core) say how noisy the machine was. CPU time is
    # steadier than wall time on a shared machine, though a busy sibling core slows it too.
    best = statistics.median(walls)
    cpu = sum(cpus)

    limit = args.baseline_mb * MB
    subset = next((i + 1 for i, n in enumerate(accumulate(sizes)) if n >= limit), len(sizes))
    subset_bytes = sum(sizes[:subset])
    say(f"timing the re baseline on the first {subset_bytes / MB:.2f} MB, 1 pass ...")
    terms = list(dict.fromkeys([*aliases, *compiled]))
    baseline_s, baseline_found = time_baseline(terms, stories[:subset])

    hits = [len(r.hits) for r in results]
    found_phrases = [len(getattr(r, "phrases", ())) for r in results]
    off = [i for i, (h, p) in enumerate(zip(hits, planted, strict=True)) if h != p]
    for i in off[:3]:
        say(
            f"note: story {i}: {planted[i]} aliases planted, {hits[i]} hits: "
            f"{[h.term for h in results[i].hits]}"
        )
    en_bytes = sum(n for s, n in zip(stories, sizes, strict=True) if s.lang == "en")
    matcher_mbps, baseline_mbps = total / MB / best, subset_bytes / MB / baseline_s
    report: dict[str, Any] = dict(
        corpus_mb=round(total / MB, 2),
        documents=len(stories),
        en_share=round(en_bytes / total, 3),
        chars_per_alias=round(chars / max(1, sum(n for _, n in counts))),
        aliases=len(aliases),
        phrases=len(compiled),
        terms=len(terms),
        matcher_mbps=round(matcher_mbps, 2),
        matcher_seconds=round(best, 3),
        matcher_runs=len(walls),
        matcher_mbps_min=round(total / MB / max(walls), 2),
        matcher_mbps_max=round(total / MB / min(walls), 2),
        matcher_cpu_share=round(cpu / sum(walls), 2),
        matcher_cpu_mbps=round(total / MB / statistics.median(cpus), 2),
        timed_in="a child process" if mine is not None else "this process",
        load_average=f"{load_before} -> {_load()}",
        baseline_mbps=round(baseline_mbps, 3),
        baseline_seconds=round(baseline_s, 2),
        baseline_subset_mb=round(subset_bytes / MB, 2),
        ratio=round(matcher_mbps / baseline_mbps, 1),
        planted_aliases=sum(planted),
        entity_hits=sum(hits),
        stories_off=len(off),
        phrases_found=sum(found_phrases),
        topic_stories=sum(bool(r.topics) for r in results),
        subset_matcher_matches=sum(hits[:subset]) + sum(found_phrases[:subset]),
        subset_baseline_matches=baseline_found,
        **build,
        **(other.report(total, walls, cpus) if other is not None else {}),
        pass_mbps=matcher_mbps >= TARGET_MBPS,
        pass_ratio=matcher_mbps >= TARGET_RATIO * baseline_mbps,
    )
    rows = ROWS + (AGAINST_ROWS if other is not None else ())
    print(json.dumps(report) if args.json else render(report, rows))
    return 0


ROWS = (  # label, format over the report
    (
        "corpus",
        "{corpus_mb:.2f} MB, {en_share:.0%} English by bytes, 1 alias per {chars_per_alias} chars",
    ),
    ("documents", "{documents:,}"),
    ("terms", "{terms:,} ({aliases} aliases + {phrases:,} phrases)"),
    (
        "matcher",
        "{matcher_mbps:.2f} MB/s ({matcher_seconds:.2f} s, median of {matcher_runs}; "
        "min {matcher_mbps_min:.2f}, max {matcher_mbps_max:.2f}; "
        "CPU share {matcher_cpu_share:.2f})",
    ),
    ("matcher, CPU time", "{matcher_cpu_mbps:.2f} MB/s (median pass by process CPU time)"),
    ("load average", "{load_average} (1 minute, before -> after the passes)"),
    (
        "baseline (re)",
        "{baseline_mbps:.3f} MB/s ({baseline_seconds:.1f} s, 1 pass over the first "
        "{baseline_subset_mb:.2f} MB)",
    ),
    ("ratio", "{ratio:.1f}x"),
    ("entity hits", "{entity_hits:,} (planted {planted_aliases:,}; {stories_off} stories differ)"),
    ("phrases found", "{phrases_found:,} (distinct per story, summed)"),
    ("topic matches", "{topic_stories:,} stories"),
    (
        "matches, subset",
        "matcher {subset_matcher_matches:,} (reported entity hits + phrases), "
        "baseline {subset_baseline_matches:,} (any term)",
    ),
    (
        "build",
        "{build_seconds:.3f} s, RSS +{rss_growth_mb:.1f} MB, tracemalloc peak "
        "{tracemalloc_peak_mb:.2f} MB / retained {tracemalloc_retained_mb:.2f} MB",
    ),
    ("automaton", "{automaton_stats}"),
    (f">= {TARGET_MBPS:g} MB/s", "{pass_mbps}"),
    (f">= {TARGET_RATIO:g}x baseline", "{pass_ratio}"),
)


AGAINST_ROWS = (
    (
        "against",
        "{against_mbps:.2f} MB/s ({against}, median of its passes, alternating with these; "
        "CPU share {against_cpu_share:.2f})",
    ),
    ("ratio vs against", "{ratio_vs_against:.3f}x (median of per-pass ratios)"),
    (
        "  by CPU time",
        "{ratio_vs_against_cpu:.3f}x (its CPU time {against_cpu_mbps:.2f} MB/s; "
        "median of per-pass ratios)",
    ),
)


def render(report: dict[str, Any], rows: Sequence[tuple[str, str]] = ROWS) -> str:
    shown = {
        k: {True: "PASS", False: "FAIL"}.get(v, v) if k.startswith("pass_") else v
        for k, v in report.items()
    }
    return "\n".join(f"{label:<18} {form.format(**shown)}" for label, form in rows)


if __name__ == "__main__":
    sys.exit(main())
