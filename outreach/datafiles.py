"""CSV data files as a spreadsheet user sees them, and per-value checks done once per value.

`read_table` and `open_csv` never raise on content: they report problems (file, row,
field) and read UTF-8 with or without a byte-order mark, falling back to Windows-1252 (what
Excel writes) with a note. Rows keep their spreadsheet number (header = row 1; blank lines
count). `open_csv` reads a large file in chunks, so memory does not grow with its rows.
`FirstRows` finds duplicate keys across those chunks in 24 bytes a key.

```python
from outreach.datafiles import check_email, check_phone, open_csv, read_table

problems, notes = [], []
table = read_table(path, "groups.csv", known=("value",), required=("value",),
                   problems=problems, notes=notes)      # small files: one DataFrame
csv_file = open_csv(path, "contacts.csv", ("email",), ("email",), problems, notes)
for chunk in csv_file.chunks(5000, problems):           # large files: 5,000 rows at a time
    ...
check_email("Ana@Example.org")   # ('ana@example.org', None)
check_phone("020 7946 0001", "GB")  # ('+442079460001', None)
```
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
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


@dataclass
class Table:
    frame: pd.DataFrame | None
    extra_columns: list[str]


# Tried in turn: a file that is not valid UTF-8 is what Excel on Windows saves.
ENCODINGS: tuple[tuple[str, str | None], ...] = (
    ("utf-8-sig", None),
    ("cp1252", "Windows-1252 (Latin-1)"),
    ("latin-1", "Latin-1"),
)
_BLOCK = 1 << 20


class _HashingReader(io.RawIOBase):
    """Feeds every byte read through a digest, so a reader knows *which* file it parsed."""

    def __init__(self, raw: BinaryIO, digest: Any) -> None:
        self._raw = raw
        self._digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self._raw.readinto(buffer)
        if count:
            self._digest.update(memoryview(buffer)[:count])
        return count or 0


@dataclass(frozen=True)
class Survey:
    """What one pass over the bytes found: encoding, delimiter, content, fingerprint."""

    encoding: str
    encoding_label: str | None
    delimiter: str
    empty: bool
    sha256: str


def survey(path: Path) -> Survey:
    """Read the file once in blocks: its encoding, its delimiter and its sha256.

    Decoding is incremental, so the whole file is never in memory; a file that fails as
    UTF-8 is read again as Windows-1252 (and, failing that, Latin-1, which never fails).
    """
    for encoding, label in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        digest = hashlib.sha256()
        prefix = ""
        first_line: str | None = None
        content = False
        try:
            with path.open("rb") as handle:
                while True:
                    block = handle.read(_BLOCK)
                    final = not block
                    digest.update(block)
                    text = decoder.decode(block, final=final)
                    content = content or bool(text.strip())
                    if first_line is None:
                        prefix += text
                        stripped = prefix.lstrip()
                        if "\n" in stripped or final:
                            first_line = stripped.split("\n", 1)[0]
                            prefix = ""
                    if final:
                        break
        except UnicodeDecodeError:
            continue
        # Excel in much of Europe saves "CSV" with semicolons between columns; the header
        # line tells (our own headers never contain a comma or a semicolon).
        line = first_line or ""
        delimiter = ";" if "," not in line and ";" in line else ","
        return Survey(encoding, label, delimiter, not content, digest.hexdigest())
    raise AssertionError("Latin-1 decodes any byte")  # pragma: no cover


@dataclass
class CsvFile:
    """A CSV file whose header was read and checked; its rows are read in chunks on demand.

    Each pass re-reads the file from disk and checks it is byte for byte the file that was
    surveyed (sha256), so rows read later are exactly the rows that were checked.
    """

    path: Path
    file: str
    survey: Survey
    known: tuple[str, ...]
    header: list[str]

    @property
    def columns(self) -> list[str]:
        """Header names as DataFrame columns: blank names numbered, duplicates dropped."""
        names = [name if name else f"column_{i + 1}" for i, name in enumerate(self.header)]
        return list(dict.fromkeys(names))

    @property
    def extra_columns(self) -> list[str]:
        """Columns the campaign does not know: kept, per row, in the `extra` column."""
        return [name for name in self.columns if name not in set(self.known) | {"row"}]

    def frame(self, rows: list[list[str]], numbers: list[int]) -> pd.DataFrame:
        """Rows (already padded to the header's width) as strings, with a `row` column."""
        names = [name if name else f"column_{i + 1}" for i, name in enumerate(self.header)]
        frame = pd.DataFrame(rows, columns=pd.Index(names), dtype=object)
        frame = frame.loc[:, ~frame.columns.duplicated()]
        for name in self.known:
            if name not in frame.columns:
                frame[name] = ""
        frame["row"] = numbers
        return frame

    def chunks(self, size: int, problems: list[Problem]) -> Iterator[pd.DataFrame]:
        """Frames of at most `size` rows, in file order; blank lines skipped but counted.

        Ragged rows are reported into `problems` as they are met; a file that changed since
        it was surveyed is reported too (its rows may not be what was checked).
        """
        digest = hashlib.sha256()
        width = len(self.header)
        rows: list[list[str]] = []
        numbers: list[int] = []
        with self.path.open("rb") as raw:
            reader = io.BufferedReader(_HashingReader(raw, digest), _BLOCK)
            text = io.TextIOWrapper(reader, encoding=self.survey.encoding, newline="")
            records = csv.reader(text, delimiter=self.survey.delimiter)
            next(records, None)  # the header
            for number, record in enumerate(records, start=2):
                if not "".join(record).strip():
                    continue  # blank line: spreadsheets leave them; they still count as rows
                if len(record) > width and any(cell.strip() for cell in record[width:]):
                    problems.append(
                        Problem(
                            self.file,
                            number,
                            "",
                            f"has {len(record)} values but the header has {width} columns "
                            "(a comma inside a value needs quotes)",
                        )
                    )
                rows.append([cell.strip() for cell in (record + [""] * width)[:width]])
                numbers.append(number)
                if len(rows) >= size:
                    yield self.frame(rows, numbers)
                    rows, numbers = [], []
            text.read()  # the rest (nothing after the last record), through the digest
        if rows:
            yield self.frame(rows, numbers)
        if digest.hexdigest() != self.survey.sha256:
            problems.append(Problem(self.file, None, "", FILE_CHANGED))


FILE_CHANGED = "the file changed while it was being read; check it again once it is saved"


def open_csv(
    path: Path,
    file: str,
    known: Iterable[str],
    required: Iterable[str],
    problems: list[Problem],
    notes: list[str],
) -> CsvFile | None:
    """Survey a CSV and check its header; None (with the problem) when it cannot be read."""
    try:
        found = survey(path)
    except FileNotFoundError:
        problems.append(Problem(file, None, "", "file not found"))
        return None
    except IsADirectoryError:
        problems.append(Problem(file, None, "", "is a folder, not a CSV file"))
        return None
    if found.encoding_label:
        notes.append(
            f"{file} is not UTF-8; it was read as {found.encoding_label}. Check accented "
            "letters and save it as UTF-8 to be sure."
        )
    if found.empty:
        problems.append(Problem(file, None, "", "file is empty; it needs a header row"))
        return None
    if found.delimiter == ";":
        notes.append(f"{file} uses semicolons between columns; it was read that way.")
    with path.open(encoding=found.encoding, newline="") as handle:
        first = next(csv.reader(handle, delimiter=found.delimiter), [])
    header = [name.strip().lower() for name in first]
    seen: set[str] = set()
    for name in header:
        if name in seen and name:
            problems.append(Problem(file, 1, name, "this column appears twice in the header"))
        seen.add(name)
    for name in required:
        if name not in header:
            problems.append(Problem(file, 1, name, "required column is missing"))
    return CsvFile(path, file, found, tuple(known), header)


def read_table(
    path: Path,
    file: str,
    known: Iterable[str],
    required: Iterable[str],
    problems: list[Problem],
    notes: list[str],
) -> Table:
    """Read one (small) CSV whole into strings (stripped), with a `row` column.

    Never raises on content. Large files (contacts) use `open_csv(...).chunks(...)`.
    """
    table = open_csv(path, file, known, required, problems, notes)
    if table is None:
        return Table(None, [])
    frames = list(table.chunks(sys.maxsize, problems))
    frame = frames[0] if frames else table.frame([], [])
    return Table(frame, table.extra_columns)


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


def checked_emails(
    problems: list[Problem], file: str, frame: pd.DataFrame
) -> tuple[pd.Series, pd.Series]:
    """The `email` column (normalised, error) as `map_checked` gives them, with one problem
    per invalid address: the same check for contacts and partners."""
    email, error = map_checked(frame["email"], check_email)
    report(
        problems,
        file,
        frame,
        error.notna(),
        "email",
        lambda r: f"{r['email']!r} is not a valid email address: {error[r.name]}",
    )
    return email, error


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


class FirstRows:
    """The first row at which each key (a contact id, an email address) was seen.

    Keys are kept as 128-bit fingerprints (two independent 64-bit hashes) with their row,
    in sorted numpy runs: 24 bytes a key instead of a Python string in a dict (well over
    a hundred), so a million contacts cost tens of megabytes, not hundreds. Two different
    keys share a fingerprint with probability about n²/2¹²⁹ (10⁻²⁷ at a million): a
    duplicate is reported exactly when the rows really are duplicates.
    """

    _KEYS = ("outreach-dup-key", "outreach-dup-alt")  # siphash keys: 16 bytes each

    def __init__(self) -> None:
        # Runs of (first hash, second hash, row), each sorted by first hash; run sizes
        # shrink geometrically, so there are O(log n) of them and merging costs O(n log n).
        self._runs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return sum(len(run[0]) for run in self._runs)

    def first_rows(self, keys: list[str], rows: list[int]) -> list[int]:
        """For each key (in file order), the first row it was seen at, remembering new ones.

        A key seen for the first time gets its own row back.
        """
        if not keys:
            return []
        values = np.array(keys, dtype=object)
        first_hash = pd.util.hash_array(values, hash_key=self._KEYS[0])
        second_hash = pd.util.hash_array(values, hash_key=self._KEYS[1])
        found = self._earlier(first_hash, second_hash)
        first: list[int] = []
        in_chunk: dict[str, int] = {}
        new: list[int] = []
        for index, (key, row) in enumerate(zip(keys, rows, strict=True)):
            earlier = found.get(index)
            if earlier is None:
                earlier = in_chunk.setdefault(key, row)
                if earlier == row:
                    new.append(index)
            first.append(earlier)
        self._remember(first_hash[new], second_hash[new], np.asarray(rows, dtype=np.int64)[new])
        return first

    def _earlier(self, first_hash: np.ndarray, second_hash: np.ndarray) -> dict[int, int]:
        """{index of a key: its row} for keys already remembered (earliest run first)."""
        found: dict[int, int] = {}
        for run_first, run_second, run_rows in self._runs:
            at = np.searchsorted(run_first, first_hash)
            inside = at < len(run_first)
            hits = np.flatnonzero(
                inside & (run_first[np.minimum(at, len(run_first) - 1)] == first_hash)
            )
            for index in hits.tolist():  # only real duplicates (and 64-bit near-misses)
                position = int(at[index])
                while position < len(run_first) and run_first[position] == first_hash[index]:
                    if run_second[position] == second_hash[index]:
                        found.setdefault(index, int(run_rows[position]))
                        break
                    position += 1
        return found

    def _remember(self, first_hash: np.ndarray, second_hash: np.ndarray, rows: np.ndarray) -> None:
        if not len(rows):
            return
        self._runs.append(self._sorted(first_hash, second_hash, rows))
        while len(self._runs) >= 2 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            newer = self._runs.pop()
            older = self._runs.pop()
            self._runs.append(
                self._sorted(*(np.concatenate(pair) for pair in zip(older, newer, strict=True)))
            )

    @staticmethod
    def _sorted(
        first_hash: np.ndarray, second_hash: np.ndarray, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        order = np.argsort(first_hash, kind="stable")
        return first_hash[order], second_hash[order], rows[order]
