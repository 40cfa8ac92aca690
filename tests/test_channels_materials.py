"""A wave's materials on disk and in the store, partner packs, and the pack email."""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select
from test_channels_support import add_partner, record_campaign_row, sample_spec

from outreach.campaign import CampaignSpec
from outreach.channels import _i18n
from outreach.channels.codes import resolve_code
from outreach.channels.email import to_mime
from outreach.channels.materials import pack_path, render_materials, summarise, wave_dir
from outreach.channels.partner_pack import render_pack_email
from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import Material
from outreach.tracking.tokens import TokenSigner


@pytest.fixture(scope="module")
def spec() -> CampaignSpec:
    return sample_spec()


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    # One work directory for the module: PDFs are slow, so the wave is rendered once.
    workdir = tmp_path_factory.mktemp("materials") / "work"
    return Settings(workdir=workdir, secret_key="test-secret-key-not-for-production")


@pytest.fixture(scope="module")
def prepared(settings: Settings, spec: CampaignSpec) -> Iterator[Store]:
    store = Store(settings.database_url)
    store.upgrade()
    record_campaign_row(store, spec)
    add_partner(store, "sawt-al-jaliya", "radio", "ar")
    add_partner(store, "al-noor-mosque", "faith", "ar;fr")  # fr is not a target
    yield store
    store.dispose()


def test_materials_for_a_language_are_written_recorded_and_indexed(
    prepared: Store, spec: CampaignSpec, settings: Settings
) -> None:
    materials = render_materials(prepared, spec, settings, 1, languages=["ar"], audio=False)

    assert summarise(materials) == {
        "flyer-a4": 1,
        "flyer-a4-bilingual": 1,
        "flyer-a4-large-print": 1,
        "flyer-a5": 1,
        "pack": 2,
        "radio-30s-txt": 1,
        "radio-60s-txt": 1,
        "radio-brief-txt": 1,
        "radio-pdf": 1,
    }
    root = wave_dir(settings, spec.id, 1)
    for row in materials:
        path = settings.workdir / row.path
        assert not Path(row.path).is_absolute() and path.is_file()
        assert row.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert root in path.parents
        payload = resolve_code(prepared, row.short_code or "")
        assert payload is not None and payload.language == "ar" and payload.wave == 1
        assert payload.channel == row.channel or (row.channel == "partner_pack")
    radio = next(m for m in materials if m.kind == "radio-30s-txt")
    assert radio.placement == "sawt-al-jaliya"
    spot = (settings.workdir / radio.path).read_text()
    assert radio.short_code in spot

    index = (root / "README.md").read_text()
    for row in materials:
        assert str((settings.workdir / row.path).relative_to(root)) in index
    assert "5 PDF files" in index  # 4 flyers, 1 radio script; packs are zips
    assert "2 partner packs" in index


def test_rendering_again_is_idempotent_and_skips_finished_work(
    prepared: Store, spec: CampaignSpec, settings: Settings
) -> None:
    first = render_materials(prepared, spec, settings, 1, languages=["ar"], audio=False)
    stamps = {m.path: (settings.workdir / m.path).stat().st_mtime_ns for m in first}
    again = render_materials(prepared, spec, settings, 1, languages=["ar"], audio=False)
    assert sorted(m.id for m in again) == sorted(m.id for m in first)
    assert {m.path: (settings.workdir / m.path).stat().st_mtime_ns for m in again} == stamps
    with prepared.session() as session:
        assert session.scalar(select(func.count()).select_from(Material)) == len(first)

    # A damaged file is rendered again; its row is updated, not duplicated.
    damaged = next(m for m in first if m.kind == "flyer-a5")
    (settings.workdir / damaged.path).write_bytes(b"not a pdf")
    render_materials(prepared, spec, settings, 1, languages=["ar"], audio=False)
    assert (settings.workdir / damaged.path).read_bytes().startswith(b"%PDF")
    with prepared.session() as session:
        assert session.scalar(select(func.count()).select_from(Material)) == len(first)


def test_partner_pack_zip_and_the_email_that_delivers_it(
    prepared: Store, spec: CampaignSpec, settings: Settings
) -> None:
    render_materials(prepared, spec, settings, 1, languages=["ar"], audio=False)

    station = pack_path(settings, spec.id, 1, "sawt-al-jaliya")
    with zipfile.ZipFile(station) as archive:
        names = sorted(archive.namelist())
        guide = PdfReader(io.BytesIO(archive.read("guide-ar.pdf")))
        social = archive.read("text/ar/social-media-ar.txt").decode()
    assert names == [
        "flyers/ar/flyer-ar-a4.pdf",
        "guide-ar.pdf",
        "radio/ar/presenter-brief.txt",
        "radio/ar/radio-scripts-sawt-al-jaliya-ar.pdf",
        "radio/ar/spot-30s.txt",
        "radio/ar/spot-60s.txt",
        "text/ar/email-text-ar.txt",
        "text/ar/social-media-ar.txt",
    ]
    guide_text = guide.pages[0].extract_text()
    assert len(guide.pages) == 1
    with prepared.session() as session:
        codes = dict(
            session.execute(
                select(Material.kind, Material.short_code).where(
                    Material.placement == "sawt-al-jaliya"
                )
            ).all()
        )
    assert codes["pack"] in guide_text and codes["radio-pdf"] in guide_text
    token = social.split("/rsvp/", 1)[1].split()[0]
    payload = TokenSigner(settings.secret_key_value()).verify(token)
    assert (payload.channel, payload.partner, payload.language) == (
        "partner_pack",
        "sawt-al-jaliya",
        "ar",
    )

    mosque = pack_path(settings, spec.id, 1, "al-noor-mosque")
    with zipfile.ZipFile(mosque) as archive:
        assert not any(name.startswith("radio/") for name in archive.namelist())
        assert "guide-ar.pdf" in archive.namelist()

    message = render_pack_email(
        spec,
        settings,
        1,
        "sawt-al-jaliya",
        "Sawt al-Jaliya",
        "info@sawt.example.net",
        "ar",
        station,
        delivery_id=77,
    )
    parsed = email.message_from_bytes(to_mime(message).as_bytes(), policy=email.policy.default)
    assert parsed["Content-Language"] == "ar" and parsed["X-Outreach-Wave"] == "1"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert 'dir="rtl"' in parsed.get_body(("html",)).get_content()
    [attachment] = list(parsed.iter_attachments())
    assert attachment.get_content_type() == "application/zip"
    assert attachment.get_payload(decode=True) == station.read_bytes()
    radio_sentence = _i18n.translations("ar", spec.id).gettext(
        "The pack also has radio spots of 30 and 60 seconds and a presenter's brief for "
        "your station."
    )
    assert radio_sentence in parsed.get_body(("plain",)).get_content()
    payload = TokenSigner(settings.secret_key_value()).verify(message.token)
    assert (payload.delivery, payload.partner) == (77, "sawt-al-jaliya")
