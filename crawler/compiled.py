"""Which build of the filter's hot modules runs: the mypyc-compiled one or the .py.

setup.py compiles COMPILED_MODULES with mypyc when it can and writes a hash of their
sources beside them (STAMP). Python would import an extension before the .py beside
it even after the .py changed (an editable install after an edit or a merge), so
`crawler/__init__.py` installs `InterpretedWhenStale`: the extensions are used only
while the stamp matches the sources, all or none (compiled modules call each other
natively), and never when INTERPRETED_ENV is set (tests/crawler/test_compiled.py
compares both builds' decisions that way).
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

# setup.py's COMPILED lists the same modules, in this order.
# Not crawler.snippets: a compiled frozen dataclass does not unpickle, and a MatchResult's
# snippets cross process boundaries (tests/crawler/test_compiled.py).
COMPILED_MODULES = ("crawler.matcher", "crawler.fold", "crawler.queryindex", "crawler.rules")
STAMP = "compiled-from.sha256"  # in the package: sources_hash() of the compiled sources
INTERPRETED_ENV = "CRACKDOWN_INTERPRETED"  # set (non-empty): always run the .py


def sources_hash(package: Path) -> str:
    """One hash over the sources of COMPILED_MODULES in `package` (setup.py writes it)."""
    digest = hashlib.sha256()
    for name in COMPILED_MODULES:
        digest.update((package / (name.rpartition(".")[2] + ".py")).read_bytes())
    return digest.hexdigest()


def is_compiled(module: ModuleType) -> bool:
    """Was this module loaded from a compiled extension?"""
    return isinstance(getattr(module, "__loader__", None), importlib.machinery.ExtensionFileLoader)


class InterpretedWhenStale(importlib.abc.MetaPathFinder):
    """Load COMPILED_MODULES from their .py when told to, or when the extensions beside
    them were compiled from other versions of them (or have no stamp)."""

    def __init__(self) -> None:
        self._fresh: dict[Path, bool] = {}  # package directory -> stamp matches sources

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in COMPILED_MODULES or not path:
            return None
        package = Path(path[0])
        source = package / (fullname.rpartition(".")[2] + ".py")
        if not source.is_file():
            return None
        if not os.environ.get(INTERPRETED_ENV) and self._stamp_matches(package):
            return None  # the ordinary import: the extension if there is one
        return importlib.util.spec_from_file_location(fullname, source)

    def _stamp_matches(self, package: Path) -> bool:
        fresh = self._fresh.get(package)
        if fresh is None:
            try:
                fresh = (package / STAMP).read_text().strip() == sources_hash(package)
            except OSError:  # no stamp (no extensions built by setup.py), a missing source
                fresh = False
            self._fresh[package] = fresh
        return fresh


def install() -> None:
    if not any(isinstance(finder, InterpretedWhenStale) for finder in sys.meta_path):
        sys.meta_path.insert(0, InterpretedWhenStale())
