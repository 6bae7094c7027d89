"""A story's genre, read from its headline and the lines under it.

A news report of an act tells who did what, when: "Shenzhen police detained 30 people
on Tuesday", 日前，东莞警方……抓获犯罪嫌疑人21名. An explainer, guide, Q&A, analysis or
opinion piece about the rules is written in another shape: a question or a form word in
the headline ("Is bitcoin legal in China? A 2025 guide", "Explained: ...", 一文读懂,
律师说法), the reader addressed ("what you need to know", 你), and the act in the
generic tense, with no date, no count of people held, no named defendant. Both are full
of the same enforcement words (ban, illegal, crackdown, 禁止, 非法, 打击), which is why
the topic rule asks this module which one a story is.

The words come from the watchlist (category `genre`); numbers and dates by the day are
read here. It runs only on a story that has an act (the matcher asks), over a few hundred
characters of folded text, with its own small automaton: the main scan never sees these
common words.
"""

from __future__ import annotations

import re
from typing import Any

import ahocorasick_rs

from crawler import native
from crawler.fold import fold
from crawler.watchlist import Watchlist

GENRE = "genre"  # the watchlist category of the words looked for here
PREFIX = "genre:"  # how the names this module makes true are spelled in a rule
FORM, QUESTION, ADDRESS = "explainer-form", "question-word", "second-person"
GENERIC, VOICE = "generic-tense", "authorial-voice"
TIME, SOURCE, TALLY, LISTICLE = "time-cue", "report-cue", "tally-noun", "listicle-noun"
# Shape names (the story reads as an explainer), act names (it reports a specific act),
# and the two the topic rule uses.
SHAPES = ("form", "question", "address", "generic", "voice", "commentary")
ACTS = ("dated", "sourced", "tally", "named")
EXPLAINER, SPECIFIC = PREFIX + "explainer", PREFIX + "specific"
# A specific act told in an explainer's form ("Explained: police arrest 12 in...", "Why is
# Beijing going after influencers? Weibo bans 50 accounts"): news, whatever a look-back word
# of its headline says. Commentary alone (memoirs, "revisited", 回望) is not that form.
EXPLAINED_ACT = PREFIX + "explained-act"
_ASKED = ("form", "question", "address")
NAMES = frozenset([EXPLAINER, SPECIFIC, EXPLAINED_ACT, *(PREFIX + n for n in (*SHAPES, *ACTS))])

_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_EN_NUMBER = (  # not a year: "banned in 2017 and offshore platforms" counts nothing
    r"(?!(?:19|20)\d\d\b)\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|"
    r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty"
)
# A number, then at most two words ("30 people", "35 bitcoin mining farms", "1.2 billion yuan")
_EN_TALLY = re.compile(rf"(?:^|[^a-z0-9])(?:{_EN_NUMBER})(?:\s+[a-z'-]+){{0,2}}\s+$")
# A headline that opens on a number ("7 crypto scams...", "Five things..."): a listicle
# when a listicle noun follows within three words
_EN_OPENING_NUMBER = re.compile(rf"^\W*(?:{_EN_NUMBER})\b")
# A story of a life or an era (从“比特币首富”到阶下囚, 从狂热到禁止)
_ZH_ARC = re.compile(r"从[^,.:;!?]{1,12}到")
_ZH_TALLY = re.compile(r"([\d一二两三四五六七八九十百千万亿]+)\s*[余多]?\s*$")
# What a Chinese listicle counts after 个 (五个常见误区, 3个要点): items of a guide, not people
# or sites an act was counted in
_ZH_LISTED = re.compile(
    r"\s*(?:常见|主要|典型|重要|关键|大)?\s*(?:误区|问题|陷阱|套路|要点|建议|常识|知识|误解|细节"
    r"|方法|技巧|风险|特征|信号|迹象|原因|理由|提醒|真相|注意事项|看点|变化|趋势|步骤|区别)"
)
_MONEY = re.compile(r"(?:hk\$|us\$|rmb|¥)\s?\d")
# A day of a month with no year after it ("on March 5"; "September 24, 2021" is history),
# and a Chinese day with no year before it (13日, 7 月 16 日; not 2021年9月24日). Each
# pattern opens on a digit (a fast search); what comes before is checked after.
_EN_DAY = re.compile(r" (\d{1,2})\b(?!,? \d{4})")
_MONTH_BEFORE = re.compile(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?$")
_ZH_DAY = re.compile(r"\d{1,2}\s*(?:月\s*\d{1,2}\s*)?日(?![前内後后常])")
_NOT_BEFORE_DAY = frozenset("0123456789年月")
# A defendant named as the courts and police name them (李某, 万某园), or by age
_SURNAME_MOU = re.compile(
    r"[王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    r"苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛"
    r"郝龚邵万钱严覃武戴莫孔向汤佟]某(?![某些种类地市区县省人])"
)
_AGED = re.compile(r"\b\d{1,2}-year-old\b")
# A party named as a court's or a police post's write-up names one when it leaves out 某:
# 小张, 老王 (surnames that open no common word: not 小于, 小程序, 币圈小白, 老毛病), 陈先生,
# 王女士, and firms and sides by letter (甲公司, 乙方, A公司); text is folded (陳 -> 陈)
_PARTY = re.compile(
    r"[小老][王李张刘陈杨赵吴孙马朱胡郭何林罗郑梁谢宋唐韩冯邓曹彭曾肖董袁潘蒋蔡杜叶魏吕沈"
    r"姚卢姜崔钟谭陆汪廖贾夏韦邹孟熊秦邱薛闫雷侯陶贺郝龚邵严覃武戴莫汤](?![某些种类])"
    r"|[王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜"
    r"叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺"
    r"顾毛郝龚邵万钱严覃武戴莫孔向汤佟]"
    r"(?:先生|女士|小姐)"
    r"|(?<![a-z])[甲乙丙丁a-d](?:公司|方|某)"
)
# A made-up example's opening words, right before the party it invents
_SUPPOSED = re.compile(r"假如|假设|假定|比如|例如|譬如|如果|举例|例子")
_SENTENCE_ENDS = "。!?;"
# A court's case number, folded: （2023）粤0304民初1234号 -> (2023)粤0304民初1234号
_DOCKET = re.compile(r"\(\s*(?:19|20)\d\d\s*\)[^,.;:!?\s]{1,12}?[民刑行执赔][^号]{0,6}\d+\s*号")
# A sentence passed, by its length after the term (有期徒刑三年, 判囚四年, 監禁13個月); the
# statute's generic range puts its number before (三年以下有期徒刑)
_SENTENCE = re.compile(
    r"(?:有期徒刑|拘役|管制|监禁|判囚|入狱)\s*[\d一二两三四五六七八九十]+\s*(?:年|个月)"
)


# A search (crawler/_native.c's Index where it is built, else an automaton; None: no
# patterns) and each pattern's keys.
_Automaton = tuple[Any, list[frozenset[str]]]
# Which words are looked for where: a headline is read for every shape, the lines under it
# only for the reader addressed and an author's voice (one pass over both); the act words
# (dates, sources, tallies) only once a shape is found.
_HEADLINE_KEYS = frozenset({FORM, QUESTION, ADDRESS, GENERIC, VOICE, LISTICLE})
_ACT_KEYS = frozenset({TIME, SOURCE, TALLY})
_OPENING_WORD = re.compile(r"[\W_]*([a-z]+)")


class GenreReader:
    """Reads the genre names of a story from its folded headline and the lines under it."""

    def __init__(self, watchlist: Watchlist) -> None:
        keys: dict[str, set[str]] = {}
        for entity in watchlist.entities:
            if entity.category != GENRE:
                continue
            for alias in entity.aliases:
                folded = fold(alias).strip()
                if folded:
                    keys.setdefault(folded, set()).add(entity.key)
        # English question words count only as a headline's first word: a set, not patterns
        self._question_words = frozenset(
            p for p, k in keys.items() if QUESTION in k and p.isascii()
        )
        scanned = {p: k for p, k in keys.items() if p not in self._question_words}
        self._headline = _automaton(scanned, _HEADLINE_KEYS)
        self._acts = _automaton(scanned, _ACT_KEYS)

    @staticmethod
    def _hits(automaton: _Automaton, text: str) -> list[tuple[int, int, str]]:
        """(start, end, key) of an automaton's words in a folded text, whole Latin words only."""
        found: list[tuple[int, int, str]] = []
        search, keys = automaton
        if search is None or not text:
            return found
        size, word = len(text), _WORD
        if not isinstance(search, ahocorasick_rs.AhoCorasick):  # whole words, in its order
            for index, start, end in search.find(text, 0, size):
                for key in keys[index]:
                    found.append((start, end, key))
            return found
        for index, start, end in search.find_matches_as_indexes(text, True):
            if text[start] in word and start and text[start - 1] in word:
                continue
            if text[end - 1] in word and end < size and text[end] in word:
                continue
            for key in keys[index]:
                found.append((start, end, key))
        return found

    def words(self, text: str) -> list[tuple[int, int, str]]:
        """Every genre word in a folded text (start, end, key), for tests and tools."""
        found = [*self._hits(self._headline, text), *self._hits(self._acts, text)]
        opening = _OPENING_WORD.match(text)
        if opening and opening.group(1) in self._question_words:
            found.append((opening.start(1), opening.end(1), QUESTION))
        return found

    def names(
        self,
        headline: str,
        follow: str,
        commentary: bool = False,
        warning: bool = False,
        attributed: bool = False,
    ) -> set[str]:
        """The `genre:` names of a story: `headline` is its folded title (or first sentence),
        `follow` the folded lines under it; `commentary` says the lead already reads as
        analysis or a look back (the watchlist's `retrospective` words), `warning` that it
        tells a warning, whose "you" is the warner's (公安机关提醒您, "SFC warns: you should
        not..."), not a guide's; `attributed` that the headline gives its news to an actor
        named before a colon (涉案虚拟币出海变现？公安部：严打), a report's sourcing."""
        found: set[str] = set()
        if commentary:
            found.add("commentary")
        if "?" in headline:
            found.add("question")
        opening = _OPENING_WORD.match(headline)
        if opening and opening.group(1) in self._question_words:
            found.add("question")  # English: only as the headline's first word
        if _ZH_ARC.search(headline):
            found.add("form")
        # one pass over the headline and the lines under it (the follow's shapes are fewer)
        split = len(headline)
        for start, _, key in self._hits(self._headline, f"{headline}\n{follow}"):
            if start > split:
                if key == VOICE:
                    found.add("voice")
                elif key == ADDRESS and not warning and not _quoted(follow, start - split - 1):
                    found.add("address")
            elif key == FORM:
                found.add("form")
            elif key == QUESTION:
                found.add("question")  # a Chinese one, anywhere in the headline
            elif key == ADDRESS and not warning and not _quoted(headline, start):
                found.add("address")  # not a speaker's "you" (“帮我收一笔钱，给你……”)
            elif key == GENERIC:
                found.add("generic")  # in a headline; a law note's 司法实践中 may head a case
            elif key == VOICE:
                found.add("voice")
            elif key == LISTICLE and _listed(headline, start):
                found.add("form")
        if not found.intersection(SHAPES):
            return set()  # no explainer's shape: nothing to weigh
        for text in (headline, follow):
            for start, end, key in self._hits(self._acts, text):
                if key == TIME:
                    found.add("dated")
                elif key == SOURCE:
                    found.add("sourced")
                elif key == TALLY and _counted(text, start, end):
                    found.add("tally")
            if "dated" not in found and _dated(text):
                found.add("dated")
            if _MONEY.search(text):
                found.add("tally")
            if (
                ("某" in text and _SURNAME_MOU.search(text))
                or ("year-old" in text and _AGED.search(text))
                or "surnamed" in text
                or _party(text)
            ):
                found.add("named")
            if "号" in text and _DOCKET.search(text):
                found.add("sourced")
            if _SENTENCE.search(text):
                found.add("tally")
        if attributed:
            found.add("sourced")
        names = {PREFIX + name for name in found}
        names.add(EXPLAINER)
        if found.intersection(ACTS):
            names.add(SPECIFIC)
            if found.intersection(_ASKED):
                names.add(EXPLAINED_ACT)
        return names


def _automaton(keys: dict[str, set[str]], wanted: frozenset[str]) -> _Automaton:
    """An automaton for the patterns of the `wanted` keys, and each pattern's keys."""
    patterns = [p for p, k in keys.items() if k & wanted]
    if not patterns:
        return None, []
    # The C index finds what the automaton and _hits' boundary checks find (whole Latin
    # words, the automaton's order: tests/crawler/test_native.py), at 1.2-3x its speed
    # on short texts such as these, and without its byte -> character table.
    search: Any = (
        native.Index(patterns)
        if native.Index is not None
        else ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.Standard)
    )
    return search, [frozenset(keys[p] & wanted) for p in patterns]


def _counted(text: str, start: int, end: int) -> bool:
    """Is a tally noun right after a number ("30 people", 21名, 3000万元)?"""
    before = text[max(0, start - 32) : start]
    if text[start].isascii():
        return _EN_TALLY.search(before) is not None
    number = _ZH_TALLY.search(before)
    if number is None:
        return False
    if text[start:end] == "个" and _ZH_LISTED.match(text, end):
        return False  # a listicle's items (五个常见误区)
    # 一 alone before 个, 起, 人 is an article or a word (一个问题, 一起来看), not a count
    return number.group(1) != "一" or text[start:end] == "名"


def _quoted(text: str, at: int) -> bool:
    """Is `at` inside a quotation (more opening than closing quote marks before it)?"""
    before = text[:at]
    return before.count("“") > before.count("”") or before.count("「") > before.count("」")


def _listed(headline: str, start: int) -> bool:
    """Is a listicle noun within three words of a number that opens the headline?"""
    number = _EN_OPENING_NUMBER.match(headline)
    return number is not None and len(headline[number.end() : start].split()) <= 3


def _party(text: str) -> bool:
    """A party named as a write-up names one (小张, 陈先生, 甲公司), not in a sentence that
    makes up an example (假如小王……, 比如甲公司委托乙公司……): a guide's illustration
    tells no case."""
    for party in _PARTY.finditer(text):
        at = party.start()
        opens = max(text.rfind(end, 0, at) for end in _SENTENCE_ENDS) + 1
        if not _SUPPOSED.search(text, opens, at):
            return True
    return False


def _dated(text: str) -> bool:
    """A day named with no year: "on March 5" (not "September 24, 2021"), 13日, 7 月 16 日
    (not 2021年9月24日)."""
    if "日" in text:
        for day in _ZH_DAY.finditer(text):
            at = day.start()
            before = text[at - 1] if at else ""
            if before == " " and at > 1:
                before = text[at - 2]
            if before not in _NOT_BEFORE_DAY:
                return True
    for day in _EN_DAY.finditer(text):
        if _MONTH_BEFORE.search(text, max(0, day.start() - 12), day.start()):
            return True
    return False
