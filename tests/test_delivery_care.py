"""Consent and care at send time: consent, suppressions, minimum gap, quiet hours,
partner packs, and ledger claims that never overlap (SQLite and PostgreSQL)."""

from __future__ import annotations

import mailbox
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from test_delivery_support import NOON, address, make_spec, seed, statuses

from outreach.delivery import ledger
from outreach.delivery.pacing import RateLimiter
from outreach.delivery.service import send_batch, send_wave, wave_counts
from outreach.delivery.suppressions import email_hash, is_suppressed, suppress
from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import Campaign, Contact, Delivery


def outbox_recipients(settings: Settings) -> list[str]:
    if not (settings.outbox_dir / "new").is_dir():  # type: ignore[operator]
        return []
    box = mailbox.Maildir(settings.outbox_dir, create=False)
    return sorted(str(m["To"]).split("<")[-1].rstrip(">") for m in box)


def test_no_email_without_consent_and_suppressions_apply_even_after_planning(
    sqlite_store: Store, settings: Settings
) -> None:
    spec = make_spec()
    seeded = seed(sqlite_store, spec, 8, consent=lambda i: i != 1)
    # After the wave was planned: an unsubscribe (by contact), a hard bounce (by address,
    # written differently), a spam report, and an erasure (the address is gone).
    assert suppress(sqlite_store, reason="unsubscribe", source="web", contact_pk=seeded.contacts[2])
    assert suppress(sqlite_store, reason="bounce", source="sendgrid", email=" Person3@Example.ORG ")
    assert suppress(sqlite_store, reason="spamreport", source="sendgrid", email=address(4))
    assert suppress(sqlite_store, reason="erasure", source="admin", contact_pk=seeded.contacts[5])
    with sqlite_store.session() as session:
        erased = session.get(Contact, seeded.contacts[5])
        assert erased is not None
        erased.email, erased.name, erased.erased_at = None, "", NOON
    counts = send_wave(sqlite_store, settings, spec, 1, now=NOON)
    assert (counts.sent, counts.skipped, counts.suppressed) == (3, 2, 3)
    assert outbox_recipients(settings) == sorted(address(i) for i in (0, 6, 7))
    with sqlite_store.session() as session:
        rows = {r.id: r for r in session.scalars(select(Delivery))}
    reasons = {i: (rows[d].status, rows[d].last_error) for i, d in seeded.deliveries.items()}
    assert reasons[1] == ("skipped", "no email consent")
    assert reasons[2] == ("suppressed", "unsubscribe")
    assert reasons[3] == ("suppressed", "bounce")
    assert reasons[4] == ("suppressed", "spamreport")
    assert reasons[5] == ("skipped", "contact erased")


def test_suppress_is_idempotent_and_works_for_every_campaign(
    sqlite_store: Store, settings: Settings
) -> None:
    spec = make_spec()
    seeded = seed(sqlite_store, spec, 2)
    pk = seeded.contacts[0]
    assert email_hash(" Person0@EXAMPLE.org") == email_hash(address(0))
    assert not is_suppressed(sqlite_store, contact_pk=pk)
    assert suppress(sqlite_store, reason="unsubscribe", source="web", contact_pk=pk) is True
    assert suppress(sqlite_store, reason="unsubscribe", source="web", email=address(0)) is False
    assert is_suppressed(sqlite_store, contact_pk=pk)
    assert is_suppressed(sqlite_store, email="PERSON0@example.org")
    assert not is_suppressed(sqlite_store, contact_pk=seeded.contacts[1])
    # Another campaign's wave for the same person is suppressed too.
    other = spec.model_copy(update={"id": "another-campaign"})
    with sqlite_store.session() as session:
        session.add(Campaign(id=other.id, title="x", spec={}, source_language="en"))
        session.flush()
        session.add(Delivery(campaign_id=other.id, wave=1, recipient=f"c:{pk}", contact_pk=pk,
                             channel="email", language="en"))  # fmt: skip
    assert send_batch(sqlite_store, settings, other, 1, now=NOON).suppressed == 1


def test_minimum_gap_across_campaigns_defers_then_sends(
    sqlite_store: Store, settings: Settings
) -> None:
    spec = make_spec(min_gap="7d")
    seeded = seed(sqlite_store, spec, 3, languages=("en",))
    with sqlite_store.session() as session:
        session.add(Campaign(id="earlier", title="x", spec={}, source_language="en"))
        session.flush()
        for index, days in ((0, 3), (1, 8)):  # person 0 heard from us 3 days ago
            pk = seeded.contacts[index]
            session.add(Delivery(campaign_id="earlier", wave=1, recipient=f"c:{pk}",
                                 contact_pk=pk, channel="email", language="en", status="sent",
                                 sent_at=NOON - timedelta(days=days)))  # fmt: skip
    counts = send_wave(sqlite_store, settings, spec, 1, now=NOON)
    assert (counts.sent, counts.deferred, counts.remaining) == (2, 1, 1)
    with sqlite_store.session() as session:
        waiting = session.get(Delivery, seeded.deliveries[0])
        assert waiting is not None and waiting.status == "pending"
        assert waiting.attempts == 0  # waiting for the gap is not a failed attempt
        assert waiting.not_before.replace(tzinfo=UTC) == NOON + timedelta(days=4)  # type: ignore[union-attr]
    assert send_wave(sqlite_store, settings, spec, 1, now=NOON + timedelta(days=3)).sent == 0
    later = send_wave(sqlite_store, settings, spec, 1, now=NOON + timedelta(days=4, minutes=1))
    assert later.sent == 1
    assert outbox_recipients(settings) == sorted(address(i) for i in range(3))
    # And the next wave of this campaign respects the gap from this one.
    seed(sqlite_store, spec, 0, wave=2)
    with sqlite_store.session() as session:
        pk = seeded.contacts[1]
        session.add(Delivery(campaign_id=spec.id, wave=2, recipient=f"c:{pk}", contact_pk=pk,
                             channel="email", language="en"))  # fmt: skip
    assert send_batch(sqlite_store, settings, spec, 2, now=NOON + timedelta(days=5)).deferred == 1


def test_quiet_hours_defer_the_whole_batch_until_morning_in_the_campaign_zone(
    sqlite_store: Store, settings: Settings
) -> None:
    spec = make_spec(quiet_hours=("21:00", "08:00"))  # Europe/London
    seed(sqlite_store, spec, 4)
    evening = datetime(2027, 4, 14, 20, 30, tzinfo=UTC)  # 21:30 in London (BST)
    counts = send_wave(sqlite_store, settings, spec, 1, now=evening)
    assert (counts.sent, counts.deferred, counts.remaining) == (0, 4, 4)
    assert outbox_recipients(settings) == []
    with sqlite_store.session() as session:
        due = {r.not_before.replace(tzinfo=UTC) for r in session.scalars(select(Delivery))}  # type: ignore[union-attr]
    assert due == {datetime(2027, 4, 15, 7, 0, tzinfo=UTC)}  # 08:00 London
    early = datetime(2027, 4, 15, 6, 59, tzinfo=UTC)  # 07:59 London: still quiet
    assert send_wave(sqlite_store, settings, spec, 1, now=early).sent == 0
    morning = datetime(2027, 4, 15, 7, 0, tzinfo=UTC)
    assert send_wave(sqlite_store, settings, spec, 1, now=morning).sent == 4
    # In winter London is on GMT: 20:30 UTC is then 20:30 local, not quiet.
    seed(sqlite_store, spec, 2, wave=2, start=100)
    winter = datetime(2027, 1, 13, 20, 30, tzinfo=UTC)
    assert send_wave(sqlite_store, settings, spec, 2, now=winter).sent == 2


def test_partner_packs_are_delivered_as_attachments_to_partners(
    sqlite_store: Store, settings: Settings
) -> None:
    spec = make_spec()
    seeded = seed(sqlite_store, spec, 1, partners=("radio-one", "venue-two"))
    suppress(
        sqlite_store, reason="unsubscribe", source="web", email="venue-two@partners.example.org"
    )
    counts = send_wave(sqlite_store, settings, spec, 1, now=NOON)
    assert (counts.sent, counts.suppressed) == (2, 1)
    box = mailbox.Maildir(settings.outbox_dir, create=False)
    packs = [m for m in box if "radio-one@partners" in str(m["To"])]
    assert len(packs) == 1
    attachments = [p for p in packs[0].walk() if p.get_content_type() == "application/zip"]
    assert len(attachments) == 1 and attachments[0].get_payload(decode=True)[:2] == b"PK"
    assert statuses(sqlite_store)[seeded.partners["venue-two"]] == "suppressed"


def test_concurrent_senders_never_claim_the_same_row(store: Store, settings: Settings) -> None:
    """Two workers (threads with their own connections) drain one wave; on PostgreSQL the
    claim uses FOR UPDATE SKIP LOCKED, on SQLite one UPDATE in one write transaction."""
    spec = make_spec()
    seed(store, spec, 600, languages=("en",))
    claimed: list[list[int]] = [[], []]
    start = threading.Barrier(2)

    def worker(slot: int) -> None:
        own = Store(store.url)
        start.wait()
        try:
            while True:
                claim = ledger.new_claim_id()
                ids = ledger.claim_rows(own, spec.id, 1, limit=25, now=NOON, claim_id=claim)
                if not ids:
                    return
                claimed[slot].extend(ids)
                ledger.mark(own, [ledger.Outcome(i, "sent", sent_at=NOON) for i in ids], now=NOON)
                ledger.end_claim(claim)
        finally:
            own.dispose()

    threads = [threading.Thread(target=worker, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not set(claimed[0]) & set(claimed[1])
    assert len(claimed[0]) + len(claimed[1]) == 600
    assert claimed[0] and claimed[1]  # both did work
    assert wave_counts(store, spec.id, 1) == {"sent": 600}
    with store.session() as session:
        assert set(session.scalars(select(Delivery.attempts))) == {1}


def test_stale_claims_from_other_hosts_are_recovered_only_when_old(
    store: Store, settings: Settings
) -> None:
    spec = make_spec()
    seeded = seed(store, spec, 2, languages=("en",))
    with store.session() as session:
        for index, age in ((0, timedelta(minutes=5)), (1, timedelta(hours=2))):
            row = session.get(Delivery, seeded.deliveries[index])
            assert row is not None
            row.status, row.claim_id, row.attempts = "claimed", f"elsewhere:{index}:abc", 1
            row.claimed_at = NOON - age
    assert ledger.recover_stale_claims(store, spec.id, 1, now=NOON) == 1
    counts = send_wave(store, settings, spec, 1, now=NOON)
    assert counts.sent == 1 and counts.remaining == 1  # the young claim may still be alive
    assert send_wave(store, settings, spec, 1, now=NOON + timedelta(hours=1)).sent == 1


def test_rate_limiter_spaces_messages() -> None:
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(10, clock=lambda: clock[0], sleep=sleep)
    for _ in range(30):
        limiter.acquire()
    assert abs(clock[0] - 2.0) < 1e-6  # 30 messages at 10/s: a burst of 10, then 2 s
    unlimited = RateLimiter(0, sleep=sleep)
    before = len(slept)
    unlimited.acquire(1000)
    assert len(slept) == before


def test_make_sender_picks_the_configured_backend(settings: Settings) -> None:
    from outreach.delivery.outbox import OutboxSender
    from outreach.delivery.senders import make_sender
    from outreach.delivery.sendgrid_api import SendGridSender
    from outreach.delivery.smtp import SmtpSender
    from outreach.message import Sender

    outbox = make_sender(settings)
    assert isinstance(outbox, OutboxSender) and isinstance(outbox, Sender)
    smtp = make_sender(settings.model_copy(update={"delivery_backend": "smtp"}))
    assert isinstance(smtp, SmtpSender) and isinstance(smtp, Sender)
    with pytest.raises(ValueError, match="OUTREACH_SENDGRID_API_KEY"):
        make_sender(settings.model_copy(update={"delivery_backend": "sendgrid"}))
    sendgrid = make_sender(
        settings.model_copy(update={"delivery_backend": "sendgrid", "sendgrid_api_key": "SG.k"})
    )
    assert isinstance(sendgrid, SendGridSender) and isinstance(sendgrid, Sender)
