"""Community review: export → edit → import round-trips (PO and CSV), bad rows reported with
row numbers and nothing applied, approved entries survive a later machine run; the CLI."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from conftest import SAMPLE_CAMPAIGN
from test_i18n_machine import libre, machine_settings  # noqa: F401  (fixture)
from typer.testing import CliRunner

from outreach.campaign import load_campaign
from outreach.cli import app
from outreach.i18n.catalog import entry_state, get_translations, load_catalog
from outreach.i18n.fill import fill_campaign
from outreach.i18n.paths import (
    LOCALE_DIR,
    campaign_po_path,
    preserved_campaign_dirs,
    template_po_path,
    use_locale_dir,
)
from outreach.i18n.review import catalog_status, export_catalog, import_review
from outreach.problems import InvalidInput


@pytest.fixture(autouse=True)
def _campaign_dirs_restored() -> Iterator[None]:
    """Specs in temporary folders must not redirect other tests' campaign catalogs."""
    with preserved_campaign_dirs():
        yield


@pytest.fixture
def locale(tmp_path: Path) -> Iterator[Path]:
    target = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, target)
    with use_locale_dir(target):
        yield target


@pytest.fixture
def spec(tmp_path: Path) -> Any:
    """The sample campaign with its campaign catalogs copied to a temporary folder."""
    folder = tmp_path / "campaign"
    shutil.copytree(SAMPLE_CAMPAIGN.parent / "locale", folder / "locale")
    return load_campaign(SAMPLE_CAMPAIGN).model_copy(
        update={"spec_path": folder / SAMPLE_CAMPAIGN.name}
    )


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def _write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_csv_round_trip_approves_reviewed_rows(locale, spec, tmp_path):
    sheet = export_catalog("so", tmp_path / "so.csv", fmt="csv", spec=spec)
    rows = _rows(sheet)
    by_english = {row["english"]: row for row in rows}
    assert by_english["When"]["status"] == "team draft"
    assert by_english["When"]["current_translation"] == "Goorma"
    assert by_english[spec.event.title]["catalog"] == spec.id
    by_english["When"]["reviewed_translation"] = "Waqtiga"
    by_english["Dear %(name)s,"]["reviewed_translation"] = "Ku: %(name)s,"
    by_english[spec.event.title]["reviewed_translation"] = "The Way Ahead: xog la wadaago"
    _write_rows(sheet, rows)

    result = import_review(sheet, spec=spec, reviewer="Hodan")
    assert (result.approved, result.drafts) == (3, 0)
    templates = load_catalog(template_po_path("so"), "so")
    assert templates["When"].string == "Waqtiga" and not templates["When"].fuzzy
    assert any("approved by Hodan" in c for c in templates["When"].user_comments)
    assert entry_state(templates["Where"]) == "draft"  # untouched rows stay drafts
    campaign = load_catalog(campaign_po_path("so", spec.id), "so")
    assert entry_state(campaign[spec.event.title]) == "approved"
    assert get_translations("so", spec.id).gettext("When") == "Waqtiga"
    statuses = {s.language: s for s in catalog_status(["so"], spec)}
    assert statuses["so"].approved == 3 and statuses["so"].missing == 0


def test_po_round_trip_unfuzzied_entries_become_approved(locale, spec, tmp_path):
    out = export_catalog("ar", tmp_path / "ar.po", fmt="po", spec=spec)
    reviewed = read_po(out.open("rb"))
    reviewed["Where"].flags.discard("fuzzy")  # reviewer accepts the draft as it is
    reviewed["When"].string = "موعد الفعالية"  # reviewer improves, and approves
    reviewed["When"].flags.discard("fuzzy")
    reviewed["Access"].string = "الوصول"  # edits but leaves it fuzzy: still a draft
    reviewed[spec.event.venue.name].flags.discard("fuzzy")  # campaign string approved
    from io import BytesIO

    from babel.messages.pofile import write_po

    buffer = BytesIO()
    write_po(buffer, reviewed)
    out.write_bytes(buffer.getvalue())

    result = import_review(out, spec=spec)
    assert (result.approved, result.drafts) == (3, 1)
    catalog = load_catalog(template_po_path("ar"), "ar")
    assert entry_state(catalog["Where"]) == "approved"
    assert catalog["When"].string == "موعد الفعالية" and entry_state(catalog["When"]) == "approved"
    assert catalog["Access"].string == "الوصول" and entry_state(catalog["Access"]) == "draft"
    campaign = load_catalog(campaign_po_path("ar", spec.id), "ar")
    assert entry_state(campaign[spec.event.venue.name]) == "approved"


def test_bad_rows_are_reported_by_row_number_and_nothing_is_applied(locale, spec, tmp_path):
    sheet = export_catalog("pl", tmp_path / "pl.csv", fmt="csv")
    rows = _rows(sheet)
    index = {row["english"]: number for number, row in enumerate(rows, start=2)}
    rows[index["When"] - 2]["reviewed_translation"] = "Kiedy dokładnie"  # fine
    rows[index["Dear %(name)s,"] - 2]["reviewed_translation"] = "Drogi %(imie)s,"  # broken
    rows[index["Where"] - 2]["english"] = "Where exactly"  # edited English: cannot match
    rows[index["Where"] - 2]["reviewed_translation"] = "Gdzie dokładnie"
    _write_rows(sheet, rows)
    before = template_po_path("pl").read_bytes()
    with pytest.raises(InvalidInput) as caught:
        import_review(sheet)
    problems = {(p.row, p.field): p.message for p in caught.value.problems}
    assert "missing %(name)s" in problems[(index["Dear %(name)s,"], "Dear %(name)s,")]
    assert "unexpected %(imie)s" in problems[(index["Dear %(name)s,"], "Dear %(name)s,")]
    assert "not in the 'messages' catalog" in problems[(index["Where"], "Where exactly")]
    assert len(problems) == 2
    assert template_po_path("pl").read_bytes() == before  # all or nothing


def test_approved_entries_survive_a_later_machine_run(locale, spec, tmp_path, libre):  # noqa: F811
    sheet = export_catalog("bn", tmp_path / "bn.csv", fmt="csv", spec=spec)
    rows = _rows(sheet)
    for row in rows:
        if row["english"] == "When":
            row["reviewed_translation"] = "কবে"
    _write_rows(sheet, rows)
    import_review(sheet, spec=spec)
    # Later, a template gains messages and the catalog loses some drafts: the machine
    # fills only what is missing, never the approved entry.
    po = template_po_path("bn")
    catalog = read_po(po.open("rb"))
    catalog["When"].string = "কবে"
    for msgid in ("Where", "Access"):
        catalog[msgid].string = ""
        catalog[msgid].flags.discard("fuzzy")
    from outreach.i18n.catalog import save_catalog

    save_catalog(catalog, po)
    report = fill_campaign(spec, machine_settings(tmp_path / "work", libre), "bn")
    assert report.filled == 2 and report.problems == []
    after = load_catalog(po, "bn")
    assert after["When"].string == "কবে" and entry_state(after["When"]) == "approved"
    assert after["Where"].string == "[bn] Where" and after["Where"].fuzzy
    assert any(c.startswith("machine draft: libretranslate") for c in after["Where"].user_comments)
    assert [r["q"] for r in libre.requests] == ["Where", "Access"]


def test_cli_export_import_status(locale, spec, tmp_path, settings):
    runner = CliRunner()
    spec_arg = str(SAMPLE_CAMPAIGN)
    out = tmp_path / "so.csv"
    result = runner.invoke(
        app, ["translate", "export", "--lang", "so", "--out", str(out), "--format", "csv"]
    )
    assert result.exit_code == 0, result.output
    rows = _rows(out)
    rows[0]["reviewed_translation"] = rows[0]["current_translation"]
    _write_rows(out, rows)
    result = runner.invoke(app, ["translate", "import", str(out)])
    assert result.exit_code == 0, result.output
    assert "so: 1 approved" in result.output
    result = runner.invoke(app, ["translate", "status", "--lang", "so"])
    assert result.exit_code == 0 and "so" in result.output
    rows[1]["reviewed_translation"] = "broken %(nope)s"
    _write_rows(out, rows)
    result = runner.invoke(app, ["translate", "import", str(out)])
    assert result.exit_code == 1
    assert "row 3" in result.output.replace("\n", " ") or ", row 3," in result.output
    # A campaign row is found by its catalog id without --campaign.
    title_row = next(
        r
        for r in _rows(export_catalog("so", tmp_path / "c.csv", fmt="csv", spec=spec))
        if r["catalog"] == spec.id
    )
    title_row["reviewed_translation"] = title_row["current_translation"]
    _write_rows(tmp_path / "one.csv", [title_row])
    result = runner.invoke(app, ["translate", "import", str(tmp_path / "one.csv")])
    assert result.exit_code == 0 and "so: 1 approved" in result.output, result.output
    result = runner.invoke(app, ["translate", "fill", "--lang", "so", "--campaign", spec_arg])
    assert result.exit_code == 1 and "No machine translation configured" in result.output
