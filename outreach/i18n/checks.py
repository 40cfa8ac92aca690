"""`validate`'s translation check: every missing (language, message), with worksheets.

```python
from outreach.i18n.checks import check_translations

problems = check_translations(spec, sources, settings)              # list[Problem]
problems = check_translations(spec, sources, settings, allow_fallback="en")
```

Languages checked: the campaign's `target_languages` plus every language a contact
reads (from `sources.contacts.summary.languages`). For each language with gaps a translator
worksheet is written to `<workdir>/worksheets/<lang>.csv` (spreadsheet) and
`<workdir>/worksheets/<lang>.po` (PO editors), holding exactly the missing messages;
`outreach translate import` reads either back.

When a machine backend is configured (`OUTREACH_TRANSLATOR` other than `catalog-only`),
the gaps are first filled with machine drafts (stored `fuzzy`); only what no engine could
supply is reported.

With `allow_fallback`, a language with gaps is not a problem (the officer chose to send
those recipients the fallback language; the ledger records it), but the fallback
language itself must be complete. Its worksheet is still written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog

from outreach.i18n.catalog import save_catalog
from outreach.i18n.coverage import MissingMessage, missing_messages
from outreach.i18n.fallback import missing_problem, unknown_language_problem
from outreach.i18n.languages import is_known
from outreach.i18n.messages import TemplateSyntaxProblem
from outreach.i18n.paths import TEMPLATE_DOMAIN
from outreach.i18n.sheets import write_sheet
from outreach.problems import Problem

log = logging.getLogger(__name__)


def needed_languages(spec: Any, sources: Any | None) -> list[str]:
    """Target languages, then any other language contacts read, in a stable order."""
    languages = list(dict.fromkeys(spec.target_languages))
    # The contacts file is checked in chunks; its summary counts languages in file order.
    summary = getattr(getattr(sources, "contacts", None), "summary", None)
    for value in getattr(summary, "languages", {}):
        value = str(value).strip()
        if value and value not in languages:
            languages.append(value)
    return languages


def worksheet_dir(settings: Any) -> Path:
    return Path(settings.workdir) / "worksheets"


def write_worksheet(settings: Any, spec: Any, lang: str, gaps: Iterable[MissingMessage]) -> Path:
    """`<workdir>/worksheets/<lang>.csv` and `.po` listing the missing messages."""
    gaps = list(gaps)
    folder = worksheet_dir(settings)
    rows = []
    po = Catalog(locale=None, project=f"Outreach worksheet: {spec.id}", charset="utf-8")
    for gap in gaps:
        catalog_name = TEMPLATE_DOMAIN if gap.kind == "template" else spec.id
        english = gap.message.id
        rows.append(
            {
                "language": lang,
                "catalog": catalog_name,
                "context": gap.message.context or "",
                "reference": gap.message.reference(),
                "english": " ||| ".join(english) if isinstance(english, tuple) else english,
                "current_translation": "",
                "status": "missing",
                "reviewed_translation": "",
            }
        )
        po.add(
            english,
            string=("", "") if isinstance(english, tuple) else "",
            locations=list(gap.message.locations),
            auto_comments=[f"catalog: {catalog_name}"],
            context=gap.message.context,
        )
    sheet = write_sheet(folder / f"{lang}.csv", rows)
    _write_worksheet_po(po, folder / f"{lang}.po", lang)
    return sheet


def _write_worksheet_po(catalog: Catalog, path: Path, lang: str) -> None:
    save_catalog(catalog, path)
    # Babel writes "Language: " only for locales it knows; reviewers' tools need the code.
    text = path.read_text(encoding="utf-8")
    if '"Language: ' not in text:
        text = text.replace('"MIME-Version:', f'"Language: {lang}\\n"\n"MIME-Version:', 1)
        path.write_text(text, encoding="utf-8")


def _machine_fill(spec: Any, settings: Any, languages: list[str]) -> list[Problem]:
    """Fill gaps with machine drafts when an engine is configured; report engine failures."""
    if getattr(settings, "translator", "catalog-only") == "catalog-only":
        return []
    from outreach.i18n.fill import fill_campaign

    problems: list[Problem] = []
    for lang in languages:
        if lang in ("en", spec.source_language) or not is_known(lang):
            continue
        report = fill_campaign(spec, settings, lang)
        problems.extend(report.problems)
    return problems


def check_translations(
    spec: Any, sources: Any, settings: Any, *, allow_fallback: str | None = None
) -> list[Problem]:
    """One problem per missing (language, message); a worksheet per incomplete language."""
    languages = needed_languages(spec, sources)
    problems: list[Problem] = []
    unknown = [lang for lang in languages if not is_known(lang)]
    problems.extend(unknown_language_problem(lang) for lang in unknown)
    known = [lang for lang in languages if lang not in unknown]
    try:
        engine_problems = _machine_fill(spec, settings, known)
        gaps_by_language = {lang: missing_messages(spec, lang) for lang in known}
    except TemplateSyntaxProblem as error:
        return problems + [Problem(error.path, None, "", f"cannot be read: {error.error}")]
    fallback_ok = False
    if allow_fallback:
        if not is_known(allow_fallback):
            problems.append(unknown_language_problem(allow_fallback))
        else:
            fallback_gaps = gaps_by_language.get(allow_fallback)
            if fallback_gaps is None:
                fallback_gaps = missing_messages(spec, allow_fallback)
                gaps_by_language[allow_fallback] = fallback_gaps
            fallback_ok = not fallback_gaps
    for lang, gaps in gaps_by_language.items():
        if not gaps:
            continue
        sheet = write_worksheet(settings, spec, lang, gaps)
        if fallback_ok and lang != allow_fallback:
            log.info(
                "%s: %d messages missing; recipients will get %s (--allow-fallback)",
                lang,
                len(gaps),
                allow_fallback,
            )
            continue
        hint = f"; worksheet for translators: {sheet} (or --allow-fallback LANG)"
        problems.extend(missing_problem(gap, hint=hint) for gap in gaps)
    return problems + engine_problems


def fallback_languages(spec: Any, sources: Any, *, allow_fallback: str | None) -> dict[str, str]:
    """{wanted: fallback} for the languages that will be sent in the fallback language."""
    if not allow_fallback:
        return {}
    result = {}
    for lang in needed_languages(spec, sources):
        if is_known(lang) and lang != allow_fallback and missing_messages(spec, lang):
            result[lang] = allow_fallback
    return result
