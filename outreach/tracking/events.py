"""Recording what a campaign hears back: RSVPs, clicks, scans, unsubscribes, provider events.

Every function writes through `insert_events`, which commits before it returns and
deduplicates by `external_id` (`INSERT ... ON CONFLICT DO NOTHING` on SQLite and
PostgreSQL), so a double-submitted form, a redelivered webhook or a re-imported file
stores each response once, and a response acknowledged to anyone is already on disk.

```python
from outreach.tracking.events import RsvpAnswer, record_rsvp

event = record_rsvp(store, payload, RsvpAnswer("yes", party_size=2, barriers=["childcare"]),
                    submission_id="3f1c...")          # same submission id -> same event
event.kind, event.answer, event.channel               # ('rsvp', 'yes', 'flyer')
```
"""

from __future__ import annotations

import threading
import uuid
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from outreach.store import Store
from outreach.store.models import Delivery, Partner, ResponseEvent
from outreach.tracking import _deps
from outreach.tracking.tokens import TokenPayload

# Barrier ids: the same ids as `barrier_answers` in the campaign spec.
BARRIERS = ("time", "childcare", "language", "cost", "access", "belonging")
ANSWERS = ("yes", "no", "maybe")
# How people say they heard about the event (the RSVP form's choices).
HEARD_VIA = ("email", "radio", "flyer", "partner", "friend", "social", "other")
MAX_PARTY = 20
MAX_TEXT = 2000

Answer = Literal["yes", "no", "maybe"]


@dataclass
class RsvpAnswer:
    """One person's answer on the RSVP form (or an imported sheet row).

    `self_groups` are self-described `dimension:value` pairs (a "prefer not to say" is
    simply absent); `barriers` are ids from `BARRIERS`.
    """

    answer: Answer
    party_size: int = 1
    access_needs: str = ""
    heard_via: str = ""
    self_groups: list[str] = field(default_factory=list)
    barriers: list[str] = field(default_factory=list)
    barrier_text: str = ""

    def problems(self) -> list[tuple[str, str]]:
        """(field, message) for everything wrong; empty when the answer can be stored."""
        found: list[tuple[str, str]] = []
        if self.answer not in ANSWERS:
            found.append(("answer", "must be yes, no or maybe"))
        if not isinstance(self.party_size, int) or not 1 <= self.party_size <= MAX_PARTY:
            found.append(("party_size", f"must be a whole number from 1 to {MAX_PARTY}"))
        unknown = [b for b in self.barriers if b not in BARRIERS]
        if unknown:
            found.append(("barriers", f"unknown barrier {', '.join(unknown)}"))
        for group in self.self_groups:
            if ":" not in group:
                found.append(("groups", f"{group!r} is not dimension:value"))
        for name in ("access_needs", "barrier_text"):
            if len(getattr(self, name)) > MAX_TEXT:
                found.append((name, f"is longer than {MAX_TEXT} characters"))
        return found


def now_utc() -> datetime:
    return datetime.now(UTC)


def _insert(store: Store) -> Any:
    dialect = postgresql if store.engine.dialect.name == "postgresql" else sqlite
    return dialect.insert


def _dedupe_insert(store: Store) -> Insert:
    return (
        _insert(store)(ResponseEvent)
        .on_conflict_do_nothing(index_elements=["external_id"])
        .returning(ResponseEvent.external_id, ResponseEvent.id)
    )


_WRITE_LOCKS: weakref.WeakKeyDictionary[Store, threading.Lock] = weakref.WeakKeyDictionary()


@contextmanager
def _writer(store: Store) -> Iterator[None]:
    """One writer at a time per SQLite store in this process.

    SQLite allows one writer; without this, concurrent request threads wait in SQLite's
    busy handler, which sleeps in growing steps and makes tail latency terrible. A lock
    hands the database over immediately. PostgreSQL needs no such thing.
    """
    if not store.is_sqlite:
        yield
        return
    lock = _WRITE_LOCKS.get(store)
    if lock is None:
        lock = _WRITE_LOCKS.setdefault(store, threading.Lock())
    with lock:
        yield


def insert_events(store: Store, rows: Sequence[dict[str, Any]]) -> int:
    """Insert response events in one transaction, skipping known `external_id`s.

    Returns how many were new. Committed when this returns.
    """
    return len(_insert_returning(store, rows))


def _insert_returning(store: Store, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert (deduplicated, committed); `external_id -> id` of the rows that were new."""
    if not rows:
        return {}
    prepared = _prepare(rows)
    with _writer(store), store.session() as session:
        _attach_deliveries(session, prepared)
        # Multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING: one round trip per few
        # hundred rows; RETURNING yields only the rows actually inserted.
        result = session.execute(_dedupe_insert(store), prepared)
        return {row[0]: row[1] for row in result.all()}


def _prepare(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Complete rows with defaults (every row needs every column for a multi-row insert)."""
    now = now_utc()
    prepared = []
    seen: set[str] = set()
    for row in rows:
        if row["external_id"] in seen:  # twice in one batch: keep the first
            continue
        seen.add(row["external_id"])
        prepared.append(
            {
                "wave": None,
                "language": None,
                "answer": None,
                "party_size": None,
                "delivery_id": None,
                "contact_pk": None,
                "partner_id": None,
                "point": None,
                "self_groups": None,
                "data": {},
                "occurred_at": now,
                "recorded_at": now,
                **row,
            }
        )
    return prepared


def _attach_deliveries(session: Session, rows: list[dict[str, Any]]) -> None:
    """Fill `contact_pk` from the ledger for rows naming a delivery of their campaign.

    A delivery id that is not in the ledger for that campaign (a stale or foreign token)
    is dropped rather than stored as a dangling reference.
    """
    wanted = {r["delivery_id"] for r in rows if r.get("delivery_id") is not None}
    if not wanted:
        return
    found = {}
    for chunk in _chunked(sorted(wanted)):
        for d_id, campaign, contact in session.execute(
            select(Delivery.id, Delivery.campaign_id, Delivery.contact_pk).where(
                Delivery.id.in_(chunk)
            )
        ):
            found[d_id] = (campaign, contact)
    for row in rows:
        if row.get("delivery_id") is None:
            continue
        match = found.get(row["delivery_id"])
        if match is None or match[0] != row["campaign_id"]:
            row["delivery_id"] = None
        elif row.get("contact_pk") is None:
            row["contact_pk"] = match[1]


def _chunked(items: list[int], size: int = 500) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def resolve_delivery(session: Session, payload: TokenPayload) -> tuple[int | None, int | None]:
    """(delivery id, contact pk) for a per-contact token, checked against its campaign."""
    if payload.delivery is None:
        return None, None
    row = session.execute(
        select(Delivery.id, Delivery.contact_pk).where(
            Delivery.id == payload.delivery, Delivery.campaign_id == payload.campaign
        )
    ).first()
    if row is None:
        return None, None
    return row[0], row[1]


def _base_row(payload: TokenPayload, kind: str, source: str, external_id: str) -> dict[str, Any]:
    """An event row for a token; `insert_events` checks the delivery and adds the contact."""
    return {
        "external_id": external_id,
        "campaign_id": payload.campaign,
        "wave": payload.wave,
        "channel": payload.channel,
        "language": payload.language,
        "kind": kind,
        "source": source,
        "delivery_id": payload.delivery,
        "contact_pk": None,
        "partner_id": payload.partner,
        "point": payload.point,
    }


def _store_one(store: Store, row: dict[str, Any]) -> ResponseEvent:
    """Insert one event; return it as stored (the earlier one if it was a duplicate)."""
    (prepared,) = _prepare([row])
    new = _insert_returning(store, [prepared])
    if new:
        return ResponseEvent(id=new[prepared["external_id"]], **prepared)
    return _fetch(store, row["external_id"])


def _fetch(store: Store, external_id: str) -> ResponseEvent:
    with store.session() as session:
        event = session.scalars(
            select(ResponseEvent).where(ResponseEvent.external_id == external_id)
        ).one()
        session.expunge(event)
        return event


def record_rsvp(
    store: Store,
    payload: TokenPayload,
    answer: RsvpAnswer,
    *,
    submission_id: str,
    source: str = "web",
    occurred_at: datetime | None = None,
    contact_pk: int | None = None,
    extra: dict[str, Any] | None = None,
) -> ResponseEvent:
    """Store an RSVP once per `submission_id`; returns the stored event (new or earlier).

    Raises `ValueError` when the answer has problems (see `RsvpAnswer.problems`).
    """
    problems = answer.problems()
    if problems:
        raise ValueError("; ".join(f"{f}: {m}" for f, m in problems))
    external_id = f"rsvp:{payload.campaign}:{submission_id}"
    row = _base_row(payload, "rsvp", source, external_id)
    if contact_pk is not None:
        row["contact_pk"] = contact_pk
    row.update(
        answer=answer.answer,
        party_size=answer.party_size if answer.answer != "no" else 0,
        self_groups=";".join(sorted(set(answer.self_groups))) or None,
        data={
            "submission_id": submission_id,
            "barriers": sorted(set(answer.barriers)),
            "barrier_text": answer.barrier_text.strip(),
            "access_needs": answer.access_needs.strip(),
            "heard_via": answer.heard_via,
            **(extra or {}),
        },
    )
    if occurred_at is not None:
        row["occurred_at"] = occurred_at
    return _store_one(store, row)


def record_click(
    store: Store,
    payload: TokenPayload,
    *,
    target: str,
    source: str = "web",
    external_id: str | None = None,
    occurred_at: datetime | None = None,
) -> ResponseEvent:
    """Store a click on a tracked link (each click is its own event unless an id is given)."""
    external_id = external_id or f"click:{uuid.uuid4().hex}"
    row = _base_row(payload, "click", source, external_id)
    row["data"] = {"target": target}
    if occurred_at is not None:
        row["occurred_at"] = occurred_at
    return _store_one(store, row)


def record_scan(
    store: Store,
    payload: TokenPayload,
    *,
    source: str = "web",
    kind: str = "scan",
    external_id: str | None = None,
    occurred_at: datetime | None = None,
) -> ResponseEvent:
    """Store a visit to the RSVP page: `scan` for print/partner QR codes, `visit` otherwise."""
    external_id = external_id or f"{kind}:{uuid.uuid4().hex}"
    row = _base_row(payload, kind, source, external_id)
    if occurred_at is not None:
        row["occurred_at"] = occurred_at
    return _store_one(store, row)


def record_unsubscribe(store: Store, payload: TokenPayload, *, source: str = "web") -> bool:
    """Unsubscribe the person a per-contact token names, for every campaign, at once.

    Idempotent. Returns False when the token names nobody (a flyer's or radio's token).
    A partner's pack email (a ledger row for `p:<partner>`) unsubscribes the partner's
    address. The suppression goes through delivery's `suppress`; an `unsubscribe` event
    is stored too, once per delivery, so reports can count it.
    """
    email = None
    with store.session() as session:
        delivery_id, contact_pk = resolve_delivery(session, payload)
        if delivery_id is not None and contact_pk is None:
            email = session.scalar(
                select(Partner.email)
                .join(Delivery, Delivery.partner_id == Partner.partner_id)
                .where(Delivery.id == delivery_id)
            )
    if contact_pk is None and not email:
        return False
    _deps.suppress(
        store,
        reason="unsubscribe",
        source=source,
        contact_pk=contact_pk,
        email=email,
        campaign_id=payload.campaign,
    )
    row = _base_row(payload, "unsubscribe", source, f"unsubscribe:{delivery_id}")
    insert_events(store, [row])
    return True


def count_events(store: Store, campaign_id: str, kinds: Iterable[str] | None = None) -> int:
    """How many events a campaign has (optionally of some kinds); for tests and benches."""
    from sqlalchemy import func

    query = select(func.count(ResponseEvent.id)).where(ResponseEvent.campaign_id == campaign_id)
    if kinds is not None:
        query = query.where(ResponseEvent.kind.in_(list(kinds)))
    with store.session() as session:
        return int(session.scalar(query) or 0)
