"""The store on SQLite and PostgreSQL: migrations match the models, campaigns and ledgers
are recorded in bulk and idempotently."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, update

from outreach.audience import (
    LedgerRow,
    add_ledger_rows,
    plan_first_wave,
    plan_table,
)
from outreach.campaign import DataFiles, load_campaign
from outreach.contacts import load_sources
from outreach.recording import record_campaign
from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import (
    Base,
    Campaign,
    CampaignContact,
    Contact,
    ContactGroup,
    Delivery,
    Group,
    Partner,
    Wave,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "foundation"
SAMPLE = ROOT / "campaigns" / "the-way-ahead.yaml"
NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def complete_catalogs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every language counts as fully translated (the ledger, not i18n, is tested here).

    Returns the languages asked about, to show the question is asked once per language.
    """
    import outreach.i18n.fallback

    asked: list[str] = []

    def effective_language(
        spec: object, wanted: str, *, allow_fallback: str | None = None
    ) -> tuple[str, str | None]:
        asked.append(wanted)
        if wanted == "so" and allow_fallback:
            return allow_fallback, "so"
        return wanted, None

    monkeypatch.setattr(outreach.i18n.fallback, "effective_language", effective_language)
    return asked


def count(store: Store, model: type, *where: object) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_migrations_build_exactly_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
        current = context.get_current_revision()
    assert diffs == []
    assert current == ScriptDirectory.from_config(store.alembic_config()).get_current_head()
    store.upgrade()  # running it again is harmless


def test_sample_round_trips(store: Store, settings: Settings) -> None:
    spec = load_campaign(SAMPLE)
    sources = load_sources(spec, settings)
    record_campaign(store, spec, sources)
    with store.session() as session:
        stored = [
            dict(row)
            for row in session.execute(
                select(
                    Contact.contact_id,
                    Contact.name,
                    Contact.email,
                    Contact.phone,
                    Contact.language,
                    Contact.groups,
                    Contact.consent_email,
                    Contact.partner_id,
                    Contact.extra,
                ).order_by(Contact.contact_id)
            ).mappings()
        ]
        campaign = session.get(Campaign, spec.id)
        assert campaign is not None and campaign.spec["target_languages"] == spec.target_languages
        assert campaign.title == spec.event.title
        padma = session.get(Partner, "radio-padma")
        assert padma is not None and (padma.kind, padma.languages) == ("radio", "bn;en")
        shares = dict(
            session.execute(
                select(Group.value, Group.population_share).where(Group.dimension == "birth")
            ).all()
        )
    assert shares == {"uk": pytest.approx(0.594), "outside-uk": pytest.approx(0.406)}
    contacts = sources.contacts.read_all()
    expected = contacts.sort_values("contact_id").reset_index(drop=True)
    for column in ("name", "email", "phone", "language", "groups", "consent_email", "extra"):
        assert [row[column] for row in stored] == expected[column].tolist(), column
    assert [row["partner_id"] for row in stored] == expected["partner_id"].tolist()
    assert any("\u0600" <= ch <= "\u06ff" for row in stored for ch in row["name"])  # Arabic script
    memberships = count(store, ContactGroup)
    assert memberships == sum(len(pairs) for pairs in contacts["group_pairs"])
    assert count(store, CampaignContact) == len(sources.contacts)


def test_launching_twice_creates_no_duplicates(
    store: Store, settings: Settings, complete_catalogs: list[str]
) -> None:
    spec = load_campaign(SAMPLE)
    sources = load_sources(spec, settings)
    record_campaign(store, spec, sources)
    first = plan_first_wave(store, spec, settings, now=NOW)
    with_email = sources.contacts.summary.with_email
    partners_with_email = int(sources.partners["email"].notna().sum())
    assert first == with_email + partners_with_email
    assert sorted(complete_catalogs) == sorted(set(complete_catalogs))  # once per language

    record_campaign(store, spec, sources)
    assert plan_first_wave(store, spec, settings, now=NOW) == 0
    assert count(store, Delivery) == first
    assert count(store, Contact) == len(sources.contacts)
    assert count(store, CampaignContact) == len(sources.contacts)
    assert count(store, Wave) == 1
    with store.session() as session:
        wave = session.execute(select(Wave)).scalar_one()
        assert wave.plan["rows"] == {"email": with_email, "partner_pack": partners_with_email}
        ends = wave.response_window_ends
        assert ends is not None and ends.replace(tzinfo=ends.tzinfo or UTC) == datetime(
            2027, 1, 24, 9, 0, tzinfo=UTC
        )
        languages = dict(
            session.execute(
                select(Delivery.language, func.count())
                .where(Delivery.channel == "email")
                .group_by(Delivery.language)
            ).all()
        )
        statuses = set(session.scalars(select(Delivery.status)))
    # Each contact is planned in their own language; nothing is sent yet.
    contacts = sources.contacts.read_all()
    emailable = contacts[contacts["email"].notna()]
    assert languages == emailable["language"].value_counts().to_dict()
    assert statuses == {"pending"}


def test_plan_table_counts_each_group(
    store: Store, settings: Settings, complete_catalogs: list[str]
) -> None:
    spec = load_campaign(SAMPLE)
    sources = load_sources(spec, settings)
    record_campaign(store, spec, sources)
    plan_first_wave(store, spec, settings, now=NOW)
    table = plan_table(store, spec.id, 1)
    assert list(table.columns) == ["channel", "language", "group", "recipients"]
    contacts = sources.contacts.read_all()
    emailable = contacts[contacts["email"].notna()]
    bengali_65 = emailable[
        (emailable["language"] == "bn") & emailable["groups"].str.contains("age:65-plus")
    ]
    row = table[
        (table["channel"] == "email")
        & (table["language"] == "bn")
        & (table["group"] == "age:65-plus")
    ]
    assert row["recipients"].tolist() == [len(bengali_65)]
    # Every emailable contact has exactly one language group, so those rows add up.
    language_rows = table[
        (table["channel"] == "email") & table["group"].str.startswith("language:")
    ]
    assert language_rows["recipients"].sum() == len(emailable)
    packs = table[table["channel"] == "partner_pack"]
    assert set(packs["group"]) == {"(partners)"}
    assert packs["recipients"].sum() == int(sources.partners["email"].notna().sum())


def test_add_ledger_rows_skips_existing_rows_in_chunks(store: Store, settings: Settings) -> None:
    spec = load_campaign(SAMPLE)
    spec = spec.model_copy(
        update={
            "data": DataFiles(
                contacts=FIXTURES / "contacts.csv",
                groups=FIXTURES / "groups.csv",
                partners=FIXTURES / "partners.csv",
            )
        }
    )
    record_campaign(store, spec, load_sources(spec, settings))
    rows = [LedgerRow(f"p:partner-{i}", "partner_pack", "en", partner_id=f"x{i}") for i in range(7)]
    assert add_ledger_rows(store, spec.id, 2, rows[:4], chunk_size=3) == 4
    assert add_ledger_rows(store, spec.id, 2, rows, chunk_size=3) == 3
    assert add_ledger_rows(store, spec.id, 2, iter(rows), chunk_size=2) == 0
    # Same recipient, other channel or other wave: new rows.
    assert add_ledger_rows(store, spec.id, 2, [LedgerRow("p:partner-0", "radio", "en")]) == 1
    assert add_ledger_rows(store, spec.id, 3, rows[:1]) == 1
    assert count(store, Delivery) == 9


def test_recording_again_updates_contacts_but_never_refills_an_erased_one(
    store: Store, settings: Settings, tmp_path: Path, complete_catalogs: list[str]
) -> None:
    spec = load_campaign(SAMPLE)
    data = DataFiles(
        contacts=tmp_path / "contacts.csv",
        groups=FIXTURES / "groups.csv",
        partners=FIXTURES / "partners.csv",
    )
    spec = spec.model_copy(update={"data": data})
    original = (FIXTURES / "contacts.csv").read_text(encoding="utf-8")
    data.contacts.write_text(original, encoding="utf-8")
    record_campaign(store, spec, load_sources(spec, settings))
    with store.session() as session:
        session.execute(
            update(Contact)
            .where(Contact.contact_id == "C4")
            .values(name="", email=None, phone=None, erased_at=NOW)
        )
    changed = original.replace("Amelia.Smith@Example.ORG", "amelia.new@example.org")
    changed = changed.replace("age:15-64;birth:uk;language:en", "age:65-plus;birth:uk;language:en")
    data.contacts.write_text(changed, encoding="utf-8")
    record_campaign(store, spec, load_sources(spec, settings))
    with store.session() as session:
        amelia = session.execute(select(Contact).where(Contact.contact_id == "C1")).scalar_one()
        keith = session.execute(select(Contact).where(Contact.contact_id == "C4")).scalar_one()
        amelia_groups = set(
            session.execute(
                select(ContactGroup.dimension, ContactGroup.value).where(
                    ContactGroup.contact_pk == amelia.id
                )
            ).all()
        )
    assert amelia.email == "amelia.new@example.org"
    assert amelia_groups == {("age", "65-plus"), ("birth", "uk"), ("language", "en")}
    assert (keith.name, keith.email) == ("", None)
    assert plan_first_wave(store, spec, settings, now=NOW) == 3 + 1  # C1, C2, C5 + one partner
    assert count(store, Delivery, Delivery.contact_pk == keith.id) == 0


def test_fallback_language_is_recorded_on_the_ledger(
    store: Store, settings: Settings, complete_catalogs: list[str]
) -> None:
    spec = load_campaign(SAMPLE)
    sources = load_sources(spec, settings)
    record_campaign(store, spec, sources)
    plan_first_wave(store, spec, settings, allow_fallback="en", now=NOW)
    contacts = sources.contacts.read_all()
    somali = contacts[(contacts["language"] == "so") & contacts["email"].notna()]
    with store.session() as session:
        rows = session.execute(
            select(Delivery.language, Delivery.fallback_from, Delivery.channel).where(
                Delivery.fallback_from.is_not(None)
            )
        ).all()
    email_rows = [row for row in rows if row.channel == "email"]
    assert len(email_rows) == len(somali) > 0
    assert {(row.language, row.fallback_from) for row in rows} == {("en", "so")}
    # The Somali radio station's pack falls back too.
    assert any(row.channel == "partner_pack" for row in rows)


def test_people_taken_out_of_the_file_leave_the_audience_and_get_nothing_more(
    store: Store, settings: Settings, tmp_path: Path, complete_catalogs: list[str]
) -> None:
    data = DataFiles(
        contacts=tmp_path / "contacts.csv",
        groups=FIXTURES / "groups.csv",
        partners=FIXTURES / "partners.csv",
    )
    spec = load_campaign(SAMPLE).model_copy(update={"data": data})
    lines = (FIXTURES / "contacts.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    data.contacts.write_text("".join(lines), encoding="utf-8")
    first = record_campaign(store, spec, load_sources(spec, settings))
    plan_first_wave(store, spec, settings, now=NOW)
    with store.session() as session:
        pk = dict(session.execute(select(Contact.contact_id, Contact.id)).all())
        # Amelia's invitation went out; Lucía's is still waiting to be sent.
        session.execute(
            update(Delivery).where(Delivery.contact_pk == pk["C1"]).values(status="sent")
        )

    kept = [line for line in lines if not line.startswith(("C1,", "C2,"))]
    data.contacts.write_text("".join(kept), encoding="utf-8")
    again = record_campaign(store, spec, load_sources(spec, settings))

    assert (first.audience, first.left) == (5, 0)
    assert (again.contacts, again.audience, again.left, again.unsent) == (3, 3, 2, 1)
    with store.session() as session:
        members = set(session.scalars(select(CampaignContact.contact_pk)))
        ledger = dict(session.execute(select(Delivery.contact_pk, Delivery.status)).all())
    assert members == {pk[c] for c in ("C3", "C4", "C5")}
    assert ledger[pk["C1"]] == "sent"  # history stays
    assert pk["C2"] not in ledger  # never sent: dropped
    # Planning again plans nobody who left; recording the same file again changes nothing.
    assert plan_first_wave(store, spec, settings, now=NOW) == 0
    assert record_campaign(store, spec, load_sources(spec, settings)).left == 0
    # Back in the file, back in the audience (their old ledger row is still the record).
    data.contacts.write_text("".join(lines), encoding="utf-8")
    assert record_campaign(store, spec, load_sources(spec, settings)).audience == 5
    assert plan_first_wave(store, spec, settings, now=NOW) == 1  # Lucía, planned again
