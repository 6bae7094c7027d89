"""Hostile peers for tests: a server that trickles, compression bombs, a measured CLI run."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data"
# 1 GiB of zeros as brotli (quality 11): 1,681 bytes.
BROTLI_BOMB = (DATA / "zeros-1gib.br").read_bytes()
BROTLI_BOMB_SIZE = 1 << 30


def gzip_bomb(mebibytes: int = 256) -> bytes:
    """`mebibytes` MiB of zeros, gzipped (about 1 KB per MiB), made without holding them."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    zeros = bytes(1 << 20)
    parts = [compressor.compress(zeros) for _ in range(mebibytes)]
    return b"".join([*parts, compressor.flush()])


class TrickleServer:
    """Answers every request with headers at once, then one body byte every `interval` seconds."""

    def __init__(self, content_type: str = "application/xml", interval: float = 1.0) -> None:
        self.content_type = content_type
        self.interval = interval
        self.connections = 0
        self._stop = threading.Event()
        self._socket = socket.create_server(("127.0.0.1", 0))
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def __enter__(self) -> TrickleServer:
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
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: " + self.content_type.encode() + b"\r\n"
                    b"Content-Length: 1000000\r\n\r\n<"
                )
                while not self._stop.wait(self.interval):
                    conn.sendall(b" ")
            except OSError:
                return


@dataclass
class Measured:
    """A finished child process: status, output, wall time and peak resident memory."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float


def run_measured(args: list[str], env: dict[str, str], timeout: float = 60) -> Measured:
    """Run `python -m crackdown ARGS`; its own peak RSS comes from wait4, not other children."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "crackdown", *args], env=env, stdout=out, stderr=err
        )
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                _, status, usage = os.wait4(process.pid, 0)
                process.returncode = -9
                out.seek(0)
                err.seek(0)
                raise AssertionError(
                    f"crackdown {' '.join(args)} still running after {timeout:g}s; "
                    f"stderr: {err.read().decode(errors='replace')[-2000:]}"
                )
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Measured(
            process.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            seconds,
            usage.ru_maxrss / 1024,
        )
