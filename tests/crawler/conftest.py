"""Fixtures shared by the filter's tests."""

from __future__ import annotations

import pytest

from crawler.matcher import Matcher
from crawler.watchlist import builtin_watchlist


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    """The shipped watchlist's matcher, built once a module (about a second to build)."""
    return Matcher(builtin_watchlist())
