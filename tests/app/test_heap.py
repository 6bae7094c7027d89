"""Start-up leaves the long-lived heap out of the garbage collector's walks (issue 20)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from crackdown.runtime.heap import MALLOC_ARENAS

SCRIPT = """
import gc, sys
from crackdown.app import open_app
from crackdown.config import build_config
before = gc.get_freeze_count()
open_app(build_config({"storage": {"url": "sqlite:///" + sys.argv[1]}}, {}))
frozen = gc.get_freeze_count()
open_app(build_config({"storage": {"url": "sqlite:///" + sys.argv[1]}}, {}))
print(before, frozen, gc.get_freeze_count(), gc.get_threshold()[0])
"""


def test_open_app_freezes_the_start_up_heap_once(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "db.sqlite")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    before, frozen, again, young = (int(v) for v in done.stdout.split())
    assert before == 0
    assert frozen > 100_000  # the watchlist automaton, the filters, the imports
    assert again - frozen < 1_000  # a second app (a reload, a test) freezes nothing more
    assert young >= 10_000


# Threads allocate while they all live; then glibc lists its arenas (`<heap nr=...>`).
ARENAS = """
import ctypes, os, sys, tempfile, threading
if sys.argv[1] == "open_app":
    from crackdown.app import open_app
    from crackdown.config import build_config
    open_app(build_config({"storage": {"url": "sqlite:///" + sys.argv[2]}}, {}))
held, ready, done = [], threading.Barrier(7), threading.Event()
def work():
    held.append([bytes(2000) for _ in range(200)])  # above pymalloc's 512 bytes: malloc's
    ready.wait()
    done.wait()
threads = [threading.Thread(target=work) for _ in range(6)]
for thread in threads:
    thread.start()
ready.wait()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = libc.malloc_info.argtypes = libc.fclose.argtypes = None
path = tempfile.mktemp()
stream = ctypes.c_void_p(libc.fopen(path.encode(), b"w"))
libc.malloc_info(0, stream)
libc.fclose(stream)
done.set()
print(open(path).read().count("<heap nr="))
os.remove(path)
"""


def arenas(tmp_path: Path, how: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", ARENAS, how, str(tmp_path / "db.sqlite")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")},
    )
    return int(done.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc only")
def test_open_app_keeps_the_threads_to_two_malloc_arenas(tmp_path: Path) -> None:
    """The poller's threads each took an arena of their own (bench/feeds.py: +10 MB peak RSS)."""
    assert arenas(tmp_path, "plain") >= 4  # what glibc does by default: one a thread, or more
    assert arenas(tmp_path, "open_app") <= MALLOC_ARENAS == 2
