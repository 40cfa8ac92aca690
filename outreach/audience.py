"""Plan the send ledger for a recorded campaign's audience (see `outreach.recording`).

Everything here is bulk and idempotent: rows go in with SQLAlchemy Core `INSERT ... ON
CONFLICT` (SQLite and PostgreSQL dialects), in chunks of `settings.chunk_size`, so running
it twice changes nothing and never duplicates a ledger row.

```python
from outreach.audience import plan_first_wave, plan_table
from outreach.recording import record_campaign

record_campaign(store, spec, sources)              # campaign, contacts, groups, partners
new_rows = plan_first_wave(store, spec, settings)  # wave 1: email + partner_pack rows
print(plan_table(store, spec.id, 1))               # channel, language, group, recipients
```

Wave 1 sends a partner pack to each partner with email.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Select, func, select

from outreach.store.bulk import dialect_insert, table_of
from outreach.store.models import (
    CampaignContact,
    Contact,
    ContactGroup,
    Delivery,
    Partner,
    Wave,
    utcnow,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from outreach.campaign import CampaignSpec
    from outreach.settings import Settings
    from outreach.store import Store

DEFAULT_CHUNK = 5000
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
    table = table_of(Delivery)
    now = utcnow()
    count = select(func.count()).select_from(table)
    count = count.where(table.c.campaign_id == campaign_id, table.c.wave == wave)
    before = connection.execute(count).scalar_one()
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        statement = dialect_insert(connection, table).on_conflict_do_nothing(
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
        statement = dialect_insert(connection, table_of(Wave)).values(
            campaign_id=spec.id,
            number=1,
            status="planned",
            plan={},
            response_window_ends=ends,
            created_at=now,
        )
        connection.execute(statement.on_conflict_do_nothing())
        languages_read = _emailable(spec.id).with_only_columns(table_of(Contact).c.language)
        contact_languages = (
            connection.execute(languages_read.distinct()).scalars().all()
            if "email" in enabled
            else []
        )
        partners = (
            connection.execute(
                select(table_of(Partner).c.partner_id, table_of(Partner).c.languages)
                .where(table_of(Partner).c.email.is_not(None))
                .order_by(table_of(Partner).c.partner_id)
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
    contacts = table_of(Contact)
    members = table_of(CampaignContact)
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
    contacts = table_of(Contact)
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
    table = table_of(Delivery)
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
    deliveries = table_of(Delivery)
    memberships = table_of(ContactGroup)
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
