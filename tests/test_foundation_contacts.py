"""Contacts, groups and partners files: every problem named by file, row and field."""

from __future__ import annotations

import filecmp
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from outreach.campaign import CampaignSpec, DataFiles, load_campaign
from outreach.contacts import check_sources, load_sources, parse_groups
from outreach.problems import InvalidInput, Problem
from outreach.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "foundation"
SAMPLE = ROOT / "campaigns" / "the-way-ahead.yaml"


def sample_data_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "make_sample_data", ROOT / "scripts" / "make_sample_data.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_sample_data"] = module
    spec.loader.exec_module(module)
    return module


def fixture_spec(
    contacts: str = "contacts.csv",
    groups: str = "groups.csv",
    partners: str | None = "partners.csv",
    base: Path = FIXTURES,
) -> CampaignSpec:
    """The sample campaign, reading the data files named here."""
    spec = load_campaign(SAMPLE)
    data = DataFiles(
        contacts=base / contacts,
        groups=base / groups,
        partners=(base / partners) if partners else None,
    )
    return spec.model_copy(update={"data": data})


def where(problems: list[Problem]) -> set[tuple[str, int | None, str]]:
    return {(Path(p.file).name, p.row, p.field) for p in problems}


def test_valid_fixture_is_normalised(settings: Settings) -> None:
    sources, problems = check_sources(fixture_spec(), settings)
    assert problems == []
    contacts = sources.contacts.read_all().set_index("contact_id")
    # Emails lower-cased, phones E.164, consent yes/no in any case, unknown column kept.
    assert contacts.at["C1", "email"] == "amelia.smith@example.org"
    assert contacts.at["C2", "phone"] == "+442079460002"
    assert contacts.at["C3", "phone"] == "+442079460003"
    assert contacts.at["C3", "email"] is None
    assert contacts.at["C4", "phone"] is None
    assert contacts["consent_email"].to_dict() == {
        "C1": True,
        "C2": True,
        "C3": False,
        "C4": False,
        "C5": True,
    }
    assert contacts.at["C3", "extra"] == {"borough": "Tower Hamlets"}
    assert contacts.at["C3", "name"] == "রহিম উদ্দিন"
    assert contacts.at["C5", "name"] == "Okafor, Chidi"  # quoted comma survives
    assert contacts.at["C3", "partner_id"] == "radio-padma"
    assert contacts.at["C1", "partner_id"] is None
    assert contacts.at["C2", "groups"] == "age:15-64;birth:outside-uk;language:es"
    assert contacts.at["C2", "group_pairs"] == [
        ("age", "15-64"),
        ("birth", "outside-uk"),
        ("language", "es"),
    ]
    assert contacts.at["C4", "row"] == 5  # header is row 1
    partners = sources.partners.set_index("partner_id")
    assert partners.at["radio-padma", "language_list"] == ["bn", "en"]
    assert partners.at["brick-lane-hall", "email"] is None
    assert partners.at["radio-padma", "reach"] == 18000
    assert sources.groups["population_share"].sum() == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("contacts", "expected", "words"),
    [
        ("contacts_missing_column.csv", (1, "language"), "required column is missing"),
        ("contacts_bad_email.csv", (3, "email"), "'ana@' is not a valid email address"),
        ("contacts_bad_phone.csv", (2, "phone"), "'12345'"),
        ("contacts_unknown_language.csv", (2, "language"), "unknown language code 'xx'"),
        (
            "contacts_other_language.csv",
            (2, "language"),
            "'de' is not one of this campaign's languages (en, es, pl, ro, pt, bn, ar, ur, so, zh)",
        ),
        ("contacts_bad_consent.csv", (2, "consent_email"), "'maybe' is not yes or no"),
        ("contacts_unknown_partner.csv", (2, "partner_id"), "'nobody-fm' is not in the partners"),
        ("contacts_ragged.csv", (2, ""), "has 10 values but the header has 9 columns"),
    ],
)
def test_each_kind_of_bad_contact_is_named(
    settings: Settings, contacts: str, expected: tuple[int, str], words: str
) -> None:
    _, problems = check_sources(fixture_spec(contacts), settings)
    assert len(problems) == 1, problems
    (problem,) = problems
    assert (Path(problem.file).name, problem.row, problem.field) == (contacts, *expected)
    assert words in problem.message
    assert str(problem).startswith(f"{problem.file}, row {expected[0]}")


def test_unknown_groups_and_dimensions(settings: Settings) -> None:
    _, problems = check_sources(fixture_spec("contacts_unknown_group.csv"), settings)
    assert [(p.row, p.field) for p in problems] == [(2, "groups"), (3, "groups")]
    assert "group 'age:18-24' is not in groups.csv" in problems[0].message
    assert "dimension 'religion' is not one of the campaign's audience dimensions" in (
        problems[1].message
    )


def test_duplicates_name_both_rows(settings: Settings) -> None:
    _, problems = check_sources(fixture_spec("contacts_duplicates.csv"), settings)
    messages = {(p.row, p.field): p.message for p in problems}
    assert set(messages) == {(4, "contact_id"), (5, "email")}
    assert messages[4, "contact_id"] == "duplicate contact id 'C1' (also in row 2)"
    # Emails are compared case-insensitively.
    assert messages[5, "email"] == "duplicate email address 'keith@example.org' (also in row 3)"


def test_population_shares_must_sum_to_one(settings: Settings) -> None:
    _, problems = check_sources(fixture_spec(groups="groups_bad_shares.csv"), settings)
    assert where(problems) == {("groups_bad_shares.csv", None, "population_share")}
    assert "'language' add up to 0.900, not 1" in problems[0].message


def test_bad_partners(settings: Settings) -> None:
    _, problems = check_sources(fixture_spec(partners="partners_bad.csv"), settings)
    found = {(p.row, p.field): p.message for p in problems}
    assert set(found) == {(2, "kind"), (3, "languages"), (4, "email"), (4, "reach")}
    assert "'spaceship' is not a partner kind" in found[2, "kind"]
    assert "unknown language code 'xx'" in found[3, "languages"]
    # Contacts linked to partners are still checked against the (readable) partners file.
    assert all(Path(p.file).name == "partners_bad.csv" for p in problems)


def test_all_problems_in_one_run(settings: Settings) -> None:
    _, problems = check_sources(fixture_spec("contacts_many_problems.csv"), settings)
    assert where(problems) == {
        ("contacts_many_problems.csv", 2, "email"),
        ("contacts_many_problems.csv", 3, "phone"),
        ("contacts_many_problems.csv", 3, "consent_email"),
        ("contacts_many_problems.csv", 4, "language"),
        ("contacts_many_problems.csv", 4, "groups"),
        ("contacts_many_problems.csv", 4, "partner_id"),
        # Row 5 is blank; the spreadsheet still counts it, so the duplicate is row 6.
        ("contacts_many_problems.csv", 6, "contact_id"),
    }
    rows = [p.row for p in problems]
    assert rows == sorted(rows)  # reported in file order
    with pytest.raises(InvalidInput) as raised:
        load_sources(fixture_spec("contacts_many_problems.csv"), settings)
    assert len(raised.value.problems) == 7
    assert "7 problems found" in str(raised.value)


def test_bom_is_read(settings: Settings) -> None:
    sources, problems = check_sources(fixture_spec("contacts_bom.csv"), settings)
    assert problems == []
    assert list(sources.contacts.read_all()["name"]) == ["Zoë Lefèvre", "Łukasz Wójcik"]
    assert sources.notes == []


def test_latin1_is_read_and_mentioned(settings: Settings) -> None:
    sources, problems = check_sources(fixture_spec("contacts_latin1.csv"), settings)
    assert problems == []
    assert list(sources.contacts.read_all()["name"]) == ["José Pérez", "Zoë Brontë – “quoted”"]
    assert len(sources.notes) == 1
    assert "contacts_latin1.csv is not UTF-8" in sources.notes[0]
    assert "Windows-1252" in sources.notes[0]


def test_empty_and_missing_files_are_reported_plainly(settings: Settings) -> None:
    _, problems = check_sources(
        fixture_spec("empty.csv", groups="missing-groups.csv", partners="empty.csv"), settings
    )
    assert {(Path(p.file).name, p.row, p.message) for p in problems} == {
        ("missing-groups.csv", None, "file not found"),
        ("empty.csv", None, "file is empty; it needs a header row"),
    }
    assert len(problems) == 3  # empty partners file and empty contacts file: both named


def test_parse_groups() -> None:
    assert parse_groups("age:18-24; birth:outside-uk;") == [
        ("age", "18-24"),
        ("birth", "outside-uk"),
    ]
    assert parse_groups("") == []
    with pytest.raises(ValueError, match="'age' is not written as dimension:value"):
        parse_groups("age;birth:uk")


def test_shipped_sample_is_valid_and_reproducible(settings: Settings, tmp_path: Path) -> None:
    sources, problems = check_sources(load_campaign(SAMPLE), settings)
    assert problems == []
    assert len(sources.contacts) >= 2000
    contacts = sources.contacts.read_all()
    assert set(contacts["language"]) == set(load_campaign(SAMPLE).target_languages)
    assert "borough" in contacts["extra"].iloc[0]
    # Email alone under-reaches older people: fewer of them have a consented address.
    consented = contacts["email"].notna() & contacts["consent_email"]
    older = contacts["groups"].str.contains("age:65-plus")
    assert consented[older].mean() < consented[~older].mean() - 0.2
    assert 0.6 < consented.mean() < 0.8
    assert set(sources.partners["kind"]) >= {"radio", "venue", "community", "faith"}

    module = sample_data_module()
    module.write_sample(tmp_path)
    for name in ("contacts.csv", "groups.csv", "partners.csv"):
        assert filecmp.cmp(tmp_path / name, ROOT / "contacts" / name, shallow=False), name


def test_fifty_thousand_contacts_validate(settings: Settings, tmp_path: Path) -> None:
    """Works at scale (the timing is in bench/validate.py)."""
    module = sample_data_module()
    module.write_sample(tmp_path, count=50_000)
    spec = fixture_spec(base=tmp_path)
    sources, problems = check_sources(spec, settings)
    assert problems == []
    assert len(sources.contacts) == 50_000
    phones = pd.concat(chunk["phone"] for chunk in sources.contacts.chunks())
    assert len(phones) == 50_000 and phones.dropna().str.startswith("+44").all()


ADDRESSES = [
    "a@example.org",
    "Ana.Garcia@Example.ORG",
    "o'brien+news@mail.example.co.uk",
    "a..b@example.org",
    ".a@example.org",
    "a.@example.org",
    "a@b",
    "a@b.c",
    "a@-b.org",
    "a@b-.org",
    "a@x.invalid",
    "a@x.test",
    "a@localhost",
    "a@xn--80ak6aa92e.com",
    "a@xn--zz.com",
    "x" * 65 + "@example.org",
    "x" * 64 + "@example.org",
    "a@" + "b" * 64 + ".org",
    "a@b.123",
    "a b@example.org",
    '"a b"@example.org',
    "josé@example.org",
    "a@exämple.org",
    "a@[127.0.0.1]",
    "a@example.org.",
]


@pytest.mark.parametrize("address", ADDRESSES)
def test_email_fast_path_agrees_with_email_validator(address: str) -> None:
    """The plain-ASCII shortcut never accepts what email-validator would reject."""
    from email_validator import EmailNotValidError, validate_email

    from outreach.datafiles import check_email, plain_email

    try:
        expected = validate_email(address, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        expected = None
    if plain_email(address):
        assert expected == address.lower()
    assert check_email.__wrapped__(address)[0] == expected


def test_language_codes_are_matched_case_insensitively(settings: Settings, tmp_path: Path) -> None:
    text = (FIXTURES / "contacts.csv").read_text(encoding="utf-8")
    (tmp_path / "contacts.csv").write_text(text.replace(",es,", ",ES,"), encoding="utf-8")
    for name in ("groups.csv", "partners.csv"):
        (tmp_path / name).write_bytes((FIXTURES / name).read_bytes())
    sources, problems = check_sources(fixture_spec(base=tmp_path), settings)
    assert problems == []
    assert sources.contacts.read_all().set_index("contact_id").at["C2", "language"] == "es"


def test_audience_groups_select_contacts(settings: Settings) -> None:
    spec = fixture_spec()
    audience = spec.audience.model_copy(update={"groups": ["age:65-plus", "language:es"]})
    spec = spec.model_copy(update={"audience": audience})
    sources, problems = check_sources(spec, settings)
    assert problems == []
    chosen = [cid for chunk in sources.audience_chunks(spec) for cid in chunk["contact_id"]]
    assert sorted(chosen) == ["C2", "C3", "C4"]


def test_audience_group_missing_from_groups_file(settings: Settings) -> None:
    spec = fixture_spec()
    audience = spec.audience.model_copy(update={"groups": ["age:18-24"]})
    _, problems = check_sources(spec.model_copy(update={"audience": audience}), settings)
    assert [(Path(p.file).name, p.field) for p in problems] == [
        ("the-way-ahead.yaml", "audience.groups.0")
    ]
    assert "'age:18-24' is not in" in problems[0].message


def test_semicolon_separated_file_is_read(settings: Settings) -> None:
    """What Excel saves as "CSV" in much of Europe."""
    sources, problems = check_sources(fixture_spec("contacts_semicolons.csv"), settings)
    assert problems == []
    first = sources.contacts.read_all().iloc[0]
    assert (first["name"], first["language"], first["consent_email"]) == (
        "García, Lucía",
        "es",
        True,
    )
    assert first["group_pairs"] == [("age", "15-64"), ("birth", "outside-uk"), ("language", "es")]
    (note,) = sources.notes
    assert note.endswith(
        "contacts_semicolons.csv uses semicolons between columns; it was read that way."
    )
