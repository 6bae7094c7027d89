"""Which build of the filter's hot module runs: the mypyc-compiled one or the .py.

setup.py compiles `crawler/matcher.py` with mypyc when it can and writes the source's
hash beside the extension (STAMP_SUFFIX). Python would import an extension before the
.py beside it even after the .py changed (an editable install after an edit or a
merge), so `crawler/__init__.py` installs `InterpretedWhenStale`: the extension is
used only while its stamp matches the source, and never when INTERPRETED_ENV is set
(tests/crawler/test_compiled.py compares both builds' decisions that way).
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

COMPILED_MODULES = ("crawler.matcher",)
STAMP_SUFFIX = ".compiled-from"  # matcher.compiled-from: sha256 of the compiled matcher.py
INTERPRETED_ENV = "CRACKDOWN_INTERPRETED"  # set (non-empty): always run the .py


def source_hash(source: Path) -> str:
    return hashlib.sha256(source.read_bytes()).hexdigest()


def stamp_path(source: Path) -> Path:
    return source.with_suffix(STAMP_SUFFIX)


def is_compiled(module: ModuleType) -> bool:
    """Was this module loaded from a compiled extension?"""
    return isinstance(getattr(module, "__loader__", None), importlib.machinery.ExtensionFileLoader)


class InterpretedWhenStale(importlib.abc.MetaPathFinder):
    """Load COMPILED_MODULES from their .py when told to, or when the extension beside
    it was compiled from another version of it (or has no stamp)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in COMPILED_MODULES or not path:
            return None
        source = Path(path[0]) / (fullname.rpartition(".")[2] + ".py")
        if not source.is_file():
            return None
        if not os.environ.get(INTERPRETED_ENV):
            stamp = stamp_path(source)
            try:
                if stamp.read_text().strip() == source_hash(source):
                    return None  # the ordinary import: the extension if there is one
            except OSError:
                pass  # no stamp: no extension built by setup.py, or a broken one
        return importlib.util.spec_from_file_location(fullname, source)


def install() -> None:
    if not any(isinstance(finder, InterpretedWhenStale) for finder in sys.meta_path):
        sys.meta_path.insert(0, InterpretedWhenStale())
