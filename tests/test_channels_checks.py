"""`check_channels`: template mistakes are found before launch, each named precisely."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_channels_support import install_catalogs, sample_spec

from outreach.campaign import CampaignSpec
from outreach.channels import _i18n, checks, environment
from outreach.channels.checks import check_channels
from outreach.settings import Settings


@pytest.fixture
def spec() -> CampaignSpec:
    return sample_spec()


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private copy of the templates the channels render from, to break on purpose."""
    root = tmp_path / "project"
    shutil.copytree(environment.TEMPLATES_DIR, root / "templates")
    monkeypatch.setattr(environment, "TEMPLATES_DIR", root / "templates")
    monkeypatch.setattr(checks, "TEMPLATES_DIR", root / "templates")
    monkeypatch.setattr(checks, "_ROOT", root)
    environment.clear_cache()
    yield root / "templates"
    environment.clear_cache()


def test_sample_campaign_has_no_channel_problems(spec: CampaignSpec, settings: Settings) -> None:
    assert check_channels(spec, None, settings) == []
    assert not (settings.workdir / "secret.key").exists()  # checks never mint the real key


def test_undefined_variable_names_template_line_and_every_language(
    spec: CampaignSpec, settings: Settings, templates: Path
) -> None:
    spot = templates / "radio" / "spot_short.txt"
    lines = spot.read_text().splitlines()
    lines.insert(2, "{{ event_organiser_phone }}")
    spot.write_text("\n".join(lines) + "\n")

    problems = check_channels(spec, None, settings)
    broken = [p for p in problems if p.file == "templates/radio/spot_short.txt"]
    assert sorted(p.field for p in broken) == sorted(
        f"language {lang}" for lang in spec.target_languages
    )
    assert all(p.row == 3 for p in broken)
    assert all("'event_organiser_phone' is undefined" in p.message for p in broken)


def test_syntax_error_is_reported_with_its_line(
    spec: CampaignSpec, settings: Settings, templates: Path
) -> None:
    (templates / "flyer" / "code_label.txt").write_text("{% trans %}Your reply code\n")
    problems = check_channels(spec, None, settings)
    assert problems
    assert {p.file for p in problems} == {"templates/flyer/code_label.txt"}
    assert all("syntax error" in p.message for p in problems)


def test_translation_with_broken_placeholder_is_a_problem_for_that_language(
    spec: CampaignSpec, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gettext

    from test_channels_support import compiled_catalog

    catalogs = {"ar": compiled_catalog("ar", {"Dear %(name)s,": "عزيزي %(nom)s،"})}
    monkeypatch.setattr(
        _i18n, "translations", lambda lang, cid=None: catalogs.get(lang, gettext.NullTranslations())
    )
    environment.clear_cache()
    try:
        problems = check_channels(spec, None, settings)
    finally:
        environment.clear_cache()
    assert [(p.file, p.field) for p in problems] == [
        ("templates/email/invitation.html", "language ar")
    ]
    assert "placeholders do not match" in problems[0].message


def test_missing_font_and_unknown_language(
    spec: CampaignSpec, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _i18n.language_info

    def info(code: str):  # type: ignore[no-untyped-def]
        found = real(code)
        if code == "bn":
            return type(found)(**{**found.__dict__, "font_family": "Noto Sans Nowhere"})
        return found

    monkeypatch.setattr(_i18n, "language_info", info)
    problems = checks.check_fonts(spec)
    assert len(problems) == 1 and "Noto Sans Nowhere" in problems[0].message
    assert problems[0].field == "target_languages"

    odd = spec.model_copy(update={"target_languages": ["en", "xx"]})
    problems = checks.check_fonts(odd)
    assert len(problems) == 1 and "'xx'" in problems[0].message


def test_translated_campaign_still_checks_clean(
    spec: CampaignSpec, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in install_catalogs(monkeypatch):
        assert check_channels(spec, None, settings) == []


def test_channel_types_share_one_interface(spec: CampaignSpec, settings: Settings) -> None:
    from outreach.channels.base import Channel, channel_types

    types = channel_types()
    assert list(types) == ["email", "radio", "flyer", "partner_pack"]
    for name, channel in types.items():
        assert isinstance(channel, Channel) and channel.name == name
        assert channel.enabled(spec)
        assert channel.validate(spec, settings) == []
    disabled = spec.channels.model_copy(
        update={"radio": spec.channels.radio.model_copy(update={"enabled": False})}
    )
    assert not types["radio"].enabled(spec.model_copy(update={"channels": disabled}))
