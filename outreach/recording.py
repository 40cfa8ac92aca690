"""Record a campaign, its contacts and its audience in the store, from checked files.

Everything is bulk and idempotent: rows go in with SQLAlchemy Core `INSERT ... ON
CONFLICT` (SQLite and PostgreSQL dialects) in chunks, in one transaction, so recording
the same files twice changes nothing, and recording a changed file brings the store to
what the file says now (see `record_campaign`).

```python
from outreach.contacts import load_sources
from outreach.recording import record_campaign

recorded = record_campaign(store, spec, load_sources(spec, settings))
recorded.audience, recorded.left   # selected now; dropped since the last run
```

The partners table is the organisation's list of partners, shared by its campaigns (as
the follow-up planner reads it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy import delete, select

from outreach.contact_stream import select_audience
from outreach.store.bulk import chunked, dialect_insert, none_if_missing, table_of
from outreach.store.models import (
    Campaign,
    CampaignContact,
    Contact,
    ContactGroup,
    Delivery,
    Group,
    Partner,
    utcnow,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from outreach.campaign import CampaignSpec
    from outreach.contacts import Sources
    from outreach.store import Store

# Each chunk of contacts is also an IN (...) list: stay well under SQLite's 32,766
# bound parameters.
MAX_IN_LIST = 10_000


@dataclass(frozen=True)
class Recorded:
    """What one recording did (counts only)."""

    contacts: int  # rows in the contacts file
    audience: int  # of them, selected by the campaign (and not erased)
    left: int  # earlier members no longer selected: they get nothing more
    unsent: int  # their planned, never-tried ledger rows, dropped


def record_campaign(
    store: Store, spec: CampaignSpec, sources: Sources, *, chunk_size: int | None = None
) -> Recorded:
    """Upsert the campaign, its contacts (+ groups), groups, partners and audience.

    Contacts are read again from their (checked) file one chunk at a time and each chunk
    is upserted before the next is read, so memory does not grow with the file. It is one
    transaction: a file that changed since it was checked raises `InvalidInput` and
    nothing is recorded. `chunk_size` bounds each INSERT (default: the chunk size the
    contacts were read with).

    The audience is what this file selects now: anyone recorded by an earlier run who is
    no longer in the file (or no longer in `audience.groups`) leaves it, and their ledger
    rows that were planned but never tried are dropped, so nobody removed from the list
    is sent anything more. Their sent messages stay in the ledger, as history.
    """
    now = utcnow()
    size = chunk_size or sources.contacts.chunk_size
    members = table_of(CampaignContact)
    with store.engine.begin() as connection:
        _upsert_campaign(connection, spec, now)
        _upsert_groups(connection, spec.id, sources.groups)
        _upsert_partners(connection, sources.partners, size)
        selected = 0
        for chunk in sources.contacts.chunks():
            pks = _upsert_contacts(connection, chunk, size, now)
            audience = select_audience(chunk, spec)
            chunk_members = [pks[cid] for cid in audience["contact_id"] if cid in pks]
            selected += len(chunk_members)
            for part in chunked(chunk_members, size):
                statement = dialect_insert(connection, members)
                statement = statement.on_conflict_do_update(
                    index_elements=["campaign_id", "contact_pk"],
                    set_={"recorded_at": statement.excluded.recorded_at},
                )
                connection.execute(
                    statement,
                    [
                        {
                            "campaign_id": spec.id,
                            "contact_pk": pk,
                            "added_at": now,
                            "recorded_at": now,
                        }
                        for pk in part
                    ],
                )
        left, unsent = _leave_audience(connection, spec.id, now)
    return Recorded(contacts=len(sources.contacts), audience=selected, left=left, unsent=unsent)


def _leave_audience(connection: Connection, campaign_id: str, now: datetime) -> tuple[int, int]:
    """Drop members this run did not record (stamped earlier, or before the stamp existed)
    and their untried ledger rows; return how many of each."""
    members = table_of(CampaignContact)
    ledger = table_of(Delivery)
    stale = (members.c.campaign_id == campaign_id) & (
        members.c.recorded_at.is_(None) | (members.c.recorded_at != now)
    )
    leaving = select(members.c.contact_pk).where(stale)
    unsent = connection.execute(
        delete(ledger).where(
            ledger.c.campaign_id == campaign_id,
            ledger.c.status == "pending",
            ledger.c.claim_id.is_(None),
            ledger.c.contact_pk.in_(leaving),
        )
    ).rowcount
    left = connection.execute(delete(members).where(stale)).rowcount
    return int(left or 0), int(unsent or 0)


def _upsert_campaign(connection: Connection, spec: CampaignSpec, now: datetime) -> None:
    values = {
        "title": spec.event.title,
        "spec": spec.model_dump(mode="json"),
        "spec_path": str(spec.spec_path or ""),
        "source_language": spec.source_language,
        "updated_at": now,
    }
    statement = dialect_insert(connection, table_of(Campaign)).values(
        id=spec.id, status="active", created_at=now, **values
    )
    connection.execute(statement.on_conflict_do_update(index_elements=["id"], set_=values))


def _upsert_groups(connection: Connection, campaign_id: str, groups: pd.DataFrame) -> None:
    rows = [
        {
            "campaign_id": campaign_id,
            "dimension": row.dimension,
            "value": row.value,
            "label": row.label,
            "population_share": float(row.population_share),
        }
        for row in groups.itertuples(index=False)
    ]
    if not rows:
        return
    statement = dialect_insert(connection, table_of(Group))
    statement = statement.on_conflict_do_update(
        index_elements=["campaign_id", "dimension", "value"],
        set_={
            "label": statement.excluded.label,
            "population_share": statement.excluded.population_share,
        },
    )
    connection.execute(statement, rows)


def _upsert_partners(connection: Connection, partners: pd.DataFrame, chunk_size: int) -> None:
    rows = [
        {
            "partner_id": row.partner_id,
            "name": row.name,
            "kind": row.kind,
            "languages": ";".join(row.language_list),
            "email": none_if_missing(row.email),
            "reach": int(row.reach),
            "extra": row.extra,
        }
        for row in partners.itertuples(index=False)
    ]
    for chunk in chunked(rows, chunk_size):
        statement = dialect_insert(connection, table_of(Partner))
        updated = {name: statement.excluded[name] for name in chunk[0] if name != "partner_id"}
        connection.execute(
            statement.on_conflict_do_update(index_elements=["partner_id"], set_=updated),
            list(chunk),
        )


def _upsert_contacts(
    connection: Connection, contacts: pd.DataFrame, chunk_size: int, now: datetime
) -> dict[str, int]:
    """Upsert (a chunk of) contacts; return {contact_id: pk} for those not erased.

    An erased person stays erased: their row is never refilled from a CSV, their group
    memberships are not rebuilt, and they join no audience.
    """
    columns = ["contact_id", "name", "email", "phone", "language", "groups", "consent_email"]
    columns += ["partner_id", "extra", "group_pairs"]  # the order the rows are unpacked in
    # Columns as lists, zipped: to_dict("records") boxed cell by cell (a tenth of recording).
    records = list(zip(*(contacts[name].tolist() for name in columns), strict=True))
    table = table_of(Contact)
    pks: dict[str, int] = {}
    for chunk in chunked(records, min(chunk_size, MAX_IN_LIST)):
        rows = [
            {
                "contact_id": cid,
                "name": name or "",
                "email": none_if_missing(email),
                "phone": none_if_missing(phone),
                "language": language,
                "groups": groups or "",
                "consent_email": bool(consent),
                "partner_id": none_if_missing(partner),
                "extra": extra or {},
                "updated_at": now,
            }
            for cid, name, email, phone, language, groups, consent, partner, extra, _ in chunk
        ]
        statement = dialect_insert(connection, table)
        updated = {name: statement.excluded[name] for name in rows[0] if name != "contact_id"}
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=["contact_id"], set_=updated, where=table.c.erased_at.is_(None)
            ),
            rows,
        )
        ids = [r[0] for r in chunk]
        found = dict(
            connection.execute(
                select(table.c.contact_id, table.c.id).where(
                    table.c.contact_id.in_(ids), table.c.erased_at.is_(None)
                )
            ).all()
        )
        pks.update(found)
        chunk_pks = list(found.values())
        # Memberships follow the current file: drop this chunk's old ones, insert the new.
        connection.execute(
            delete(table_of(ContactGroup)).where(table_of(ContactGroup).c.contact_pk.in_(chunk_pks))
        )
        memberships = [
            {"contact_pk": found[cid], "dimension": dimension, "value": value}
            for cid, *_, pairs in chunk
            if cid in found
            for dimension, value in dict.fromkeys(pairs)
        ]
        if memberships:
            insert = dialect_insert(connection, table_of(ContactGroup)).on_conflict_do_nothing()
            connection.execute(insert, memberships)
    return pks
