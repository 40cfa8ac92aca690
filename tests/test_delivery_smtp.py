"""SMTP delivery into a real aiosmtpd server on loopback."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select
from test_delivery_support import NOON, SmtpServer, address, make_spec, seed, smtp_server

from outreach.delivery.service import send_batch, send_wave, wave_counts
from outreach.delivery.smtp import SmtpSender
from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import Delivery


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()


@pytest.fixture
def smtp_settings(settings: Settings, smtp: SmtpServer) -> Settings:
    return settings.model_copy(
        update={"delivery_backend": "smtp", "smtp_host": smtp.host, "smtp_port": smtp.port}
    )


def test_each_recipient_gets_one_message_in_their_language_with_both_parts_and_the_ics(
    sqlite_store: Store, smtp_settings: Settings, smtp: SmtpServer
) -> None:
    spec = make_spec()
    seeded = seed(sqlite_store, spec, 6, languages=("en", "es", "ar"))
    counts = send_wave(sqlite_store, smtp_settings, spec, 1, now=NOON)
    assert (counts.sent, counts.failed, counts.remaining) == (6, 0, 0)
    assert smtp.recorder.per_recipient() == {address(i): 1 for i in range(6)}
    by_recipient = {str(m["To"]).split("<")[-1].rstrip(">"): m for m in smtp.recorder.parsed()}
    for index, delivery_id in seeded.deliveries.items():
        mime = by_recipient[address(index)]
        language = ("en", "es", "ar")[index % 3]
        assert mime["Content-Language"] == language
        assert mime["X-Outreach-Campaign"] == spec.id and mime["X-Outreach-Wave"] == "1"
        assert mime["List-Unsubscribe"].startswith("<http") and "/u/" in mime["List-Unsubscribe"]
        assert mime["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert mime["Message-ID"] == f"<d{delivery_id}.w1.{spec.id}@thewayahead.org.uk>"
        types = [part.get_content_type() for part in mime.walk()]
        assert "text/plain" in types and "text/html" in types and "text/calendar" in types
        text = next(p for p in mime.walk() if p.get_content_type() == "text/plain")
        html = next(p for p in mime.walk() if p.get_content_type() == "text/html")
        assert f"Person {index}" in text.get_payload(decode=True).decode()
        assert "/rsvp/" in html.get_payload(decode=True).decode()
        ics = next(p for p in mime.walk() if p.get_content_type() == "text/calendar")
        event = Calendar.from_ical(ics.get_payload(decode=True)).walk("VEVENT")[0]
        assert event.decoded("dtstart") == spec.event.start
    # The ledger holds the server's queue id as the provider id.
    with sqlite_store.session() as session:
        ids = session.scalars(select(Delivery.provider_id)).all()
    assert all(i and i.startswith("Q") for i in ids)


def test_one_connection_serves_many_messages_and_reconnects_when_dropped(
    sqlite_store: Store, smtp_settings: Settings, smtp: SmtpServer
) -> None:
    spec = make_spec()
    seed(sqlite_store, spec, 12)
    sender = SmtpSender(host=smtp.host, port=smtp.port)
    sender.open()
    try:
        counts = send_batch(sqlite_store, smtp_settings, spec, 1, limit=6, now=NOON, sender=sender)
        assert counts.sent == 6 and sender.connects == 1
        assert sender.connection is not None
        sender.connection.sock.shutdown(socket.SHUT_RDWR)  # the server (or a NAT box) dropped us
        counts = send_batch(sqlite_store, smtp_settings, spec, 1, limit=6, now=NOON, sender=sender)
        assert counts.sent == 6 and sender.connects == 2
    finally:
        sender.close()
    assert sum(smtp.recorder.per_recipient().values()) == 12


def test_a_refused_recipient_fails_alone_and_a_4xx_is_retried_later(
    sqlite_store: Store, smtp_settings: Settings, smtp: SmtpServer
) -> None:
    spec = make_spec()
    seeded = seed(sqlite_store, spec, 5)
    smtp.recorder.refuse[address(1)] = "550 5.1.1 mailbox unavailable"
    smtp.recorder.refuse[address(3)] = "451 4.7.1 greylisted, try again later"
    counts = send_wave(sqlite_store, smtp_settings, spec, 1, now=NOON)
    assert (counts.sent, counts.failed, counts.deferred, counts.remaining) == (3, 1, 1, 1)
    with sqlite_store.session() as session:
        rows = {r.id: r for r in session.scalars(select(Delivery))}
    failed = rows[seeded.deliveries[1]]
    assert failed.status == "failed" and "550" in (failed.last_error or "")
    waiting = rows[seeded.deliveries[3]]
    assert waiting.status == "pending" and "451" in (waiting.last_error or "")
    assert waiting.not_before is not None
    # Not due yet: nothing happens; once due (and the server relents) it is sent once.
    assert send_batch(sqlite_store, smtp_settings, spec, 1, now=NOON).sent == 0
    del smtp.recorder.refuse[address(3)]
    later = NOON + timedelta(minutes=5)
    assert send_batch(sqlite_store, smtp_settings, spec, 1, now=later).sent == 1
    assert wave_counts(sqlite_store, spec.id, 1) == {"sent": 4, "failed": 1}
    assert smtp.recorder.per_recipient()[address(3)] == 1
    assert address(1) not in smtp.recorder.per_recipient()


def test_a_server_that_never_stops_refusing_with_4xx_fails_the_row_after_the_limit(
    sqlite_store: Store, smtp_settings: Settings, smtp: SmtpServer
) -> None:
    from outreach.delivery.service import MAX_ATTEMPTS

    spec = make_spec()
    seed(sqlite_store, spec, 1)
    smtp.recorder.refuse[address(0)] = "452 4.2.2 mailbox full"
    when = NOON
    for _ in range(MAX_ATTEMPTS):
        send_batch(sqlite_store, smtp_settings, spec, 1, now=when)
        when += timedelta(hours=2)
    with sqlite_store.session() as session:
        row = session.scalars(select(Delivery)).one()
    assert row.status == "failed" and row.attempts == MAX_ATTEMPTS
    assert f"gave up after {MAX_ATTEMPTS} attempts" in (row.last_error or "")


def test_unreachable_server_leaves_rows_pending_not_failed(
    sqlite_store: Store, settings: Settings
) -> None:
    from test_delivery_support import free_port

    spec = make_spec()
    seed(sqlite_store, spec, 3)
    dead = settings.model_copy(
        update={"delivery_backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": free_port()}
    )
    counts = send_batch(sqlite_store, dead, spec, 1, now=NOON)
    assert (counts.sent, counts.failed, counts.deferred) == (0, 0, 3)
    assert wave_counts(sqlite_store, spec.id, 1) == {"pending": 3}
