"""Record a campaign and its audience in the store, and plan the send ledger.

Everything here is bulk and idempotent: rows go in with SQLAlchemy Core `INSERT ... ON
CONFLICT` (SQLite and PostgreSQL dialects), in chunks of `settings.chunk_size`, so running
it twice changes nothing and never duplicates a ledger row.

```python
from outreach.audience import plan_first_wave, plan_table, record_campaign
from outreach.contacts import load_sources

sources = load_sources(spec, settings)
record_campaign(store, spec, sources)           # campaign, contacts, groups, partners
new_rows = plan_first_wave(store, spec, settings)  # wave 1: email + partner_pack rows
print(plan_table(store, spec.id, 1))            # channel, language, group, recipients
```

The partners table is the organisation's list of partners, shared by its campaigns (as
the follow-up planner reads it); wave 1 sends a partner pack to each partner with email.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Select, Table, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from outreach.contact_stream import select_audience
from outreach.store.models import (
    Campaign,
    CampaignContact,
    Contact,
    ContactGroup,
    Delivery,
    Group,
    Partner,
    Wave,
    utcnow,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from outreach.campaign import CampaignSpec
    from outreach.contacts import Sources
    from outreach.settings import Settings
    from outreach.store import Store

DEFAULT_CHUNK = 5000
MAX_IN_LIST = 10_000
NO_GROUP = "(no group)"
PARTNER_GROUP = "(partners)"


@dataclass
class LedgerRow:
    """One planned send: `recipient` is `c:<contact pk>` or `p:<partner_id>`."""

    recipient: str
    channel: str
    language: str
    contact_pk: int | None = None
    partner_id: str | None = None
    fallback_from: str | None = None


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]


def _insert(connection: Connection, table: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    name = connection.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the store supports SQLite and PostgreSQL, not {name}")


def _table(model: type) -> Table:
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def _none(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value


# --- recording ----------------------------------------------------------------------------


def record_campaign(
    store: Store, spec: CampaignSpec, sources: Sources, *, chunk_size: int | None = None
) -> None:
    """Upsert the campaign, its contacts (+ groups), groups, partners and audience.

    Contacts are read again from their (checked) file one chunk at a time and each chunk
    is upserted before the next is read, so memory does not grow with the file. It is one
    transaction: a file that changed since it was checked raises `InvalidInput` and
    nothing is recorded. `chunk_size` bounds each INSERT (default: the chunk size the
    contacts were read with).
    """
    now = utcnow()
    size = chunk_size or sources.contacts.chunk_size
    with store.engine.begin() as connection:
        _upsert_campaign(connection, spec, now)
        _upsert_groups(connection, spec.id, sources.groups)
        _upsert_partners(connection, sources.partners, size)
        table = _table(CampaignContact)
        for chunk in sources.contacts.chunks():
            pks = _upsert_contacts(connection, chunk, size, now)
            audience = select_audience(chunk, spec)
            members = [pks[cid] for cid in audience["contact_id"] if cid in pks]
            for part in _chunks(members, size):
                statement = _insert(connection, table).on_conflict_do_nothing()
                connection.execute(
                    statement,
                    [{"campaign_id": spec.id, "contact_pk": pk, "added_at": now} for pk in part],
                )


def _upsert_campaign(connection: Connection, spec: CampaignSpec, now: datetime) -> None:
    values = {
        "title": spec.event.title,
        "spec": spec.model_dump(mode="json"),
        "spec_path": str(spec.spec_path or ""),
        "source_language": spec.source_language,
        "updated_at": now,
    }
    statement = _insert(connection, _table(Campaign)).values(
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
    statement = _insert(connection, _table(Group))
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
            "email": _none(row.email),
            "reach": int(row.reach),
            "extra": row.extra,
        }
        for row in partners.itertuples(index=False)
    ]
    for chunk in _chunks(rows, chunk_size):
        statement = _insert(connection, _table(Partner))
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
    table = _table(Contact)
    pks: dict[str, int] = {}
    # Each chunk is also an IN (...) list: stay well under SQLite's 32,766 bound parameters.
    for chunk in _chunks(records, min(chunk_size, MAX_IN_LIST)):
        rows = [
            {
                "contact_id": cid,
                "name": name or "",
                "email": _none(email),
                "phone": _none(phone),
                "language": language,
                "groups": groups or "",
                "consent_email": bool(consent),
                "partner_id": _none(partner),
                "extra": extra or {},
                "updated_at": now,
            }
            for cid, name, email, phone, language, groups, consent, partner, extra, _ in chunk
        ]
        statement = _insert(connection, table)
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
            delete(_table(ContactGroup)).where(_table(ContactGroup).c.contact_pk.in_(chunk_pks))
        )
        memberships = [
            {"contact_pk": found[cid], "dimension": dimension, "value": value}
            for cid, *_, pairs in chunk
            if cid in found
            for dimension, value in dict.fromkeys(pairs)
        ]
        if memberships:
            insert = _insert(connection, _table(ContactGroup)).on_conflict_do_nothing()
            connection.execute(insert, memberships)
    return pks


# --- the ledger ---------------------------------------------------------------------------


def add_ledger_rows(
    store: Store,
    campaign_id: str,
    wave: int,
    rows: Iterable[LedgerRow],
    *,
    chunk_size: int = DEFAULT_CHUNK,
) -> int:
    """Insert ledger rows in batches; rows already in the ledger are skipped. Returns new."""
    with store.engine.begin() as connection:
        return _add_ledger_rows(connection, campaign_id, wave, rows, chunk_size)


def _add_ledger_rows(
    connection: Connection,
    campaign_id: str,
    wave: int,
    rows: Iterable[Any],
    chunk_size: int,
) -> int:
    """`add_ledger_rows` on an open transaction; `rows` may be a generator reading the
    same connection (each batch is inserted before the next rows are asked for)."""
    table = _table(Delivery)
    now = utcnow()
    count = select(func.count()).select_from(table)
    count = count.where(table.c.campaign_id == campaign_id, table.c.wave == wave)
    before = connection.execute(count).scalar_one()
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        statement = _insert(connection, table).on_conflict_do_nothing(
            index_elements=["campaign_id", "wave", "recipient", "channel"]
        )
        connection.execute(statement, batch)
        batch.clear()

    for row in rows:
        values = asdict(row) if isinstance(row, LedgerRow) else _row_fields(row)
        batch.append(
            {
                **values,
                "campaign_id": campaign_id,
                "wave": wave,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
        )
        if len(batch) >= chunk_size:
            flush()
    if batch:
        flush()
    after = connection.execute(count).scalar_one()
    return int(after - before)


def _row_fields(row: Any) -> dict[str, Any]:
    """Accept any object with LedgerRow's attributes (e.g. another area's stand-in)."""
    names = ("recipient", "channel", "language", "contact_pk", "partner_id", "fallback_from")
    return {name: getattr(row, name, None) for name in names}


def _effective_languages(
    spec: CampaignSpec, wanted: Iterable[str], allow_fallback: str | None
) -> dict[str, tuple[str, str | None]]:
    """{wanted: (language to send in, wanted if fell back)}, asked once per language."""
    try:
        from outreach.i18n.fallback import effective_language
    except ModuleNotFoundError as exc:
        # TODO(integration): remove once outreach.i18n.fallback exists everywhere.
        if exc.name not in ("outreach.i18n.fallback", "outreach.i18n"):
            raise
        return {code: (code, None) for code in wanted}
    return {code: effective_language(spec, code, allow_fallback=allow_fallback) for code in wanted}


def _partner_language(languages: str, spec: CampaignSpec) -> str:
    """A partner's pack language: its first language the campaign has, else the source."""
    for code in (part.strip() for part in (languages or "").split(";")):
        if code in spec.target_languages:
            return code
    return spec.source_language


def plan_first_wave(
    store: Store,
    spec: CampaignSpec,
    settings: Settings,
    *,
    allow_fallback: str | None = None,
    now: datetime | None = None,
) -> int:
    """Create wave 1 and its ledger rows (email per audience contact with an address,
    partner_pack per partner with an email). Idempotent; returns how many rows were new.

    Consent and suppressions are enforced again at send time, where rows for people who
    did not consent become `skipped`; planning them keeps the ledger a complete record.
    Contacts are read a page of `settings.chunk_size` at a time (by id, after the last
    page) and each page's rows are inserted before the next is read: memory stays flat
    however large the audience.
    """
    now = now or datetime.now(UTC)
    fallback = allow_fallback or spec.allow_fallback
    enabled = spec.channels.enabled()
    with store.engine.begin() as connection:
        ends = min(now + spec.waves.response_window, spec.event.start)
        statement = _insert(connection, _table(Wave)).values(
            campaign_id=spec.id,
            number=1,
            status="planned",
            plan={},
            response_window_ends=ends,
            created_at=now,
        )
        connection.execute(statement.on_conflict_do_nothing())
        languages_read = _emailable(spec.id).with_only_columns(_table(Contact).c.language)
        contact_languages = (
            connection.execute(languages_read.distinct()).scalars().all()
            if "email" in enabled
            else []
        )
        partners = (
            connection.execute(
                select(_table(Partner).c.partner_id, _table(Partner).c.languages)
                .where(_table(Partner).c.email.is_not(None))
                .order_by(_table(Partner).c.partner_id)
            ).all()
            if "partner_pack" in enabled
            else []
        )
    partner_languages = {pid: _partner_language(langs, spec) for pid, langs in partners}
    wanted = set(contact_languages) | set(partner_languages.values())
    languages = _effective_languages(spec, sorted(wanted), fallback)

    def language(code: str) -> tuple[str, str | None]:
        # A contact recorded since the languages were read (a concurrent `record`).
        if code not in languages:
            languages.update(_effective_languages(spec, [code], fallback))
        return languages[code]

    def rows(connection: Connection) -> Iterator[LedgerRow]:
        if "email" in enabled:
            for pk, code in _pages(connection, spec.id, settings.chunk_size):
                send_in, wanted_in = language(code)
                yield LedgerRow(f"c:{pk}", "email", send_in, contact_pk=pk, fallback_from=wanted_in)
        for pid, code in partner_languages.items():
            send_in, wanted_in = language(code)
            yield LedgerRow(
                f"p:{pid}", "partner_pack", send_in, partner_id=pid, fallback_from=wanted_in
            )

    with store.engine.begin() as connection:
        new = _add_ledger_rows(connection, spec.id, 1, rows(connection), settings.chunk_size)
    _store_plan_summary(store, spec.id, 1)
    return new


def _emailable(campaign_id: str) -> Select[tuple[int, str]]:
    """Audience contacts with an address who were not erased: (id, language)."""
    contacts = _table(Contact)
    members = _table(CampaignContact)
    return (
        select(contacts.c.id, contacts.c.language)
        .join(members, members.c.contact_pk == contacts.c.id)
        .where(
            members.c.campaign_id == campaign_id,
            contacts.c.email.is_not(None),
            contacts.c.erased_at.is_(None),
        )
    )


def _pages(connection: Connection, campaign_id: str, size: int) -> Iterator[tuple[int, str]]:
    """(contact pk, language) of the emailable audience in id order, a page at a time.

    Keyset paging (`id > last ORDER BY id LIMIT size`): each page is one indexed range
    read, fetched whole before it is used, so the connection is free for the inserts.
    """
    contacts = _table(Contact)
    last = 0
    while True:
        page = connection.execute(
            _emailable(campaign_id).where(contacts.c.id > last).order_by(contacts.c.id).limit(size)
        ).all()
        yield from ((int(pk), code) for pk, code in page)
        if len(page) < size:
            return
        last = page[-1][0]


def _store_plan_summary(store: Store, campaign_id: str, wave: int) -> None:
    """Wave.plan holds counts only (it is shown in Prefect artifacts): rows per channel."""
    table = _table(Delivery)
    with store.session() as session:
        counts = session.execute(
            select(table.c.channel, table.c.language, func.count())
            .where(table.c.campaign_id == campaign_id, table.c.wave == wave)
            .group_by(table.c.channel, table.c.language)
        ).all()
        row = session.execute(
            select(Wave).where(Wave.campaign_id == campaign_id, Wave.number == wave)
        ).scalar_one()
        by_channel: dict[str, int] = {}
        by_language: dict[str, dict[str, int]] = {}
        for channel, language, count in counts:
            by_channel[channel] = by_channel.get(channel, 0) + int(count)
            by_language.setdefault(channel, {})[language] = int(count)
        row.plan = {**(row.plan or {}), "rows": by_channel, "languages": by_language}


def plan_table(store: Store, campaign_id: str, wave: int) -> pd.DataFrame:
    """Recipients per channel x language x group (`dimension:value`) for one wave.

    A contact in three groups is counted once in each; contacts without groups appear as
    `(no group)` and partner packs as `(partners)`.
    """
    deliveries = _table(Delivery)
    memberships = _table(ContactGroup)
    with store.session() as session:
        rows = session.execute(
            select(
                deliveries.c.channel,
                deliveries.c.language,
                deliveries.c.partner_id.is_not(None).label("is_partner"),
                memberships.c.dimension,
                memberships.c.value,
                func.count().label("recipients"),
            )
            .select_from(deliveries)
            .outerjoin(memberships, memberships.c.contact_pk == deliveries.c.contact_pk)
            .where(deliveries.c.campaign_id == campaign_id, deliveries.c.wave == wave)
            .group_by(
                deliveries.c.channel,
                deliveries.c.language,
                "is_partner",
                memberships.c.dimension,
                memberships.c.value,
            )
        ).all()
    columns = ["channel", "language", "group", "recipients"]
    records = [
        {
            "channel": channel,
            "language": language,
            "group": f"{dimension}:{value}"
            if dimension is not None
            else (PARTNER_GROUP if is_partner else NO_GROUP),
            "recipients": int(count),
        }
        for channel, language, is_partner, dimension, value, count in rows
    ]
    frame = pd.DataFrame(records, columns=columns)
    if frame.empty:
        return frame
    frame = frame.groupby(["channel", "language", "group"], as_index=False)["recipients"].sum()
    return frame.sort_values(["channel", "language", "group"]).reset_index(drop=True)
