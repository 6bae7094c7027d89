"""Injected server faults for the stand-in: the 5xx, timeouts and one-off errors Telegram has.

Real Telegram occasionally answers 500/502, hangs until a gateway gives up, or returns a
specific error for one chat; the bot's retry and bookkeeping code must cope without losing
or duplicating alerts. ``Faults`` reproduces those deterministically (seeded) so a failing
test replays the same sequence.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crackdown.standin.limits import is_posting, target_chat
from crackdown.standin.state import ApiError

if TYPE_CHECKING:
    from crackdown.standin.methods import Params

__all__ = ["Faults", "Outage"]

_SERVER_ERRORS = ((500, "Internal Server Error"), (502, "Bad Gateway"))


@dataclass
class _Targeted:
    """A queued error for the next ``times`` posts to one chat."""

    status: int
    description: str
    parameters: dict[str, Any] | None
    times: int


class Faults:
    """An interceptor (``state.interceptors``) failing posting requests on purpose.

    Each posting request first consumes a targeted fault queued by ``fail_next`` for its
    chat; otherwise one seeded random draw decides: with probability ``error_rate`` a 5xx
    (alternately 500 and 502), with ``timeout_rate`` a hang of ``timeout_seconds`` and then
    504. The 504 models a request that timed out *before* Telegram acted, so nothing is
    sent: a bot that retries it must not produce a duplicate. In every case the method never
    runs, so nothing is recorded as sent.
    """

    def __init__(
        self,
        *,
        error_rate: float = 0.0,
        timeout_rate: float = 0.0,
        timeout_seconds: float = 1.0,
        seed: int = 0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (0 <= error_rate <= 1 and 0 <= timeout_rate <= 1) or error_rate + timeout_rate > 1:
            raise ValueError("error_rate and timeout_rate must be in [0, 1] and sum to <= 1")
        if timeout_seconds < 0:
            raise ValueError("timeout_seconds must be >= 0")
        self.error_rate = error_rate
        self.timeout_rate = timeout_rate
        self.timeout_seconds = timeout_seconds
        self.seed = seed
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._targeted: dict[int, deque[_Targeted]] = {}
        self._server_errors = 0
        self.injected = 0

    def fail_next(
        self,
        chat_id: int,
        status: int,
        description: str,
        parameters: dict[str, Any] | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next ``times`` posts to ``chat_id`` with exactly this error (queued)."""
        if times < 1 or status < 400:
            raise ValueError("times must be >= 1 and status an HTTP error code")
        with self._lock:
            fault = _Targeted(status, description, dict(parameters or {}) or None, times)
            self._targeted.setdefault(chat_id, deque()).append(fault)

    def __call__(self, method: str, params: Params) -> None:
        """Let the request through or raise the injected error (after the hang, if any)."""
        if not is_posting(method):
            return
        chat_id = target_chat(params)
        with self._lock:
            error = self._take_targeted(chat_id)
            hang = False
            if error is None:
                draw = self._rng.random()
                if draw < self.error_rate:
                    status, description = _SERVER_ERRORS[self._server_errors % 2]
                    self._server_errors += 1
                    error = ApiError(status, description)
                elif draw < self.error_rate + self.timeout_rate:
                    hang = True
                    error = ApiError(504, "Gateway Timeout")
            if error is None:
                return
            self.injected += 1
        if hang:
            self._sleep(self.timeout_seconds)  # outside the lock: other requests carry on
        raise error

    def _take_targeted(self, chat_id: int | None) -> ApiError | None:
        queue = None if chat_id is None else self._targeted.get(chat_id)
        if chat_id is None or not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times == 0:
            queue.popleft()
            if not queue:
                del self._targeted[chat_id]
        parameters = dict(fault.parameters) if fault.parameters else None
        return ApiError(fault.status, fault.description, parameters)


class Outage:
    """An interceptor failing every Bot API method, getMe and getUpdates included.

    Telegram behind a failing gateway (502 by default): put it first in
    ``state.interceptors`` for as long as the outage lasts, remove it to end it.
    """

    def __init__(self, status: int = 502, description: str = "Bad Gateway") -> None:
        self.status = status
        self.description = description
        self.refused = 0

    def __call__(self, method: str, params: Params) -> None:
        self.refused += 1
        raise ApiError(self.status, self.description)
