"""Sources claimed for a poll or a crawl, and handing back those whose run was not recorded.

`storage.sources.claim_due` moves a claimed source's next run to the end of
a lease, so another daemon on the database leaves it alone. A run that is
recorded sets the real next run; one cut short (a shutdown) or not stored
(the database away) must be handed back, or the source waits out the lease.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

from storage import sources as source_store
from storage.db import Database

log = logging.getLogger(__name__)

# Runs the database refused to store (a full disk, a server away) are due again at the next
# tick the first time, then after a wait that doubles from a minute up to REFUSED_MAX_WAIT: a
# disk full for hours otherwise had every source fetched every tick (20 times its interval).
DATABASE_RETRY = timedelta(minutes=1)
REFUSED_MAX_WAIT = timedelta(minutes=10)  # the feed poller's lease
REFUSED = "database error: "  # how a run the database refused to store is reported


class Claims:
    """What one poller or spider runner claimed, and what it still has to hand back."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._held: dict[str, datetime] = {}  # source key -> until when it is claimed
        self._unreleased: dict[str, datetime] = {}  # claims the database was away to take back
        self._refused_in_a_row = 0  # runs in a row whose every store the database refused

    def claim_due(self, keys: Iterable[str], now: datetime, lease: timedelta) -> list[str]:
        """The due sources among `keys`, claimed until `now + lease`, in the order given.

        Claims a previous run could not hand back (the database was away) are
        handed back first: those sources are due again now.
        """
        if self._unreleased:
            claims, self._unreleased = self._unreleased, {}
            self._give_back(claims, now)
        with self.db.session() as session:
            claimed = source_store.claim_due(session, keys, now, lease)
        self._held.update(dict.fromkeys(claimed, now + lease))
        return claimed

    def release(self, keys: Iterable[str], *, after: timedelta = timedelta()) -> None:
        """Hand back the claims of these sources, due again `after` from now; a run recorded
        meanwhile keeps its schedule."""
        claims = {key: self._held.pop(key) for key in keys if key in self._held}
        if claims:
            self._give_back(claims, datetime.now(UTC) + after)

    def release_run(self, keys: Iterable[str], finished: int, refused: Sequence[str]) -> None:
        """Hand back the claims of a run of `keys`, `finished` of which ended: those whose
        store the database `refused` wait `_database_wait`, the rest are due again now (a
        run recorded keeps its schedule)."""
        if refused:
            self.release(refused, after=self._database_wait(stored=len(refused) < finished))
        elif finished:
            self._refused_in_a_row = 0
        self.release(keys)

    def _database_wait(self, stored: bool) -> timedelta:
        """How long sources whose run the database refused wait: none the first time, nor
        when it stored others of the same run (`stored`)."""
        self._refused_in_a_row = 0 if stored else self._refused_in_a_row + 1
        if self._refused_in_a_row <= 1:
            return timedelta()
        return min(DATABASE_RETRY * 2 ** min(self._refused_in_a_row - 2, 16), REFUSED_MAX_WAIT)

    def _give_back(self, claims: dict[str, datetime], now: datetime) -> None:
        try:
            with self.db.session() as session:
                source_store.release_claims(session, claims, now)
        except Exception:  # the database is away: try again at the next claim
            log.warning("could not hand back %d claimed sources yet", len(claims))
            self._unreleased.update(claims)
