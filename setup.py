"""The filter's hot modules compiled with mypyc from their own source, when they can be.

Why: `crawler/matcher.py` does Python work for every automaton hit (bench/filter.py);
mypyc, the compiler mypy and black ship with, turns the same typed source into a C
extension. Where it cannot (no C compiler, no mypy, `CRACKDOWN_NO_COMPILE=1`), the
build goes on without it and the interpreted .py runs, with the same decisions
(tests/crawler/test_compiled.py). The scan loop's C extension (crawler/_native.c, the
CPython C API alone) is built beside them the same way, on its own: where it cannot be,
crawler.matcher's Python loop runs (crawler/native.py). All metadata is in pyproject.toml.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

# crawler.compiled.COMPILED_MODULES, in its order, and its STAMP.
COMPILED = [
    "crawler/matcher.py",
    "crawler/fold.py",
    "crawler/queryindex.py",
    "crawler/rules.py",
]
STAMP = "compiled-from.sha256"
NATIVE, NATIVE_SOURCE = "crawler._native", "crawler/_native.c"  # crawler.native loads it


class OptionalBuildExt(build_ext):
    """Build the compiled modules, or none of them: a failed compile warns and leaves the
    interpreted modules (a half-built pair would not import)."""

    def build_extension(self, ext: Extension) -> None:
        if ext.name != NATIVE:
            super().build_extension(ext)
            return
        try:  # on its own: without it the Python scan loop runs (crawler/native.py)
            super().build_extension(ext)
        except Exception as exc:
            print(f"warning: compiling {NATIVE_SOURCE} failed ({exc})", file=sys.stderr)
            Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)

    def run(self) -> None:
        if not any(ext.name != NATIVE for ext in self.extensions):
            super().run()  # the C scan loop alone (no mypyc): no stamp to write
            return
        try:
            super().run()
        except Exception as exc:  # CompileError, a missing gcc or Python.h, ...
            print(f"warning: compiling {COMPILED} failed ({exc}); the .py runs", file=sys.stderr)
            for ext in self.extensions:
                Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)
            return
        # What crawler.compiled checks before it lets the extensions be imported.
        digest = hashlib.sha256()
        for source in COMPILED:
            digest.update(Path(source).read_bytes())
        stamp = Path(self.get_ext_fullpath("crawler.matcher")).with_name(STAMP)
        stamp.write_text(digest.hexdigest() + "\n")


BUILDS = {"build", "build_ext", "bdist_wheel", "editable_wheel", "develop", "install"}


def native_extension() -> Extension:
    """The C scan loop, carrying the hash of its source (crawler.native refuses a stale one)."""
    digest = hashlib.sha256(Path(NATIVE_SOURCE).read_bytes()).hexdigest()
    return Extension(
        NATIVE, [NATIVE_SOURCE], define_macros=[("CRACKDOWN_NATIVE_SOURCE", f'"{digest}"')]
    )


def compiled_extensions() -> list:
    # mypyc type-checks on every call: skip it for the metadata steps of an install.
    if os.environ.get("CRACKDOWN_NO_COMPILE") or not BUILDS.intersection(sys.argv[1:]):
        return []
    return [*mypyc_extensions(), native_extension()]


def mypyc_extensions() -> list:
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("warning: mypyc is not installed; the interpreted modules run", file=sys.stderr)
        return []
    try:
        # The build environment holds mypy alone: third-party imports are typed Any, and
        # the modules matcher.py imports are read for their types, not checked.
        args = ["--ignore-missing-imports", "--follow-imports=silent", *COMPILED]
        extensions = mypycify(args, opt_level="3", group_name="crawler")
    except (Exception, SystemExit) as exc:  # a type error stops mypyc with SystemExit
        print(f"warning: mypyc could not compile {COMPILED} ({exc})", file=sys.stderr)
        return []
    return extensions


setup(ext_modules=compiled_extensions(), cmdclass={"build_ext": OptionalBuildExt})
