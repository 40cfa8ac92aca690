"""HTTP `Retry-After`, read the same way by every client that honours it (SendGrid, MT engines).

```python
retry_after_seconds("7")                               # 7.0
retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT")   # 0.0 (already past)
retry_after_seconds("soon")                            # None: fall back to our own back-off
```
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
