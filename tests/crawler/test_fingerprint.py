"""The matcher's decisions are byte-identical to the stored fingerprint (bench/fingerprint.py).

Speed work on the matching machinery (folding, the automaton, the scan and evidence
loops) must not change a single MatchResult field. When the vocabulary or the rule
language changes (bench.fingerprint.VOCABULARY_FILES), the stored fingerprint is stale
until it is stored again: the test fails and says how, so that a stale fingerprint never
lets a commit through unchecked (a skip would pass silently).
"""

from __future__ import annotations

import json

import pytest

from bench.fingerprint import CORPORA, CORPUS_DIR, STORED, fingerprints, vocabulary_key

REGENERATE = "python bench/fingerprint.py --write"


def test_every_match_result_field_is_as_stored() -> None:
    stored = json.loads(STORED.read_text())
    if stored["vocabulary"] != vocabulary_key():
        pytest.fail(f"the vocabulary changed since the fingerprint was stored: {REGENERATE}")
    found = fingerprints(with_eval=False)
    expected = {
        name: value
        for name, value in stored["sets"].items()
        if not name.startswith("eval ") and (name not in CORPORA or (CORPUS_DIR / name).exists())
    }
    differ = sorted(n for n in expected if expected[n] != found["sets"].get(n))
    assert not differ, (
        f"decisions changed in {differ}; diff `python bench/fingerprint.py --dump DIR` "
        f"against the old code's, or if the change is meant: {REGENERATE}"
    )
