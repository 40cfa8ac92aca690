"""Rate limiting and back-off shared by the senders.

```python
limiter = RateLimiter(per_second=50)     # 0 means no limit
limiter.acquire(1000)                    # blocks until 1,000 more messages may leave
backoff(attempt=3)                       # 4.0 s (1, 2, 4, ... capped at 60 s)
```
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from outreach.retry_after import retry_after_seconds

__all__ = ["RateLimiter", "backoff", "retry_after_seconds"]


class RateLimiter:
    """A token bucket: at most `per_second` messages per second on average, bursts of one
    second's worth. Thread-safe; one per sender (so per backend)."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_second = per_second
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._allowance = per_second
        self._last = clock()

    def acquire(self, count: int = 1) -> None:
        if self.per_second <= 0 or count <= 0:
            return
        with self._lock:
            now = self._clock()
            self._allowance = min(
                self.per_second, self._allowance + (now - self._last) * self.per_second
            )
            self._last = now
            self._allowance -= count
            debt = -self._allowance
        if debt > 0:
            self._sleep(debt / self.per_second)


def backoff(attempt: int, *, base: float = 1.0, cap: float = 60.0) -> float:
    """Seconds to wait before retry number `attempt` (1-based): 1, 2, 4, 8 ... capped."""
    return min(cap, base * (2 ** max(0, attempt - 1)))
