"""Fixtures of the pacing tests: a simulated clock the pacer's sleeps advance."""

from __future__ import annotations

import asyncio

import pytest


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """A simulated clock; the pacer's sleeps advance it instead of waiting."""
    fake = Clock()
    real_sleep = asyncio.sleep

    async def fake_sleep(seconds: float) -> None:
        fake.now += seconds
        await real_sleep(0)

    monkeypatch.setattr("bot.pacing.asyncio.sleep", fake_sleep)
    return fake
