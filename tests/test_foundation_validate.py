"""`validate_campaign` and `outreach validate`: exit 0 valid, 1 problems, 2 usage error."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from outreach.cli import app
from outreach.settings import Settings
from outreach.validation import validate_campaign

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures" / "foundation"
SAMPLE = ROOT / "campaigns" / "the-way-ahead.yaml"


def write_campaign(tmp_path: Path, **changes: Any) -> Path:
    """The sample campaign with some data files or event fields replaced."""
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    for name in ("contacts", "groups", "partners"):
        if name in changes:
            data["data"][name] = str(FIXTURES / changes.pop(name))
        else:
            data["data"][name] = str((SAMPLE.parent / data["data"][name]).resolve())
    data["event"].update(changes)
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    # Campaign translations live beside the spec (campaigns/locale); keep them in reach.
    if not (tmp_path / "locale").exists():
        (tmp_path / "locale").symlink_to(SAMPLE.parent / "locale", target_is_directory=True)
    return path


def flat(text: str) -> str:
    """Rich wraps long lines at the terminal width; compare words, not line breaks."""
    return " ".join(text.split())


def test_sample_campaign_is_valid(settings: Settings) -> None:
    report = validate_campaign(SAMPLE, settings)
    # Translation and channel checks belong to their areas; the spec and data files are ours.
    ours = {"the-way-ahead.yaml", "contacts.csv", "groups.csv", "partners.csv"}
    assert [p for p in report.problems if Path(p.file).name in ours] == []
    assert report.spec is not None and report.spec.id == "the-way-ahead"
    lines = "\n".join(report.summary_lines())
    assert "Contacts: 2,400" in lines
    assert "consented to email" in lines
    assert "Languages: 10" in lines
    assert "Groups: 15 in 3 dimensions (age, birth, language)" in lines
    assert "Partners: 20" in lines


def test_event_in_the_past_and_end_before_start(settings: Settings, tmp_path: Path) -> None:
    path = write_campaign(
        tmp_path, start="2020-05-20T18:30:00+01:00", end="2020-05-20T17:00:00+01:00"
    )
    report = validate_campaign(path, settings)
    found = {(p.field, p.row): p.message for p in report.problems}
    assert "is in the past" in found["event.start", None]
    assert "is not after the start" in found["event.end", None]
    # The same spec is valid on a day before the event (only the dates were wrong).
    future = write_campaign(tmp_path, start="2027-05-20T18:30:00+01:00")
    report = validate_campaign(future, settings, now=datetime(2027, 1, 1, tzinfo=UTC))
    assert [p.field for p in report.problems if p.field.startswith("event")] == []


def test_spec_and_data_problems_are_reported_together(settings: Settings, tmp_path: Path) -> None:
    path = write_campaign(
        tmp_path,
        contacts="contacts_many_problems.csv",
        groups="groups_bad_shares.csv",
        start="2020-05-20T18:30:00+01:00",
    )
    report = validate_campaign(path, settings)
    kinds = {(Path(p.file).name, p.field) for p in report.problems}
    assert ("campaign.yaml", "event.start") in kinds
    assert ("groups_bad_shares.csv", "population_share") in kinds
    assert ("contacts_many_problems.csv", "email") in kinds
    assert ("contacts_many_problems.csv", "contact_id") in kinds


def test_event_without_time_zone_is_a_problem(settings: Settings, tmp_path: Path) -> None:
    path = write_campaign(tmp_path, start="2027-05-20T18:30:00")
    report = validate_campaign(path, settings)
    assert report.spec is None
    (problem,) = [p for p in report.problems if p.field == "event.start"]
    assert "has no time zone" in problem.message


def test_missing_spec_is_a_usage_error(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        validate_campaign(tmp_path / "nope.yaml", settings)


runner = CliRunner()


def test_cli_sample_exits_0(workdir: Path) -> None:
    result = runner.invoke(app, ["validate", str(SAMPLE), "--workdir", str(workdir)])
    assert result.exit_code == 0, result.output
    assert "Valid. Nothing was sent." in flat(result.output)
    assert "Contacts: 2,400" in flat(result.output)


def test_cli_bad_file_exits_1_naming_file_row_field(workdir: Path, tmp_path: Path) -> None:
    path = write_campaign(tmp_path, contacts="contacts_many_problems.csv")
    result = runner.invoke(app, ["validate", str(path), "--workdir", str(workdir)])
    assert result.exit_code == 1, result.output
    output = flat(result.output)
    assert "7 problems found" in output or "problems found" in output
    assert "contacts_many_problems.csv, row 2, email: 'amelia@' is not a valid email" in output
    assert "contacts_many_problems.csv, row 3, consent_email: 'perhaps' is not yes or no" in output
    assert "row 6, contact_id: duplicate contact id 'C1' (also in row 2)" in output
    assert "Traceback" not in result.output


def test_cli_latin1_note_is_shown(workdir: Path, tmp_path: Path) -> None:
    path = write_campaign(tmp_path, contacts="contacts_latin1.csv")
    result = runner.invoke(app, ["validate", str(path), "--workdir", str(workdir)])
    assert result.exit_code == 0, result.output  # read correctly, so nothing is wrong
    assert "contacts_latin1.csv is not UTF-8; it was read as Windows-1252" in flat(result.output)


def test_cli_missing_spec_exits_2(workdir: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["validate", str(tmp_path / "nope.yaml"), "--workdir", str(workdir)]
    )
    assert result.exit_code == 2
    assert "nope.yaml" in result.output
