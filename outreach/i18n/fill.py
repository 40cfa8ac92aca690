"""Fill catalog gaps with machine drafts: fuzzy, signed with engine and date, never over
reviewed work.

Only **missing** entries are filled. Approved entries (translated, not fuzzy) are never
touched by a machine, and neither are team drafts: a human draft beats a machine one.
Each machine entry is stored `fuzzy` with the translator comment
`machine draft: <engine>, <YYYY-MM-DD>` so reviewers (and `translate export`) can tell.

```python
from outreach.i18n.fill import fill_campaign

report = fill_campaign(spec, settings, "so")      # templates + campaign strings
report.filled, report.problems
```
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog

from outreach.i18n.catalog import clear_cache, entry_state, read_catalog_fresh, save_catalog
from outreach.i18n.messages import SourceMessage, campaign_messages, template_messages
from outreach.i18n.paths import (
    campaign_locale_dir_for_spec,
    campaign_po_path,
    display_path,
    template_po_path,
)
from outreach.i18n.update import new_catalog
from outreach.problems import Problem

MACHINE_COMMENT = "machine draft: {engine}, {date}"


@dataclass
class FillReport:
    language: str
    filled: int = 0
    kept_approved: int = 0
    kept_drafts: int = 0
    problems: list[Problem] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)


def _forms(message_id: str | Sequence[str]) -> list[str]:
    return list(message_id) if isinstance(message_id, tuple | list) else [message_id]


def fill_catalog(
    po_path: Path,
    lang: str,
    translator: Any,
    *,
    messages: Sequence[SourceMessage] = (),
    source: str = "en",
    project: str = "Outreach",
    report: FillReport | None = None,
    today: str | None = None,
) -> FillReport:
    """Machine-draft every missing entry of one PO file (adding `messages` it lacks)."""
    report = report or FillReport(lang)
    if po_path.exists():
        catalog: Catalog = read_catalog_fresh(po_path, lang)
    else:
        catalog = new_catalog(lang, project=project)
    for message in messages:
        if catalog.get(message.id, context=message.context) is None:
            empty = ("",) * len(message.id) if isinstance(message.id, tuple) else ""
            catalog.add(
                message.id, empty, locations=list(message.locations), context=message.context
            )
    wanted = {m.singular for m in messages}
    entries = [m for m in catalog if m.id and (not wanted or _forms(m.id)[0] in wanted)]
    gaps = [m for m in entries if entry_state(m) == "missing"]
    report.kept_approved += sum(entry_state(m) == "approved" for m in entries)
    report.kept_drafts += sum(entry_state(m) == "draft" for m in entries)
    if not gaps:
        return report
    texts = [form for entry in gaps for form in _forms(entry.id)]
    result = translator.translate_many(texts, source, lang)
    stamp = MACHINE_COMMENT.format(
        engine=translator.name, date=today or datetime.now(UTC).date().isoformat()
    )
    changed = False
    for entry in gaps:
        forms = _forms(entry.id)
        failed = [form for form in forms if form not in result.translations]
        if failed:
            why = result.failures.get(failed[0], "no translation returned")
            report.problems.append(
                Problem(
                    display_path(po_path),
                    None,
                    forms[0],
                    f"no {lang!r} translation, and machine translation failed: {why}",
                )
            )
            continue
        if isinstance(entry.id, tuple | list):
            count = max(len(entry.string), catalog.num_plurals)
            singular, plural = (result.translations[f] for f in forms[:2])
            entry.string = tuple([singular] + [plural] * (count - 1))
        else:
            entry.string = result.translations[entry.id]
        entry.flags.add("fuzzy")
        entry.user_comments = [c for c in entry.user_comments if not c.startswith("machine")]
        entry.user_comments.append(stamp)
        report.filled += 1
        changed = True
    if changed:
        catalog.revision_date = datetime.now(UTC)
        save_catalog(catalog, po_path)
        report.files.append(po_path)
        clear_cache()
    return report


def fill_templates_and_campaign(
    settings: Any,
    lang: str,
    *,
    spec: Any | None = None,
    translator: Any = None,
    store: Any = None,
) -> FillReport:
    """Machine-draft the template entries `lang` is missing, and the campaign's with `spec`."""
    if translator is None:
        from outreach.i18n.translators import make_translator

        translator = make_translator(settings, store=store)
    report = FillReport(lang)
    if lang != "en":
        fill_catalog(
            template_po_path(lang),
            lang,
            translator,
            messages=template_messages(),
            project="Outreach templates",
            report=report,
        )
    if spec is not None and lang != spec.source_language:
        locale_dir = campaign_locale_dir_for_spec(spec)
        fill_catalog(
            campaign_po_path(lang, spec.id, locale_dir),
            lang,
            translator,
            messages=campaign_messages(spec),
            source=spec.source_language,
            project=f"Outreach campaign {spec.id}",
            report=report,
        )
    return report


def fill_campaign(
    spec: Any, settings: Any, lang: str, *, translator: Any = None, store: Any = None
) -> FillReport:
    """Machine-draft the template and campaign entries `lang` is missing."""
    return fill_templates_and_campaign(
        settings, lang, spec=spec, translator=translator, store=store
    )
