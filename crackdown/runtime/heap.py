"""The garbage collector told what lives as long as the process: less of a full polling cycle's CPU.

Also glibc's malloc told to keep fewer arenas (`limit_malloc_arenas`): less of its peak RSS.

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

import ctypes
import gc
import os
import platform

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


# glibc's malloc: at most this many arenas (its default: 8 a CPU). The poller's threads (the
# event loop, the storing thread, the parse pool's result reader and call feeder, the WAL
# checkpointer) each got an arena, and memory freed in one served no other: about 4-6 MB of
# bench/feeds.py's first-cycle peak RSS (bench/README.md, session 15). A fixed 128 KiB mmap
# threshold saved about 3 MB more, but the unchanged cycle took more CPU in four pairs of four
# (freed feed bodies given back and faulted in again at every poll): not set.
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter (malloc.h)
_limited = False


def limit_malloc_arenas() -> bool:
    """Fewer malloc arenas, before the threads start; once a process.

    glibc only (elsewhere nothing to do: False); a MALLOC_ARENA_MAX the
    operator set in the environment is kept.
    """
    global _limited
    if _limited:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    if "MALLOC_ARENA_MAX" not in os.environ:
        mallopt(_M_ARENA_MAX, MALLOC_ARENAS)
    _limited = True
    return True
