"""Rule-only vs rule + learned layer: held-out fold of dev+dev-2, and probes left out by batch.

    python bench/learned.py [--by file|batch] [--l2 1.0]
    PYTHONPATH=<old worktree> python bench/learned.py --probes tests/data --later 'probes_*_s10*'

    python bench/learned.py --speed 5         # the veto's cost on bench/filter.py's corpus
    python bench/learned.py --write-weights   # retrain the shipped veto (after a vocabulary
                                              # or rule change): crawler/data/learned-veto.json
    python bench/learned.py --cv              # the veto's held-out cost by setting: true alerts
                                              # lost, false alerts removed (event-grouped folds)

`--later GLOB`: a temporal hold-out. Run on an older checkout's rule (one that
never saw those probe files), train on everything else, score the later files.

Trains `crackdown/commands/learned.py`'s logistic layer on everything but the
part scored, and prints P/R/F1 per language for the rule alone and each mode.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from crackdown.commands.evaluate import Counts, read_corpus
from crackdown.commands.folds import assign_folds
from crackdown.commands.learned import (
    PROBES,
    SHARED_CORPUS,
    SHIPPED,
    Featuriser,
    Judged,
    Row,
    Setting,
    cross_validate,
    fit_all,
    held_out_experiment,
    score,
    shipped_rows,
    table,
    top_weights,
    train_shipped,
    veto_cost,
)
from crawler.matcher import Matcher
from crawler.watchlist import builtin_watchlist

TOPIC = "china-crypto-enforcement"
WEIGHTS = Path(__file__).resolve().parents[1] / "crawler" / "data" / "learned-veto.json"


def batch_of(name: str) -> str:
    """probes_en_s10c.jsonl -> probes_en_s10; probes_outlets_12.jsonl -> probes_outlets."""
    return re.sub(r"(_s\d+)[a-z]$|_\d+$", r"\1", name.removesuffix(".jsonl"))


def merge(total: dict[str, Counts], part: dict[str, Counts]) -> None:
    for lang, c in part.items():
        t = total.setdefault(lang, Counts())
        t.tp, t.fp, t.fn = t.tp + c.tp, t.fp + c.fp, t.fn + c.fn


def speed(mb: float, runs: int = 3) -> None:
    """CPU seconds a pass of `matcher.match` with and without the veto (alternated, median):
    only stories the default topic matches pay the veto's extra evidence pass."""
    import random
    import statistics
    import time

    from bench.filter import MB, SEED, make_corpus, make_phrases
    from crawler.learned import LearnedVeto

    watchlist = builtin_watchlist()
    phrases = make_phrases(10_000, random.Random(SEED))
    matcher = Matcher(watchlist, phrases)
    veto = LearnedVeto.for_matcher(matcher, TOPIC)
    assert veto is not None
    stories, _ = make_corpus(int(mb * MB), watchlist, phrases, random.Random(SEED))
    size = sum(len((s.title + s.summary + s.body).encode()) for s in stories) / MB
    times: dict[str, list[float]] = {"rule": [], "rule+veto": []}
    for _ in range(runs):
        for name in times:
            started = time.process_time()
            for story in stories:
                if name == "rule+veto":  # as the daemon's FilterBook: one scan
                    result, evidence = matcher.match_with_evidence(story)
                    veto.apply(matcher, story, result, evidence)
                else:
                    matcher.match(story)
            times[name].append(time.process_time() - started)
    matched = [s for s in stories if TOPIC in matcher.match(s).topics]
    vetoed = sum(TOPIC not in veto.apply(matcher, s, matcher.match(s)).topics for s in matched)
    rule, both = statistics.median(times["rule"]), statistics.median(times["rule+veto"])
    print(
        f"{len(stories)} stories, {size:.2f} MB; topic matched {len(matched)}, vetoed {vetoed}\n"
        f"rule {size / rule:.1f} MB/s CPU, rule+veto {size / both:.1f} MB/s CPU "
        f"(ratio {rule / both:.3f}; {runs} alternated passes, medians)"
    )


def cv(folds: int, grid: str, rule_from: Path | None, later: str | None) -> None:
    """The veto's held-out cost: event-grouped folds over the shipped layer's training rows,
    each rule alert judged by a layer trained on the other folds; per setting, the true
    alerts it loses and the false ones it removes (per language).

    `rule_from`: an older watchlist.toml (`git show REV:crawler/data/watchlist.toml`) whose
    rule was not tuned on the later probe files, so it has false alerts to remove that
    nobody wrote a rule for; `later`: also count those files' stories alone."""
    import itertools
    import tomllib

    from crawler.watchlist import build_watchlist

    watchlist = (
        build_watchlist(tomllib.loads(rule_from.read_text("utf-8")), where=str(rule_from))
        if rule_from
        else builtin_watchlist()
    )
    rows, _ = shipped_rows(Matcher(watchlist), TOPIC)
    assigned = assign_folds([r.example for r in rows], folds)
    later_ids = {e.id for p in (PROBES.glob(later) if later else ()) for e in read_corpus(p)}
    alerts = [r for r in rows if r.verdict]
    print(
        f"{len(rows)} stories in {folds} event-grouped folds, rule of {rule_from or 'today'}: "
        f"{len(alerts)} alerts ({sum(not r.example.label for r in alerts)} false); "
        f"lost/true alerts, removed/false alerts"
    )
    modes, l2s, weights, thresholds, cues = (x.split(",") for x in grid.split(";"))
    for mode, l2, weight in itertools.product(modes, l2s, weights):
        base = Setting(mode, float(l2), float(weight))
        judged = cross_validate(rows, assigned, base)
        for threshold, cue in itertools.product(thresholds, cues):
            setting = Setting(mode, float(l2), float(weight), float(threshold), float(cue))
            parts = [("", judged)]
            if later_ids:
                parts.append((" later:", [j for j in judged if j.row.example.id in later_ids]))
            said = []
            for prefix, part in parts:
                cost = veto_cost(part, setting)
                said.append(
                    prefix
                    + " | ".join(
                        f"{lang} {lost}/{ta} {removed}/{fa}"
                        for lang, (ta, lost, fa, removed) in cost.items()
                    )
                )
            lost = sorted(
                j.row.example.id
                for j in judged
                if j.row.example.label and setting_vetoes(setting, j)
            )
            mark = " <- shipped" if setting == SHIPPED else ""
            print(
                f"  {setting.describe():<60} {' ||'.join(said)}"
                f" lost: {' '.join(lost[:6]) or '-'}{mark}",
                flush=True,
            )


def setting_vetoes(setting: Setting, judged: Judged) -> bool:
    return veto_cost([judged], setting)["all"][1 if judged.row.example.label else 3] > 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--by", choices=("file", "batch"), default="batch")
    parser.add_argument("--l2", type=float, default=1.0)
    parser.add_argument("--probes", type=Path, default=PROBES, help="probe files' folder")
    parser.add_argument("--later", metavar="GLOB", help="score only these probe files")
    parser.add_argument(
        "--bases",
        default="direct,veto,names,clauses",
        help="models to fit, comma-separated (direct gives direct-veto, the shipped layer)",
    )
    parser.add_argument(
        "--write-weights",
        action="store_true",
        help=f"train the shipped layer (dev + dev-2 less the held-out fold, every probe file) "
        f"and write {WEIGHTS.name}",
    )
    parser.add_argument(
        "--speed",
        type=float,
        metavar="MB",
        help="time the rule alone and rule + shipped veto on bench/filter.py's corpus",
    )
    parser.add_argument("--cv", type=int, nargs="?", const=5, metavar="FOLDS")
    parser.add_argument(
        "--grid",
        default="direct,veto;1,3,10;1,2,4;0.3,0.4,0.5;0,0.5",
        help="--cv's settings: modes;l2s;positive weights;thresholds;cues",
    )
    parser.add_argument(
        "--rule-from",
        type=Path,
        metavar="WATCHLIST.toml",
        help="--cv with an older watchlist's rule and vocabulary (not tuned on --later)",
    )
    args = parser.parse_args()
    if args.cv:
        cv(args.cv, args.grid, args.rule_from, args.later)
        return
    if args.speed:
        speed(args.speed)
        return
    if args.write_weights:
        weights = train_shipped(Matcher(builtin_watchlist()), TOPIC)
        WEIGHTS.write_text(weights.as_json())
        used = sum(int(f["used"]) for f in weights.trained_on)
        print(f"wrote {WEIGHTS} ({len(weights.weights)} weights, {used} stories)")
        return
    bases = tuple(args.bases.split(","))
    featuriser = Featuriser(Matcher(builtin_watchlist()), TOPIC)
    dev = [SHARED_CORPUS / "dev.jsonl", SHARED_CORPUS / "dev-2.jsonl"]
    probes = sorted(args.probes.glob("probes_*.jsonl"))
    dev_rows, probe_rows, held = held_out_experiment(featuriser, dev, probes)
    if args.later:
        later = {p.name for p in args.probes.glob(args.later)}
        test = [r for name, rows in probe_rows.items() if name in later for r in rows]
        train = dev_rows + [r for n, rows in probe_rows.items() if n not in later for r in rows]
        print(f"later files {args.later}: {len(test)} stories; trained on {len(train)}")
        print(table("rule only", score(test, lambda r: r.verdict)))
        for mode, layer in fit_all(train, args.l2, bases).items():
            print(table(f"rule+{mode}", score(test, layer.decide)))
        return
    every_probe = [r for rows in probe_rows.values() for r in rows]

    test = [r for r, h in zip(dev_rows, held, strict=True) if h]
    tune = [r for r, h in zip(dev_rows, held, strict=True) if not h]
    print(f"held-out fold of dev+dev-2: {len(test)} stories; trained on {len(tune)} + probes")
    print(table("rule only", score(test, lambda r: r.verdict)))
    for mode, layer in fit_all(tune + every_probe, args.l2, bases).items():
        print(table(f"rule+{mode}", score(test, layer.decide)))
        print(f"    top weights: {top_weights(layer.model, 10)}")

    groups: dict[str, list[Row]] = {}
    for name, rows in probe_rows.items():
        groups.setdefault(name if args.by == "file" else batch_of(name), []).extend(rows)
    print(f"probes, each {args.by} left out in turn ({len(groups)} groups), pooled counts:")
    totals: dict[str, dict[str, Counts]] = {"rule only": {}}
    for name, rows in sorted(groups.items()):
        # as the shipped layer: dev and dev-2 without their held-out fold
        rest = tune + [r for other, rs in groups.items() if other != name for r in rs]
        merge(totals["rule only"], score(rows, lambda r: r.verdict))
        line = [table("rule only", score(rows, lambda r: r.verdict))]
        for mode, layer in fit_all(rest, args.l2, bases).items():
            part = score(rows, layer.decide)
            merge(totals.setdefault(mode, {}), part)
            line.append(table(f"rule+{mode}", part))
        print(f"  {name} ({len(rows)})")
        print("\n".join("  " + x for x in line), flush=True)
    print("pooled:")
    for name, counts in totals.items():
        print(table(name if name == "rule only" else f"rule+{name}", counts))


if __name__ == "__main__":
    main()
