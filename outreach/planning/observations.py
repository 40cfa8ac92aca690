"""What the store says happened: who answered, through which channel, in which groups.

One row per respondent (per campaign): a known contact counts once with their latest
answer; an anonymous respondent (radio call-in, flyer QR code) counts once per event.
Groups come from the contact's recorded groups, or from the groups a respondent described
themselves in (radio and flyer responders are not in the contact list).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.engine import Row
from sqlalchemy.orm import InstrumentedAttribute, Session

from outreach.store import Store
from outreach.store.models import Contact, ContactGroup, Delivery, ResponseEvent

POSITIVE = ("yes", "maybe")
# Ids bound in one query at most. psycopg refuses more than 65,535 bind parameters and
# SQLite more than 250,000, so a list of contacts is looked up (or paged) this many at a time.
CHUNK = 5_000
COLUMNS = [
    "campaign_id",
    "wave",
    "channel",
    "answer",
    "contact_pk",
    "partner_id",
    "groups",
    "barriers",
]


def contact_groups(store: Store, contact_pks: Sequence[int] | None = None) -> dict[int, set[str]]:
    """`{contact pk: {"dimension:value", ...}}`; `language:<code>` always included.

    `contact_pks` are looked up `CHUNK` at a time, so any number of them works.
    """
    groups: dict[int, set[str]] = {}
    with store.session() as session:
        query = select(ContactGroup.contact_pk, ContactGroup.dimension, ContactGroup.value)
        lang_query = select(Contact.id, Contact.language)
        if contact_pks is None:
            chunks: list[tuple[Select[Any], Select[Any]]] = [(query, lang_query)]
        else:
            pks = list(contact_pks)
            chunks = [
                (
                    query.where(ContactGroup.contact_pk.in_(pks[n : n + CHUNK])),
                    lang_query.where(Contact.id.in_(pks[n : n + CHUNK])),
                )
                for n in range(0, len(pks), CHUNK)
            ]
        for group_query, language_query in chunks:
            for pk, dimension, value in session.execute(group_query):
                groups.setdefault(pk, set()).add(f"{dimension}:{value}")
            for pk, language in session.execute(language_query):
                if language:
                    groups.setdefault(pk, set()).add(f"language:{language}")
    return groups


def keyset_pages(
    session: Session, query: Select[Any], key: InstrumentedAttribute[int], size: int | None = None
) -> Iterator[list[Row[Any]]]:
    """`query`'s rows `size` (default `CHUNK`) at a time, in `key` order (first column).

    Keyset paging (`key > last`), not OFFSET: each page is an index range scan, and no
    query holds a cursor open while the caller runs its own queries between pages.
    """
    size = size or CHUNK
    last: int | None = None
    while True:
        page = query if last is None else query.where(key > last)
        # Core execution: plain rows, without the ORM's per-row bookkeeping.
        rows = list(session.connection().execute(page.order_by(key).limit(size)).all())
        if rows:
            yield rows
        if len(rows) < size:
            return
        last = rows[-1][0]


def recorded_groups(rows: Sequence[Row[Any]]) -> dict[int, set[str]]:
    """`{pk: {"dimension:value"}}` from (contact pk, dimension, value) rows."""
    found: dict[int, set[str]] = {}
    for pk, dimension, value in rows:
        found.setdefault(pk, set()).add(f"{dimension}:{value}")
    return found


def respondents_frame(store: Store, campaign_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Every RSVP respondent (see module doc); `campaign_ids=None` means all campaigns."""
    with store.session() as session:
        query = (
            select(
                ResponseEvent.id,
                ResponseEvent.campaign_id,
                ResponseEvent.wave,
                ResponseEvent.channel,
                ResponseEvent.answer,
                ResponseEvent.contact_pk,
                Delivery.contact_pk,
                ResponseEvent.partner_id,
                ResponseEvent.self_groups,
                ResponseEvent.data,
                ResponseEvent.occurred_at,
            )
            .outerjoin(Delivery, Delivery.id == ResponseEvent.delivery_id)
            .where(ResponseEvent.kind == "rsvp")
            .order_by(ResponseEvent.occurred_at, ResponseEvent.id)
        )
        if campaign_ids is not None:
            query = query.where(ResponseEvent.campaign_id.in_(list(campaign_ids)))
        events = session.execute(query).all()
    pks = {row[5] or row[6] for row in events if (row[5] or row[6]) is not None}
    known = contact_groups(store, sorted(pks)) if pks else {}
    latest: dict[tuple[str, Any], dict[str, Any]] = {}
    for (
        event_id,
        campaign_id,
        wave,
        channel,
        answer,
        pk,
        delivery_pk,
        partner_id,
        self_groups,
        data,
        _when,
    ) in events:
        contact_pk = pk if pk is not None else delivery_pk
        groups = set(known.get(contact_pk, set())) if contact_pk is not None else set()
        if not groups and self_groups:
            groups = {part.strip() for part in self_groups.split(";") if ":" in part}
        barriers = list((data or {}).get("barriers") or [])
        person = ("c", contact_pk) if contact_pk is not None else ("e", event_id)
        previous = latest.get((campaign_id, person))
        # A person's latest answer stands, but their first channel is how they were reached.
        latest[(campaign_id, person)] = {
            "campaign_id": campaign_id,
            "wave": previous["wave"] if previous else wave,
            "channel": previous["channel"] if previous else channel,
            "answer": answer,
            "contact_pk": contact_pk,
            "partner_id": partner_id,
            "groups": frozenset(groups),
            "barriers": sorted(set(barriers) | set(previous["barriers"] if previous else [])),
        }
    return pd.DataFrame(list(latest.values()), columns=COLUMNS)
