"""Hostile peers for tests: a server that trickles, compression bombs, a measured CLI run."""

from __future__ import annotations

import functools
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Self

DATA = Path(__file__).parent / "data"
# 1 GiB of zeros as brotli (quality 11): 1,681 bytes.
BROTLI_BOMB = (DATA / "zeros-1gib.br").read_bytes()
BROTLI_BOMB_SIZE = 1 << 30


@functools.cache  # 1.2 s of CPU for 256 MiB, and three tests take one
def gzip_bomb(mebibytes: int = 256) -> bytes:
    """`mebibytes` MiB of zeros, gzipped (about 1 KB per MiB), made without holding them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1 << 20)
    parts = [compressor.compress(zeros) for _ in range(mebibytes)]
    return b"".join([*parts, compressor.flush()])


class _SlowServer:
    """A loopback HTTP/1.1 server that answers each connection in its own thread."""

    def __init__(self) -> None:
        self.connections = 0
        self._stop = threading.Event()
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._socket.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                self._answer(conn)
            except OSError:
                return

    def _answer(self, conn: socket.socket) -> None:
        raise NotImplementedError


class TrickleServer(_SlowServer):
    """Answers every request with headers at once, then one body byte every `interval` seconds."""

    def __init__(self, content_type: str = "application/xml", interval: float = 1.0) -> None:
        super().__init__()
        self.content_type = content_type
        self.interval = interval

    def _answer(self, conn: socket.socket) -> None:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: " + self.content_type.encode() + b"\r\n"
            b"Content-Length: 1000000\r\n\r\n<"
        )
        while not self._stop.wait(self.interval):
            conn.sendall(b" ")


class DripServer(_SlowServer):
    """Answers every request with `body`, sent `chunk` bytes every `interval` seconds.

    A download that takes a known while even when the client reads at once: a
    client whose event loop stalls reads it late, and its timeout cuts it.
    """

    def __init__(
        self, body: bytes, content_type: str, chunk: int = 65536, interval: float = 0.1
    ) -> None:
        super().__init__()
        self.body, self.content_type = body, content_type
        self.chunk, self.interval = chunk, interval

    def _answer(self, conn: socket.socket) -> None:
        conn.sendall(
            f"HTTP/1.1 200 OK\r\nContent-Type: {self.content_type}\r\n"
            f"Content-Length: {len(self.body)}\r\nConnection: close\r\n\r\n".encode()
        )
        for start in range(0, len(self.body), self.chunk):
            if start and self._stop.wait(self.interval):
                return
            conn.sendall(self.body[start : start + self.chunk])


@dataclass
class Measured:
    """A finished child process: status, output, wall time and peak resident memory."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float
    # CPU time of the child and the children it waited for: unlike `seconds`, it does not
    # grow when other processes load the machine (a wall-time bound failed CI at load 10).
    cpu_seconds: float = 0.0


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (a crawl's Scrapy child, parse workers), as /proc lists them."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:  # a child may exit between being listed and being read
            tasks = list(Path(f"/proc/{current}/task").glob("*/children"))
        except OSError:
            continue
        for task in tasks:
            try:
                todo.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue
    return found


def _high_water_kb(pid: int) -> int:
    """The process's own peak RSS (VmHWM: per address space, so not inherited from us)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run_measured(args: list[str], env: dict[str, str], timeout: float = 60) -> Measured:
    """Run `python -m crackdown ARGS`: the largest peak RSS of it and its children, sampled.

    Not wait4's ru_maxrss: a child forked from a big test process starts
    with that process's peak (Linux keeps it across exec). VmHWM is
    monotonic, so sampling every 20 ms misses only a peak in a process's
    last 20 ms.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        cpu_before = _children_cpu()
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "crackdown", *args], env=env, stdout=out, stderr=err
        )
        peaks: dict[int, int] = {}
        try:
            while process.poll() is None:
                for pid in _tree(process.pid):
                    peaks[pid] = max(peaks.get(pid, 0), _high_water_kb(pid))
                if time.perf_counter() - started > timeout:
                    err.seek(0)
                    raise AssertionError(
                        f"crackdown {' '.join(args)} still running after {timeout:g}s; "
                        f"stderr: {err.read().decode(errors='replace')[-2000:]}"
                    )
                time.sleep(0.02)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        return Measured(
            process.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            seconds,
            max(peaks.values(), default=0) / 1024,
            _children_cpu() - cpu_before,
        )


def _children_cpu() -> float:
    """User and system CPU seconds of this process's waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime
