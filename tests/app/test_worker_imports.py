"""A parse worker's module imports no storage layer: its start is a first cycle's wait."""

from __future__ import annotations

import subprocess
import sys


def test_the_parse_workers_module_leaves_storage_and_sqlalchemy_unimported() -> None:
    """The forkserver preloads `crackdown.runtime.feed_work`; SQLAlchemy, numpy and the
    storage layer were half a second of its start (bench/README.md, session 10)."""
    code = (
        "import sys, crackdown.runtime.feed_work\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'storage', 'numpy'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]", out.stdout
