"""The embedded default backend: every message becomes an `.eml` file in a Maildir.

Exactly-once by construction: the file name is deterministic per ledger row
(`<campaign>.w<wave>.d<delivery id>.eml`), written with the Maildir protocol (write and
fsync in `tmp/`, then rename into `new/`, which is atomic). A re-run after a crash finds
the file already in `new/` (or `cur/`, once a mail client has seen it) and reports the
row as sent without writing it again. The provider id is the Maildir key (the file name).

```python
sender = OutboxSender(settings.outbox_dir)
sender.open()
sender.send([message])      # [SendResult(delivery_id=42, ok=True, provider_id='...d42.eml')]
mailbox.Maildir(settings.outbox_dir)["the-way-ahead.w1.d42.eml"]   # readable as usual
```
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from email import policy
from pathlib import Path

from outreach.delivery.mime import message_to_mime
from outreach.delivery.pacing import RateLimiter
from outreach.message import Message, SendResult


def maildir_key(message: Message) -> str:
    if message.delivery_id is None:
        # Not from the ledger (a preview): nothing to de-duplicate against.
        return (
            f"{message.campaign_id}.w{message.wave}.{uuid.uuid4().hex}.{socket.gethostname()}.eml"
        )
    return f"{message.campaign_id}.w{message.wave}.d{message.delivery_id}.eml"


class OutboxSender:
    """Writes messages into a Maildir (`tmp/`, `new/`, `cur/`)."""

    name = "outbox"
    preferred_batch = 100  # exactly-once anyway: commit the ledger every 100 files

    def __init__(self, path: Path, *, rate_per_second: float = 0.0, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.limiter = RateLimiter(rate_per_second)

    def open(self) -> None:
        for sub in ("tmp", "new", "cur"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        pass

    def already_delivered(self, key: str) -> bool:
        if (self.path / "new" / key).exists():
            return True
        # A mail client moves read mail to cur/ and appends ":2,<flags>".
        cur = self.path / "cur"
        return (cur / key).exists() or any(cur.glob(f"{key}:*"))

    def _write(self, key: str, data: bytes) -> None:
        tmp = self.path / "tmp" / f"{key}.{os.getpid()}"
        with open(tmp, "wb") as handle:
            handle.write(data)
            if self.fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.rename(tmp, self.path / "new" / key)

    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        results: list[SendResult] = []
        for message in messages:
            key = maildir_key(message)
            try:
                if message.delivery_id is None or not self.already_delivered(key):
                    self.limiter.acquire()
                    data = message_to_mime(message).as_bytes(policy=policy.default)
                    self._write(key, data)
            except OSError as exc:
                # A full disk or a permission problem: try again later, not a bad address.
                results.append(
                    SendResult(message.delivery_id, False, error=f"outbox: {exc}", transient=True)
                )
                continue
            results.append(SendResult(message.delivery_id, True, provider_id=key))
        if self.fsync and messages:
            # Make the renames themselves durable before the ledger says "sent".
            fd = os.open(self.path / "new", os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return results
