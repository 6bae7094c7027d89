"""Sources claimed for a poll or a crawl, and handing back those whose run was not recorded.

`storage.sources.claim_due` moves a claimed source's next run to the end of
a lease, so another daemon on the database leaves it alone. A run that is
recorded sets the real next run; one cut short (a shutdown) or not stored
(the database away) must be handed back, or the source waits out the lease.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from storage import sources as source_store
from storage.db import Database

log = logging.getLogger(__name__)


class Claims:
    """What one poller or spider runner claimed, and what it still has to hand back."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._held: dict[str, datetime] = {}  # source key -> until when it is claimed
        self._unreleased: dict[str, datetime] = {}  # claims the database was away to take back

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

    def _give_back(self, claims: dict[str, datetime], now: datetime) -> None:
        try:
            with self.db.session() as session:
                source_store.release_claims(session, claims, now)
        except Exception:  # the database is away: try again at the next claim
            log.warning("could not hand back %d claimed sources yet", len(claims))
            self._unreleased.update(claims)
