"""Fixtures shared by the filter's tests."""

from __future__ import annotations

import pytest

from crawler.matcher import Matcher
from tests.probing import shipped_matcher


@pytest.fixture(scope="session")
def matcher() -> Matcher:
    """The shipped watchlist's matcher, built once per test process (tests.probing)."""
    return shipped_matcher()
