"""Shared helpers for the channel tests (no tests here).

`translated` installs a small, real gettext catalog (compiled with Babel) that translates the
sample campaign's title and a few template sentences into Arabic, Bengali and Chinese, so the
tests check scripts and directions independently of the shipped catalogs' progress.
"""

from __future__ import annotations

import gettext
import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from sqlalchemy import select

from outreach.campaign import CampaignSpec, load_campaign
from outreach.channels import _i18n, environment
from outreach.store import Store
from outreach.store.models import Campaign, Partner

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CAMPAIGN = ROOT / "campaigns" / "the-way-ahead.yaml"
TITLE = "The Way Ahead: sharing data for a fairer London"

TITLES = {
    "ar": "الطريق إلى الأمام",
    "bn": "সামনের পথ: ন্যায্য লন্ডনের জন্য তথ্য",
    "zh": "前进之路：为更公平的伦敦共享数据",
}
SENTENCES = {
    "ar": {"When": "متى", "Where": "أين", "Dear %(name)s,": "عزيزي %(name)s،"},
    "bn": {"When": "কখন", "Where": "কোথায়"},
    "zh": {"When": "时间", "Where": "地点"},
}


def compiled_catalog(language: str, extra: dict[str, str] | None = None) -> gettext.GNUTranslations:
    catalog = Catalog(locale=language, domain="messages")
    catalog.add(TITLE, TITLES[language])
    for msgid, msgstr in {**SENTENCES.get(language, {}), **(extra or {})}.items():
        catalog.add(msgid, msgstr)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def install_catalogs(
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[dict[str, gettext.NullTranslations]]:
    """Catalogs for ar/bn/zh from this module; other languages pass English through.

    Use as a fixture body: `yield from install_catalogs(monkeypatch)`.
    """
    catalogs: dict[str, gettext.NullTranslations] = {
        lang: compiled_catalog(lang) for lang in TITLES
    }

    def translations(lang: str, campaign_id: str | None = None) -> gettext.NullTranslations:
        # One object per language, like the real catalog cache.
        return catalogs.setdefault(lang, gettext.NullTranslations())

    monkeypatch.setattr(_i18n, "translations", translations)
    environment.clear_cache()
    yield catalogs
    environment.clear_cache()


def sample_spec() -> CampaignSpec:
    return load_campaign(SAMPLE_CAMPAIGN)


def record_campaign_row(store: Store, spec: CampaignSpec) -> None:
    """The campaign row materials and codes refer to (normally written by the launch)."""
    with store.session() as session:
        if session.get(Campaign, spec.id) is None:
            session.add(Campaign(id=spec.id, title=spec.event.title, spec={}, source_language="en"))


def add_partner(store: Store, partner_id: str, kind: str, languages: str) -> None:
    with store.session() as session:
        if session.scalars(select(Partner).where(Partner.partner_id == partner_id)).first():
            return
        session.add(
            Partner(
                partner_id=partner_id,
                name=partner_id.replace("-", " ").title(),
                kind=kind,
                languages=languages,
                email=f"{partner_id}@partners.example.org",
                reach=100,
            )
        )


def needs(binary: str) -> None:
    if shutil.which(binary) is None:
        pytest.skip(f"{binary} is not installed")


def pdf_to_png(pdf: Path, out_prefix: Path, dpi: int = 150) -> Path:
    needs("pdftoppm")
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            str(dpi),
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(pdf),
            str(out_prefix),
        ],
        check=True,
    )
    return out_prefix.with_suffix(".png")


def decode_qr(png: Path) -> list[str]:
    needs("zbarimg")
    result = subprocess.run(
        ["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True, check=False
    )
    return [line for line in result.stdout.splitlines() if line.strip()]
