"""`crackdown match` and `crackdown eval`: the filter, run by hand."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from crackdown.commands.evaluate import CorpusError, evaluate, read_corpus, report
from crackdown.commands.folds import HELD_OUT, assign_folds
from crackdown.config import Config
from crackdown.console.progress import Meter
from crackdown.exitcodes import FAILURE, OK, USAGE, CommandError
from crawler.explain import Refusal, TopicExplainer, refusal_kind
from crawler.explain import describe as describe_why_not
from crawler.extract import fetch_article
from crawler.http import FetchError, HttpPolicy, make_client
from crawler.learned import LearnedVeto, Verdict
from crawler.matcher import Matcher
from crawler.netguard import fetching_for
from crawler.normalize import normalise
from crawler.types import MatchResult, RawStory


async def _fetch_article(url: str, policy: HttpPolicy) -> tuple[str, str]:
    # The operator named this URL: its host may be a private one.
    with fetching_for("filter --url", [url]):
        async with make_client(policy) as client:
            article = await fetch_article(client, url, policy)
    if not article.text and not article.title:
        raise FetchError("no article text found on the page")
    return article.title, article.text


def read_input(
    text: str | None, file: Path | None, url: str | None, policy: HttpPolicy
) -> tuple[str, str]:
    """(title, body) from exactly one of the three sources."""
    if text is not None:
        return "", text
    if file is not None:
        try:
            return "", file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"--file {file}: cannot read: {exc}", USAGE) from exc
    assert url is not None
    try:
        return asyncio.run(_fetch_article(url, policy))
    except FetchError as exc:  # the network or the page, not the config: a plain failure
        raise CommandError(f"--url {url}: {exc}", FAILURE) from exc


def describe(result: MatchResult, matcher: Matcher) -> str:
    """Entities, topics, score and snippets, for a terminal."""
    names = {e.key: e.name_en for e in matcher.watchlist.entities}
    lines = [
        f"topics:   {', '.join(result.topics) or '-'}",
        f"entities: {', '.join(f'{names[k]} ({k})' for k in result.entities) or '-'}",
        f"signals:  {', '.join(k for k in result.signals if k not in result.entities) or '-'}",
        f"score:    {result.score}",
        f"action:   {', '.join(result.actions) or '-'}",
        f"actor:    {', '.join(f'{names[k]} ({k})' for k in result.actors) or '-'}",
    ]
    lines += [f"{s.field}: {s.marked()}" for s in result.snippets]
    return "\n".join(lines)


def describe_refusal(topic: str, refusal: Refusal) -> str:
    """Which part of the topic's rule said no, in English and Chinese."""
    en, zh = describe_why_not(refusal), describe_why_not(refusal, "zh")
    return f"why not:  {topic}: {en}\n  为何未报: {zh}"


def describe_veto(verdict: Verdict, veto: LearnedVeto) -> list[str]:
    """What the learned layer made of a matched story, in English and Chinese, with what
    makes it look less like a typical true alert (log-odds against the typical one)."""
    threshold = veto.weights.threshold
    if verdict.vetoed:
        head = (
            f"learned:  vetoed {veto.topic} (p {verdict.probability:.2f} < {threshold:.2f})"
            f" / 学习层否决 (p {verdict.probability:.2f})"
        )
    else:
        head = f"learned:  kept (p {verdict.probability:.2f} >= {threshold:.2f}) / 学习层保留"
    lines = [head]
    if verdict.against:
        for lang, label in (("en", "against"), ("zh", "反向证据")):
            why = ", ".join(
                f"{veto.reason(r, lang)} {r.contribution:+.1f}" for r in verdict.against
            )
            lines.append(f"  {label}: {why}")
    return lines


def veto_json(verdict: Verdict, veto: LearnedVeto) -> dict[str, object]:
    return {
        "probability": round(verdict.probability, 4),
        "threshold": veto.weights.threshold,
        "vetoed": verdict.vetoed,
        "against": [  # relative to the typical true alert: w * (x - its mean there)
            {
                "feature": r.feature,
                "present": r.present,
                "contribution": round(r.contribution, 3),
                "weight": round(veto.weights.weights[r.feature], 3),
                "en": veto.reason(r),
                "zh": veto.reason(r, "zh"),
            }
            for r in verdict.against
        ],
    }


def run_match(
    matcher: Matcher,
    *,
    text: str | None,
    file: Path | None,
    url: str | None,
    policy: HttpPolicy,
    as_json: bool,
    veto: LearnedVeto | None = None,
    topic: str | None = None,
) -> int:
    """Match one text, file or fetched page; 0 when a topic matched, 1 when none did (as search).

    With the learned veto on, a story the default topic matched is judged again by it, and
    what it decided is shown. When `topic` did not hold, the part of its rule that said no
    is shown too, so an operator can see why a story raised no alert."""
    title, body = read_input(text, file, url, policy)
    story = normalise(
        RawStory("cli", url or "https://cli.invalid/", title, "", body),
        fetched_at=datetime.now(UTC),
    )
    rule = matcher.match(story)
    verdict = veto.judge(matcher, story, rule) if veto is not None else None
    result = veto.drop(rule) if veto is not None and verdict and verdict.vetoed else rule
    refusal = None
    if topic is not None and topic not in rule.topics:
        refusal = TopicExplainer(matcher, topic).why_not(story)
    if as_json:
        shown = asdict(result)
        if veto is not None and verdict is not None:
            shown["learned_veto"] = veto_json(verdict, veto)
        if refusal is not None:
            shown["why_not"] = {"topic": topic, "kind": refusal_kind(refusal), **asdict(refusal)}
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    else:
        lines = [describe(result, matcher)]
        if veto is not None and verdict is not None:
            lines += describe_veto(verdict, veto)
        if refusal is not None:
            lines.append(describe_refusal(topic or "", refusal))
        print("\n".join(lines))
    return OK if result.matched else FAILURE


def run_eval(
    config: Config,
    matcher: Matcher,
    corpora: Path | list[Path],
    as_json: bool,
    *,
    split: str = "all",
    folds: int = 4,
    veto: LearnedVeto | None = None,
) -> int:
    """Score the default topic on labelled corpora (or one split of them) and print the figures."""
    paths = [corpora] if isinstance(corpora, Path) else corpora
    try:
        examples = [example for path in paths for example in read_corpus(path)]
    except CorpusError as exc:
        raise CommandError(str(exc), USAGE) from exc
    if split != "all":
        try:
            assigned = assign_folds(examples, folds)
        except ValueError as exc:
            raise CommandError(f"--folds: {exc}", USAGE) from exc
        held_out = split == "held-out"
        pairs = zip(examples, assigned, strict=True)
        examples = [e for e, f in pairs if (f == HELD_OUT) == held_out]
    meter = Meter(sys.stderr, "examples matched", len(examples))
    evaluation = evaluate(matcher, examples, config.telegram.default_topic, meter.step, veto=veto)
    meter.close()
    if as_json:
        json.dump(evaluation.as_dict(), sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(report(evaluation))
    return 0
