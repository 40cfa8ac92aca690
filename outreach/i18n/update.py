"""Keep catalogs in step with their sources: extract → POT → merge into every PO.

```python
from outreach.i18n.update import update_template_catalogs, update_campaign_catalogs

update_template_catalogs()            # templates/locale/messages.pot + every <lang>/messages.po
update_campaign_catalogs(spec)        # campaigns/locale/<id>.pot + <lang>/<id>.po
```

Merging is Babel's `Catalog.update`: new messages are added empty, removed ones are kept
as obsolete (`#~`, the translation memory remembers them), and a message whose source
text changed keeps its old translation **marked fuzzy** (with the previous msgid as
`#| msgid`), so a reviewer re-checks it instead of re-translating from nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from outreach.i18n.catalog import (
    _locale_for,
    clear_cache,
    entry_state,
    read_catalog_fresh,
    save_catalog,
)
from outreach.i18n.languages import known_languages
from outreach.i18n.messages import (
    SourceMessage,
    build_template,
    campaign_messages,
    template_messages,
)
from outreach.i18n.messages import clear_cache as clear_extraction_cache
from outreach.i18n.paths import (
    TEMPLATE_DOMAIN,
    campaign_locale_dir_for_spec,
    campaign_po_path,
    campaign_pot_path,
    display_path,
    template_po_path,
    templates_pot,
)

_VOLATILE = (b'"POT-Creation-Date:', b'"PO-Revision-Date:')


def _stable(data: bytes) -> bytes:
    return b"\n".join(line for line in data.splitlines() if not line.startswith(_VOLATILE))


def _save(catalog: Catalog, path: Path) -> bool:
    """Write the catalog unless only its dates would change (keeps reviewers' diffs clean)."""
    buffer = BytesIO()
    write_po(buffer, catalog, width=88, include_previous=True)
    if path.exists() and _stable(path.read_bytes()) == _stable(buffer.getvalue()):
        return False
    save_catalog(catalog, path)
    return True


@dataclass
class CatalogUpdate:
    """What one merge changed in one PO file."""

    path: Path
    language: str
    added: int = 0
    now_fuzzy: int = 0
    obsolete: int = 0
    created: bool = False

    def line(self) -> str:
        what = "created" if self.created else "updated"
        return (
            f"{display_path(self.path)}: {what}; {self.added} new, "
            f"{self.now_fuzzy} changed (kept as fuzzy), {self.obsolete} obsolete"
        )


@dataclass
class UpdateReport:
    template: Path
    messages: int
    catalogs: list[CatalogUpdate] = field(default_factory=list)


HEADER = (
    "# {language} translations: {project}.\n"
    "# Entries flagged `fuzzy` are drafts (team or machine) awaiting community review;\n"
    "# see README, Translation. Export/import with `outreach translate`."
)


def new_catalog(lang: str, *, project: str) -> Catalog:
    catalog = Catalog(
        locale=_locale_for(lang),
        project=project,
        version="1",
        copyright_holder="The Outreach contributors",
        msgid_bugs_address="",
        charset="utf-8",
    )
    catalog.language_team = f"{lang} <community reviewers>"
    catalog.last_translator = "The Outreach team (drafts)"
    catalog.fuzzy = False  # entries carry their own flags; a fuzzy header hides the charset
    catalog.header_comment = HEADER.format(language=_language_name(lang), project=project)
    return catalog


def _language_name(lang: str) -> str:
    from outreach.i18n.languages import is_known, language_info

    return language_info(lang).name if is_known(lang) else lang


def merge_into(po_path: Path, template: Catalog, lang: str, *, project: str) -> CatalogUpdate:
    """Merge `template` into the PO file for `lang` (created when absent)."""
    report = CatalogUpdate(po_path, lang)
    if po_path.exists():
        catalog = read_catalog_fresh(po_path, lang)
    else:
        catalog = new_catalog(lang, project=project)
        report.created = True
    before = {m.id if not isinstance(m.id, list) else tuple(m.id): m for m in catalog if m.id}
    fuzzy_before = {key for key, m in before.items() if m.fuzzy}
    obsolete_before = len(catalog.obsolete)
    catalog.update(template, no_fuzzy_matching=False, update_header_comment=False)
    for message in catalog:
        if not message.id:
            continue
        key = message.id
        if key not in before:
            if message.fuzzy and entry_state(message) != "missing":
                report.now_fuzzy += 1
            else:
                report.added += 1
        elif message.fuzzy and key not in fuzzy_before:
            report.now_fuzzy += 1
    report.obsolete = len(catalog.obsolete) - obsolete_before
    _save(catalog, po_path)
    return report


def _target_languages(languages: Iterable[str] | None, exclude: set[str]) -> list[str]:
    codes = list(languages) if languages is not None else [i.code for i in known_languages()]
    return [code for code in codes if code not in exclude]


def update_template_catalogs(languages: Iterable[str] | None = None) -> UpdateReport:
    """Re-extract template messages into `messages.pot` and merge it into each language."""
    clear_extraction_cache()
    messages: list[SourceMessage] = template_messages()
    template = build_template(
        messages, project="Outreach templates", domain_comment="Outreach template messages."
    )
    _save(template, templates_pot())
    report = UpdateReport(templates_pot(), len(messages))
    for lang in _target_languages(languages, {"en"}):
        po_path = template_po_path(lang)
        report.catalogs.append(merge_into(po_path, template, lang, project="Outreach templates"))
    clear_cache()
    return report


def update_campaign_catalogs(spec: Any, languages: Iterable[str] | None = None) -> UpdateReport:
    """Write the campaign's POT from its spec and merge it into each target language."""
    locale_dir = campaign_locale_dir_for_spec(spec)
    messages = campaign_messages(spec)
    template = build_template(
        messages,
        project=f"Outreach campaign {spec.id}",
        domain_comment=f"Campaign strings of {spec.id} (event, venue, barrier answers).",
    )
    pot = campaign_pot_path(spec.id, locale_dir)
    _save(template, pot)
    report = UpdateReport(pot, len(messages))
    wanted = languages if languages is not None else spec.target_languages
    for lang in _target_languages(wanted, {spec.source_language}):
        po_path = campaign_po_path(lang, spec.id, locale_dir)
        report.catalogs.append(
            merge_into(po_path, template, lang, project=f"Outreach campaign {spec.id}")
        )
    clear_cache()
    return report


__all__ = [
    "TEMPLATE_DOMAIN",
    "CatalogUpdate",
    "UpdateReport",
    "merge_into",
    "update_campaign_catalogs",
    "update_template_catalogs",
]
