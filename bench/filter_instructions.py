"""Instructions per MB of `Matcher.match`, counted by valgrind's callgrind: a machine-free
figure for bench/filter.py's throughput.

Why: the same commit measured 49-56 MB/s on one machine and 30-36 on another, and the
2-core machines are shared (load 4-12): wall and CPU time move by 10-40%, instruction
counts by well under 1%. Instructions are not time (a cache miss costs more than an add),
so bench/filter.py's same-run CPU ratio stays the figure for speed; this one says whether
a change did less work, and where (`--keep DIR`, then `callgrind_annotate`).

What: bench/filter.py's corpus (its seed, templates and 10,000 subscriber phrases) of
`--mb` MB is made here once and pickled; for this checkout and each `--against DIR`, a
child process (PYTHONPATH=DIR, PYTHONHASHSEED=0: the same dict and set probes each run)
under `valgrind --tool=callgrind` builds the matcher, runs one pass of
`match_with_evidence` over every story uncounted (caches and lazy tables filled), then one
pass of `match`, the only calls counted (`--toggle-collect` on the compiled `match`'s
entry, `CPyPy_matcher___Matcher___match`; the interpreted build has no such symbol and
is not measured here). Takes about a minute per checkout for 4 MB.

Run from the repository root: `python bench/filter_instructions.py [--mb N] [--phrases N]
[--against DIR ...] [--keep DIR] [--json]`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pickle
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ENTRY = "CPyPy_matcher___Matcher___match"  # mypyc's wrapper of the compiled Matcher.match
MB = 1_000_000
_TOTALS = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


def child(corpus: str) -> int:
    """Under callgrind: build, one uncounted warm pass, one counted pass of `match`."""
    from crawler.matcher import Matcher
    from crawler.types import Story
    from crawler.watchlist import builtin_watchlist

    phrases, fields = pickle.loads(Path(corpus).read_bytes())
    stories = [Story(**f) for f in fields]
    matcher = Matcher(builtin_watchlist(), phrases=phrases)
    for story in stories:  # another entry point: not counted
        matcher.match_with_evidence(story)
    results = [matcher.match(story) for story in stories]  # counted
    print(json.dumps({"stories": len(results)}), flush=True)
    return 0


def make_corpus_file(mb: float, phrases: int, path: Path) -> int:
    """bench/filter.py's corpus, pickled as filter_other.py reads it; its size in bytes."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import filter as bench  # bench/filter.py, beside this file

    from crawler.watchlist import builtin_watchlist

    rng = random.Random(bench.SEED)
    watchlist = builtin_watchlist()
    terms = bench.make_phrases(phrases, rng)
    stories, _ = bench.make_corpus(int(mb * MB), watchlist, terms, rng)
    fields = [dataclasses.asdict(story) for story in stories]
    path.write_bytes(pickle.dumps((terms, fields)))
    return sum(bench._nbytes(story) for story in stories)


def count(checkout: str, corpus: Path, keep: Path | None) -> int:
    """Instructions callgrind counted inside `match` for one checkout."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        env = dict(os.environ, PYTHONPATH=str(Path(checkout).resolve()), PYTHONHASHSEED="0")
        command = [
            "valgrind",
            "--tool=callgrind",
            "--collect-atstart=no",
            f"--toggle-collect={ENTRY}",
            f"--callgrind-out-file={out}",
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            str(corpus),
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"callgrind failed for {checkout}:\n{done.stderr[-2000:]}")
        text = out.read_text()
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            name = Path(checkout).resolve().name or "checkout"
            shutil.copy(out, keep / f"callgrind.{name}.out")
    found = _TOTALS.search(text)
    if found is None or int(found[1]) == 0:
        raise RuntimeError(f"nothing counted in {ENTRY} for {checkout}: not the compiled matcher?")
    return int(found[1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=4.0, help="corpus size in MB (default 4)")
    parser.add_argument("--phrases", type=int, default=10_000, help="subscriber phrases")
    parser.add_argument(
        "--against",
        action="append",
        default=[],
        metavar="DIR",
        help="another checkout, built (git worktree add; pip install -e)",
    )
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the callgrind files here")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--child", metavar="CORPUS", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed", file=sys.stderr)
        return 2
    here = str(Path(__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.pickle"
        print(f"generating a {args.mb:g} MB corpus ...", file=sys.stderr, flush=True)
        size = make_corpus_file(args.mb, args.phrases, corpus)
        report: dict[str, Any] = {"corpus_mb": round(size / MB, 3), "phrases": args.phrases}
        mine = count(here, corpus, args.keep)
        report["instructions"] = mine
        report["instructions_per_byte"] = round(mine / size, 1)
        others = []
        for checkout in args.against:
            theirs = count(checkout, corpus, args.keep)
            others.append(
                {
                    "against": checkout,
                    "instructions": theirs,
                    "instructions_per_byte": round(theirs / size, 1),
                    "ratio": round(mine / theirs, 4),
                }
            )
        if others:
            report["against"] = others
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"corpus        {report['corpus_mb']} MB, {args.phrases:,} phrases")
    print(f"this checkout {mine:,} instructions ({report['instructions_per_byte']} per byte)")
    for other in others:
        print(
            f"{other['against']}: {other['instructions']:,} ({other['instructions_per_byte']} "
            f"per byte); this one does {other['ratio']:.4f}x its work"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
