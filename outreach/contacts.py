"""Contacts, groups and partners: read the campaign's CSV files, check them, normalise them.

Every problem is reported at once, each naming the file, the row as a spreadsheet user
counts it (the header is row 1) and the field. Checks are vectorised with pandas and the
per-value libraries (email-validator, phonenumbers, Babel) run once per *distinct* value,
so a 50,000-row file validates in seconds.

```python
from outreach.campaign import load_campaign
from outreach.contacts import check_sources, load_sources
from outreach.settings import Settings

spec = load_campaign("campaigns/the-way-ahead.yaml")
sources, problems = check_sources(spec, Settings())   # every problem, never just the first
sources = load_sources(spec, Settings())              # or: raise InvalidInput on problems
sources.contacts[["contact_id", "email", "phone", "consent_email", "group_pairs"]]
```

Files are UTF-8 with or without a byte-order mark; a file saved by Excel in Windows-1252
(Latin-1) is read correctly too, and `Sources.notes` says so. Unknown columns are kept in
the `extra` column (a dict per row).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import phonenumbers
from babel import Locale, UnknownLocaleError
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

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
GROUP_COLUMNS = ("dimension", "value", "label", "population_share")
GROUP_REQUIRED = ("dimension", "value", "population_share")
PARTNER_COLUMNS = ("partner_id", "name", "kind", "languages", "email", "reach")
PARTNER_REQUIRED = ("partner_id", "name", "kind", "languages")
PARTNER_KINDS = (
    "radio",
    "venue",
    "community",
    "faith",
    "school",
    "library",
    "health",
    "newspaper",
    "business",
    "other",
)
CONSENT_VALUES = {"yes": True, "no": False}
SHARE_TOLERANCE = 0.02
_NAME_CHARS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


@dataclass
class Sources:
    """The three data files of a campaign, normalised.

    `contacts`: contact_id, name, email (lower-case or None), phone (E.164 or None),
    language, groups (the original text), group_pairs (list of (dimension, value)),
    consent_email (bool), partner_id (or None), extra (dict of unknown columns), row
    (spreadsheet row). `groups`: dimension, value, label, population_share, row.
    `partners`: partner_id, name, kind, languages (the `;`-joined text), language_list,
    email (or None), reach (int), extra, row. `files` maps contacts/groups/partners to paths.
    """

    contacts: pd.DataFrame
    groups: pd.DataFrame
    partners: pd.DataFrame
    files: dict[str, Path]
    notes: list[str] = field(default_factory=list)

    def audience(self, spec: CampaignSpec) -> pd.DataFrame:
        """The contacts the campaign addresses: all, or those in `audience.groups`."""
        return select_audience(self.contacts, spec)


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
    wanted = set(spec.audience.groups)
    if not wanted or contacts.empty:
        return contacts
    mask = contacts["group_pairs"].map(lambda pairs: any(f"{d}:{v}" in wanted for d, v in pairs))
    return contacts[mask]


# --- reading ------------------------------------------------------------------------------


def display_name(path: Path) -> str:
    """The path as the user most likely wrote it: relative to the current folder if inside."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _decode(data: bytes) -> tuple[str, str | None]:
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
class _Table:
    frame: pd.DataFrame | None
    extra_columns: list[str]


def read_table(
    path: Path,
    file: str,
    known: Iterable[str],
    required: Iterable[str],
    problems: list[Problem],
    notes: list[str],
) -> _Table:
    """Read one CSV into strings (stripped), with a `row` column; never raises on content."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(file, None, "", "file not found"))
        return _Table(None, [])
    except IsADirectoryError:
        problems.append(Problem(file, None, "", "is a folder, not a CSV file"))
        return _Table(None, [])
    text, encoding = _decode(data)
    if encoding:
        notes.append(
            f"{file} is not UTF-8; it was read as {encoding}. Check accented letters and "
            "save it as UTF-8 to be sure."
        )
    if not text.strip():
        problems.append(Problem(file, None, "", "file is empty; it needs a header row"))
        return _Table(None, [])
    records = list(csv.reader(io.StringIO(text, newline="")))
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
        if not any(cell.strip() for cell in record):
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
        rows.append((record + [""] * width)[:width])
        numbers.append(number)
    unique_header = [name if name else f"column_{i + 1}" for i, name in enumerate(header)]
    frame = pd.DataFrame(rows, columns=pd.Index(unique_header), dtype=object)
    frame = frame.loc[:, ~frame.columns.duplicated()]
    frame = frame.apply(lambda column: column.str.strip()) if len(frame) else frame
    for name in known:
        if name not in frame.columns:
            frame[name] = ""
    frame["row"] = numbers
    extra = [name for name in frame.columns if name not in set(known) | {"row"}]
    return _Table(frame, extra)


def _or_none(values: pd.Series) -> pd.Series:
    """Missing values as None (not NaN), in an object column: what the store expects."""
    out = values.astype(object)
    return out.where(values.notna(), None)


def _extras(frame: pd.DataFrame, columns: list[str]) -> list[dict[str, Any]]:
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


def _plain_email(value: str) -> bool:
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
def _check_email(value: str) -> tuple[str | None, str | None]:
    """(normalised address, None) or (None, reason)."""
    if _plain_email(value):
        return value.lower(), None
    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return None, str(exc)
    return result.normalized.lower(), None


_PHONE_PUNCTUATION = re.compile(r"[\s().-]+")


def _check_phone(value: str, region: str) -> tuple[str | None, str | None]:
    # "020 7946 0001", "(020) 7946-0001" and "02079460001" are one number: check it once.
    return _check_phone_digits(_PHONE_PUNCTUATION.sub("", value), region)


@lru_cache(maxsize=200_000)
def _check_phone_digits(value: str, region: str) -> tuple[str | None, str | None]:
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


def _map_checked(
    values: pd.Series, check: Callable[[str], tuple[str | None, str | None]]
) -> tuple[pd.Series, pd.Series]:
    """Run `check` once per distinct non-empty value; return (normalised, error) series."""
    present = values[values != ""]
    results = {value: check(value) for value in present.unique()}
    normal = present.map(lambda v: results[v][0]).reindex(values.index)
    error = present.map(lambda v: results[v][1]).reindex(values.index)
    return normal, error


def _report(
    problems: list[Problem], file: str, frame: pd.DataFrame, mask: pd.Series, field: str, how: Any
) -> None:
    """One problem per row where `mask` holds; `how(row_series) -> message`."""
    for _, item in frame[mask.fillna(False).astype(bool)].iterrows():
        problems.append(Problem(file, int(item["row"]), field, how(item)))


def _duplicates(
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


# --- the three files ----------------------------------------------------------------------


def _check_groups_file(
    spec: CampaignSpec, path: Path, problems: list[Problem], notes: list[str]
) -> pd.DataFrame:
    file = display_name(path)
    table = read_table(path, file, GROUP_COLUMNS, GROUP_REQUIRED, problems, notes)
    columns = [*GROUP_COLUMNS, "row"]
    if table.frame is None:
        return pd.DataFrame(columns=columns)
    frame = table.frame
    frame["dimension"] = frame["dimension"].str.lower()
    for name in ("dimension", "value"):
        _report(problems, file, frame, frame[name] == "", name, lambda _: "is empty")
    bad_value = (frame["value"] != "") & frame["value"].str.contains(r"[;:]", regex=True)
    _report(
        problems,
        file,
        frame,
        bad_value,
        "value",
        lambda r: f"{r['value']!r} may not contain ; or :",
    )
    share = pd.to_numeric(frame["population_share"], errors="coerce")
    bad_share = share.isna() | (share < 0) | (share > 1)
    _report(
        problems,
        file,
        frame,
        bad_share,
        "population_share",
        lambda r: f"{r['population_share']!r} is not a share between 0 and 1 (write 0.25 for 25%)",
    )
    _duplicates(problems, file, frame, frame["dimension"] + ":" + frame["value"], "value", "group")
    frame["population_share"] = share
    frame["label"] = frame["label"].where(
        frame["label"] != "", frame["dimension"] + ":" + frame["value"]
    )
    if not bad_share.any():
        for dimension, total in frame.groupby("dimension")["population_share"].sum().items():
            if abs(total - 1.0) > SHARE_TOLERANCE:
                problems.append(
                    Problem(
                        file,
                        None,
                        "population_share",
                        f"the shares of dimension {dimension!r} add up to {total:.3f}, "
                        f"not 1 (within ±{SHARE_TOLERANCE})",
                    )
                )
    present = set(frame["dimension"])
    for dimension in spec.audience.dimensions:
        if dimension.lower() not in present:
            problems.append(
                Problem(
                    file,
                    None,
                    "dimension",
                    f"the campaign's audience dimension {dimension!r} has no groups here",
                )
            )
    known = set(frame["dimension"] + ":" + frame["value"])
    spec_file = display_name(spec.spec_path) if spec.spec_path else "campaign"
    for index, group in enumerate(spec.audience.groups):
        if group not in known:
            problems.append(
                Problem(spec_file, None, f"audience.groups.{index}", f"{group!r} is not in {file}")
            )
    return frame[columns].reset_index(drop=True)


def _check_partners_file(
    path: Path | None, problems: list[Problem], notes: list[str]
) -> pd.DataFrame:
    columns = [*PARTNER_COLUMNS, "language_list", "extra", "row"]
    if path is None:
        return pd.DataFrame(columns=columns)
    file = display_name(path)
    table = read_table(path, file, PARTNER_COLUMNS, PARTNER_REQUIRED, problems, notes)
    if table.frame is None:
        return pd.DataFrame(columns=columns)
    frame = table.frame
    _report(problems, file, frame, frame["partner_id"] == "", "partner_id", lambda _: "is empty")
    _report(problems, file, frame, frame["name"] == "", "name", lambda _: "is empty")
    _duplicates(problems, file, frame, frame["partner_id"], "partner_id", "partner id")
    frame["kind"] = frame["kind"].str.lower()
    _report(
        problems,
        file,
        frame,
        ~frame["kind"].isin(PARTNER_KINDS),
        "kind",
        lambda r: f"{r['kind']!r} is not a partner kind; use one of {', '.join(PARTNER_KINDS)}",
    )
    frame["language_list"] = frame["languages"].map(
        lambda text: [code.strip() for code in text.split(";") if code.strip()]
    )
    _report(
        problems,
        file,
        frame,
        frame["language_list"].map(len) == 0,
        "languages",
        lambda _: "is empty; list the partner's languages like bn;en",
    )
    unknown = frame["language_list"].map(
        lambda codes: [c for c in codes if not is_language_code(c)]
    )
    _report(
        problems,
        file,
        frame,
        unknown.map(bool),
        "languages",
        lambda r: f"unknown language code {', '.join(map(repr, unknown[r.name]))}",
    )
    email, email_error = _map_checked(frame["email"], _check_email)
    _report(
        problems,
        file,
        frame,
        email_error.notna(),
        "email",
        lambda r: f"{r['email']!r} is not a valid email address: {email_error[r.name]}",
    )
    reach = pd.to_numeric(frame["reach"].where(frame["reach"] != "", "0"), errors="coerce")
    _report(
        problems,
        file,
        frame,
        reach.isna() | (reach < 0) | (reach.fillna(0) % 1 != 0),
        "reach",
        lambda r: f"{r['reach']!r} is not a whole number of people",
    )
    frame["email"] = _or_none(email)
    frame["reach"] = reach.fillna(0).astype(int)
    frame["extra"] = _extras(frame, table.extra_columns)
    return frame[columns].reset_index(drop=True)


def _check_contacts_file(
    spec: CampaignSpec,
    settings: Settings,
    path: Path,
    groups: pd.DataFrame | None,
    partners: pd.DataFrame | None,
    problems: list[Problem],
    notes: list[str],
) -> pd.DataFrame:
    columns = [*CONTACT_COLUMNS, "group_pairs", "extra", "row"]
    file = display_name(path)
    table = read_table(path, file, CONTACT_COLUMNS, CONTACT_REQUIRED, problems, notes)
    if table.frame is None:
        return pd.DataFrame(columns=columns)
    frame = table.frame
    header_missing = {p.field for p in problems if p.file == file and p.row == 1}

    if "contact_id" not in header_missing:
        _report(
            problems, file, frame, frame["contact_id"] == "", "contact_id", lambda _: "is empty"
        )
        _duplicates(problems, file, frame, frame["contact_id"], "contact_id", "contact id")

    email, email_error = _map_checked(frame["email"], _check_email)
    _report(
        problems,
        file,
        frame,
        email_error.notna(),
        "email",
        lambda r: f"{r['email']!r} is not a valid email address: {email_error[r.name]}",
    )
    _duplicates(problems, file, frame, email, "email", "email address")

    region = settings.phone_region
    phone, phone_error = _map_checked(frame["phone"], lambda v: _check_phone(v, region))
    _report(
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
        targets = list(spec.target_languages)
        frame["language"] = frame["language"].str.replace("_", "-")
        language_ok = {code: is_language_code(code) for code in frame["language"].unique()}
        _report(
            problems,
            file,
            frame,
            frame["language"] == "",
            "language",
            lambda _: f"is empty; use one of the campaign's languages: {', '.join(targets)}",
        )
        unknown = (frame["language"] != "") & ~frame["language"].map(language_ok)
        _report(
            problems,
            file,
            frame,
            unknown,
            "language",
            lambda r: f"unknown language code {r['language']!r}; use codes like en, bn, pl",
        )
        outside = frame["language"].map(language_ok) & ~frame["language"].isin(targets)
        _report(
            problems,
            file,
            frame,
            outside,
            "language",
            lambda r: (
                f"{r['language']!r} is not one of this campaign's languages ({', '.join(targets)})"
            ),
        )

    if "consent_email" not in header_missing:
        consent_text = frame["consent_email"].str.lower()
        _report(
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

    frame["group_pairs"] = _check_contact_groups(spec, file, frame, groups, problems)

    if partners is not None:
        known_partners = set(partners["partner_id"])
        _report(
            problems,
            file,
            frame,
            (frame["partner_id"] != "") & ~frame["partner_id"].isin(known_partners),
            "partner_id",
            lambda r: f"partner {r['partner_id']!r} is not in the partners file",
        )

    unreachable = email.isna() & phone.isna() & (frame["partner_id"] == "")
    unreachable &= email_error.isna() & phone_error.isna()
    _report(
        problems,
        file,
        frame,
        unreachable,
        "email",
        lambda _: "this contact has no email, no phone and no partner: nobody can reach them",
    )

    frame["email"] = _or_none(email)
    frame["phone"] = _or_none(phone)
    frame["partner_id"] = _or_none(frame["partner_id"].where(frame["partner_id"] != ""))
    frame["extra"] = _extras(frame, table.extra_columns)
    return frame[columns].reset_index(drop=True)


def _check_contact_groups(
    spec: CampaignSpec,
    file: str,
    frame: pd.DataFrame,
    groups: pd.DataFrame | None,
    problems: list[Problem],
) -> pd.Series:
    dimensions = [d.lower() for d in spec.audience.dimensions]
    known = None if groups is None else set(zip(groups["dimension"], groups["value"], strict=True))
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


def check_sources(spec: CampaignSpec, settings: Settings) -> tuple[Sources, list[Problem]]:
    """Read the spec's contacts, groups and partners files; return them and every problem."""
    problems: list[Problem] = []
    notes: list[str] = []
    files = {"contacts": spec.data.contacts, "groups": spec.data.groups}
    if spec.data.partners is not None:
        files["partners"] = spec.data.partners
    groups = _check_groups_file(spec, spec.data.groups, problems, notes)
    partners = _check_partners_file(spec.data.partners, problems, notes)
    # A file that could not be read at all is reported once; contacts are then not checked
    # against it (that would bury the one real problem under thousands of echoes).
    partners_known = spec.data.partners is None or len(partners) > 0
    contacts = _check_contacts_file(
        spec,
        settings,
        spec.data.contacts,
        groups if len(groups) else None,
        partners if partners_known else None,
        problems,
        notes,
    )
    order = {display_name(path): i for i, path in enumerate(files.values())}
    problems.sort(key=lambda p: (order.get(p.file, -1), p.row or 0))
    return Sources(contacts, groups, partners, files, notes), problems


def load_sources(spec: CampaignSpec, settings: Settings) -> Sources:
    """Like `check_sources`, but raise `InvalidInput` listing every problem."""
    sources, problems = check_sources(spec, settings)
    if problems:
        raise InvalidInput(problems)
    return sources
