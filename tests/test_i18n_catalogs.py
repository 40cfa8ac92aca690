"""Shipped catalogs, language metadata, gettext with drafts, and catalog updates."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from conftest import SAMPLE_CAMPAIGN

from outreach.campaign import load_campaign
from outreach.i18n.catalog import entry_state, get_translations, load_catalog
from outreach.i18n.coverage import missing_messages
from outreach.i18n.fallback import effective_language
from outreach.i18n.languages import UnknownLanguage, known_languages, language_info
from outreach.i18n.messages import (
    SourceMessage,
    build_template,
    campaign_messages,
    template_messages,
)
from outreach.i18n.paths import (
    LOCALE_DIR,
    preserved_campaign_dirs,
    template_po_path,
    use_locale_dir,
)
from outreach.i18n.placeholders import placeholder_mismatch
from outreach.i18n.update import merge_into, update_template_catalogs

SHIPPED = ["en", "es", "pl", "ro", "pt", "bn", "ar", "ur", "so", "zh"]


@pytest.fixture(autouse=True)
def _campaign_dirs_restored() -> Iterator[None]:
    """Specs in temporary folders must not redirect other tests' campaign catalogs."""
    with preserved_campaign_dirs():
        yield


def test_shipped_languages_and_their_script_facts():
    codes = [info.code for info in known_languages()]
    assert set(SHIPPED) <= set(codes)
    assert language_info("ar").direction == "rtl" and language_info("ar").rtl
    assert language_info("ur").direction == "rtl"
    assert all(language_info(c).direction == "ltr" for c in SHIPPED if c not in ("ar", "ur"))
    assert language_info("zh").spaced is False
    assert language_info("zh").font_family == "Noto Sans CJK SC"
    assert language_info("bn").font_family == "Noto Sans Bengali"
    assert language_info("so").espeak_voice is None  # espeak-ng has no Somali voice
    assert language_info("zh").engine_code("google") == "zh-CN"
    with pytest.raises(UnknownLanguage) as caught:
        language_info("tlh")
    assert isinstance(caught.value, KeyError)


@pytest.mark.parametrize("lang", [code for code in SHIPPED if code != "en"])
def test_every_shipped_language_is_complete_for_the_templates_and_sample(lang):
    """Meta-test: the sample campaign works offline in every shipped language."""
    spec = load_campaign(SAMPLE_CAMPAIGN)
    assert missing_messages(spec, lang) == []
    assert effective_language(spec, lang) == (lang, None)
    catalog = load_catalog(template_po_path(lang), lang)
    for message in template_messages():
        entry = catalog.get(message.id, context=message.context)
        assert placeholder_mismatch(message.singular, entry.string) is None, message.id
        # Team drafts are honest: fuzzy until a community reviewer approves them.
        if entry_state(entry) == "draft":
            assert any(c.startswith(("draft:", "machine draft:")) for c in entry.user_comments)


def test_translations_include_fuzzy_drafts_and_campaign_strings():
    spec = load_campaign(SAMPLE_CAMPAIGN)
    catalog = load_catalog(template_po_path("so"), "so")
    entry = catalog.get("When")
    assert entry.fuzzy  # a draft, and still used: Somali readers get Somali
    t = get_translations("so", spec.id)
    assert t.gettext("When") == entry.string != "When"
    assert t.gettext(spec.event.title) != spec.event.title
    assert t.gettext("a string nobody wrote") == "a string nobody wrote"
    assert get_translations("en", spec.id).gettext(spec.event.title) == spec.event.title


def test_fonts_named_in_languages_csv_are_installed():
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        pytest.skip("fontconfig not installed")
    import subprocess

    families = subprocess.run(
        [fc_list, ":", "family"], capture_output=True, text=True, check=True
    ).stdout
    installed = {name.strip() for line in families.splitlines() for name in line.split(",")}
    for info in known_languages():
        assert info.font_family in installed, (info.code, info.font_family)


def test_espeak_voices_named_in_languages_csv_exist():
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        pytest.skip("espeak-ng not installed")
    import subprocess

    voices = subprocess.run([espeak, "--voices"], capture_output=True, text=True).stdout
    names = {line.split()[1] for line in voices.splitlines()[1:] if line.split()}
    for info in known_languages():
        if info.espeak_voice:
            assert info.espeak_voice in names, (info.code, info.espeak_voice)


def test_a_new_language_is_a_csv_row_and_a_po_file(tmp_path: Path):
    locale = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, locale)
    with (locale / "languages.csv").open("a", encoding="utf-8") as handle:
        handle.write("ti,Tigrinya,ትግርኛ,ltr,Noto Sans Ethiopic,,true,\n")
    spec = load_campaign(SAMPLE_CAMPAIGN)
    with use_locale_dir(locale):
        info = language_info("ti")
        assert (info.native_name, info.font_family, info.espeak_voice) == (
            "ትግርኛ",
            "Noto Sans Ethiopic",
            None,
        )
        assert len(missing_messages(spec, "ti")) == len(template_messages()) + len(
            campaign_messages(spec)
        )
        report = update_template_catalogs(["ti"])
        assert report.catalogs[0].created
        po = template_po_path("ti")
        catalog = read_po(po.open("rb"))
        for message in catalog:
            if message.id:
                message.string = f"ትግርኛ {message.id}"
        from outreach.i18n.catalog import save_catalog

        save_catalog(catalog, po)
        assert get_translations("ti").gettext("When") == "ትግርኛ When"
        remaining = missing_messages(spec, "ti")
        assert {gap.kind for gap in remaining} == {"campaign"}


def test_a_changed_source_string_keeps_its_translation_as_fuzzy(tmp_path: Path):
    po = tmp_path / "xx.po"
    old = build_template(
        [SourceMessage("Tell us if you can come"), SourceMessage("Where")],
        project="t",
        domain_comment="t",
    )
    merge_into(po, old, "es", project="t")
    catalog = read_po(po.open("rb"))
    catalog["Tell us if you can come"].string = "Díganos si puede venir"
    catalog["Where"].string = "Dónde"
    from outreach.i18n.catalog import save_catalog

    save_catalog(catalog, po)  # both approved (not fuzzy)
    new = build_template(
        [SourceMessage("Tell us if you can come, please"), SourceMessage("Where")],
        project="t",
        domain_comment="t",
    )
    report = merge_into(po, new, "es", project="t")
    assert report.now_fuzzy == 1
    after = read_po(po.open("rb"))
    changed = after["Tell us if you can come, please"]
    assert changed.string == "Díganos si puede venir" and changed.fuzzy
    # The reviewer sees what changed: the old English is kept as `#| msgid`.
    assert '#| msgid "Tell us if you can come"' in po.read_text(encoding="utf-8")
    assert entry_state(after["Where"]) == "approved"


def test_shipped_pot_matches_the_templates():
    """`outreach translate update` was run after the last template change."""
    pot = read_po((LOCALE_DIR / "messages.pot").open("rb"))
    shipped = {m.id if not isinstance(m.id, list) else tuple(m.id) for m in pot if m.id}
    assert shipped == {m.id for m in template_messages()}


def test_shipped_catalogs_pass_msgfmt_check():
    """GNU gettext's own checker agrees: valid syntax, python-format placeholders kept."""
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("GNU gettext (msgfmt) not installed")
    import subprocess

    files = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/*.po"))
    files += sorted((SAMPLE_CAMPAIGN.parent / "locale").glob("*/LC_MESSAGES/*.po"))
    assert len(files) >= 18
    for po in files:
        result = subprocess.run(
            [msgfmt, "--check", "--use-fuzzy", "-o", "/dev/null", str(po)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, (po, result.stderr)
