"""The contacts file, checked and read in chunks, so memory does not grow with contacts.

A campaign may address a million people; their file is never held whole. `check` reads it
once, `settings.chunk_size` rows at a time, reporting every problem (file, spreadsheet row,
field) and keeping only what must span chunks: the first row of each contact id and email
address (for duplicates) and counts for the officer. The result, a `ContactFile`, reads the
same file again chunk by chunk when the rows are needed (recording them in the store), and
refuses a file that changed since it was checked: what is recorded is what was checked.

```python
from outreach.contact_stream import check_contacts

problems, notes = [], []
contacts = check_contacts(spec, settings, spec.data.contacts, groups, partners,
                          problems, notes)
len(contacts), contacts.summary.languages          # counts, without holding the rows
for chunk in contacts.chunks():                     # DataFrames of <= chunk_size rows
    chunk[["contact_id", "email", "phone", "consent_email", "group_pairs"]]
```
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from outreach.datafiles import (
    FILE_CHANGED,
    CsvFile,
    FirstRows,
    check_phone,
    checked_emails,
    display_name,
    extras,
    is_language_code,
    map_checked,
    open_csv,
    or_none,
    report,
)
from outreach.problems import InvalidInput, Problem

if TYPE_CHECKING:
    from outreach.campaign import CampaignSpec
    from outreach.settings import Settings

CONTACT_COLUMNS = (
    "contact_id",
    "name",
    "email",
    "phone",
    "language",
    "groups",
    "consent_email",
    "partner_id",
)
CONTACT_REQUIRED = ("contact_id", "name", "email", "language", "groups", "consent_email")
CONSENT_VALUES = {"yes": True, "no": False}
CHECKED_COLUMNS = [*CONTACT_COLUMNS, "group_pairs", "extra", "row"]


def parse_groups(text: str) -> list[tuple[str, str]]:
    """`"age:18-24;birth:outside-uk"` -> `[("age", "18-24"), ("birth", "outside-uk")]`.

    Whitespace around parts is ignored and dimensions are lower-cased; a part without a
    colon raises `ValueError` naming it.
    """
    pairs: list[tuple[str, str]] = []
    for part in str(text or "").split(";"):
        part = part.strip()
        if not part:
            continue
        dimension, sep, value = part.partition(":")
        if not sep or not dimension.strip() or not value.strip():
            raise ValueError(f"{part!r} is not written as dimension:value")
        pairs.append((dimension.strip().lower(), value.strip()))
    return pairs


def select_audience(contacts: pd.DataFrame, spec: CampaignSpec) -> pd.DataFrame:
    """The rows (of a whole file or of one chunk) in the campaign's `audience.groups`."""
    wanted = set(spec.audience.groups)
    if not wanted or contacts.empty:
        return contacts
    mask = contacts["group_pairs"].map(lambda pairs: any(f"{d}:{v}" in wanted for d, v in pairs))
    return contacts[mask]


@dataclass(frozen=True)
class ContactRules:
    """What a contact row is checked against; small, so a re-read can check it again."""

    targets: tuple[str, ...]
    dimensions: tuple[str, ...]
    region: str
    known_groups: frozenset[tuple[str, str]] | None
    known_partners: frozenset[str] | None
    header_missing: frozenset[str]
    extra_columns: tuple[str, ...]

    @classmethod
    def build(
        cls,
        spec: CampaignSpec,
        settings: Settings,
        groups: pd.DataFrame | None,
        partners: pd.DataFrame | None,
        csv_file: CsvFile,
        header_missing: set[str],
    ) -> ContactRules:
        known_groups = (
            None
            if groups is None
            else frozenset(zip(groups["dimension"], groups["value"], strict=True))
        )
        known_partners = None if partners is None else frozenset(partners["partner_id"])
        return cls(
            tuple(spec.target_languages),
            tuple(d.lower() for d in spec.audience.dimensions),
            settings.phone_region,
            known_groups,
            known_partners,
            frozenset(header_missing),
            tuple(csv_file.extra_columns),
        )


@dataclass
class ContactSummary:
    """Counts the officer is shown and later steps need, gathered chunk by chunk.

    `languages` counts contacts per language in order of first appearance in the file.
    """

    count: int = 0
    with_email: int = 0
    consented: int = 0
    with_phone: int = 0
    with_partner: int = 0
    languages: Counter[str] = field(default_factory=Counter)

    def add(self, chunk: pd.DataFrame) -> None:
        with_email = chunk["email"].notna()
        self.count += len(chunk)
        self.with_email += int(with_email.sum())
        self.consented += int((with_email & chunk["consent_email"]).sum())
        self.with_phone += int(chunk["phone"].notna().sum())
        self.with_partner += int(chunk["partner_id"].notna().sum())
        self.languages.update(chunk["language"].tolist())


class _Duplicates:
    """Duplicate contact ids and email addresses, found across every chunk of the file."""

    def __init__(self) -> None:
        self.contact_id = FirstRows()
        self.email = FirstRows()

    @staticmethod
    def report(
        problems: list[Problem],
        file: str,
        frame: pd.DataFrame,
        key: pd.Series,
        seen: FirstRows,
        field_name: str,
        what: str,
    ) -> None:
        """A problem for each row whose key appeared in an earlier row (of any chunk)."""
        present = key.notna() & (key != "")
        values = key[present].tolist()
        rows = frame.loc[present, "row"].tolist()
        for value, row, first in zip(values, rows, seen.first_rows(values, rows), strict=True):
            if first != row:
                problems.append(
                    Problem(
                        file,
                        int(row),
                        field_name,
                        f"duplicate {what} {value!r} (also in row {first})",
                    )
                )


class ContactFile:
    """A checked contacts file: its counts, and its rows read again in chunks on demand.

    `len(contacts)` is the number of contacts. `chunks()` yields normalised DataFrames of at
    most `chunk_size` rows with the columns contact_id, name, email (lower-case or None),
    phone (E.164 or None), language, groups (the original text), group_pairs (list of
    (dimension, value)), consent_email (bool), partner_id (or None), extra (dict of
    unknown columns) and row (spreadsheet row); it raises `InvalidInput` once the file
    turns out to have changed since it was checked.
    """

    def __init__(
        self,
        csv_file: CsvFile | None,
        rules: ContactRules | None,
        chunk_size: int,
        summary: ContactSummary | None = None,
        *,
        checked: bool = True,
    ) -> None:
        self.csv_file = csv_file
        self.rules = rules
        self.chunk_size = chunk_size
        self.summary = summary or ContactSummary()
        # False when the check was deferred to the first read (see `check_contacts`).
        self.checked = checked

    @property
    def path(self) -> Path | None:
        return None if self.csv_file is None else self.csv_file.path

    def __len__(self) -> int:
        return self.summary.count

    def chunks(self) -> Iterator[pd.DataFrame]:
        """The checked rows again, read from the file `chunk_size` rows at a time.

        If the check was deferred, this first read is the check: every row is checked as
        it goes by, and once the last chunk is yielded `InvalidInput` lists every problem
        (a caller recording the chunks in one transaction then records nothing).
        """
        if self.csv_file is None or self.rules is None:
            return
        if not self.checked:
            yield from self._check_while_reading(self.csv_file, self.rules)
            return
        problems: list[Problem] = []
        for frame in self.csv_file.chunks(self.chunk_size, problems):
            yield check_chunk(self.rules, self.csv_file.file, frame, [], None)
        changed = [p for p in problems if p.message == FILE_CHANGED]
        if changed:
            raise InvalidInput(changed)

    def _check_while_reading(
        self, csv_file: CsvFile, rules: ContactRules
    ) -> Iterator[pd.DataFrame]:
        problems: list[Problem] = []
        summary = ContactSummary()
        yield from _checked_chunks(csv_file, rules, self.chunk_size, problems, summary)
        if problems:
            problems.sort(key=lambda p: p.row or 0)
            raise InvalidInput(problems)
        self.summary, self.checked = summary, True

    def read_all(self) -> pd.DataFrame:
        """Every row in one DataFrame: for small files and tests, never for a campaign."""
        frames = list(self.chunks())
        if not frames:
            return pd.DataFrame(columns=CHECKED_COLUMNS)
        return pd.concat(frames, ignore_index=True)

    def audience_chunks(self, spec: CampaignSpec) -> Iterator[pd.DataFrame]:
        """The rows the campaign addresses (all, or those in `audience.groups`), by chunk."""
        for chunk in self.chunks():
            yield select_audience(chunk, spec)


def check_contacts(
    spec: CampaignSpec,
    settings: Settings,
    path: Path,
    groups: pd.DataFrame | None,
    partners: pd.DataFrame | None,
    problems: list[Problem],
    notes: list[str],
    *,
    defer: bool = False,
) -> ContactFile:
    """Check the contacts file chunk by chunk, reporting every problem into `problems`.

    `groups`/`partners` are None when their file could not be read: contacts are then not
    checked against them (that would bury the one real problem under thousands of echoes).
    `defer=True` checks only the header now and the rows during the first `chunks()`
    pass, for a caller that reads them once anyway (recording a file `validate` checked:
    a million rows are then read twice in a launch, not three times).
    """
    file = display_name(path)
    csv_file = open_csv(path, file, CONTACT_COLUMNS, CONTACT_REQUIRED, problems, notes)
    if csv_file is None:
        return ContactFile(None, None, settings.chunk_size)
    header_missing = {p.field for p in problems if p.file == file and p.row == 1}
    rules = ContactRules.build(spec, settings, groups, partners, csv_file, header_missing)
    if defer:
        return ContactFile(csv_file, rules, settings.chunk_size, checked=False)
    summary = ContactSummary()
    for _ in _checked_chunks(csv_file, rules, settings.chunk_size, problems, summary):
        pass  # only the problems and the counts are kept
    return ContactFile(csv_file, rules, settings.chunk_size, summary)


def _checked_chunks(
    csv_file: CsvFile,
    rules: ContactRules,
    chunk_size: int,
    problems: list[Problem],
    summary: ContactSummary,
) -> Iterator[pd.DataFrame]:
    """The file's chunks, each fully checked (duplicates across chunks too) into `problems`
    and counted in `summary` as it goes by: the one check, whether up front or deferred."""
    duplicates = _Duplicates()
    for frame in csv_file.chunks(chunk_size, problems):
        chunk = check_chunk(rules, csv_file.file, frame, problems, duplicates)
        summary.add(chunk)
        yield chunk


def check_chunk(
    rules: ContactRules,
    file: str,
    frame: pd.DataFrame,
    problems: list[Problem],
    duplicates: _Duplicates | None,
) -> pd.DataFrame:
    """Check and normalise one chunk; duplicates are checked only given `duplicates`."""
    header_missing = rules.header_missing
    if "contact_id" not in header_missing:
        report(problems, file, frame, frame["contact_id"] == "", "contact_id", lambda _: "is empty")
        if duplicates is not None:
            duplicates.report(
                problems,
                file,
                frame,
                frame["contact_id"],
                duplicates.contact_id,
                "contact_id",
                "contact id",
            )

    email, email_error = checked_emails(problems, file, frame)
    if duplicates is not None:
        duplicates.report(problems, file, frame, email, duplicates.email, "email", "email address")

    region = rules.region
    phone, phone_error = map_checked(frame["phone"], lambda v: check_phone(v, region))
    report(
        problems,
        file,
        frame,
        phone_error.notna(),
        "phone",
        lambda r: (
            f"{r['phone']!r} {phone_error[r.name]} (numbers without +country are read as {region})"
        ),
    )

    if "language" not in header_missing:
        _check_languages(rules, file, frame, problems)

    if "consent_email" not in header_missing:
        consent_text = frame["consent_email"].str.lower()
        report(
            problems,
            file,
            frame,
            ~consent_text.isin(CONSENT_VALUES),
            "consent_email",
            lambda r: f"{r['consent_email']!r} is not yes or no",
        )
        frame["consent_email"] = consent_text.map(CONSENT_VALUES).fillna(False).astype(bool)
    else:
        frame["consent_email"] = False

    frame["group_pairs"] = _check_contact_groups(rules, file, frame, problems)

    if rules.known_partners is not None:
        known_partners = rules.known_partners
        report(
            problems,
            file,
            frame,
            (frame["partner_id"] != "") & ~frame["partner_id"].isin(known_partners),
            "partner_id",
            lambda r: f"partner {r['partner_id']!r} is not in the partners file",
        )

    unreachable = email.isna() & phone.isna() & (frame["partner_id"] == "")
    unreachable &= email_error.isna() & phone_error.isna()
    report(
        problems,
        file,
        frame,
        unreachable,
        "email",
        lambda _: "this contact has no email, no phone and no partner: nobody can reach them",
    )

    frame["email"] = or_none(email)
    frame["phone"] = or_none(phone)
    frame["partner_id"] = or_none(frame["partner_id"].where(frame["partner_id"] != ""))
    frame["extra"] = extras(frame, list(rules.extra_columns))
    return frame[CHECKED_COLUMNS].reset_index(drop=True)


def _check_languages(
    rules: ContactRules, file: str, frame: pd.DataFrame, problems: list[Problem]
) -> None:
    targets = list(rules.targets)
    # "EN", "pt_BR" -> the spelling the campaign uses ("en", "pt-BR") when it has it.
    by_lower = {code.lower(): code for code in targets}
    spelled = frame["language"].str.replace("_", "-")
    frame["language"] = spelled.map(lambda code: by_lower.get(code.lower(), code))
    language_ok = {code: is_language_code(code) for code in frame["language"].unique()}
    report(
        problems,
        file,
        frame,
        frame["language"] == "",
        "language",
        lambda _: f"is empty; use one of the campaign's languages: {', '.join(targets)}",
    )
    unknown = (frame["language"] != "") & ~frame["language"].map(language_ok)
    report(
        problems,
        file,
        frame,
        unknown,
        "language",
        lambda r: f"unknown language code {r['language']!r}; use codes like en, bn, pl",
    )
    outside = frame["language"].map(language_ok) & ~frame["language"].isin(targets)
    report(
        problems,
        file,
        frame,
        outside,
        "language",
        lambda r: (
            f"{r['language']!r} is not one of this campaign's languages ({', '.join(targets)})"
        ),
    )


def _check_contact_groups(
    rules: ContactRules, file: str, frame: pd.DataFrame, problems: list[Problem]
) -> pd.Series:
    dimensions = list(rules.dimensions)
    known = rules.known_groups
    parsed: dict[str, list[tuple[str, str]] | str] = {}
    for text in frame["groups"].unique():
        try:
            parsed[text] = parse_groups(text)
        except ValueError as exc:
            parsed[text] = str(exc)

    def messages(text: str) -> list[str]:
        pairs = parsed[text]
        if isinstance(pairs, str):
            return [pairs]
        found: list[str] = []
        seen: set[str] = set()
        for dimension, value in pairs:
            if dimension not in dimensions:
                found.append(
                    f"dimension {dimension!r} is not one of the campaign's audience "
                    f"dimensions ({', '.join(dimensions)})"
                )
            elif known is not None and (dimension, value) not in known:
                found.append(f"group '{dimension}:{value}' is not in groups.csv")
            if dimension in seen:
                found.append(f"has more than one {dimension} group")
            seen.add(dimension)
        return found

    by_text = {text: messages(text) for text in parsed}
    bad = frame["groups"].map(lambda text: bool(by_text[text]))
    for _, item in frame[bad].iterrows():
        for message in by_text[item["groups"]]:
            problems.append(Problem(file, int(item["row"]), "groups", message))
    return frame["groups"].map(lambda text: p if isinstance(p := parsed[text], list) else [])
