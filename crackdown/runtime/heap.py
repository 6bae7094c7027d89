"""The garbage collector told what lives as long as the process: less of a full polling cycle's CPU.

Why: after start-up the heap holds the watchlist's automaton, the filters and
every imported module, hundreds of thousands of objects that live until
exit. CPython's cyclic collector walked them all on each full collection,
and a first polling cycle (tens of thousands of rows through SQLAlchemy)
set one off every few seconds: bench/feeds.py measured 5.3 s of a 300-feed
cycle's 25 s of CPU in the collector. `gc.freeze()` leaves those objects
out of every later collection, and a larger first-generation threshold
makes the collector run a tenth as often (reference counting still frees
everything that is not in a cycle at once).
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 20_000  # allocations between young collections (CPython's default: 700)
_settled = False


def settle_long_lived() -> None:
    """Collect once, then freeze what is left and collect less often; once per process."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
