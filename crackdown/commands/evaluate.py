"""`crackdown eval`: precision, recall and F1 of the filter on a labelled corpus.

The corpus format is one JSON object a line (see the shared corpus README):
`id`, `lang`, `title`, `text`, `label` (1 = relevant to the default topic),
`entities` (keys a good filter reports). Title and text are matched together.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.explain import Refusal, TopicExplainer, refusal_kind
from crawler.fold import fold
from crawler.learned import LearnedVeto
from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory


class CorpusError(ValueError):
    """A corpus line that cannot be used; the message names the line."""


@dataclass(frozen=True)
class Example:
    id: str
    lang: str
    title: str
    text: str
    label: int
    entities: frozenset[str]


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        self.tp += predicted and actual
        self.fp += predicted and not actual
        self.fn += actual and not predicted

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


@dataclass
class Evaluation:
    topic: str
    size: int = 0
    relevance: Counts = field(default_factory=Counts)
    by_lang: dict[str, Counts] = field(default_factory=dict)
    entities: Counts = field(default_factory=Counts)  # over the keys the corpus labels
    entities_all_keys: Counts = field(default_factory=Counts)  # every key we report
    vocabulary: frozenset[str] = frozenset()
    false_positives: list[str] = field(default_factory=list)
    false_negatives: list[str] = field(default_factory=list)
    entity_errors: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    unnamed_misses: int = 0  # missed labels no alias of which appears in the text at all
    # why each wrong decision was wrong, as far as the evidence shows: class -> ids
    error_classes: dict[str, list[str]] = field(default_factory=dict)
    # with the learned veto on: the rule's own figures, and each story it vetoed (id, p, label)
    rule_only: Counts | None = None
    rule_only_by_lang: dict[str, Counts] = field(default_factory=dict)
    vetoed: list[tuple[str, float, int]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "examples": self.size,
            **self.relevance.as_dict(),
            "entity_f1": round(self.entities.f1, 4),
            "entity_precision": round(self.entities.precision, 4),
            "entity_recall": round(self.entities.recall, 4),
            "entity_f1_all_keys": round(self.entities_all_keys.f1, 4),
            "entity_vocabulary": sorted(self.vocabulary),
            "by_lang": {lang: c.as_dict() for lang, c in sorted(self.by_lang.items())},
            "false_positives": self.false_positives,
            "false_negatives": self.false_negatives,
            "entity_errors": self.entity_errors,
            "entity_misses_unnamed": self.unnamed_misses,
            "error_classes": self.error_classes,
            **(
                {
                    "rule_only": {
                        **self.rule_only.as_dict(),
                        "by_lang": {
                            lang: c.as_dict() for lang, c in sorted(self.rule_only_by_lang.items())
                        },
                    },
                    "vetoed": [
                        {"id": i, "probability": round(p, 4), "label": label}
                        for i, p, label in self.vetoed
                    ],
                }
                if self.rule_only is not None
                else {}
            ),
        }


def read_corpus(path: Path) -> list[Example]:
    """Read a JSONL corpus; a bad line is an error naming its number."""
    examples = []
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise CorpusError(f"{path}: cannot read: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            examples.append(
                Example(
                    id=str(raw["id"]),
                    lang=str(raw.get("lang", "")),
                    title=str(raw.get("title") or ""),
                    text=str(raw.get("text") or ""),
                    label=int(raw["label"]),
                    entities=frozenset(raw.get("entities") or ()),
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise CorpusError(f"{path}:{number}: not a corpus line ({exc})") from exc
    return examples


def evaluate(
    matcher: Matcher,
    examples: Iterable[Example],
    topic: str,
    on_example: Callable[[], None] | None = None,
    *,
    veto: LearnedVeto | None = None,
) -> Evaluation:
    """Score the matcher's topic decisions and reported entities against labels.

    Entity scores are micro-averaged over the keys the corpus labels (those
    that appear in some example's `entities`): a corpus labelled with 25
    keys cannot say whether our `spc` is right, so it is not counted for or
    against us there. `entities_all_keys` counts every key we report.
    With `veto` (the product's learned layer), the figures are the rule's and the layer's
    together, as the daemon decides; the rule's own are kept beside them.
    """
    examples = list(examples)
    vocabulary = frozenset(key for example in examples for key in example.entities)
    result = Evaluation(topic=topic, vocabulary=vocabulary)
    if veto is not None:
        result.rule_only = Counts()
    now = datetime.now(UTC)
    explainer: TopicExplainer | None = None  # built at the first wrong decision
    for example in examples:
        story = normalise(
            RawStory("eval", f"https://eval.invalid/{example.id}", example.title, example.text),
            fetched_at=now,
        )
        match = matcher.match(story)
        if on_example is not None:  # progress, for a large corpus
            on_example()
        actual = bool(example.label)
        if veto is not None and result.rule_only is not None:
            by_rule = topic in match.topics
            result.rule_only.add(by_rule, actual)
            result.rule_only_by_lang.setdefault(example.lang, Counts()).add(by_rule, actual)
            verdict = veto.judge(matcher, story, match)
            if verdict is not None and verdict.vetoed:
                result.vetoed.append((example.id, verdict.probability, example.label))
                match = veto.drop(match)
        predicted = topic in match.topics
        vetoed = bool(result.vetoed) and result.vetoed[-1][0] == example.id
        result.size += 1
        result.relevance.add(predicted, actual)
        result.by_lang.setdefault(example.lang, Counts()).add(predicted, actual)
        if predicted and not actual:
            result.false_positives.append(example.id)
        elif actual and not predicted:
            result.false_negatives.append(example.id)
        if predicted != actual:
            if vetoed:
                kind = "learned veto"
            else:
                explainer = explainer or TopicExplainer(matcher, topic)
                refusal = None if predicted else explainer.why_not(story)
                kind = error_class(matcher, example, match.signals, predicted, refusal)
            result.error_classes.setdefault(kind, []).append(example.id)
        reported = set(match.entities)
        result.entities_all_keys.tp += len(reported & example.entities)
        result.entities_all_keys.fp += len(reported - example.entities)
        result.entities_all_keys.fn += len(example.entities - reported)
        found = reported & vocabulary
        result.entities.tp += len(found & example.entities)
        result.entities.fp += len(found - example.entities)
        result.entities.fn += len(example.entities - found)
        extra, missed = sorted(found - example.entities), sorted(example.entities - found)
        if extra or missed:
            result.entity_errors[example.id] = {"extra": extra, "missed": missed}
            result.unnamed_misses += len(_unnamed(matcher, example, missed))
    return result


# Diagnostic word lists for sorting wrong decisions; the filter does not use them.
_PLACE_WORDS = re.compile(r"taiwan|macau|macao|台湾|台灣|澳门|澳門|台北|新北|高雄|台中|台南")
_RULE_WORDS = re.compile(
    r"licen[cs]|consult|sandbox|approv|\betfs?\b|roadmap|framework|guideline|ordinance|"
    r"\bbill\b|regime|牌照|发牌|咨询|沙盒|批准|获批|指引|条例|框架|路线图|制度|试点"
)
_RUMOUR_WORDS = re.compile(
    r"rumou?r|unverified|unconfirmed|reportedly|sources? (?:say|said)|denie[sd]|\bdeny\b|"
    r"untrue|网传|传闻|传言|辟谣|不实|否认|谣言"
)
_DISPUTE_WORDS = re.compile(
    r"\bdispute|breach of contract|\bsues?\b|\bsued\b|lawsuit|plaintiff|纠纷|原告|合同|违约"
)
_BACKGROUND_WORDS = re.compile(
    r"despite|since (?:the|china|beijing)|after (?:china|beijing)|price|hash ?rate|hashrate|"
    r"rall(?:y|ied)|migrat|尽管|价格|算力|行情|涨|跌"
)
_FALSE_ALERT_WORDS = (
    ("place", _PLACE_WORDS),
    ("rule-making", _RULE_WORDS),
    ("rumour", _RUMOUR_WORDS),
    ("private dispute", _DISPUTE_WORDS),
    ("background", _BACKGROUND_WORDS),
)


def error_class(
    matcher: Matcher,
    example: Example,
    signals: Iterable[str],
    predicted: bool,
    refusal: Refusal | None = None,
) -> str:
    """Why a decision was wrong, as far as the evidence shows (for people, not for the filter).

    A false alert: `place` (Taiwan or Macau named), `rule-making` (licensing,
    consultations, approvals), `rumour` (hearsay, a denial), `private dispute` (a suit
    between parties), `background` (markets, the ban in passing), `place` (a foreign
    name), else `other`. A missed story, by the part of the topic rule that said no
    (`refusal`): `entity` (no crypto term found), `missing action` (no action found),
    `place` (no Chinese actor, or a foreign one), or `veto: NAME` when a veto clause took
    it back (NAME is the first name the clause tests: `veto: lead:denial`, `veto: taiwan`).
    """
    text = fold(f"{example.title}\n{example.text}")
    categories = set()
    for key in signals:
        entity = matcher.watchlist.entity(key)
        if entity is not None:
            categories.add(entity.category)
    if predicted:
        for name, words in _FALSE_ALERT_WORDS:
            if words.search(text):
                return name
        return "place" if "foreign" in categories else "other"
    if refusal is not None:
        return refusal_kind(refusal)
    if "action" not in categories:
        return "missing action"
    if not categories & {"crypto", "exchange"}:
        return "entity"
    if not categories & {"china", "regulator", "platform", "enforcer"} or "foreign" in categories:
        return "place"
    return "other"


def _unnamed(matcher: Matcher, example: Example, keys: Iterable[str]) -> list[str]:
    """Keys none of whose names occurs in the text, even inside a word.

    A label like that needs knowledge from outside the text (or a name the
    watchlist lacks); a key whose name does occur but was not reported points
    at the matcher (a boundary, a blocker, a longer hit) instead.
    """
    text = fold(f"{example.title}\n{example.text}")
    unnamed = []
    for key in keys:
        entity = matcher.watchlist.entity(key)
        names = (*entity.aliases, *entity.acronyms) if entity else ()
        if not any(fold(name).strip() in text for name in names):
            unnamed.append(key)
    return unnamed


def _rule_only_lines(evaluation: Evaluation) -> str:
    """Rule alone against rule + learned veto, per language (P/R/F1)."""
    assert evaluation.rule_only is not None

    def prf(c: Counts) -> str:
        return f"{c.precision:.3f}/{c.recall:.3f}/{c.f1:.3f}"

    lines = ["  P/R/F1      rule only            rule + learned veto"]
    rows = [("all", evaluation.rule_only, evaluation.relevance)]
    rows += [
        (lang, c, evaluation.by_lang.get(lang, Counts()))
        for lang, c in sorted(evaluation.rule_only_by_lang.items())
    ]
    for lang, rule, final in rows:
        lines.append(f"  {lang:<10}  {prf(rule):<20} {prf(final)}")
    return "\n".join(lines)


def report(evaluation: Evaluation) -> str:
    """The human-readable summary printed by `crackdown eval`."""
    r = evaluation.relevance
    lines = [
        f"topic {evaluation.topic}: {evaluation.size} examples",
        f"  relevance   precision {r.precision:.3f}  recall {r.recall:.3f}  F1 {r.f1:.3f}",
    ]
    for lang, c in sorted(evaluation.by_lang.items()):
        scores = f"precision {c.precision:.3f}  recall {c.recall:.3f}  F1 {c.f1:.3f}"
        lines.append(f"  {lang:<10}  {scores}")
    e, a = evaluation.entities, evaluation.entities_all_keys
    lines.append(
        f"  entities    precision {e.precision:.3f}  recall {e.recall:.3f}  micro-F1 {e.f1:.3f}"
        f"  (over the {len(evaluation.vocabulary)} keys the corpus labels)"
    )
    lines.append(
        f"              precision {a.precision:.3f}  recall {a.recall:.3f}  micro-F1 {a.f1:.3f}"
        "  (every key reported)"
    )
    lines.append(
        f"              {e.fn} labelled entities missed, {evaluation.unnamed_misses} of them"
        " named nowhere in their story's text"
    )
    if evaluation.rule_only is not None:
        lines.append(_rule_only_lines(evaluation))
    for kind, ids in sorted(evaluation.error_classes.items()):
        lines.append(f"  errors, {kind} ({len(ids)}): {' '.join(ids)}")
    if evaluation.rule_only is not None:
        right = [i for i, _, label in evaluation.vetoed if not label]
        wrong = [i for i, _, label in evaluation.vetoed if label]
        lines.append(
            f"  vetoed by the learned layer, rightly ({len(right)}): {' '.join(right) or '-'}"
        )
        lines.append(
            f"  vetoed by the learned layer, wrongly ({len(wrong)}): {' '.join(wrong) or '-'}"
        )
    lines.append(f"  false positives: {' '.join(evaluation.false_positives) or '-'}")
    lines.append(f"  false negatives: {' '.join(evaluation.false_negatives) or '-'}")
    for example_id, errors in evaluation.entity_errors.items():
        parts = [f"+{k}" for k in errors["extra"]] + [f"-{k}" for k in errors["missed"]]
        lines.append(f"  entities {example_id}: {' '.join(parts)}")
    return "\n".join(lines)
