"""CSV data files as a spreadsheet user sees them, and per-value checks done once per value.

`read_table` never raises on content: it reports problems (file, row, field) and reads
UTF-8 with or without a byte-order mark, falling back to Windows-1252 (what Excel writes)
with a note. Rows keep their spreadsheet number (header = row 1; blank lines count).

```python
from outreach.datafiles import check_email, check_phone, read_table

problems, notes = [], []
table = read_table(path, "contacts.csv", known=("email",), required=("email",),
                   problems=problems, notes=notes)
check_email("Ana@Example.org")   # ('ana@example.org', None)
check_phone("020 7946 0001", "GB")  # ('+442079460001', None)
```
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import phonenumbers
from babel import Locale, UnknownLocaleError
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

from outreach.problems import Problem

_NAME_CHARS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")

# --- reading ------------------------------------------------------------------------------


def display_name(path: Path) -> str:
    """The path as the user most likely wrote it: relative to the current folder if inside."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def decode(data: bytes) -> tuple[str, str | None]:
    """Text and, when it was not UTF-8, the encoding used instead."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    try:
        # Excel on Windows saves "CSV" as cp1252, a superset of Latin-1's printable range.
        return data.decode("cp1252"), "Windows-1252 (Latin-1)"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "Latin-1"


@dataclass
class Table:
    frame: pd.DataFrame | None
    extra_columns: list[str]


def read_table(
    path: Path,
    file: str,
    known: Iterable[str],
    required: Iterable[str],
    problems: list[Problem],
    notes: list[str],
) -> Table:
    """Read one CSV into strings (stripped), with a `row` column; never raises on content."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(file, None, "", "file not found"))
        return Table(None, [])
    except IsADirectoryError:
        problems.append(Problem(file, None, "", "is a folder, not a CSV file"))
        return Table(None, [])
    text, encoding = decode(data)
    if encoding:
        notes.append(
            f"{file} is not UTF-8; it was read as {encoding}. Check accented letters and "
            "save it as UTF-8 to be sure."
        )
    if not text.strip():
        problems.append(Problem(file, None, "", "file is empty; it needs a header row"))
        return Table(None, [])
    # Excel in much of Europe saves "CSV" with semicolons between columns; the header line
    # tells (our own headers never contain a comma or a semicolon).
    first_line = text.lstrip().split("\n", 1)[0]
    delimiter = ";" if "," not in first_line and ";" in first_line else ","
    if delimiter == ";":
        notes.append(f"{file} uses semicolons between columns; it was read that way.")
    records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    header = [name.strip().lower() for name in records[0]]
    seen: set[str] = set()
    for name in header:
        if name in seen and name:
            problems.append(Problem(file, 1, name, "this column appears twice in the header"))
        seen.add(name)
    missing = [name for name in required if name not in header]
    for name in missing:
        problems.append(Problem(file, 1, name, "required column is missing"))
    width = len(header)
    rows: list[list[str]] = []
    numbers: list[int] = []
    for number, record in enumerate(records[1:], start=2):
        if not "".join(record).strip():
            continue  # blank line: spreadsheets leave them; they still count as rows
        if len(record) > width and any(cell.strip() for cell in record[width:]):
            problems.append(
                Problem(
                    file,
                    number,
                    "",
                    f"has {len(record)} values but the header has {width} columns "
                    "(a comma inside a value needs quotes)",
                )
            )
        rows.append([cell.strip() for cell in (record + [""] * width)[:width]])
        numbers.append(number)
    unique_header = [name if name else f"column_{i + 1}" for i, name in enumerate(header)]
    frame = pd.DataFrame(rows, columns=pd.Index(unique_header), dtype=object)
    frame = frame.loc[:, ~frame.columns.duplicated()]
    for name in known:
        if name not in frame.columns:
            frame[name] = ""
    frame["row"] = numbers
    extra = [name for name in frame.columns if name not in set(known) | {"row"}]
    return Table(frame, extra)


def or_none(values: pd.Series) -> pd.Series:
    """Missing values as None (not NaN), in an object column: what the store expects."""
    out = values.astype(object)
    return out.where(values.notna(), None)


def extras(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
    if not columns:
        return [{} for _ in range(len(frame))]
    return frame[columns].to_dict("records")


# --- per-value checks, cached: each distinct value is checked once ------------------------


# Plain ASCII addresses that email-validator certainly accepts: dot-atom local part of at
# most 64 characters, LDH domain labels, an alphabetic top-level domain, no IDNA (xn--)
# labels, no special-use domain. Anything else gets the full email-validator check. A
# test holds the two to the same answers.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PLAIN_EMAIL = re.compile(rf"^{_ATEXT}+(?:\.{_ATEXT}+)*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}$")
_SPECIAL_TLDS = tuple(f".{name}" for name in SPECIAL_USE_DOMAIN_NAMES)


def plain_email(value: str) -> bool:
    if len(value) > 254 or not _PLAIN_EMAIL.match(value):
        return False
    local, _, domain = value.rpartition("@")
    domain = domain.lower()
    return (
        len(local) <= 64
        and "--" not in domain
        and not domain.endswith(_SPECIAL_TLDS)
        and len(domain) <= 253
    )


@lru_cache(maxsize=200_000)
def check_email(value: str) -> tuple[str | None, str | None]:
    """(normalised address, None) or (None, reason)."""
    if plain_email(value):
        return value.lower(), None
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, str(exc)
    return result.normalized.lower(), None


_PHONE_PUNCTUATION = re.compile(r"[\s().-]+")


def check_phone(value: str, region: str) -> tuple[str | None, str | None]:
    # "020 7946 0001", "(020) 7946-0001" and "02079460001" are one number: check it once.
    return check_phone_digits(_PHONE_PUNCTUATION.sub("", value), region)


@lru_cache(maxsize=200_000)
def check_phone_digits(value: str, region: str) -> tuple[str | None, str | None]:
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None, "is not a phone number"
    # Most numbers belong to the default region; checking that one region first is several
    # times cheaper than is_valid_number, which tries every region sharing the country code.
    if not (
        phonenumbers.is_valid_number_for_region(number, region)
        or phonenumbers.is_valid_number(number)
    ):
        return None, "is not a valid phone number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


@lru_cache(maxsize=2_000)
def is_language_code(code: str) -> bool:
    """Babel knows the language (`en`, `pt-BR`, `zh_Hans`...)."""
    if not code or not _NAME_CHARS.match(code):
        return False
    try:
        Locale.parse(code.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return False
    return True


def map_checked(
    values: pd.Series, check: Callable[[str], tuple[str | None, str | None]]
) -> tuple[pd.Series, pd.Series]:
    """Run `check` once per distinct non-empty value; return (normalised, error) series."""
    present = values[values != ""]
    results = {value: check(value) for value in present.unique()}
    normal = present.map(lambda v: results[v][0]).reindex(values.index)
    error = present.map(lambda v: results[v][1]).reindex(values.index)
    return normal, error


def report(
    problems: list[Problem], file: str, frame: pd.DataFrame, mask: pd.Series, field: str, how: Any
) -> None:
    """One problem per row where `mask` holds; `how(row_series) -> message`."""
    for _, item in frame[mask.fillna(False).astype(bool)].iterrows():
        problems.append(Problem(file, int(item["row"]), field, how(item)))


def duplicates(
    problems: list[Problem], file: str, frame: pd.DataFrame, key: pd.Series, field: str, what: str
) -> None:
    present = key.notna() & (key != "")
    first_row = frame.loc[present].groupby(key[present])["row"].transform("min")
    dup = present & key.duplicated(keep="first")
    for index in frame.index[dup]:
        problems.append(
            Problem(
                file,
                int(frame.at[index, "row"]),
                field,
                f"duplicate {what} {key[index]!r} (also in row {int(first_row[index])})",
            )
        )
