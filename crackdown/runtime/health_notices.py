"""What operators are told when a source breaks and when it comes back."""

from __future__ import annotations

from html import escape


def failing(key: str, url: str, streak: int, error: str, retry_in: float) -> str:
    return (
        f"⚠️ <b>Source failing: {escape(key)}</b>\n"
        f"{streak} polls in a row have failed. Last error: {escape(error[:300])}\n"
        f"{escape(url)}\n"
        f"Still retrying (next in {retry_in / 60:.0f} min). You will hear when it recovers."
    )


def recovered(key: str, streak: int) -> str:
    return (
        f"✅ <b>Source recovered: {escape(key)}</b>\nPolling works again after {streak} failures."
    )
