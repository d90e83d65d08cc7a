"""An in-process, memory-bounded sliding-window limiter for login and registration attempts.

Each key (a client address, an email...) may make ``limit`` attempts in any ``window`` seconds.
The limiter remembers at most ``max_keys`` keys: past that, the least recently used key is
forgotten (an attacker spraying addresses can at worst reset the oldest counters, never grow memory).
Per process only: N server processes allow up to N times the limit.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Hashable

from aiohttp import web

__all__ = [
    "AUTH_ATTEMPTS",
    "DEFAULT_MAX_KEYS",
    "SlidingWindowLimiter",
]

DEFAULT_MAX_KEYS = 50_000


class SlidingWindowLimiter:
    """Counts attempts per key over the last ``window`` seconds.

    :param limit: attempts allowed per key within the window.
    :param window: window length in seconds.
    :param max_keys: keys remembered at most (least recently used ones are dropped first).
    :param clock: a monotonic clock in seconds (tests pass a fake one).
    """

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        *,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1 or window <= 0 or max_keys < 1:
            raise ValueError("limit and max_keys must be >= 1 and window > 0")
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._clock = clock
        self._attempts: OrderedDict[Hashable, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._attempts)

    def acquire(self, *keys: Hashable) -> int | None:
        """Record one attempt for every key, unless one of them is over the limit.

        All-or-nothing: a refused attempt is not recorded, so a client that keeps trying while
        blocked does not extend its own lock-out.

        :returns: None when the attempt is allowed, otherwise the whole seconds (>= 1) until the
            most constrained key accepts an attempt again.
        """
        now = self._clock()
        wait = 0.0
        for key in keys:
            stamps = self._fresh(key, now)
            if stamps is not None and len(stamps) >= self.limit:
                wait = max(wait, stamps[0] + self.window - now)
        if wait > 0:
            return max(1, math.ceil(wait))
        for key in keys:
            self._record(key, now)
        return None

    def _fresh(self, key: Hashable, now: float) -> deque[float] | None:
        """The key's attempts inside the window (expired ones dropped), or None if it has none."""
        stamps = self._attempts.get(key)
        if stamps is None:
            return None
        horizon = now - self.window
        while stamps and stamps[0] <= horizon:
            stamps.popleft()
        if not stamps:
            del self._attempts[key]
            return None
        return stamps

    def _record(self, key: Hashable, now: float) -> None:
        stamps = self._attempts.get(key)
        if stamps is None:
            stamps = self._attempts[key] = deque(maxlen=self.limit)
            while len(self._attempts) > self.max_keys:
                self._attempts.popitem(last=False)
        else:
            self._attempts.move_to_end(key)
        stamps.append(now)


# Installed by :func:`core.app.create_app`; shared by every login and registration route.
AUTH_ATTEMPTS = web.AppKey("auth_attempts", SlidingWindowLimiter)
