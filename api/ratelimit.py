"""A bounded failed-login limiter per client: ``/login``, ``/login/once`` and Bearer tokens.

Tokens are 256-bit random, so guessing one is hopeless; the limiter is about load and about
noticing: a client with more than ``limit`` failed attempts in a sliding ``window`` seconds gets
``429 Too Many Requests`` with ``Retry-After`` on every login attempt (also with a right token,
so a guesser learns nothing while blocked) until the window has passed. Memory is bounded: at
most ``max_clients`` clients are remembered (least recently failed forgotten first), each with at
most ``limit + 1`` timestamps. The client is the peer address as uvicorn reports it; behind a
reverse proxy run uvicorn with ``--proxy-headers --forwarded-allow-ips`` so that it is the real
client and not the proxy (README).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque

from fastapi import HTTPException, Request

TOO_MANY = "te veel mislukte inlogpogingen vanaf dit adres; probeer het over {s} seconden opnieuw"


class FailureLimiter:
    """Sliding-window count of failures per key, in bounded memory (thread-safe)."""

    def __init__(self, limit: int = 10, window: float = 60.0, max_clients: int = 10_000,
                 clock=time.monotonic) -> None:
        self.limit, self.window, self.max_clients, self._clock = limit, window, max_clients, clock
        self._fails: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _prune(self, key: str, now: float) -> deque[float] | None:
        q = self._fails.get(key)
        if q is None:
            return None
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self._fails[key]
            return None
        return q

    def retry_after(self, key: str) -> int | None:
        """Seconds until ``key`` may try again, or None when it is not blocked."""
        with self._lock:
            now = self._clock()
            q = self._prune(key, now)
            if q is None or len(q) <= self.limit:
                return None
            # Blocked until enough failures have left the window to come back under the limit.
            return max(1, math.ceil(q[len(q) - self.limit - 1] + self.window - now))

    def failure(self, key: str) -> None:
        with self._lock:
            now = self._clock()
            q = self._prune(key, now)
            if q is None:
                q = self._fails[key] = deque(maxlen=self.limit + 1)
            q.append(now)
            self._fails.move_to_end(key)
            while len(self._fails) > self.max_clients:
                self._fails.popitem(last=False)

    def __len__(self) -> int:
        return len(self._fails)


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limiter(request: Request) -> FailureLimiter:
    """The app's limiter (made on first use, sized from the settings)."""
    state = request.app.state
    lim = getattr(state, "login_limiter", None)
    if lim is None:
        settings = getattr(state, "settings", None)
        lim = FailureLimiter(limit=getattr(settings, "login_failures_per_minute", 10))
        state.login_limiter = lim
    return lim


def refuse_if_blocked(request: Request) -> None:
    """429 with Retry-After when this client has failed too often."""
    wait = limiter(request).retry_after(client_key(request))
    if wait is not None:
        raise HTTPException(status_code=429, detail=TOO_MANY.format(s=wait), headers={"Retry-After": str(wait)})


def record_failure(request: Request) -> None:
    limiter(request).failure(client_key(request))
