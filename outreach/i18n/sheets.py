"""The review spreadsheet: one CSV format for translator worksheets and review exports.

Reviewers without a PO editor work in a spreadsheet. Each row is one message:

| column | meaning |
|---|---|
| `language` | the language code of the translation (`so`) |
| `catalog` | `messages` (templates) or the campaign id (`the-way-ahead`) |
| `context` | gettext context, usually empty |
| `reference` | where the message is used |
| `english` | the English text (plural entries: `singular ||| plural`) |
| `current_translation` | the text in the catalog now (empty when missing) |
| `status` | `approved`, `team draft`, `machine draft (<engine>, <date>)` or `missing` |
| `reviewed_translation` | **fill this in**: the reviewed text; empty rows are ignored |

Placeholders such as `%(name)s` must be kept exactly; `outreach translate import` checks.
Plural entries separate their forms with ` ||| ` in both `english` and the translation.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Message

from outreach.i18n.catalog import entry_state

COLUMNS = (
    "language",
    "catalog",
    "context",
    "reference",
    "english",
    "current_translation",
    "status",
    "reviewed_translation",
)
PLURAL_SEPARATOR = " ||| "
MACHINE_COMMENT = re.compile(r"^machine draft: (?P<engine>[\w.-]+), (?P<date>[\d-]+)")
TEAM_COMMENT_PREFIX = "draft: written by the Outreach team"


@dataclass
class SheetRow:
    row: int  # spreadsheet row number (header is row 1)
    language: str
    catalog: str
    context: str
    english: str
    reviewed: str


def join_forms(value: str | tuple[str, ...] | list[str]) -> str:
    if isinstance(value, tuple | list):
        return PLURAL_SEPARATOR.join(value)
    return value or ""


def split_forms(text: str) -> list[str]:
    return [part.strip() for part in text.split(PLURAL_SEPARATOR.strip())]


def describe_status(message: Message) -> str:
    """approved / team draft / machine draft (engine, date) / missing, from the comments."""
    state = entry_state(message)
    if state != "draft":
        return state
    for comment in message.user_comments + message.auto_comments:
        found = MACHINE_COMMENT.match(comment.strip())
        if found:
            return f"machine draft ({found['engine']}, {found['date']})"
    return "team draft"


def message_row(language: str, catalog_name: str, message: Message) -> dict[str, str]:
    reference = " ".join(f"{f}:{line}" if line else f for f, line in message.locations)
    current = "" if entry_state(message) == "missing" else join_forms(message.string)
    return {
        "language": language,
        "catalog": catalog_name,
        "context": message.context or "",
        "reference": reference,
        "english": join_forms(message.id),
        "current_translation": current,
        "status": describe_status(message),
        "reviewed_translation": "",
    }


def write_sheet(path: Path, rows: list[dict[str, str]]) -> Path:
    """Write rows as UTF-8 CSV with a BOM (spreadsheet programs then read it as UTF-8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_sheet(path: Path) -> tuple[list[SheetRow], list[tuple[int, str, str]]]:
    """Rows with a reviewed translation, and (row, field, message) for each bad row."""
    rows: list[SheetRow] = []
    bad: list[tuple[int, str, str]] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in (reader.fieldnames or [])]
        missing = [name for name in ("english", "reviewed_translation") if name not in header]
        if missing:
            bad.append((1, ", ".join(missing), "column is missing from the header"))
            return rows, bad
        for number, raw in enumerate(reader, start=2):
            record = {(key or "").strip(): (value or "") for key, value in raw.items()}
            reviewed = record.get("reviewed_translation", "").strip()
            if not reviewed:
                continue
            english = record.get("english", "")
            if not english.strip():
                bad.append((number, "english", "is empty; the row cannot be matched"))
                continue
            rows.append(
                SheetRow(
                    row=number,
                    language=record.get("language", "").strip(),
                    catalog=record.get("catalog", "").strip(),
                    context=record.get("context", ""),
                    english=english,
                    reviewed=reviewed,
                )
            )
    return rows, bad
