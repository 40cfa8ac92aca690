"""In-process progress listeners: how the CLI draws a progress bar while a flow sends.

Flows report counts (never people) with `report_progress`; a command that runs the flow in
its own process registers a listener. Under a worker nobody listens, and that is fine:
the Prefect progress artifact shows the same numbers in the UI.

```python
with listen(lambda event: bar.update(done=event.done, total=event.total)):
    send_wave(campaign_id="the-way-ahead", wave=1, workdir="outreach-work")
```
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Progress:
    campaign_id: str
    wave: int
    done: int
    total: int
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Note:
    """A step a flow is starting or has finished, in words (ids and counts only)."""

    text: str


Listener = Callable[[Progress | Note], None]
_listeners: list[Listener] = []
_lock = threading.Lock()


@contextmanager
def listen(listener: Listener) -> Iterator[None]:
    with _lock:
        _listeners.append(listener)
    try:
        yield
    finally:
        with _lock:
            _listeners.remove(listener)


def note(text: str) -> None:
    """Tell a listening terminal what the flow is doing (no personal data)."""
    report_progress(Note(text))


def report_progress(progress: Progress | Note) -> None:
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        listener(progress)
