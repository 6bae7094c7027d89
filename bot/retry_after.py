"""A 429's `retry_after` as seconds we are willing to wait.

PTB gives an int today and a timedelta later (PTB_TIMEDELTA). The value is
obeyed, up to a ceiling: a gateway or a bug that answers `retry_after:
10000000000` would otherwise park an alert in the year 2343 (or overflow
the datetime arithmetic and leave the row leased), and stop every send and
command read for as long. Past the ceiling we ask again; a real long ban
costs one more 429 an hour.
"""

from __future__ import annotations

import logging
import math

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 3600.0
# At most this long does one 429 pause every chat; a longer retry_after is taken as the
# flood ban of the chat that drew it (Telegram's global bursts ask for seconds), and only
# that chat waits it out (bot.delivery, bot.replies).
FLOOD_PAUSE_MAX = 30.0


def retry_after_seconds(value: object) -> float:
    """Seconds to wait for a RetryAfter.retry_after (int or timedelta), in 0..MAX_RETRY_AFTER."""
    total = getattr(value, "total_seconds", None)
    try:
        seconds = float(total()) if callable(total) else float(str(value))
    except (TypeError, ValueError, OverflowError):
        seconds = MAX_RETRY_AFTER
    if math.isnan(seconds) or seconds > MAX_RETRY_AFTER:
        log.warning(
            "telegram asked for a pause of %s s; waiting %.0f s and asking again",
            value,
            MAX_RETRY_AFTER,
        )
        return MAX_RETRY_AFTER
    return max(0.0, seconds)
