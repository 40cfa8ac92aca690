"""The embedded default backend: every message becomes an `.eml` file in a Maildir.

Exactly-once by construction: the file name is deterministic per ledger row
(`<campaign>.w<wave>.d<delivery id>.eml`), written with the Maildir protocol: write in
`tmp/` and fsync it, `link()` it into `new/` (atomic, and never replaces a file), fsync
`new/` once per group before the ledger is marked. Files are written by a few threads, so
waiting for the disk overlaps rendering. A re-run after a crash finds the name taken in
`new/` (or in `cur/`, once a mail client has seen it) and reports the row as sent, the
first copy untouched. The provider id is the Maildir key (the file name).

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
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from outreach.delivery.mime import message_bytes
from outreach.delivery.pacing import RateLimiter
from outreach.message import Message, SendResult

_WRITERS = 8  # threads creating files; the GIL is free while they wait for the disk
_FILES_PER_JOB = 20


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
    preferred_batch = 200  # exactly-once anyway: one sync and one ledger commit per 200

    def __init__(self, path: Path, *, rate_per_second: float = 0.0, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = fsync
        self.limiter = RateLimiter(rate_per_second)

    def open(self) -> None:
        for sub in ("tmp", "new", "cur"):
            (self.path / sub).mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        pass

    def _seen_keys(self) -> set[str]:
        # A mail client moves read mail to cur/ and appends ":2,<flags>" to the name.
        with os.scandir(self.path / "cur") as entries:
            return {entry.name.split(":", 1)[0] for entry in entries}

    def _store(self, key: str, data: bytes) -> None:
        """Maildir delivery of one file: write it in tmp/ and flush it to disk, then
        link() it into new/ (the original Maildir protocol): unlike rename(), link() never
        replaces a file, so a message an interrupted run already delivered stays as it was
        and nothing needs to look for it first (a lookup per message cost more than the
        write on a busy disk)."""
        tmp = self.path / "tmp" / f"{key}.{os.getpid()}.{threading.get_ident()}"
        with open(tmp, "wb") as handle:
            handle.write(data)
            if self.fsync:
                handle.flush()
                os.fsync(handle.fileno())
        try:
            os.link(tmp, self.path / "new" / key)
        except FileExistsError:
            pass  # delivered by a run that stopped before marking the ledger: not twice
        finally:
            os.unlink(tmp)

    def _store_all(self, files: list[tuple[str, bytes]]) -> dict[str, OSError]:
        """Store several files; return the problem of each one that failed, by key."""
        problems: dict[str, OSError] = {}
        for key, data in files:
            try:
                self._store(key, data)
            except OSError as exc:
                problems[key] = exc
        return problems

    def send(self, messages: Sequence[Message]) -> list[SendResult]:
        # Files are written by a few threads while this one renders the next messages:
        # creating and syncing a file mostly waits for the disk, rendering needs the CPU.
        # A job is a few files, so handing work to the threads costs little per message.
        seen = self._seen_keys()
        keys = [maildir_key(message) for message in messages]  # once: previews get a uuid
        problems: dict[str, OSError] = {}
        jobs: list[Future[dict[str, OSError]]] = []
        written = 0
        with ThreadPoolExecutor(max_workers=_WRITERS) as pool:
            files: list[tuple[str, bytes]] = []
            for message, key in zip(messages, keys, strict=True):
                if key in seen:  # read by a mail client already (moved to cur/)
                    continue
                self.limiter.acquire()
                files.append((key, message_bytes(message)))
                if len(files) == _FILES_PER_JOB:
                    jobs.append(pool.submit(self._store_all, files))
                    written, files = written + len(files), []
            if files:
                jobs.append(pool.submit(self._store_all, files))
                written += len(files)
            for job in jobs:
                problems.update(job.result())
        if self.fsync and written > len(problems):
            # The links reach the disk before the ledger says "sent".
            _fsync(self.path / "new")
        results: list[SendResult] = []
        for message, key in zip(messages, keys, strict=True):
            if key in problems:
                # A full disk or a permission problem: try again later, not a bad address.
                error = f"outbox: {problems[key]}"
                results.append(SendResult(message.delivery_id, False, error=error, transient=True))
            else:
                results.append(SendResult(message.delivery_id, True, provider_id=key))
        return results


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
