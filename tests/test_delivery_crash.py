"""Crash safety: SIGKILL a sending process mid-wave, run again, count at the receiver."""

from __future__ import annotations

import mailbox
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_delivery_support import (
    NOON,
    ROOT,
    SmtpServer,
    address,
    make_spec,
    seed,
    smtp_server,
)

from outreach.delivery.outbox import OutboxSender
from outreach.delivery.service import send_wave, wave_counts
from outreach.delivery.suppressions import suppress
from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import Delivery

COUNT = 300
NO_CONSENT = {i for i in range(COUNT) if i % 7 == 3}
UNSUBSCRIBED_BEFORE = {5, 50}
BOUNCED_BEFORE = {6}
UNSUBSCRIBED_BETWEEN = {280, 290, 299}  # after the wave was planned and partly sent

SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_delivery_support import NOON, make_spec
from outreach.delivery.service import send_wave
from outreach.settings import Settings
from outreach.store import Store

settings = Settings(workdir={workdir!r}, secret_key="test-secret-key-not-for-production",
                    delivery_backend={backend!r}, smtp_host="127.0.0.1", smtp_port={port},
                    send_batch_size=50)
store = Store({url!r})
print("started", flush=True)
send_wave(store, settings, make_spec(), 1, now=NOON)
print("finished", flush=True)
"""


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()


def start_sender(tmp_path: Path, store: Store, settings: Settings, backend: str, port: int):  # type: ignore[no-untyped-def]
    script = tmp_path / "send_wave.py"
    script.write_text(
        SCRIPT.format(
            tests=str(ROOT / "tests"), workdir=str(settings.workdir), backend=backend,
            port=port, url=store.url,
        )
    )  # fmt: skip
    return subprocess.Popen(
        [sys.executable, str(script)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def prepare(store: Store) -> dict[int, int]:
    spec = make_spec()
    seeded = seed(store, spec, COUNT, consent=lambda i: i not in NO_CONSENT)
    for i in UNSUBSCRIBED_BEFORE:
        suppress(store, reason="unsubscribe", source="web", contact_pk=seeded.contacts[i])
    for i in BOUNCED_BEFORE:
        suppress(store, reason="bounce", source="sendgrid", email=address(i))
    return seeded.contacts


def expected_recipients() -> set[str]:
    excluded = NO_CONSENT | UNSUBSCRIBED_BEFORE | BOUNCED_BEFORE | UNSUBSCRIBED_BETWEEN
    return {address(i) for i in range(COUNT) if i not in excluded}


def test_sigkill_at_a_message_boundary_then_rerun_delivers_each_exactly_once(
    tmp_path: Path, sqlite_store: Store, settings: Settings, smtp: SmtpServer
) -> None:
    contacts = prepare(sqlite_store)
    holder: dict[str, subprocess.Popen[bytes]] = {}
    killed = threading.Event()

    def kill_at_100(received: int) -> None:
        # The server is asked for message 101: message 100 was accepted and answered.
        if received >= 100 and not killed.is_set():
            os.kill(holder["proc"].pid, signal.SIGKILL)
            killed.set()

    smtp.recorder.on_mail = kill_at_100
    holder["proc"] = proc = start_sender(tmp_path, sqlite_store, settings, "smtp", smtp.port)
    proc.wait(timeout=120)
    assert killed.is_set() and proc.returncode == -signal.SIGKILL, proc.stderr.read()  # type: ignore[union-attr]
    smtp.recorder.on_mail = None
    assert sum(smtp.recorder.per_recipient().values()) == 100
    for i in UNSUBSCRIBED_BETWEEN:
        suppress(sqlite_store, reason="unsubscribe", source="web", contact_pk=contacts[i])
    smtp_settings = settings.model_copy(
        update={"delivery_backend": "smtp", "smtp_host": smtp.host, "smtp_port": smtp.port}
    )
    send_wave(sqlite_store, smtp_settings, make_spec(), 1, now=NOON)
    received = smtp.recorder.per_recipient()
    assert set(received) == expected_recipients()
    assert set(received.values()) == {1}  # nobody twice
    counts = wave_counts(sqlite_store, "the-way-ahead", 1)
    assert counts == {
        "sent": len(expected_recipients()),
        "skipped": len(NO_CONSENT),
        # (consent is checked first: a non-consenting unsubscriber counts as skipped)
        "suppressed": len(
            (UNSUBSCRIBED_BEFORE | BOUNCED_BEFORE | UNSUBSCRIBED_BETWEEN) - NO_CONSENT
        ),
    }


def test_sigkill_at_any_moment_loses_nothing_and_repeats_at_most_one_message(
    tmp_path: Path, sqlite_store: Store, settings: Settings, smtp: SmtpServer
) -> None:
    """A kill from outside lands anywhere, including between the server's 250 and the
    ledger commit: the documented window of one message."""
    prepare(sqlite_store)
    for i in UNSUBSCRIBED_BETWEEN:  # (this variant suppresses them up front)
        suppress(sqlite_store, reason="unsubscribe", source="web", email=address(i))
    proc = start_sender(tmp_path, sqlite_store, settings, "smtp", smtp.port)
    deadline = time.monotonic() + 120
    while sum(smtp.recorder.per_recipient().values()) < 120:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    smtp_settings = settings.model_copy(
        update={"delivery_backend": "smtp", "smtp_host": smtp.host, "smtp_port": smtp.port}
    )
    send_wave(sqlite_store, smtp_settings, make_spec(), 1, now=NOON)
    received = smtp.recorder.per_recipient()
    assert set(received) == expected_recipients()
    assert sum(received.values()) - len(received) <= 1


def test_outbox_sigkill_then_rerun_writes_each_message_once(
    tmp_path: Path, sqlite_store: Store, settings: Settings
) -> None:
    prepare(sqlite_store)
    for i in UNSUBSCRIBED_BETWEEN:
        suppress(sqlite_store, reason="unsubscribe", source="web", email=address(i))
    new = settings.outbox_dir / "new"  # type: ignore[operator]
    proc = start_sender(tmp_path, sqlite_store, settings, "outbox", 0)
    deadline = time.monotonic() + 120
    while not new.is_dir() or len(os.listdir(new)) < 60:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    send_wave(sqlite_store, settings, make_spec(), 1, now=NOON)
    box = mailbox.Maildir(settings.outbox_dir, create=False)
    recipients = [str(m["To"]).split("<")[-1].rstrip(">") for m in box]
    assert sorted(recipients) == sorted(expected_recipients())  # each once, none missing


def test_outbox_recovers_a_dead_runs_claim_without_writing_the_file_again(
    sqlite_store: Store, settings: Settings
) -> None:
    """The crash window for the outbox: file written, ledger not yet marked."""
    from outreach.channels.email import EmailRecipient, render_emails

    spec = make_spec()
    seeded = seed(sqlite_store, spec, 3, languages=("en",))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    claim = f"{os.uname().nodename}:{dead.stdout.strip()}:deadbeef"
    delivery_id = seeded.deliveries[0]
    with sqlite_store.session() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        row.status, row.claim_id, row.claimed_at, row.attempts = "claimed", claim, NOON, 1
    message = render_emails(spec, settings, 1, [
        EmailRecipient(delivery_id, seeded.contacts[0], "Person 0", address(0), "en")
    ])[0]  # fmt: skip
    outbox = OutboxSender(settings.outbox_dir)  # type: ignore[arg-type]
    outbox.open()
    [result] = outbox.send([message])
    written = settings.outbox_dir / "new" / result.provider_id  # type: ignore[operator]
    before = written.stat().st_mtime_ns
    time.sleep(0.01)
    counts = send_wave(sqlite_store, settings, spec, 1, now=NOON)
    assert counts.sent == 3
    assert written.stat().st_mtime_ns == before  # not written again
    assert len(os.listdir(written.parent)) == 3
    assert not os.listdir(written.parent.parent / "tmp")  # the second copy was not kept
    with sqlite_store.session() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None and row.status == "sent" and row.provider_id == result.provider_id
        assert row.attempts == 1  # the dead run's attempt was not held against it
