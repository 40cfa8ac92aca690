"""Community review: export catalogs for reviewers, import what they approved, see status.

Reviewers own the wording. They get a PO file (for Poedit, Weblate, Lokalize...) or a
spreadsheet (CSV; see `outreach.i18n.sheets` for the columns), correct the drafts, and
send it back:

- **PO**: an entry the reviewer left *without* the `fuzzy` flag and with a translation is
  approved; a still-fuzzy entry whose text they changed is kept as an updated draft.
- **CSV**: every row with a `reviewed_translation` is approved.

Either way the import checks every row first (message exists, placeholders kept exactly,
language matches) and applies nothing when any row is bad, listing each bad row with its
row number, so a half-imported review never happens.

```python
from outreach.i18n.review import export_catalog, import_review, catalog_status

export_catalog("so", Path("so.csv"), fmt="csv", spec=spec)
result = import_review(Path("so.csv"), spec=spec)       # raises InvalidInput on bad rows
result.approved, result.drafts
catalog_status(spec)                                     # per language counts
```
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import PoFileError, read_po, write_po

from outreach.i18n.catalog import (
    _locale_for,
    clear_cache,
    entry_state,
    load_catalog,
    read_catalog_fresh,
    save_catalog,
)
from outreach.i18n.languages import is_known
from outreach.i18n.messages import SourceMessage, campaign_messages, template_messages
from outreach.i18n.paths import (
    TEMPLATE_DOMAIN,
    campaign_locale_dir_for_spec,
    campaign_po_path,
    display_path,
    template_po_path,
)
from outreach.i18n.placeholders import placeholder_mismatch
from outreach.i18n.sheets import (
    PLURAL_SEPARATOR,
    describe_status,
    message_row,
    read_sheet,
    split_forms,
    write_sheet,
)
from outreach.problems import InvalidInput, Problem

CATALOG_COMMENT = "catalog: "
_CAMPAIGN_ID = re.compile(r"[a-z0-9][a-z0-9-]{1,98}")  # as in campaign specs; no paths


def _catalog_paths(lang: str, spec: Any | None) -> dict[str, Path]:
    paths = {TEMPLATE_DOMAIN: template_po_path(lang)}
    if spec is not None:
        paths[spec.id] = campaign_po_path(lang, spec.id, campaign_locale_dir_for_spec(spec))
    return paths


def _catalog_of(message: Message) -> str:
    for comment in message.auto_comments:
        if comment.startswith(CATALOG_COMMENT):
            return comment[len(CATALOG_COMMENT) :].strip()
    return TEMPLATE_DOMAIN


def export_catalog(
    lang: str, out: Path, *, fmt: str = "po", spec: Any | None = None, only_open: bool = False
) -> Path:
    """Write the template catalog (plus the campaign's, with `spec`) of `lang` to `out`.

    `only_open` leaves out approved entries (reviewers see only drafts and gaps).
    """
    if not is_known(lang):
        raise InvalidInput([Problem("--lang", None, "lang", f"unknown language {lang!r}")])
    rows: list[dict[str, str]] = []
    combined = Catalog(locale=_locale_for(lang), project="Outreach review", charset="utf-8")
    for name, path in _catalog_paths(lang, spec).items():
        catalog = load_catalog(path, lang)
        if catalog is None:
            raise InvalidInput(
                [
                    Problem(
                        display_path(path), None, "", "no catalog; run `outreach translate update`"
                    )
                ]
            )
        for message in catalog:
            if not message.id or (only_open and entry_state(message) == "approved"):
                continue
            rows.append(message_row(lang, name, message))
            if combined.get(message.id, context=message.context) is not None:
                continue  # same text in both catalogs: one review covers it
            combined[message.id] = Message(
                message.id,
                message.string,
                locations=message.locations,
                flags=message.flags,
                auto_comments=[
                    *message.auto_comments,
                    f"{CATALOG_COMMENT}{name}",
                    f"status: {describe_status(message)}",
                ],
                user_comments=message.user_comments,
                previous_id=message.previous_id,
                context=message.context,
            )
    if fmt == "csv":
        return write_sheet(out, rows)
    buffer = BytesIO()
    write_po(buffer, combined, width=88)
    text = buffer.getvalue().decode("utf-8")
    if '"Language: ' not in text:  # Babel omits it for codes CLDR does not know
        text = text.replace('"MIME-Version:', f'"Language: {lang}\\n"\n"MIME-Version:', 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    return out


@dataclass
class _Change:
    catalog: str
    english: str | tuple[str, ...]
    context: str | None
    translation: str | tuple[str, ...]
    approve: bool


@dataclass
class ImportResult:
    language: str
    approved: int = 0
    drafts: int = 0
    unchanged: int = 0
    files: list[Path] = field(default_factory=list)


def _align_whitespace(english: str, text: str) -> str:
    """Give a translation the English's leading/trailing whitespace (spreadsheets drop it)."""
    core = text.strip()
    lead = english[: len(english) - len(english.lstrip())]
    trail = english[len(english.rstrip()) :]
    return f"{lead}{core}{trail}"


def _po_changes(
    path: Path, lang: str | None
) -> tuple[str | None, list[tuple[int, _Change]], list[Problem]]:
    problems: list[Problem] = []
    try:
        with path.open("rb") as handle:
            catalog = read_po(handle, abort_invalid=True)
    except (PoFileError, UnicodeDecodeError, ValueError) as error:
        return lang, [], [Problem(str(path), None, "", f"is not a valid PO file: {error}")]
    header_lang = catalog.locale_identifier or _header_language(catalog)
    lang = lang or header_lang
    changes = []
    for message in catalog:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if not any(forms):
            continue
        translation = tuple(forms) if isinstance(message.id, tuple | list) else forms[0]
        changes.append(
            (
                message.lineno,
                _Change(
                    _catalog_of(message),
                    tuple(message.id) if isinstance(message.id, list) else message.id,
                    message.context,
                    translation,
                    approve=not message.fuzzy,
                ),
            )
        )
    return lang, changes, problems


def _header_language(catalog: Catalog) -> str | None:
    for name, value in catalog.mime_headers:
        if name.lower() == "language" and value.strip():
            return value.strip()
    return None


def _csv_changes(
    path: Path, lang: str | None
) -> tuple[str | None, list[tuple[int, _Change]], list[Problem]]:
    rows, bad = read_sheet(path)
    problems = [Problem(str(path), row, column, why) for row, column, why in bad]
    languages = {row.language for row in rows if row.language}
    if lang is None and len(languages) == 1:
        lang = languages.pop()
    changes = []
    for row in rows:
        if lang and row.language and row.language != lang:
            problems.append(
                Problem(str(path), row.row, "language", f"is {row.language!r}, expected {lang!r}")
            )
            continue
        if PLURAL_SEPARATOR.strip() in row.english:
            english: str | tuple[str, ...] = tuple(split_forms(row.english))
            translation: str | tuple[str, ...] = tuple(split_forms(row.reviewed))
        else:
            english = row.english
            translation = _align_whitespace(row.english, row.reviewed)
        changes.append(
            (
                row.row,
                _Change(
                    row.catalog or TEMPLATE_DOMAIN,
                    english,
                    row.context or None,
                    translation,
                    approve=True,
                ),
            )
        )
    return lang, changes, problems


def import_review(
    path: Path, *, lang: str | None = None, spec: Any | None = None, reviewer: str = ""
) -> ImportResult:
    """Apply a reviewed PO or CSV file; raises `InvalidInput` (nothing applied) on bad rows."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput([Problem(str(path), None, "", "file not found")])
    reader = _csv_changes if path.suffix.lower() == ".csv" else _po_changes
    lang, changes, problems = reader(path, lang)
    if not lang:
        raise InvalidInput(
            problems + [Problem(str(path), None, "language", "unknown; pass --lang")]
        )
    if not is_known(lang):
        raise InvalidInput(problems + [Problem(str(path), None, "language", f"unknown {lang!r}")])
    paths = _catalog_paths(lang, spec)
    # A new language's first review (say, a worksheet filled in by translators) creates its
    # catalogs from the current messages, so the reviewed rows have somewhere to go.
    if not problems and not paths[TEMPLATE_DOMAIN].exists():
        from outreach.i18n.update import update_template_catalogs

        update_template_catalogs([lang])
    if not problems and spec is not None and not paths[spec.id].exists():
        from outreach.i18n.update import update_campaign_catalogs

        update_campaign_catalogs(spec, [lang])
    catalogs: dict[str, Catalog] = {}
    for name, po_path in paths.items():
        if po_path.exists():
            catalogs[name] = read_catalog_fresh(po_path, lang)
    where = "row" if path.suffix.lower() == ".csv" else "line"
    planned: list[tuple[Message, _Change]] = []
    for row, change in changes:
        field_name = change.english[0] if isinstance(change.english, tuple) else change.english
        catalog = catalogs.get(change.catalog)
        if catalog is None and _CAMPAIGN_ID.fullmatch(change.catalog):
            # A campaign catalog addressed by its id (worksheets, exports): found without
            # --campaign when it lives where campaign catalogs are registered/shipped.
            candidate = campaign_po_path(lang, change.catalog)
            if candidate.exists():
                catalogs[change.catalog] = catalog = read_catalog_fresh(candidate, lang)
                paths[change.catalog] = candidate
        if catalog is None:
            hint = (
                "pass --campaign" if change.catalog != TEMPLATE_DOMAIN else "run translate update"
            )
            problems.append(
                Problem(
                    str(path), row, "catalog", f"no {change.catalog!r} catalog for {lang} ({hint})"
                )
            )
            continue
        entry = catalog.get(change.english, context=change.context)
        if entry is None:
            problems.append(
                Problem(
                    str(path),
                    row,
                    field_name,
                    f"{where} {row}: this English text is not in the {change.catalog!r} catalog "
                    "(was it edited, or has the template changed? run `outreach translate update`)",
                )
            )
            continue
        english_forms = change.english if isinstance(change.english, tuple) else (change.english,)
        forms = (
            change.translation if isinstance(change.translation, tuple) else (change.translation,)
        )
        for index, form in enumerate(forms):
            source = english_forms[min(index, len(english_forms) - 1)]
            mismatch = placeholder_mismatch(source, form)
            if mismatch:
                problems.append(Problem(str(path), row, field_name, mismatch))
                break
        else:
            planned.append((entry, change))
    if problems:
        raise InvalidInput(problems)
    result = ImportResult(lang)
    stamp = datetime.now(UTC).date().isoformat()
    touched: set[str] = set()
    for entry, change in planned:
        same_text = entry.string == change.translation
        if same_text and (not change.approve or not entry.fuzzy):
            result.unchanged += 1  # already approved as is, or a draft left untouched
            continue
        entry.string = change.translation
        entry.user_comments = [
            c
            for c in entry.user_comments
            if not c.startswith(("draft:", "machine draft:", "reviewed:"))
        ]
        if change.approve:
            entry.flags.discard("fuzzy")
            entry.previous_id = []
            who = f" by {reviewer}" if reviewer else ""
            entry.user_comments.append(f"reviewed: approved{who} on {stamp} ({path.name})")
            result.approved += 1
        else:
            entry.flags.add("fuzzy")
            entry.user_comments.append(f"draft: edited in review on {stamp} ({path.name})")
            result.drafts += 1
        touched.add(change.catalog)
    for name in sorted(touched):
        catalogs[name].revision_date = datetime.now(UTC)
        save_catalog(catalogs[name], paths[name])
        result.files.append(paths[name])
    clear_cache()
    return result


@dataclass
class LanguageStatus:
    language: str
    approved: int = 0
    team_drafts: int = 0
    machine_drafts: int = 0
    missing: int = 0

    @property
    def drafts(self) -> int:
        return self.team_drafts + self.machine_drafts

    @property
    def total(self) -> int:
        return self.approved + self.drafts + self.missing


def _count(status: LanguageStatus, catalog: Catalog | None, messages: list[SourceMessage]) -> None:
    for source in messages:
        entry = catalog.get(source.id, context=source.context) if catalog else None
        state = entry_state(entry) if entry is not None else "missing"
        if state == "approved":
            status.approved += 1
        elif state == "missing":
            status.missing += 1
        elif describe_status(entry).startswith("machine"):  # type: ignore[arg-type]
            status.machine_drafts += 1
        else:
            status.team_drafts += 1


def catalog_status(languages: list[str], spec: Any | None = None) -> list[LanguageStatus]:
    """Approved / draft / missing counts per language for the templates (+ campaign)."""
    templates = template_messages()
    campaign = campaign_messages(spec) if spec is not None else []
    result = []
    for lang in languages:
        status = LanguageStatus(lang)
        if lang != "en":
            _count(status, load_catalog(template_po_path(lang), lang), templates)
        if spec is not None and lang != spec.source_language:
            path = campaign_po_path(lang, spec.id, campaign_locale_dir_for_spec(spec))
            _count(status, load_catalog(path, lang), campaign)
        result.append(status)
    return result
