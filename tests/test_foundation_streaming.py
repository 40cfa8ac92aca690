"""The contacts file is checked, recorded and planned in chunks (issue 9: bounded memory).

What a user would notice if chunking went wrong: a duplicate split across two chunks going
unreported, a problem reported with the wrong row, problems of a later chunk missing, or a
campaign recorded and planned differently with a small chunk size than with a big one.
"""

from __future__ import annotations

import importlib.util
import tracemalloc
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.audience import plan_first_wave
from outreach.campaign import CampaignSpec, DataFiles, load_campaign
from outreach.contacts import check_sources, load_sources
from outreach.datafiles import check_email, check_phone_digits
from outreach.problems import InvalidInput, Problem
from outreach.recording import record_campaign
from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import CampaignContact, Contact, ContactGroup, Delivery
from outreach.validation import ValidationReport

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "foundation"
SAMPLE = ROOT / "campaigns" / "the-way-ahead.yaml"
NOW = datetime(2027, 1, 10, 9, 0, tzinfo=UTC)
HEADER = "contact_id,name,email,phone,language,groups,consent_email,partner_id,borough\n"


def spec_for(contacts: Path, base: Path = FIXTURES) -> CampaignSpec:
    """The sample campaign reading `contacts` and the groups and partners under `base`."""
    data = DataFiles(contacts=contacts, groups=base / "groups.csv", partners=base / "partners.csv")
    return load_campaign(SAMPLE).model_copy(update={"data": data})


def sized(settings: Settings, chunk_size: int) -> Settings:
    return settings.model_copy(update={"chunk_size": chunk_size})


def person(number: int, **changes: str) -> str:
    values = {
        "contact_id": f"P{number}",
        "name": f"Person {number}",
        "email": f"person{number}@example.org",
        "phone": "",
        "language": "en",
        "groups": "age:15-64;birth:uk;language:en",
        "consent_email": "yes",
        "partner_id": "",
        "borough": "Hackney",
    }
    values.update(changes)
    return ",".join(values.values()) + "\n"


def where(problems: list[Problem]) -> list[tuple[int | None, str]]:
    return [(p.row, p.field) for p in problems]


def test_chunk_size_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OUTREACH_CHUNK_SIZE", "3")
    assert Settings().chunk_size == 3


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5000])
def test_duplicates_across_chunks_name_both_rows(settings: Settings, chunk_size: int) -> None:
    _, problems = check_sources(
        spec_for(FIXTURES / "contacts_duplicates.csv"), sized(settings, chunk_size)
    )
    assert {(p.row, p.field): p.message for p in problems} == {
        (4, "contact_id"): "duplicate contact id 'C1' (also in row 2)",
        (5, "email"): "duplicate email address 'keith@example.org' (also in row 3)",
    }


def test_duplicate_far_apart_in_a_large_file(settings: Settings, tmp_path: Path) -> None:
    """Rows 2 and 11 share an id and rows 3 and 9 an address; chunks of 3 rows split both."""
    path = tmp_path / "contacts.csv"
    rows = [person(n) for n in range(10)]
    rows[7] = person(7, email="Person1@Example.org")  # row 9
    rows[9] = person(0, name="Someone Else", email="else@example.org")  # row 11
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    _, problems = check_sources(spec_for(path), sized(settings, 3))
    assert [str(p).split(": ", 1)[1] for p in problems] == [
        "duplicate email address 'person1@example.org' (also in row 3)",
        "duplicate contact id 'P0' (also in row 2)",
    ]
    assert where(problems) == [(9, "email"), (11, "contact_id")]


@pytest.mark.parametrize("chunk_size", [1, 2, 3])
def test_problems_in_every_chunk_are_reported_at_once(settings: Settings, chunk_size: int) -> None:
    """The same problems, rows and order as when the file is read in one piece."""
    spec = spec_for(FIXTURES / "contacts_many_problems.csv")
    _, whole = check_sources(spec, sized(settings, 5000))
    _, chunked = check_sources(spec, sized(settings, chunk_size))
    assert chunked == whole
    # Row 5 is blank; the spreadsheet still counts it, so the duplicate is row 6.
    assert where(whole) == [
        (2, "email"),
        (3, "phone"),
        (3, "consent_email"),
        (4, "language"),
        (4, "groups"),
        (4, "partner_id"),
        (6, "contact_id"),
    ]


def test_problems_spread_over_many_chunks(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    rows = [person(n) for n in range(14)]
    rows[1] = person(1, email="nobody@")  # row 3, chunk 1
    rows[4] = person(4, phone="12345")  # row 6, chunk 2
    rows[6] = "\n"  # row 8 is blank and still counted
    rows[7] = person(7, consent_email="maybe")  # row 9, chunk 3
    rows[10] = person(10, language="xx")  # row 12, chunk 4
    rows[13] = person(13) + person(14, partner_id="nobody-fm")  # rows 15 and 16, chunk 5
    rows[12] = person(12).rstrip("\n") + ",surplus\n"  # row 14: one value too many
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    _, problems = check_sources(spec_for(path), sized(settings, 3))
    assert where(problems) == [
        (3, "email"),
        (6, "phone"),
        (9, "consent_email"),
        (12, "language"),
        (14, ""),
        (16, "partner_id"),
    ]
    with pytest.raises(InvalidInput) as raised:
        load_sources(spec_for(path), sized(settings, 3))
    assert "6 problems found" in str(raised.value)


def test_summary_matches_the_rows(settings: Settings) -> None:
    """What `outreach validate` shows is counted chunk by chunk, as it was from all rows."""
    sources, problems = check_sources(load_campaign(SAMPLE), sized(settings, 50))
    assert problems == []
    contacts = sources.contacts.read_all()
    with_email = contacts["email"].notna()
    languages = Counter(contacts["language"])
    lines = ValidationReport(None, sources, problems=[]).summary_lines()  # type: ignore[arg-type]
    assert lines[0] == (
        f"Contacts: {len(contacts):,} ({int(with_email.sum()):,} with email, "
        f"{int((with_email & contacts['consent_email']).sum()):,} consented to email, "
        f"{int(contacts['phone'].notna().sum()):,} with phone, "
        f"{int(contacts['partner_id'].notna().sum()):,} linked to a partner)"
    )
    assert lines[1] == f"Languages: {len(languages)} — " + ", ".join(
        f"{code} {count:,}" for code, count in languages.most_common()
    )
    assert len(sources.contacts) == len(contacts) >= 2000


def stored(store: Store) -> dict[str, list[tuple[object, ...]]]:
    """Everything recording and planning wrote that a chunk size could change."""
    with store.session() as session:
        return {
            "contacts": [
                tuple(row)
                for row in session.execute(
                    select(
                        Contact.id,
                        Contact.contact_id,
                        Contact.name,
                        Contact.email,
                        Contact.phone,
                        Contact.language,
                        Contact.groups,
                        Contact.consent_email,
                        Contact.partner_id,
                        Contact.extra,
                    ).order_by(Contact.id)
                )
            ],
            "groups": sorted(
                tuple(row)
                for row in session.execute(
                    select(ContactGroup.contact_pk, ContactGroup.dimension, ContactGroup.value)
                )
            ),
            "audience": sorted(
                tuple(row)
                for row in session.execute(
                    select(CampaignContact.campaign_id, CampaignContact.contact_pk)
                )
            ),
            "ledger": [
                tuple(row)
                for row in session.execute(
                    select(
                        Delivery.id,
                        Delivery.wave,
                        Delivery.recipient,
                        Delivery.channel,
                        Delivery.language,
                        Delivery.contact_pk,
                        Delivery.partner_id,
                        Delivery.fallback_from,
                        Delivery.status,
                    ).order_by(Delivery.id)
                )
            ],
        }


def record_and_plan(
    spec: CampaignSpec, settings: Settings, url: str
) -> tuple[int, dict[str, list[tuple[object, ...]]]]:
    store = Store(url)
    store.upgrade()
    try:
        record_campaign(store, spec, load_sources(spec, settings))
        new = plan_first_wave(store, spec, settings, allow_fallback="en", now=NOW)
        assert plan_first_wave(store, spec, settings, allow_fallback="en", now=NOW) == 0
        return new, stored(store)
    finally:
        store.dispose()


@pytest.mark.parametrize("audience", [[], ["age:65-plus", "language:bn"]])
def test_small_chunks_record_and_plan_exactly_the_same(
    settings: Settings, tmp_path: Path, audience: list[str]
) -> None:
    spec = load_campaign(SAMPLE)
    spec = spec.model_copy(
        update={"audience": spec.audience.model_copy(update={"groups": audience})}
    )
    big_new, big = record_and_plan(spec, sized(settings, 5000), f"sqlite:///{tmp_path / 'a.db'}")
    small_new, small = record_and_plan(spec, sized(settings, 50), f"sqlite:///{tmp_path / 'b.db'}")
    assert small_new == big_new == len(big["ledger"]) > 0
    assert small == big
    if audience:
        assert 0 < len(big["audience"]) < len(big["contacts"])
    else:
        assert len(big["audience"]) == len(big["contacts"]) >= 2000


def test_a_file_changed_after_checking_is_not_recorded(
    settings: Settings, tmp_path: Path, sqlite_store: Store
) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(HEADER + "".join(person(n) for n in range(10)), encoding="utf-8")
    spec = spec_for(path)
    sources = load_sources(spec, sized(settings, 3))
    # Saved again after `validate`, with a row that was never checked.
    path.write_text(
        HEADER + "".join(person(n) for n in range(10)) + person(99, email="bad@"), encoding="utf-8"
    )
    with pytest.raises(InvalidInput, match="changed while it was being read"):
        record_campaign(sqlite_store, spec, sources)
    with sqlite_store.session() as session:
        assert session.scalars(select(Contact.id)).all() == []  # one transaction: nothing


def test_recording_a_file_checked_while_read_stores_what_a_checked_file_would(
    settings: Settings, tmp_path: Path
) -> None:
    spec = load_campaign(SAMPLE)
    small = sized(settings, 70)
    checked = Store(f"sqlite:///{tmp_path / 'checked.db'}")
    deferred = Store(f"sqlite:///{tmp_path / 'deferred.db'}")
    for store in (checked, deferred):
        store.upgrade()
    record_campaign(checked, spec, load_sources(spec, small))
    sources = load_sources(spec, small, defer_contacts=True)
    assert len(sources.contacts) == 0  # nothing read yet

    record_campaign(deferred, spec, sources)

    assert stored(deferred)["contacts"] == stored(checked)["contacts"]
    assert stored(deferred)["audience"] == stored(checked)["audience"]
    assert sources.contacts.summary == load_sources(spec, small).contacts.summary
    for store in (checked, deferred):
        store.dispose()


def test_a_file_checked_while_recorded_is_refused_whole_with_every_problem(
    settings: Settings, tmp_path: Path, sqlite_store: Store
) -> None:
    path = tmp_path / "contacts.csv"
    rows = [person(n) for n in range(12)]
    rows[2] = person(2, email="not-an-address")
    rows[10] = person(10, contact_id="P1")  # a duplicate two chunks after the first
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    spec = spec_for(path)
    sources = load_sources(spec, sized(settings, 4), defer_contacts=True)

    with pytest.raises(InvalidInput) as raised:
        record_campaign(sqlite_store, spec, sources)

    assert where(raised.value.problems) == [(4, "email"), (12, "contact_id")]
    with sqlite_store.session() as session:
        assert session.scalars(select(Contact.id)).all() == []  # one transaction: nothing


def test_a_launch_reads_the_contacts_file_twice_not_three_times(
    settings: Settings, tmp_path: Path, sqlite_store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`validate` checks every row; `record` checks them again as it stores them (so a file
    saved in between is still refused) instead of checking first and then reading again."""
    from flows import tasks
    from outreach.datafiles import CsvFile

    passes: Counter[str] = Counter()
    original = CsvFile.chunks

    def counted(self: CsvFile, size: int, problems: list[Problem]):  # type: ignore[no-untyped-def]
        passes[Path(self.file).name] += 1
        return original(self, size, problems)

    monkeypatch.setattr(CsvFile, "chunks", counted)
    monkeypatch.setenv("OUTREACH_DATABASE_URL", sqlite_store.url)
    monkeypatch.setenv("OUTREACH_SECRET_KEY", settings.secret_key_value())
    workdir = str(settings.workdir)
    tasks.validate.fn(str(SAMPLE), workdir, allow_fallback="en", now=NOW)
    result = tasks.record.fn(str(SAMPLE), workdir)

    assert passes["contacts.csv"] == 2
    assert result["contacts"] == 2400
    with sqlite_store.session() as session:
        assert len(session.scalars(select(Contact.id)).all()) == 2400


def working_memory(spec: CampaignSpec, settings: Settings, count: int) -> int:
    """Peak bytes traced while checking, above what stays held after it.

    What stays is bounded by other means: the per-value caches (at most 200,000 values
    each) and the contact id and email fingerprints (24 bytes a contact).
    """
    check_email.cache_clear()
    check_phone_digits.cache_clear()
    tracemalloc.start()
    try:
        sources, problems = check_sources(spec, settings)
        held, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert problems == [] and len(sources.contacts) == count
    return peak - held


def sample_files(base: Path, count: int) -> CampaignSpec:
    loader = importlib.util.spec_from_file_location(
        "make_sample_data", ROOT / "scripts" / "make_sample_data.py"
    )
    assert loader and loader.loader
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    base.mkdir()
    module.write_sample(base, count=count)
    return spec_for(base / "contacts.csv", base=base)


def test_checking_memory_is_bounded_by_the_chunk(settings: Settings, tmp_path: Path) -> None:
    """Working memory follows the chunk size, not the number of contacts (counted in bytes
    allocated, not timed)."""
    small, large = sample_files(tmp_path / "small", 2_000), sample_files(tmp_path / "large", 8_000)
    whole = working_memory(large, sized(settings, 8_000), 8_000)
    chunked_large = working_memory(large, sized(settings, 400), 8_000)
    chunked_small = working_memory(small, sized(settings, 400), 2_000)
    assert chunked_large < whole / 3, (chunked_large, whole)
    # Four times the contacts, about the same working memory (in one piece it would be 4x).
    assert chunked_large < 2 * chunked_small, (chunked_large, chunked_small)
