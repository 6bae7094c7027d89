"""An experiment: a small learned layer over the topic rule's own evidence.

The topic rule is hand-written boolean logic over the names the matcher's
evidence pass makes true (entity keys, categories, `lead:`/`opening:` names,
phrases). This module asks whether an L2-regularised logistic regression over
those same names, plus the rule's verdict and the verdict of each of its
top-level clauses, generalises better to stories nobody tuned on. It changes
no decision of the filter: it is reached only through `crackdown eval
--learned` and `bench/learned.py`, and every weight it learns can be read
back as "these fired, with these weights".

Modes: `direct` predicts relevance from every feature; `veto` keeps the
rule's verdict except that a story the rule alerts on is dropped when a model
trained on the rule's alerts only says no (a precision layer); `names` learns
from the evidence names alone, without the rule's or its clauses' verdicts
(does the rule's logic add anything a linear model cannot find?); `names-veto`
keeps the rule's alerts that the `names` model also accepts; `clauses` learns
from the names and the verdict of each of the rule's clauses but not the rule's
own (a soft rule), and `clauses-veto` keeps the rule's alerts that it accepts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from crackdown.commands.evaluate import CorpusError, Counts, Example, read_corpus
from crackdown.commands.folds import HELD_OUT, assign_folds
from crawler.learned import Reason, VetoFeatures, VetoWeights, rule_hash, vocabulary_hash
from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory

# names: no rule verdicts at all, for comparison; names-veto: the rule, dropped when that
# rule-blind model says no (a second opinion that did not learn to copy the rule);
# clauses: without the rule's verdict but with each clause's; clauses-veto: the rule, dropped
# when that model says no
MODES = ("direct", "veto", "names", "names-veto", "clauses", "clauses-veto")
_HIDDEN = {  # the features a mode does not see
    "names": re.compile(r"rule$|fails:"),
    "names-veto": re.compile(r"rule$|fails:"),
    "clauses": re.compile(r"rule$"),
    "clauses-veto": re.compile(r"rule$"),
}
# modes that only drop the rule's alerts; direct-veto is the shipped layer (crawler/learned.py)
_VETOES = ("veto", "names-veto", "clauses-veto", "direct-veto")


def visible(mode: str, features: Iterable[str]) -> tuple[str, ...]:
    """The features a mode's model sees."""
    hidden = _HIDDEN.get(mode)
    return tuple(f for f in features if hidden is None or not hidden.match(f))


_REPO = Path(__file__).resolve().parents[2]
PROBES = _REPO / "tests" / "data"
SHARED_CORPUS = _REPO.parent / "shared" / "corpus"  # ../shared/corpus, as the issues name it


def default_training_files() -> list[Path]:
    """dev.jsonl and dev-2.jsonl (where present) and every labelled probe file in the repo."""
    shared = [SHARED_CORPUS / name for name in ("dev.jsonl", "dev-2.jsonl")]
    return [p for p in shared if p.exists()] + sorted(PROBES.glob("probes_*.jsonl"))


class Featuriser:
    """Turns a labelled story into the layer's features, as the product computes them
    (`crawler.learned.VetoFeatures`), from the story `crackdown eval` would judge."""

    def __init__(self, matcher: Matcher, topic: str) -> None:
        self.matcher = matcher
        self.topic = topic
        self.featurer = VetoFeatures(matcher, topic)
        self.clause_text = self.featurer.clause_text

    def features(self, example: Example) -> tuple[bool, list[str]]:
        """The rule's verdict and the sorted feature names of one story."""
        story = normalise(
            RawStory("learned", f"https://eval.invalid/{example.id}", example.title, example.text),
            fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
        )
        match, evidence = self.matcher.match_with_evidence(story)
        features = self.featurer.features(self.matcher, story, match, evidence)
        return self.topic in match.topics, features


@dataclass
class Model:
    """Logistic regression weights by feature name, plus a bias."""

    weights: dict[str, float]
    bias: float

    def probability(self, features: Iterable[str]) -> float:
        z = self.bias + sum(self.weights.get(f, 0.0) for f in features)
        return 1.0 / (1.0 + math.exp(-z))

    def explain(
        self, features: Iterable[str], top: int = 6, toward: bool | None = None
    ) -> list[tuple[str, float]]:
        """The fired features with the largest weights: either sign, or those that push
        toward relevance (`toward=True`) or away from it (`toward=False`)."""
        fired = [(f, self.weights[f]) for f in features if f in self.weights]
        if toward is not None:
            fired = [(f, w) for f, w in fired if (w > 0) == toward]
        return sorted(fired, key=lambda fw: (-abs(fw[1]), fw[0]))[:top]


def train(
    rows: Sequence[Sequence[str]],
    labels: Sequence[int],
    *,
    l2: float = 1.0,
    min_count: int = 2,
    iterations: int = 60,
    positive_weight: float = 1.0,
) -> Model:
    """Fit by Newton's method (IRLS) with an L2 penalty on the weights, not the bias.

    Only features seen in at least `min_count` training stories are kept. The
    order of features is sorted, so the same data gives the same weights.
    `positive_weight`: how much more a relevant story's loss counts (a veto that loses a
    true alert costs more than one that keeps a false alert).
    """
    counts = Counter(f for row in rows for f in set(row))
    vocabulary = sorted(f for f, n in counts.items() if n >= min_count)
    index = {f: i for i, f in enumerate(vocabulary)}
    x = np.zeros((len(rows), len(vocabulary) + 1))
    x[:, -1] = 1.0  # bias column
    for r, row in enumerate(rows):
        for f in row:
            if f in index:
                x[r, index[f]] = 1.0
    y = np.asarray(labels, dtype=float)
    weight = np.where(y > 0, positive_weight, 1.0)
    penalty = np.full(len(vocabulary) + 1, l2)
    penalty[-1] = 1e-6
    w = np.zeros(len(vocabulary) + 1)
    for _ in range(iterations):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        gradient = x.T @ (weight * (p - y)) + penalty * w
        hessian = (x.T * (weight * p * (1 - p))) @ x + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return Model({f: float(w[i]) for f, i in index.items()}, float(w[-1]))


@dataclass(frozen=True)
class Row:
    example: Example
    verdict: bool
    features: tuple[str, ...]


def featurise(featuriser: Featuriser, examples: Iterable[Example]) -> list[Row]:
    rows = []
    for example in examples:
        verdict, names = featuriser.features(example)
        rows.append(Row(example, verdict, tuple(names)))
    return rows


@dataclass
class Layer:
    """A trained layer in one mode; `decide` gives the final verdict of a story."""

    mode: str
    model: Model
    threshold: float = 0.5  # the probability at or above which a story is relevant

    def decide(self, row: Row) -> bool:
        if self.mode in _VETOES and not row.verdict:
            return False
        features = visible(self.mode, row.features)
        return self.model.probability(features) >= self.threshold


def fit(rows: Sequence[Row], mode: str, l2: float = 1.0, positive_weight: float = 1.0) -> Layer:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    used = [r for r in rows if r.verdict] if mode == "veto" else list(rows)
    features = [visible(mode, r.features) for r in used]
    labels = [r.example.label for r in used]
    return Layer(mode, train(features, labels, l2=l2, positive_weight=positive_weight))


EXPLAINED = ("clauses-veto", "names-veto<0.3", "direct")  # the candidates, primary first
VETO_THRESHOLDS = (0.5, 0.3)  # a *-veto drops a rule alert whose probability is below


def fit_all(
    rows: Sequence[Row],
    l2: float = 1.0,
    bases: Sequence[str] = ("direct", "veto", "names", "clauses"),
) -> dict[str, Layer]:
    """Every mode's layer, by label; a *-veto shares the model of its base mode."""
    layers = {mode: fit(rows, mode, l2) for mode in bases}
    if "direct" in layers:  # the shipped layer: direct's model, applied to the rule's alerts
        layers["direct-veto"] = Layer("direct-veto", layers["direct"].model, SHIPPED_THRESHOLD)
    for base in ("names", "clauses"):
        if base not in layers:
            continue
        for threshold in VETO_THRESHOLDS:
            label = f"{base}-veto" if threshold == 0.5 else f"{base}-veto<{threshold}"
            layers[label] = Layer(f"{base}-veto", layers[base].model, threshold)
    return layers


def score(rows: Iterable[Row], decide: Callable[[Row], bool]) -> dict[str, Counts]:
    """Counts per language (and `all`) of a decision function over rows."""
    counts: dict[str, Counts] = {"all": Counts()}
    for row in rows:
        predicted = bool(decide(row))
        actual = bool(row.example.label)
        counts["all"].add(predicted, actual)
        counts.setdefault(row.example.lang, Counts()).add(predicted, actual)
    return counts


def _same_story(row: Row) -> tuple[str, str, str]:
    return row.example.id, row.example.title, row.example.text


def run_learned(
    matcher: Matcher,
    topic: str,
    corpora: list[Path],
    *,
    train_files: list[Path] | None = None,
    l2: float = 1.0,
    explain: int = 0,
) -> str:
    """Train on the training files, score the corpora rule-only and with each layer."""
    featuriser = Featuriser(matcher, topic)
    scored = featurise(featuriser, (e for p in corpora for e in read_corpus(p)))
    seen = {_same_story(r) for r in scored}
    files = train_files if train_files is not None else default_training_files()
    if not files:  # an installed package carries neither the probes nor ../shared/corpus
        raise CorpusError("no training corpora found: give --train FILE.jsonl ...")
    training = [
        r
        for r in featurise(featuriser, (e for p in files for e in read_corpus(p)))
        if _same_story(r) not in seen  # a corpus is never scored by a model that saw it
    ]
    lines = [
        f"learned layer: trained on {len(training)} stories from {len(files)} files "
        f"({len(scored)} scored; l2 {l2})"
    ]
    lines.append(table("rule only", score(scored, lambda r: r.verdict)))
    layers = fit_all(training, l2)
    for mode, layer in layers.items():
        lines.append(table(f"rule+{mode}", score(scored, layer.decide)))
    for mode in ("direct", "veto", "names", "clauses"):
        lines.append(f"top weights ({mode}): " + top_weights(layers[mode].model))
    if explain:  # why the candidate layers overrule the rule, story by story
        for row in scored:
            for mode in EXPLAINED:
                layer = layers[mode]
                decided = layer.decide(row)
                if decided != row.verdict:
                    fired = visible(layer.mode, row.features)
                    why = ", ".join(
                        f"{f} {w:+.2f}"
                        for f, w in layer.model.explain(fired, explain, toward=decided)
                    )
                    lines.append(
                        f"  {mode} flips {row.example.id} (label {row.example.label}) "
                        f"to {int(decided)}: {why}"
                    )
    return "\n".join(lines)


def table(name: str, counts: dict[str, Counts]) -> str:
    parts = [
        f"{lang} P {c.precision:.3f} R {c.recall:.3f} F1 {c.f1:.3f}"
        for lang, c in sorted(counts.items())
    ]
    return f"  {name:<20} " + " | ".join(parts)


def top_weights(model: Model, count: int = 12) -> str:
    ranked = sorted(model.weights.items(), key=lambda fw: (-abs(fw[1]), fw[0]))[:count]
    return ", ".join(f"{f} {w:+.2f}" for f, w in ranked)


def held_out_experiment(
    featuriser: Featuriser, dev: list[Path], probes: list[Path], l2: float = 1.0
) -> tuple[list[Row], dict[str, list[Row]], list[bool]]:
    """Featurised dev rows, probe rows per file, and which dev rows are the held-out fold."""
    dev_examples = [e for p in dev for e in read_corpus(p)]
    folds = assign_folds(dev_examples, 4)
    dev_rows = featurise(featuriser, dev_examples)
    probe_rows = {p.name: featurise(featuriser, read_corpus(p)) for p in probes}
    return dev_rows, probe_rows, [f == HELD_OUT for f in folds]


@dataclass(frozen=True)
class Setting:
    """How a veto is trained and when it acts (see `VetoWeights.vetoes`)."""

    mode: str = "direct"  # direct: every story; veto: the rule's alerts only
    l2: float = 1.0
    positive_weight: float = 1.0  # a relevant story's loss counts this many times
    threshold: float = 0.4
    cue: float = 0.0  # > 0: a veto also needs a negative cue of at least this (log-odds)

    def describe(self) -> str:
        return (
            f"{self.mode}, l2 {self.l2:g}, positive weight {self.positive_weight:g}, "
            f"threshold {self.threshold:g}, cue {self.cue:g}"
        )


# The shipped layer (crawler/data/learned-veto.json). Chosen by event-grouped 5-fold
# cross-validation over its own training data, with today's rule and two older ones
# (`python bench/learned.py --cv [--rule-from]`; bench/README.md, session 12): of the
# settings that lose no true alert out of fold under any of the three rules, it removes
# the most false alerts. Session 11's (l2 1, weight 1) lost 9 and 17 under the older rules.
SHIPPED = Setting(mode="direct", l2=10.0, positive_weight=2.0, threshold=0.4, cue=0.0)
SHIPPED_THRESHOLD = SHIPPED.threshold
DEV_FILES = ("dev.jsonl", "dev-2.jsonl")
RETRAIN = "python bench/learned.py --write-weights"


def shipped_training_files(corpus_dir: Path = SHARED_CORPUS) -> tuple[list[Path], list[Path]]:
    """(dev corpora, probe files) the shipped weights are trained on; the dev ones must exist."""
    dev = [corpus_dir / name for name in DEV_FILES]
    missing = [str(p) for p in dev if not p.exists()]
    if missing:
        raise CorpusError(f"training needs the shared corpus: {', '.join(missing)} not found")
    return dev, sorted(PROBES.glob("probes_*.jsonl"))


def _file_record(path: Path, used: int, total: int) -> dict[str, object]:
    name = f"tests/data/{path.name}" if path.parent == PROBES else f"../shared/corpus/{path.name}"
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return {"file": name, "sha256": digest, "stories": total, "used": used}


def shipped_rows(
    matcher: Matcher, topic: str, corpus_dir: Path = SHARED_CORPUS
) -> tuple[list[Row], list[dict[str, object]]]:
    """The shipped layer's training rows: dev + dev-2 without their held-out fold (so
    `crackdown eval --split held-out` stays honest) and every probe file; and their files."""
    dev, probes = shipped_training_files(corpus_dir)
    featuriser = Featuriser(matcher, topic)
    per_file = [read_corpus(p) for p in dev]
    pooled = [e for examples in per_file for e in examples]
    kept = iter(f != HELD_OUT for f in assign_folds(pooled, 4))  # as `eval --split` splits
    rows: list[Row] = []
    trained_on = []
    for path, examples in zip(dev, per_file, strict=True):
        used = [e for e in examples if next(kept)]
        rows += featurise(featuriser, used)
        trained_on.append(_file_record(path, len(used), len(examples)))
    for path in probes:
        examples = read_corpus(path)
        rows += featurise(featuriser, examples)
        trained_on.append(_file_record(path, len(examples), len(examples)))
    return rows, trained_on


def alert_means(rows: Iterable[Row]) -> dict[str, float]:
    """Each feature's share of the rule's true alerts (the typical alert), rounded."""
    alerts = [r for r in rows if r.verdict and r.example.label]
    counts = Counter(f for r in alerts for f in r.features)
    return {f: round(n / len(alerts), 6) for f, n in sorted(counts.items())}


def veto_weights(
    rows: Sequence[Row], setting: Setting, *, topic: str = "", rule: str = "", vocabulary: str = ""
) -> VetoWeights:
    """The layer `setting` gives on these rows."""
    layer = fit(rows, setting.mode, setting.l2, setting.positive_weight)
    return VetoWeights(
        mode=f"{setting.describe()} as veto (final = rule and not vetoed)",
        topic=topic,
        rule_sha256=rule_hash(rule),
        vocabulary_sha256=vocabulary,
        bias=layer.model.bias,
        threshold=setting.threshold,
        weights=layer.model.weights,
        trained_on=[],
        alert_means=alert_means(rows),
        cue=setting.cue,
    )


def train_shipped(matcher: Matcher, topic: str, corpus_dir: Path = SHARED_CORPUS) -> VetoWeights:
    """The shipped layer's weights (`SHIPPED`), trained on `shipped_rows`."""
    rows, trained_on = shipped_rows(matcher, topic, corpus_dir)
    rule = next(t.rule for t in matcher.watchlist.topics if t.key == topic)
    weights = veto_weights(
        rows, SHIPPED, topic=topic, rule=rule, vocabulary=vocabulary_hash(matcher.watchlist)
    )
    return dataclasses.replace(weights, trained_on=trained_on)


@dataclass(frozen=True)
class Judged:
    """A rule alert scored by a layer that never saw it: its probability and reasons."""

    row: Row
    probability: float
    against: tuple[Reason, ...]


def cross_validate(rows: Sequence[Row], folds: Sequence[int], setting: Setting) -> list[Judged]:
    """Every rule alert in `rows`, judged by the layer trained on the other folds."""
    judged = []
    for fold_number in sorted(set(folds)):
        train_rows = [r for r, f in zip(rows, folds, strict=True) if f != fold_number]
        weights = veto_weights(train_rows, setting)
        for row, f in zip(rows, folds, strict=True):
            if f == fold_number and row.verdict:
                p = weights.probability(row.features)
                judged.append(Judged(row, p, tuple(weights.against(row.features))))
    return judged


def veto_cost(judged: Iterable[Judged], setting: Setting) -> dict[str, tuple[int, int, int, int]]:
    """Per language (and `all`): (true alerts, lost, false alerts, removed) under `setting`'s
    threshold and cue."""
    decide = VetoWeights("", "", "", "", 0.0, setting.threshold, {}, [], {}, setting.cue)
    totals: dict[str, list[int]] = {}
    for j in judged:
        vetoed = decide.vetoes(j.probability, j.against)
        for lang in ("all", j.row.example.lang):
            t = totals.setdefault(lang, [0, 0, 0, 0])
            base = 0 if j.row.example.label else 2
            t[base] += 1
            t[base + 1] += vetoed
    return {lang: (t[0], t[1], t[2], t[3]) for lang, t in sorted(totals.items())}
