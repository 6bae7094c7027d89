"""`crawler.cluster.minhash` stores the values datasketch 2.0 stored (no datasketch needed).

tests/data/minhash_expected.json was made once with datasketch 2.0.0 installed
(`MinHash(num_perm=128, seed=20261125, hashfunc=zlib.crc32, scheme="affine32")`,
`update_batch`): token sets from one token to 2,000, and the features of
stories of tests/data/cluster_pairs.jsonl. Signatures stored before datasketch
was dropped must compare with those computed now.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from crawler.cluster import NUM_PERM, Signature, from_bytes, minhash, signature_bytes, similarity

CASES = json.loads((Path(__file__).parents[1] / "data" / "minhash_expected.json").read_text())[
    "cases"
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: f"{len(case['tokens'])}-tokens")
def test_values_equal_datasketch(case: dict[str, list]) -> None:
    values = minhash(token.encode() for token in case["tokens"])
    assert values.dtype == np.uint32
    assert values.tolist() == case["values"]


def test_token_order_and_repeats_do_not_matter() -> None:
    tokens = [token.encode() for token in CASES[-1]["tokens"]]
    assert minhash(reversed(tokens + tokens)).tolist() == CASES[-1]["values"]


def test_no_tokens_is_all_maxima() -> None:
    assert minhash([]).tolist() == [0xFFFFFFFF] * NUM_PERM


def test_a_stored_signature_compares_with_a_new_one() -> None:
    expected = CASES[-1]
    stored = signature_bytes(Signature(np.array(expected["values"], dtype=np.uint32)))
    fresh = Signature(minhash(token.encode() for token in expected["tokens"]))
    assert similarity(from_bytes(stored), fresh) == 1.0
