"""Send a wave: claim due ledger rows, apply consent and care, render through channels,
send through the configured backend, and mark every row.

```python
from outreach.delivery.service import send_batch, send_wave, wave_counts

counts = send_batch(store, settings, spec, wave=1, limit=500)   # one batch (a Prefect task)
counts = send_wave(store, settings, spec, wave=1)               # every due row, batch by batch
counts.sent, counts.deferred, counts.remaining                  # counts only, never people
wave_counts(store, spec.id, 1)                                   # {"sent": 1890, "skipped": 110}
```

Checked at send time for every row (not only when the wave was planned):
consent (`Contact.consent_email`, else `skipped` "no email consent"), suppressions
(unsubscribe, bounce, spam report, erasure: `suppressed`), the minimum gap between two
messages to one person across all campaigns (`spec.waves.min_gap`: the row stays
`pending` with `not_before`), and quiet hours in the campaign's time zone (nothing is
claimed; due rows get `not_before` = the end of the quiet hours).

Retries: a transient failure (4xx from SMTP, connection trouble, SendGrid 429/5xx after
the sender's own retries) puts the row back to `pending` with `not_before` = now + 1, 2,
4 ... minutes (capped at an hour); after `MAX_ATTEMPTS` attempts it is `failed` ("gave
up after 5 attempts: ..."). A permanent failure fails that row only.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from sqlalchemy import select

from outreach.campaign import CampaignSpec
from outreach.delivery import ledger
from outreach.delivery.care import as_utc, quiet_window, recent_sends
from outreach.delivery.ledger import Outcome, wave_counts
from outreach.delivery.senders import make_sender
from outreach.delivery.suppressions import email_hash, suppressed_reasons
from outreach.message import Message, Sender, SendResult
from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import Contact, Delivery, Partner, Wave

__all__ = ["BatchCounts", "MAX_ATTEMPTS", "iter_wave", "send_batch", "send_wave", "wave_counts"]

MAX_ATTEMPTS = 5
CONFIG_ERRORS: tuple[type[BaseException], ...] = ()
try:
    from outreach.delivery.sendgrid_api import SendGridConfigError
    from outreach.delivery.smtp import SmtpConfigError

    CONFIG_ERRORS = (SmtpConfigError, SendGridConfigError)
except ImportError:  # pragma: no cover
    pass


@dataclass
class BatchCounts:
    """What one batch (or a whole wave run) did. Counts only: safe for Prefect results."""

    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    skipped: int = 0
    deferred: int = 0
    remaining: int = 0  # rows of the wave not yet final (pending, deferred or claimed)
    # Rows this batch claimed (not a dataclass field: `asdict` gives the six counts).
    claimed: ClassVar[int] = 0

    def add(self, other: BatchCounts) -> None:
        for item in fields(self):
            if item.name != "remaining":
                setattr(self, item.name, getattr(self, item.name) + getattr(other, item.name))
        self.remaining = other.remaining

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.suppressed + self.skipped


def retry_delay(attempts: int) -> timedelta:
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


@dataclass
class _Row:
    id: int
    channel: str
    language: str
    contact_pk: int | None
    partner_id: str | None
    fallback_from: str | None
    attempts: int


def _load(store: Store, ids: Sequence[int]) -> tuple[list[_Row], dict[int, Any], dict[str, Any]]:
    with store.session() as session:
        rows = [
            _Row(*row)
            for row in session.execute(
                select(
                    Delivery.id, Delivery.channel, Delivery.language, Delivery.contact_pk,
                    Delivery.partner_id, Delivery.fallback_from, Delivery.attempts,
                ).where(Delivery.id.in_(list(ids))).order_by(Delivery.id)
            )
        ]  # fmt: skip
        pks = [r.contact_pk for r in rows if r.contact_pk is not None]
        contacts = {
            c.id: c
            for c in session.execute(
                select(
                    Contact.id, Contact.name, Contact.email, Contact.consent_email,
                    Contact.erased_at,
                ).where(Contact.id.in_(pks))
            )
        } if pks else {}  # fmt: skip
        partner_ids = [r.partner_id for r in rows if r.partner_id]
        partners = {
            p.partner_id: p
            for p in session.execute(
                select(Partner.partner_id, Partner.name, Partner.email).where(
                    Partner.partner_id.in_(partner_ids)
                )
            )
        } if partner_ids else {}  # fmt: skip
    return rows, contacts, partners


def _wave_plan(store: Store, campaign_id: str, wave: int) -> dict[str, Any]:
    with store.session() as session:
        plan = session.scalar(
            select(Wave.plan).where(Wave.campaign_id == campaign_id, Wave.number == wave)
        )
    return dict(plan or {})


def _barrier_texts(
    store: Store, spec: CampaignSpec, plan: dict[str, Any], pks: list[int]
) -> dict[int, tuple[str, ...]]:
    if not plan.get("barrier_answers") or not pks:
        return {}
    try:
        from outreach.planning.barriers import barrier_texts_by_contact
    except ImportError:  # planning not installed: the follow-up goes without the answers
        return {}
    return barrier_texts_by_contact(store, plan, spec, pks)


def _render_emails(
    store: Store,
    settings: Settings,
    spec: CampaignSpec,
    wave: int,
    rows: list[_Row],
    contacts: dict[int, Any],
) -> list[Message]:
    from outreach.channels.email import EmailRecipient, render_emails

    texts = _barrier_texts(store, spec, _wave_plan(store, spec.id, wave),
                           [r.contact_pk for r in rows if r.contact_pk is not None])  # fmt: skip
    recipients = [
        EmailRecipient(
            delivery_id=r.id, contact_pk=r.contact_pk, name=contacts[r.contact_pk].name or "",
            email=contacts[r.contact_pk].email, language=r.language, fallback_from=r.fallback_from,
        )
        for r in rows
        if r.contact_pk is not None
    ]  # fmt: skip

    def answers(recipient: Any) -> tuple[str, ...]:
        return texts.get(recipient.contact_pk, ())

    messages: dict[int, Message] = {}
    for key, group in itertools.groupby(sorted(recipients, key=answers), key=answers):
        for message in render_emails(spec, settings, wave, list(group), barrier_answers=key):
            assert message.delivery_id is not None
            messages[message.delivery_id] = message
    return [messages[r.id] for r in rows]


def _render_packs(
    store: Store,
    settings: Settings,
    spec: CampaignSpec,
    wave: int,
    rows: list[_Row],
    partners: dict[str, Any],
) -> tuple[list[Message], list[Outcome]]:
    from outreach.channels.email import render_partner_pack_email
    from outreach.channels.materials import pack_path, render_materials

    missing = [r for r in rows if not pack_path(settings, spec.id, wave, r.partner_id).is_file()]
    if missing:
        render_materials(
            store, spec, settings, wave,
            languages=sorted({r.language for r in missing}),
            partner_ids=sorted({r.partner_id for r in missing if r.partner_id}),
        )  # fmt: skip
    messages: list[Message] = []
    failures: list[Outcome] = []
    for r in rows:
        assert r.partner_id is not None
        path = pack_path(settings, spec.id, wave, r.partner_id)
        if not path.is_file():
            failures.append(Outcome(r.id, "failed", error="partner pack could not be rendered"))
            continue
        partner = partners[r.partner_id]
        messages.append(
            render_partner_pack_email(
                spec, settings, wave, r.partner_id, partner.name, partner.email, r.language, path,
                delivery_id=r.id,
            )
        )  # fmt: skip
    return messages, failures


def _screen(
    store: Store,
    spec: CampaignSpec,
    rows: list[_Row],
    contacts: dict[int, Any],
    partners: dict[str, Any],
    now: datetime,
) -> tuple[list[_Row], list[_Row], list[Outcome]]:
    """Consent, suppressions and the minimum gap: (emails to send, packs to send, outcomes)."""
    outcomes: list[Outcome] = []
    emails: list[_Row] = []
    packs: list[_Row] = []
    hashes: dict[int, str] = {}
    for r in rows:
        if r.channel == "email":
            contact = contacts.get(r.contact_pk) if r.contact_pk is not None else None
            if contact is None or contact.erased_at is not None:
                outcomes.append(Outcome(r.id, "skipped", error="contact erased"))
            elif not contact.email:
                outcomes.append(Outcome(r.id, "skipped", error="no email address"))
            elif not contact.consent_email:
                outcomes.append(Outcome(r.id, "skipped", error="no email consent"))
            else:
                hashes[r.id] = email_hash(contact.email)
                emails.append(r)
        else:
            partner = partners.get(r.partner_id or "")
            if partner is None:
                outcomes.append(Outcome(r.id, "skipped", error="partner no longer exists"))
            elif not partner.email:
                outcomes.append(Outcome(r.id, "skipped", error="partner has no email address"))
            else:
                hashes[r.id] = email_hash(partner.email)
                packs.append(r)
    with store.session() as session:
        suppressed = suppressed_reasons(
            session,
            contact_pks=[r.contact_pk for r in emails if r.contact_pk is not None],
            hashes=hashes.values(),
        )
        recent = recent_sends(
            session, [r.contact_pk for r in emails if r.contact_pk is not None], now,
            spec.waves.min_gap, exclude_ids=[r.id for r in emails],
        )  # fmt: skip

    def reason(r: _Row) -> str | None:
        return suppressed.get(hashes[r.id]) or (
            suppressed.get(f"c:{r.contact_pk}") if r.contact_pk is not None else None
        )

    kept_emails: list[_Row] = []
    for r in emails:
        why = reason(r)
        if why:
            outcomes.append(Outcome(r.id, "suppressed", error=why))
        elif r.contact_pk in recent:
            outcomes.append(
                Outcome(r.id, "pending", not_before=recent[r.contact_pk] + spec.waves.min_gap,
                        error="minimum gap", uncount_attempt=True)
            )  # fmt: skip
        else:
            kept_emails.append(r)
    kept_packs: list[_Row] = []
    for r in packs:
        why = reason(r)
        if why:
            outcomes.append(Outcome(r.id, "suppressed", error=why))
        else:
            kept_packs.append(r)
    return kept_emails, kept_packs, outcomes


def _outcome(result: SendResult, row: _Row, sent_at: datetime) -> Outcome:
    assert result.delivery_id is not None
    if result.ok:
        return Outcome(result.delivery_id, "sent", provider_id=result.provider_id, sent_at=sent_at)
    if not result.transient:
        return Outcome(result.delivery_id, "failed", error=result.error)
    if row.attempts >= MAX_ATTEMPTS:
        return Outcome(
            result.delivery_id, "failed",
            error=f"gave up after {row.attempts} attempts: {result.error}",
        )  # fmt: skip
    return Outcome(
        result.delivery_id, "pending", error=result.error,
        not_before=sent_at + retry_delay(row.attempts),
    )  # fmt: skip


def _tally(counts: BatchCounts, outcomes: Sequence[Outcome]) -> None:
    for o in outcomes:
        if o.status == "pending":
            counts.deferred += 1
        else:
            setattr(counts, o.status, getattr(counts, o.status) + 1)


def _defer_for_quiet_hours(
    store: Store, campaign_id: str, wave: int, now: datetime, until: datetime
) -> int:
    table = Delivery.__table__
    from sqlalchemy import or_, update

    with store.engine.begin() as connection:
        result = connection.execute(
            update(table)
            .where(
                table.c.campaign_id == campaign_id, table.c.wave == wave,
                table.c.status == "pending", table.c.channel.in_(ledger.SENDABLE_CHANNELS),
                or_(table.c.not_before.is_(None), table.c.not_before < until),
            )
            .values(not_before=until, updated_at=now)
        )  # fmt: skip
    return result.rowcount or 0


def send_batch(
    store: Store,
    settings: Settings,
    spec: CampaignSpec,
    wave: int,
    *,
    limit: int | None = None,
    now: datetime | None = None,
    sender: Sender | None = None,
    stale_after: timedelta = ledger.DEFAULT_STALE_AFTER,
) -> BatchCounts:
    """Claim up to `limit` due rows of `wave`, apply consent and care, send, mark each row.

    `now` fixes the clock (tests, simulations); `sender` reuses an open sender (else one
    is made from settings, opened and closed here). Returns counts only.
    """
    fixed_now = as_utc(now) if now is not None else None
    moment = fixed_now or datetime.now(UTC)
    counts = BatchCounts()
    ledger.recover_stale_claims(store, spec.id, wave, now=moment, stale_after=stale_after)
    until = quiet_window(spec, moment)
    if until is not None:
        counts.deferred = _defer_for_quiet_hours(store, spec.id, wave, moment, until)
        counts.remaining = ledger.unfinished(store, spec.id, wave)
        return counts
    claim = ledger.new_claim_id()
    try:
        ids = ledger.claim_rows(
            store, spec.id, wave, limit=limit or settings.send_batch_size, now=moment,
            claim_id=claim,
        )  # fmt: skip
        counts.claimed = len(ids)
        if ids:
            _send_claimed(store, settings, spec, wave, ids, claim, counts, fixed_now, sender)
    finally:
        ledger.end_claim(claim)
    counts.remaining = ledger.unfinished(store, spec.id, wave)
    return counts


def _send_claimed(
    store: Store,
    settings: Settings,
    spec: CampaignSpec,
    wave: int,
    ids: list[int],
    claim: str,
    counts: BatchCounts,
    fixed_now: datetime | None,
    sender: Sender | None,
) -> None:
    moment = fixed_now or datetime.now(UTC)
    not_handed = set(ids)  # rows that certainly have not left: released on an error
    own_sender = sender is None
    try:
        rows, contacts, partners = _load(store, ids)
        emails, packs, outcomes = _screen(store, spec, rows, contacts, partners, moment)
        messages = _render_emails(store, settings, spec, wave, emails, contacts) if emails else []
        if packs:
            pack_messages, pack_failures = _render_packs(
                store, settings, spec, wave, packs, partners
            )
            messages += pack_messages
            outcomes += pack_failures
        ledger.mark(store, outcomes, now=moment)
        _tally(counts, outcomes)
        not_handed -= {o.delivery_id for o in outcomes}
        by_id = {r.id: r for r in rows}
        if own_sender:
            sender = make_sender(settings)
        assert sender is not None
        sender.open()
        connection = store.engine.connect()  # one connection for this batch's commits
        try:
            size = max(1, int(getattr(sender, "preferred_batch", 100)))
            for start in range(0, len(messages), size):
                group = messages[start : start + size]
                handed = {m.delivery_id for m in group}
                not_handed -= handed
                try:
                    results = sender.send(group)
                except CONFIG_ERRORS:
                    not_handed |= handed  # refused before anything left
                    raise
                sent_at = fixed_now or datetime.now(UTC)
                marks = [_outcome(res, by_id[res.delivery_id], sent_at) for res in results]  # type: ignore[index]
                ledger.mark(store, marks, now=sent_at, connection=connection)
                _tally(counts, marks)
        finally:
            connection.close()
            if own_sender:
                sender.close()
    except BaseException:
        ledger.release(store, sorted(i for i in not_handed if i is not None), claim)
        raise


def iter_wave(
    store: Store,
    settings: Settings,
    spec: CampaignSpec,
    wave: int,
    *,
    now: datetime | None = None,
    sender: Sender | None = None,
    limit: int | None = None,
) -> Iterator[BatchCounts]:
    """Send the wave batch by batch, yielding each batch's counts (for progress bars).

    One sender (one SMTP connection) serves every batch. Stops when nothing is due any
    more: everything final, or the rest deferred (quiet hours, minimum gap, retries).
    """
    own = sender is None
    active = make_sender(settings) if own else sender
    assert active is not None
    active.open()
    try:
        while True:
            counts = send_batch(store, settings, spec, wave, limit=limit, now=now, sender=active)
            yield counts
            if counts.claimed == 0 or counts.remaining == 0:
                return
    finally:
        if own:
            active.close()


def send_wave(
    store: Store,
    settings: Settings,
    spec: CampaignSpec,
    wave: int,
    *,
    on_progress: Callable[[BatchCounts, int], None] | None = None,
    now: datetime | None = None,
    sender: Sender | None = None,
    limit: int | None = None,
) -> BatchCounts:
    """Send every due row of the wave; `on_progress(totals_so_far, total_rows)` per batch."""
    total = sum(wave_counts(store, spec.id, wave).values())
    totals = BatchCounts()
    for counts in iter_wave(store, settings, spec, wave, now=now, sender=sender, limit=limit):
        totals.add(counts)
        if on_progress is not None:
            on_progress(totals, total)
    return totals
