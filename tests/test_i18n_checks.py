"""Never the wrong language: missing translations fail loudly, with translator worksheets;
`--allow-fallback` is the only way to send in another language, and the ledger records it."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po, write_po
from conftest import SAMPLE_CAMPAIGN
from sqlalchemy import func, select

from outreach.campaign import load_campaign
from outreach.i18n.checks import check_translations
from outreach.i18n.fallback import MissingTranslations, effective_language
from outreach.i18n.messages import template_messages
from outreach.i18n.paths import (
    LOCALE_DIR,
    preserved_campaign_dirs,
    template_po_path,
    use_locale_dir,
)
from outreach.problems import InvalidInput

GAPS = ("When", "Where", "Tell us if you can come")


@pytest.fixture(autouse=True)
def _campaign_dirs_restored() -> Iterator[None]:
    """Specs in temporary folders must not redirect other tests' campaign catalogs."""
    with preserved_campaign_dirs():
        yield


def _blank_entries(po: Path, msgids: tuple[str, ...]) -> None:
    catalog = read_po(po.open("rb"))
    for msgid in msgids:
        catalog[msgid].string = ""
        catalog[msgid].flags.discard("fuzzy")
    out = BytesIO()
    write_po(out, catalog)
    po.write_bytes(out.getvalue())


@pytest.fixture
def somali_gaps(tmp_path: Path) -> Iterator[Path]:
    """Shipped catalogs, except three Somali template messages have no translation."""
    locale = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, locale)
    _blank_entries(locale / "so" / "LC_MESSAGES" / "messages.po", GAPS)
    with use_locale_dir(locale):
        yield locale


@pytest.fixture
def spec() -> Any:
    return load_campaign(SAMPLE_CAMPAIGN)


@pytest.fixture
def sources(spec: Any, settings: Any) -> Any:
    from outreach.contacts import load_sources

    return load_sources(spec, settings)


def test_complete_catalogs_raise_no_problem(spec, sources, settings):
    assert check_translations(spec, sources, settings) == []
    assert not (settings.workdir / "worksheets" / "so.csv").exists()


def test_missing_translations_are_listed_with_a_worksheet(somali_gaps, spec, sources, settings):
    problems = check_translations(spec, sources, settings)
    assert [(p.field, p.row) for p in problems] == [(msgid, None) for msgid in GAPS]
    for problem in problems:
        assert problem.file.endswith("so/LC_MESSAGES/messages.po")
        assert "no 'so' translation" in problem.message
        assert "worksheets/so.csv" in problem.message
    sheet = settings.workdir / "worksheets" / "so.csv"
    with sheet.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["english"] for row in rows] == list(GAPS)
    assert all(row["language"] == "so" and row["reviewed_translation"] == "" for row in rows)
    assert all(row["reference"].startswith("templates/") for row in rows)
    worksheet_po = read_po((settings.workdir / "worksheets" / "so.po").open("rb"))
    assert [m.id for m in worksheet_po if m.id] == list(GAPS)
    # Other languages are complete: no worksheet for them.
    assert sorted(p.name for p in (settings.workdir / "worksheets").iterdir()) == [
        "so.csv",
        "so.po",
    ]


def test_effective_language_refuses_without_an_explicit_fallback(somali_gaps, spec):
    with pytest.raises(MissingTranslations) as caught:
        effective_language(spec, "so")
    assert isinstance(caught.value, InvalidInput)
    assert {p.field for p in caught.value.problems} == set(GAPS)
    assert effective_language(spec, "so", allow_fallback="en") == ("en", "so")
    assert effective_language(spec, "es", allow_fallback="en") == ("es", None)
    # A fallback that is itself incomplete is refused too.
    with pytest.raises(MissingTranslations):
        effective_language(spec, "ti", allow_fallback="so")


def test_allow_fallback_turns_the_failure_into_a_counted_fallback(
    somali_gaps, spec, sources, settings, sqlite_store
):
    assert check_translations(spec, sources, settings, allow_fallback="en") == []
    assert (settings.workdir / "worksheets" / "so.csv").exists()  # translators still get it

    from outreach.audience import plan_first_wave
    from outreach.recording import record_campaign
    from outreach.store import Delivery

    record_campaign(sqlite_store, spec, sources)
    with pytest.raises(InvalidInput):
        plan_first_wave(sqlite_store, spec, settings)
    plan_first_wave(sqlite_store, spec, settings, allow_fallback="en")
    with sqlite_store.session() as session:
        fell_back = session.execute(
            select(Delivery.language, Delivery.fallback_from, func.count())
            .where(Delivery.fallback_from.is_not(None))
            .group_by(Delivery.language, Delivery.fallback_from)
        ).all()
        somali_rows = session.scalar(
            select(func.count()).where(Delivery.language == "so").select_from(Delivery)
        )
    assert [(lang, wanted) for lang, wanted, _ in fell_back] == [("en", "so")]
    assert fell_back[0][2] > 0 and somali_rows == 0


def test_unknown_contact_language_is_a_problem(spec, sources, settings):
    sources.contacts.summary.languages["tlh"] += 1  # one contact reads Klingon
    problems = check_translations(spec, sources, settings)
    assert len(problems) == 1
    assert problems[0].file.endswith("languages.csv") and "'tlh'" in problems[0].message


def test_missing_template_catalog_lists_every_message(tmp_path, spec, sources, settings):
    locale = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, locale)
    (locale / "pl" / "LC_MESSAGES" / "messages.po").unlink()
    with use_locale_dir(locale):
        problems = check_translations(spec, sources, settings)
        assert len(problems) == len(template_messages())
        assert all(p.file.endswith("pl/LC_MESSAGES/messages.po") for p in problems)
        assert str(template_po_path("pl")).startswith(str(locale))


def test_validate_cli_fails_loudly_and_accepts_an_explicit_fallback(somali_gaps, settings):
    from typer.testing import CliRunner

    from outreach.cli import app

    runner = CliRunner()
    args = ["validate", str(SAMPLE_CAMPAIGN), "--workdir", str(settings.workdir)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    flat = " ".join(result.output.split())
    for msgid in GAPS:
        assert msgid in flat
    assert "worksheets/so.csv" in flat.replace(" ", "")  # rich may wrap the path
    assert (settings.workdir / "worksheets" / "so.csv").exists()
    result = runner.invoke(app, [*args, "--allow-fallback", "en"])
    assert result.exit_code == 0, result.output


def test_a_worksheet_filled_in_by_translators_completes_a_new_language(
    tmp_path, spec, sources, settings
):
    """The whole loop for a new language: check → worksheet → translators → import → valid."""
    from outreach.i18n.review import import_review

    locale = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, locale)
    with (locale / "languages.csv").open("a", encoding="utf-8") as handle:
        handle.write("ta,Tamil,தமிழ்,ltr,Noto Sans Tamil,ta,true,\n")
    folder = tmp_path / "campaign"
    shutil.copytree(SAMPLE_CAMPAIGN.parent / "locale", folder / "locale")
    spec = spec.model_copy(
        update={
            "spec_path": folder / "the-way-ahead.yaml",
            "target_languages": [*spec.target_languages, "ta"],
        }
    )
    with use_locale_dir(locale):
        problems = check_translations(spec, sources, settings)
        assert problems and {p.file.split("/")[-3] for p in problems} == {"ta"}
        sheet = settings.workdir / "worksheets" / "ta.csv"
        with sheet.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert len(rows) == len(problems)
        for row in rows:
            row["reviewed_translation"] = "தமிழ்: " + row["english"]
        with sheet.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        result = import_review(sheet, spec=spec)
        assert result.approved == len(rows)
        assert check_translations(spec, sources, settings) == []
        assert effective_language(spec, "ta") == ("ta", None)


def test_an_officers_own_subject_line_is_translated_like_the_title(
    tmp_path, spec, sources, settings
):
    """A custom `channels.email.subject` is a campaign string: validation asks for it in
    every language, and once translated each person's email carries it in theirs."""
    from babel.messages.catalog import Message

    from outreach.channels import environment
    from outreach.channels.email import EmailRecipient, render_emails, to_mime
    from outreach.i18n.catalog import save_catalog

    subject = "Help us plan the new data service"
    folder = tmp_path / "campaign"
    shutil.copytree(SAMPLE_CAMPAIGN.parent / "locale", folder / "locale")
    email = spec.channels.email.model_copy(update={"subject": subject})
    spec = spec.model_copy(
        update={
            "spec_path": folder / "the-way-ahead.yaml",
            "channels": spec.channels.model_copy(update={"email": email}),
        }
    )

    problems = check_translations(spec, sources, settings)
    about = [p for p in problems if p.field == subject]
    assert {p.file.split("/")[-3] for p in about} == set(spec.target_languages) - {"en"}
    assert all("the-way-ahead.yaml#channels.email.subject" in p.message for p in about)

    po = folder / "locale" / "so" / "LC_MESSAGES" / "the-way-ahead.po"
    catalog = read_po(po.open("rb"))
    catalog[subject] = Message(subject, "Naga caawi qorsheynta adeegga xogta cusub")
    save_catalog(catalog, po)
    environment.clear_cache()
    recipients = [
        EmailRecipient(delivery_id=n, contact_pk=n, name="Ana", email=f"p{n}@example.org",
                       language=lang)
        for n, lang in enumerate(("so", "en"), start=1)
    ]  # fmt: skip
    somali, english = (to_mime(m)["Subject"] for m in render_emails(spec, settings, 1, recipients))

    assert somali == "Naga caawi qorsheynta adeegga xogta cusub"
    assert english == subject
    still = [p for p in check_translations(spec, sources, settings) if p.field == subject]
    assert len(still) == len(about) - 1 and "so" not in {p.file.split("/")[-3] for p in still}
