"""A learned veto on the default topic's alerts: a logistic layer over the rule's own evidence.

Why: the topic rule is hand-written logic that alerts on some stories whose
evidence reads as foreign-led, market-led or background-led. A logistic
regression over the same evidence (`bench/learned.py` trains it; the weights
ship in `crawler/data/learned-veto.json`) drops such an alert when its
probability is below the threshold. It only ever removes the default topic
from a story the rule matched, so it never adds an alert and costs CPU only
on matched stories (one more evidence pass).

Plain Python on purpose: the parse worker must not import numpy. The features
are computed here for training and at run time alike: `n:NAME` for each name
the rule's evidence makes true, `fails:N` for each top-level clause of the
rule that does not hold, `action:KIND`, `lang:en|zh` guessed from the text
(not a source's configured language, not a corpus label) and `rule`.

The weights name the rule text and the vocabulary they were trained against
(hashes); a watchlist whose default topic's rule or entities differ switches
the layer off with one log line, since its evidence would mean something else.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from crawler.matcher import LEAD, OPENING, Matcher, _Evidence
from crawler.rules import Rule
from crawler.types import MatchResult, Story
from crawler.watchlist import Watchlist

log = logging.getLogger(__name__)

WEIGHTS_RESOURCE = "data/learned-veto.json"
WEIGHTS_ENV = "CRACKDOWN_VETO_WEIGHTS"
RULE = "rule"  # the feature that says the topic rule alerts
AGAINST_SHOWN = 3  # reasons a verdict keeps
LANG_CHARS = 200  # of the summary (or body, when title and summary are empty) `story_lang` reads
_LETTERS = re.compile(r"[^\W\d_]")  # letters (str.isalpha's, bar rare marks)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")  # as crawler.normalize's


def weights_path() -> Path:
    """Where the weights are: the shipped ones (inside the installed package), or the file
    $CRACKDOWN_VETO_WEIGHTS names (a layer retrained or set stricter; the parse workers
    inherit it). Either is checked against the watchlist alike."""
    override = os.environ.get(WEIGHTS_ENV)
    if override:
        return Path(override)
    return Path(str(resources.files("crawler").joinpath(WEIGHTS_RESOURCE)))


def top_level_clauses(rule: str) -> list[str]:
    """The rule's conjuncts: split on AND outside parentheses and quotes."""
    clauses, depth, quoted, start = [], 0, False, 0
    i = 0
    while i < len(rule):
        char = rule[i]
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth -= 1
        elif not quoted and depth == 0 and re.match(r"\sAND\s", rule[i : i + 5]):
            clauses.append(rule[start:i].strip())
            start = i + 5
            i += 5
            continue
        i += 1
    clauses.append(rule[start:].strip())
    return [c for c in clauses if c]


def rule_hash(rule: str) -> str:
    """sha256 of a topic rule's text."""
    return hashlib.sha256(rule.encode("utf-8")).hexdigest()


def vocabulary_hash(watchlist: Watchlist) -> str:
    """sha256 of the watchlist's entities (every field), order-independent."""
    entities = sorted((dataclasses.asdict(e) for e in watchlist.entities), key=lambda e: e["key"])
    text = json.dumps(entities, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def story_lang(story: Story) -> str:
    """'zh' or 'en' from the story's own text, by `normalise`'s rule (`guess_lang`) over the
    title and the summary's start (a whole 4 KB summary cost more than the rest of the
    layer); the body's start when those are empty, as for `crackdown match --text`."""
    lead = f"{story.title} {story.summary[:LANG_CHARS]}"
    if not lead.strip():
        lead = story.body[:LANG_CHARS]
    letters = len(_LETTERS.findall(lead))  # guess_lang's rule, counted by regex: 20x faster
    return "zh" if letters and len(_CJK.findall(lead)) / letters > 0.3 else "en"


@dataclass(frozen=True)
class VetoWeights:
    """The shipped layer: logistic weights by feature name, and what they were trained on.

    `alert_means`: each feature's share of the rule's true alerts in training (the typical
    alert a story is explained against). `cue`: when above 0, a veto also needs an explicit
    negative cue, a feature the story has (not an action, not its language) that alone
    lowers its log-odds below the typical alert's by at least `cue`."""

    mode: str
    topic: str
    rule_sha256: str
    vocabulary_sha256: str
    bias: float
    threshold: float
    weights: dict[str, float]
    trained_on: list[dict[str, Any]]
    alert_means: dict[str, float] = dataclasses.field(default_factory=dict)
    cue: float = 0.0

    @classmethod
    def load(cls, path: Path | None = None) -> VetoWeights:
        raw = json.loads((path or weights_path()).read_text("utf-8"))
        return cls(
            mode=str(raw["mode"]),
            topic=str(raw["topic"]),
            rule_sha256=str(raw["rule_sha256"]),
            vocabulary_sha256=str(raw["vocabulary_sha256"]),
            bias=float(raw["bias"]),
            threshold=float(raw["threshold"]),
            weights={str(k): float(v) for k, v in raw["weights"].items()},
            trained_on=list(raw.get("trained_on", ())),
            alert_means={str(k): float(v) for k, v in raw.get("alert_means", {}).items()},
            cue=float(raw.get("cue", 0.0)),
        )

    def as_json(self) -> str:
        data = dataclasses.asdict(self)
        data["weights"] = dict(sorted(self.weights.items()))
        data["alert_means"] = dict(sorted(self.alert_means.items()))
        return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"

    def probability(self, features: Iterable[str]) -> float:
        z = self.bias + sum(self.weights.get(f, 0.0) for f in features)
        return 1.0 / (1.0 + math.exp(-z))

    def against(self, features: Iterable[str]) -> list[Reason]:
        """What makes this story look less like a true alert than the typical one: each
        feature's w * (x - mean over true alerts), the negative ones, most negative first
        (a feature the story has and alerts rarely do; one alerts have and it lacks)."""
        present = set(features)
        means = self.alert_means
        reasons = [
            Reason(f, f in present, w * ((f in present) - means.get(f, 0.0)))
            for f, w in self.weights.items()
            if (w < 0 and f in present) or (w > 0 and f not in present and f in means)
        ]
        reasons = [r for r in reasons if r.contribution < 0]
        return sorted(reasons, key=lambda r: (r.contribution, r.feature))

    def vetoes(self, probability: float, against: Iterable[Reason]) -> bool:
        """Below the threshold, and (with `cue`) with an explicit negative cue."""
        if probability >= self.threshold:
            return False
        return self.cue <= 0 or any(is_cue(r) and r.contribution <= -self.cue for r in against)


@dataclass(frozen=True)
class Reason:
    """One feature's pull on a story, relative to the typical true alert (log-odds)."""

    feature: str
    present: bool  # the story has it (else: true alerts usually do and this story lacks it)
    contribution: float


def is_cue(reason: Reason) -> bool:
    """A negative cue the story has: not a missing feature, an action or its language."""
    return reason.present and not reason.feature.startswith(("action:", "lang:"))


def evidence_features(
    evidence: _Evidence,
    clauses: Iterable[tuple[str, Rule]],
    topic: str,
    story: Story,
    result: MatchResult,
) -> set[str]:
    """The names the rule's evidence makes true, the clauses that fail, actions, language."""
    names = {f"n:{name}" for name in evidence.names}
    if topic not in result.topics:  # when the rule holds, each of its conjuncts does
        names.update(name for name, rule in clauses if not rule(evidence))
    names.add(f"lang:{story_lang(story)}")
    names.update(f"action:{a}" for a in result.actions)
    return names


@dataclass(frozen=True)
class Verdict:
    """What the layer made of a story the rule matched."""

    probability: float
    vetoed: bool
    against: tuple[Reason, ...]  # what sets it below the typical true alert, largest first


class VetoFeatures:
    """Turns a story into the layer's feature names; the same code trains and judges."""

    def __init__(self, matcher: Matcher, topic: str) -> None:
        self.topic = topic
        self.watchlist = matcher.watchlist
        rule = next(t.rule for t in matcher.watchlist.topics if t.key == topic)
        self.clause_text = {f"fails:{i}": text for i, text in enumerate(top_level_clauses(rule))}
        self.clauses: list[tuple[str, Rule]] = [
            (name, matcher.compile(text, max_length=len(rule) + 1))
            for name, text in self.clause_text.items()
        ]

    def features(
        self, matcher: Matcher, story: Story, result: MatchResult, evidence: _Evidence | None = None
    ) -> list[str]:
        """The sorted features of a story (any story: training sees unmatched ones too);
        `evidence` is the one `result` was decided on, else the story is scanned again."""
        if evidence is None:
            evidence, _ = matcher.evidence(story)
        names = evidence_features(evidence, self.clauses, self.topic, story, result)
        if self.topic in result.topics:
            names.add(RULE)
        return sorted(names)


class LearnedVeto:
    """The layer, bound to a watchlist whose default topic and vocabulary it was trained on."""

    def __init__(self, matcher: Matcher, weights: VetoWeights) -> None:
        self.weights = weights
        self.topic = weights.topic
        self.watchlist = matcher.watchlist
        self.featurer = VetoFeatures(matcher, weights.topic)

    @classmethod
    def for_matcher(
        cls, matcher: Matcher, topic: str, weights: VetoWeights | None = None
    ) -> LearnedVeto | None:
        """The layer for this watchlist, or None (with one log line) when it does not fit."""
        try:
            weights = weights or VetoWeights.load()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("learned veto off: cannot read its weights: %s", exc)
            return None
        why = mismatch(weights, matcher.watchlist, topic)
        if why:
            log.warning("learned veto off: %s", why)
            return None
        return cls(matcher, weights)

    def judge(
        self, matcher: Matcher, story: Story, result: MatchResult, evidence: _Evidence | None = None
    ) -> Verdict | None:
        """The layer's verdict on a story the topic matched (None for any other story)."""
        if self.topic not in result.topics:
            return None
        features = self.featurer.features(matcher, story, result, evidence)
        probability = self.weights.probability(features)
        against = self.weights.against(features)
        vetoed = self.weights.vetoes(probability, against)
        return Verdict(probability, vetoed, tuple(against[:AGAINST_SHOWN]))

    def apply(
        self, matcher: Matcher, story: Story, result: MatchResult, evidence: _Evidence | None = None
    ) -> MatchResult:
        """`result` without the default topic when the layer vetoes it, else `result` itself
        (`evidence`: what `Matcher.match_with_evidence` gave with it, saving a second scan).

        The reasons (`VetoWeights.against`, a pass over every weight) are worked out only
        when the veto depends on them: below the threshold with a `cue`. They were half the
        parse worker's matching CPU in a first cycle (bench/README.md, session 13)."""
        if self.topic not in result.topics:
            return result
        features = self.featurer.features(matcher, story, result, evidence)
        probability = self.weights.probability(features)
        if probability >= self.weights.threshold:
            return result
        against = self.weights.against(features) if self.weights.cue > 0 else []
        return self.drop(result) if self.weights.vetoes(probability, against) else result

    def drop(self, result: MatchResult) -> MatchResult:
        """`result` without the default topic (what a veto leaves)."""
        return dataclasses.replace(
            result, topics=tuple(t for t in result.topics if t != self.topic)
        )

    def describe(self, feature: str, lang: str = "en") -> str:
        """A feature as a reader would say it, in English or Chinese."""
        return describe_feature(self.watchlist, feature, lang)

    def reason(self, reason: Reason, lang: str = "en") -> str:
        """'place: Taiwan' (the story has it) or 'no China actor' (alerts have it, it lacks)."""
        said = describe_feature(self.watchlist, reason.feature, lang)
        if reason.present:
            return said
        return f"无{said}" if lang == "zh" else "no " + re.sub(r"^an? ", "", said)


def mismatch(weights: VetoWeights, watchlist: Watchlist, topic: str) -> str:
    """Why these weights do not fit this watchlist and default topic ('' when they do)."""
    if weights.topic != topic:
        return f"trained for topic {weights.topic!r}, the default topic is {topic!r}"
    rule = next((t.rule for t in watchlist.topics if t.key == topic), None)
    if rule is None:
        return f"no topic {topic!r}"
    if rule_hash(rule) != weights.rule_sha256:
        return f"the rule of topic {topic!r} differs from the one its weights were trained on"
    if vocabulary_hash(watchlist) != weights.vocabulary_sha256:
        return "the watchlist's entities differ from those its weights were trained on"
    return ""


# Categories have no display names in the watchlist; these are for the veto's reasons only.
_CATEGORY_NAMES = {
    "action": ("an action", "行动"),
    "activity": ("an illicit activity", "违法活动"),
    "background": ("a background marker", "背景词"),
    "backgroundtext": ("a background phrase", "背景词"),
    "china": ("China", "中国"),
    "corporate": ("corporate news", "公司新闻"),
    "crypto": ("crypto", "加密货币"),
    "enforcer": ("an enforcer", "执法机关"),
    "exchange": ("an exchange", "交易所"),
    "foreign": ("a foreign place or body", "境外地点或机构"),
    "macau-cue": ("Macau", "澳门"),
    "mainland": ("mainland China", "中国内地"),
    "market": ("market news", "行情"),
    "nationality": ("a nationality", "国籍"),
    "platform": ("a platform", "平台"),
    "regulator": ("a regulator", "监管机构"),
    "rulemaking": ("rule-making", "立法或规则制定"),
}
_ACTION_NAMES = {  # as bot/texts.py's act_* say them
    "ban": ("a ban", "禁令"),
    "warning": ("a warning", "警示"),
    "investigation": ("an investigation", "调查"),
    "arrest": ("an arrest", "抓捕"),
    "prosecution": ("a prosecution", "起诉"),
    "judgment": ("a sentence or judgment", "判决"),
    "freeze-seizure": ("a freeze or seizure", "冻结/查扣"),
    "shutdown-block": ("a shutdown or block", "关停/封禁"),
    "penalty": ("a penalty", "处罚"),
}
_WHERE = {LEAD: ("in the headline", "标题中"), OPENING: ("in the opening", "导语中")}
_OTHER = {
    RULE: ("the rule's verdict", "规则判定"),
    "lang:en": ("English", "英文"),
    "lang:zh": ("Chinese", "中文"),
}


_GENRE_NAMES = {  # crawler/genre.py's names
    "explainer": ("explainer shape", "解读类体裁"),
    "specific": ("a specific act", "具体行动"),
    "explained-act": ("an act told as an explainer", "以解读体裁报道的行动"),
    "form": ("an explainer's headline form", "解读式标题"),
    "question": ("a question headline", "问句标题"),
    "address": ("the reader addressed", "对读者说话"),
    "generic": ("the generic tense", "泛指语气"),
    "voice": ("an author's voice", "作者口吻"),
    "commentary": ("commentary", "评论"),
    "dated": ("a dated act", "有日期的行动"),
    "sourced": ("a sourced report", "有消息来源"),
    "tally": ("a count of people or things", "人数或数量"),
    "named": ("a named defendant", "具名当事人"),
}
_ACTOR = {"china": ("a China actor", "中国主体")}  # the category, not the place
_PLACE_CATEGORIES = frozenset({"foreign", "china", "macau-cue"})


def describe_feature(watchlist: Watchlist, feature: str, lang: str = "en") -> str:
    """'n:lead:foreign' -> 'a foreign place or body in the headline' (or its Chinese);
    'n:taiwan' -> 'place: Taiwan'; 'n:genre:explainer' -> 'explainer shape'."""
    zh = lang == "zh"
    if feature in _OTHER:
        return _OTHER[feature][zh]
    if feature.startswith("action:"):
        kind = feature.removeprefix("action:")
        return _ACTION_NAMES[kind][zh] if kind in _ACTION_NAMES else kind
    if feature.startswith("fails:"):
        return ("clause fails: " if not zh else "条款不成立：") + feature.removeprefix("fails:")
    name = feature.removeprefix("n:")
    where = ""
    for prefix, words in _WHERE.items():
        if name.startswith(prefix):
            name, where = name.removeprefix(prefix), words[zh]
    entity = watchlist.entity(name)
    if name in _ACTOR:
        said = _ACTOR[name][zh]
    elif name.startswith("genre:") and name.removeprefix("genre:") in _GENRE_NAMES:
        said = _GENRE_NAMES[name.removeprefix("genre:")][zh]
    elif entity is not None:
        said = (entity.name_zh if zh else entity.name_en).strip("()（）")
        if entity.category in _PLACE_CATEGORIES:
            said = f"地点：{said}" if zh else f"place: {said}"
    elif name in _CATEGORY_NAMES:
        said = _CATEGORY_NAMES[name][zh]
    else:
        said = name.strip('"') if name.startswith('"') else name
    if not where:
        return said
    return f"{where}{said}" if zh else f"{said} {where}"
