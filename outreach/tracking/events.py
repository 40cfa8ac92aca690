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

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from outreach.store import Store
from outreach.store.models import Delivery, ResponseEvent
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
        .returning(ResponseEvent.external_id)
    )


def insert_events(store: Store, rows: Sequence[dict[str, Any]]) -> int:
    """Insert response events in one transaction, skipping known `external_id`s.

    Returns how many were new. Committed when this returns.
    """
    if not rows:
        return 0
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
    with store.session() as session:
        # Multi-row INSERT ... ON CONFLICT DO NOTHING RETURNING: one round trip per few
        # hundred rows; RETURNING yields only the rows actually inserted.
        result = session.execute(_dedupe_insert(store), prepared)
        return len(result.all())


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


def _base_row(
    store: Store, payload: TokenPayload, kind: str, source: str, external_id: str
) -> dict[str, Any]:
    with store.session() as session:
        delivery_id, contact_pk = resolve_delivery(session, payload)
    return {
        "external_id": external_id,
        "campaign_id": payload.campaign,
        "wave": payload.wave,
        "channel": payload.channel,
        "language": payload.language,
        "kind": kind,
        "source": source,
        "delivery_id": delivery_id,
        "contact_pk": contact_pk,
        "partner_id": payload.partner,
        "point": payload.point,
    }


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
    row = _base_row(store, payload, "rsvp", source, external_id)
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
    insert_events(store, [row])
    return _fetch(store, external_id)


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
    row = _base_row(store, payload, "click", source, external_id)
    row["data"] = {"target": target}
    if occurred_at is not None:
        row["occurred_at"] = occurred_at
    insert_events(store, [row])
    return _fetch(store, external_id)


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
    row = _base_row(store, payload, kind, source, external_id)
    if occurred_at is not None:
        row["occurred_at"] = occurred_at
    insert_events(store, [row])
    return _fetch(store, external_id)


def record_unsubscribe(store: Store, payload: TokenPayload, *, source: str = "web") -> bool:
    """Unsubscribe the person a per-contact token names, for every campaign, at once.

    Idempotent. Returns False when the token names nobody (a flyer's or radio's token).
    The suppression goes through delivery's `suppress`; an `unsubscribe` event is stored
    too, once per delivery, so reports can count it.
    """
    with store.session() as session:
        delivery_id, contact_pk = resolve_delivery(session, payload)
    if contact_pk is None:
        return False
    _deps.suppress(
        store,
        reason="unsubscribe",
        source=source,
        contact_pk=contact_pk,
        campaign_id=payload.campaign,
    )
    row = _base_row(store, payload, "unsubscribe", source, f"unsubscribe:{delivery_id}")
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
