"""Child process of `bench/filter.py --against DIR`: another checkout's matcher, timed.

Run with PYTHONPATH=DIR so `crawler` is that revision's. It reads the corpus (phrases
and stories as plain fields, so a revision whose Story differs elsewhere still loads
it) from the pickle named on the command line, builds that revision's
`Matcher(builtin_watchlist(), phrases=...)`, says `ready`, then times one pass over
the stories for each line on stdin and answers with its wall and CPU seconds. The
parent alternates these passes with its own, so both see the same machine.
"""

from __future__ import annotations

import gc
import json
import pickle
import sys
import time
from pathlib import Path

from crawler.matcher import Matcher
from crawler.types import Story
from crawler.watchlist import builtin_watchlist


def main() -> int:
    phrases, fields = pickle.loads(Path(sys.argv[1]).read_bytes())
    stories = [Story(**f) for f in fields]
    matcher = Matcher(builtin_watchlist(), phrases=phrases)
    print(json.dumps({"ready": True}), flush=True)
    results: list[object] = []
    for _ in sys.stdin:
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        # kept as the parent keeps its own: a pass's garbage collections walk the same heap
        results = [matcher.match(story) for story in stories]
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        print(json.dumps({"wall": wall, "cpu": cpu, "results": len(results)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
