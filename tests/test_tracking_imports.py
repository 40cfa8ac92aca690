"""Offline responses from CSV: every bad row reported and skipped, the rest imported once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from test_tracking_support import CAMPAIGN, Seeded, seed
from typer.testing import CliRunner

from outreach.channels.codes import issue_code
from outreach.problems import InvalidInput
from outreach.store import Store
from outreach.store.models import ResponseEvent
from outreach.tracking.imports import import_responses
from outreach.tracking.tokens import TokenPayload


@pytest.fixture
def seeded(store, settings) -> Seeded:  # type: ignore[no-untyped-def]
    return seed(store, settings)


def codes(seeded: Seeded) -> tuple[str, str]:
    radio = issue_code(seeded.store, TokenPayload(CAMPAIGN, 1, "radio", "bn", partner="betar-fm"))
    flyer = issue_code(
        seeded.store, TokenPayload(CAMPAIGN, 1, "flyer", "so", point="whitechapel-library")
    )
    return radio, flyer


def write_sheet(path: Path, seeded: Seeded) -> Path:
    radio, flyer = codes(seeded)
    spoken = radio.lower().replace("-", " ")  # "radio 7k": as a volunteer writes it down
    token = seeded.email_token("c2")
    rows = [
        "date,code,answer,name,email,phone,groups,barriers,notes,attended,party_size,token",
        # 2: matched by email (any case)
        f"2027-05-03,{radio},yes,,AMINA@Example.org,,age:18-24,childcare;language,,,2,",
        # 3: matched by phone written the UK way
        f"03/05/2027 18:40,{spoken},maybe,,,07700 900002,,time,call back,,,",
        # 4, 5: two identical anonymous call-ins: two people, both count
        f"2027-05-04,{radio},yes,,,,birth:outside-uk,,,,,",
        f"2027-05-04,{radio},yes,,,,birth:outside-uk,,,,,",
        # 6: sign-in sheet, matched by a name only one contact has
        f"2027-05-20 18:35,{flyer},,john SMITH,,,,,,yes,,",
        # 7: a token instead of a code (the email link), no answer needed for "no"
        f"2027-05-05,,no,,,,,cost,,,,{token}",
        # 8..: bad rows, each reported with its row number
        "2027-05-04,RADIO-ZZZZ,yes,,,,,,,,,",
        "2027-05-04,,yes,,,,,,,,,",
        f"2027-05-04,{radio},perhapsss,,ana@,123,age:200,weather,,,lots,",
        f"31/31/2027,{flyer},yes,,,,,,,,,",
        f"2027-05-04,{flyer},,,,,,,,sometimes,,",
        "",
        f"2027-05-04,{flyer},no,,,,,,,,,",  # 14: fine (after a blank line)
    ]
    path.write_text("\ufeff" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def stored(seeded: Seeded) -> list[ResponseEvent]:
    with seeded.store.session() as session:
        rows = list(
            session.scalars(
                select(ResponseEvent)
                .where(ResponseEvent.source == "import")
                .order_by(ResponseEvent.id)
            )
        )
        for row in rows:
            session.expunge(row)
        return rows


def test_bad_rows_are_reported_and_good_rows_imported_once(seeded, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sheet = write_sheet(tmp_path / "calls.csv", seeded)
    report = import_responses(seeded.store, settings, CAMPAIGN, sheet)
    assert (report.imported, report.duplicates, report.rows) == (7, 0, 12)
    assert report.matched == 4
    where = sorted({(p.row, p.field) for p in report.problems})
    assert where == [
        (8, "code"),
        (9, "code"),
        (10, "answer"),
        (10, "barriers"),
        (10, "email"),
        (10, "groups"),
        (10, "party_size"),
        (10, "phone"),
        (11, "date"),
        (12, "answer"),
        (12, "attended"),
    ]
    assert all(p.file == str(sheet) for p in report.problems)
    assert "'RADIO-ZZZZ' is not a known tracking code" in str(report.problems[0])

    events = stored(seeded)
    assert [(e.kind, e.answer, e.channel) for e in events] == [
        ("rsvp", "yes", "radio"),
        ("rsvp", "maybe", "radio"),
        ("rsvp", "yes", "radio"),
        ("rsvp", "yes", "radio"),
        ("attended", "yes", "flyer"),
        ("rsvp", "no", "email"),
        ("rsvp", "no", "flyer"),
    ]
    by_row = {e.data["row"]: e for e in events}
    assert by_row[2].contact_pk == seeded.contacts["c1"] and by_row[2].party_size == 2
    assert by_row[2].data["barriers"] == ["childcare", "language"]
    assert by_row[2].partner_id == "betar-fm" and by_row[2].language == "bn"
    assert by_row[3].contact_pk == seeded.contacts["c2"]
    assert by_row[3].occurred_at.hour == 17 or by_row[3].occurred_at.hour == 18
    assert by_row[4].contact_pk is None and by_row[4].self_groups == "birth:outside-uk"
    assert by_row[6].contact_pk == seeded.contacts["c3"] and by_row[6].point == (
        "whitechapel-library"
    )
    assert by_row[7].delivery_id == seeded.deliveries["c2"]

    again = import_responses(seeded.store, settings, CAMPAIGN, sheet)
    assert (again.imported, again.duplicates) == (0, 7)
    assert len(stored(seeded)) == 7


def test_files_that_cannot_be_used_at_all(seeded, settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    no_code = tmp_path / "no-code.csv"
    no_code.write_text("name,phone\nAna,07700900001\n")
    with pytest.raises(InvalidInput) as error:
        import_responses(seeded.store, settings, CAMPAIGN, no_code)
    assert {(p.row, p.field) for p in error.value.problems} == {(1, "code"), (1, "answer")}
    with pytest.raises(InvalidInput, match="file not found"):
        import_responses(seeded.store, settings, CAMPAIGN, tmp_path / "missing.csv")
    with pytest.raises(InvalidInput, match="no campaign 'nope'"):
        import_responses(seeded.store, settings, "nope", no_code)
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("code,answer\nRADIO-7K,sí\n".encode("latin-1"))
    with pytest.raises(InvalidInput, match="UTF-8"):
        import_responses(seeded.store, settings, CAMPAIGN, latin)


def test_cli_imports_reports_and_is_idempotent(settings, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from outreach.cli import app

    monkeypatch.setenv("OUTREACH_SECRET_KEY", settings.secret_key_value())
    store = Store(settings.database_url)
    store.upgrade()
    seeded = seed(store, settings)
    sheet = write_sheet(tmp_path / "sheet.csv", seeded)
    runner = CliRunner()
    args = [
        "responses",
        "import",
        str(sheet),
        "--campaign",
        CAMPAIGN,
        "--workdir",
        str(settings.workdir),
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 1, first.output
    said = " ".join(first.output.split())  # rich wraps long lines
    assert "7 responses imported" in said and "5 rows skipped" in said
    assert "row 10, email: 'ana@' is not a valid email address" in said
    second = runner.invoke(app, args)
    said = " ".join(second.output.split())
    assert "0 responses imported" in said and "7 already imported" in said
    assert len(stored(seeded)) == 7
    store.dispose()
