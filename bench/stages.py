"""Per-stage CPU time of a polling cycle: which part of storing a feed costs what.

Why: cProfile sees the event loop's thread only, and py-spy's samples need
reading; this wraps the pipeline's stages where they are looked up (module
attributes) and sums each one's CPU time (`time.thread_time`: the calling
thread's own, so a loaded machine inflates it less than wall time). Nested
stages count in their parent as well ("store_stories" holds "clustering").
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

import crackdown.runtime.pipeline
import crackdown.runtime.polling
import storage.clusters
import storage.search
import storage.stories
from crackdown.runtime.filters import FilterBook
from crawler.cluster import Pool

# (owner, attribute, stage name): functions wrapped where their callers look them up.
_STAGES: list[tuple[Any, str, str]] = [
    (crackdown.runtime.polling, "prepare", "normalise (prepare)"),
    (crackdown.runtime.polling.Poller, "_record_together", "storing a batch, all (thread)"),
    (crackdown.runtime.polling.Poller, "_record_health", "health records"),
    (crackdown.runtime.polling, "store_found", "store_found, all"),
    (FilterBook, "match", "match (FilterBook.match)"),
    (storage.stories, "known_urls", "dedup check (known_urls)"),
    (storage.stories, "store_stories", "store_stories, all"),
    (storage.stories, "plan_clusters", "clustering (plan_clusters)"),
    (storage.clusters, "signature", "  signatures (MinHash)"),
    (storage.clusters, "_candidates", "  band reads (_candidates)"),
    (storage.clusters, "_read", "    candidates' signatures (_read)"),
    (storage.clusters, "_titled", "  title reads (_titled)"),
    (storage.clusters, "_joinable", "  candidate scores (_joinable)"),
    (storage.clusters, "_members", "  cluster members (_members)"),
    (Pool, "choose", "  complete link (Pool.choose)"),
    (storage.clusters, "_write_signatures", "  signature and band rows"),
    (storage.clusters, "_write_adopted", "  adopted clusters' ids (UPDATE)"),
    (storage.search, "index_stories", "search index (index_stories)"),
    (storage.stories, "_fan_out", "fan-out reads (_fan_out)"),
    (crackdown.runtime.pipeline, "_note_all_also_reported", "also reported"),
    (Session, "commit", "commit"),
]


class StageTimer:
    """CPU seconds and calls per stage while active (`with timer.active(): ...`)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._lock = threading.Lock()

    def _wrap(self, function: Callable[..., Any], name: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent = time.thread_time() - started
                with self._lock:
                    self.seconds[name] = self.seconds.get(name, 0.0) + spent
                    self.calls[name] = self.calls.get(name, 0) + 1

        return timed

    @contextmanager
    def active(self) -> Iterator[StageTimer]:
        saved = [(owner, attr, getattr(owner, attr)) for owner, attr, _ in _STAGES]
        try:
            for owner, attr, name in _STAGES:
                setattr(owner, attr, self._wrap(getattr(owner, attr), name))
            yield self
        finally:
            for owner, attr, original in saved:
                setattr(owner, attr, original)

    def per_feed_ms(self, feeds: int) -> dict[str, float]:
        """Stage -> CPU milliseconds per feed, in the order of `_STAGES`."""
        return {
            name: round(1000 * self.seconds[name] / max(feeds, 1), 2)
            for _, _, name in _STAGES
            if name in self.seconds
        }
