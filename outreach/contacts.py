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

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from outreach.datafiles import (
    check_email,
    check_phone,
    display_name,
    duplicates,
    extras,
    is_language_code,
    map_checked,
    or_none,
    read_table,
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
        report(problems, file, frame, frame[name] == "", name, lambda _: "is empty")
    bad_value = (frame["value"] != "") & frame["value"].str.contains(r"[;:]", regex=True)
    report(
        problems,
        file,
        frame,
        bad_value,
        "value",
        lambda r: f"{r['value']!r} may not contain ; or :",
    )
    share = pd.to_numeric(frame["population_share"], errors="coerce")
    bad_share = share.isna() | (share < 0) | (share > 1)
    report(
        problems,
        file,
        frame,
        bad_share,
        "population_share",
        lambda r: f"{r['population_share']!r} is not a share between 0 and 1 (write 0.25 for 25%)",
    )
    duplicates(problems, file, frame, frame["dimension"] + ":" + frame["value"], "value", "group")
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
    report(problems, file, frame, frame["partner_id"] == "", "partner_id", lambda _: "is empty")
    report(problems, file, frame, frame["name"] == "", "name", lambda _: "is empty")
    duplicates(problems, file, frame, frame["partner_id"], "partner_id", "partner id")
    frame["kind"] = frame["kind"].str.lower()
    report(
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
    report(
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
    report(
        problems,
        file,
        frame,
        unknown.map(bool),
        "languages",
        lambda r: f"unknown language code {', '.join(map(repr, unknown[r.name]))}",
    )
    email, email_error = map_checked(frame["email"], check_email)
    report(
        problems,
        file,
        frame,
        email_error.notna(),
        "email",
        lambda r: f"{r['email']!r} is not a valid email address: {email_error[r.name]}",
    )
    reach = pd.to_numeric(frame["reach"].where(frame["reach"] != "", "0"), errors="coerce")
    report(
        problems,
        file,
        frame,
        reach.isna() | (reach < 0) | (reach.fillna(0) % 1 != 0),
        "reach",
        lambda r: f"{r['reach']!r} is not a whole number of people",
    )
    frame["email"] = or_none(email)
    frame["reach"] = reach.fillna(0).astype(int)
    frame["extra"] = extras(frame, table.extra_columns)
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
        report(problems, file, frame, frame["contact_id"] == "", "contact_id", lambda _: "is empty")
        duplicates(problems, file, frame, frame["contact_id"], "contact_id", "contact id")

    email, email_error = map_checked(frame["email"], check_email)
    report(
        problems,
        file,
        frame,
        email_error.notna(),
        "email",
        lambda r: f"{r['email']!r} is not a valid email address: {email_error[r.name]}",
    )
    duplicates(problems, file, frame, email, "email", "email address")

    region = settings.phone_region
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
        targets = list(spec.target_languages)
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

    frame["group_pairs"] = _check_contact_groups(spec, file, frame, groups, problems)

    if partners is not None:
        known_partners = set(partners["partner_id"])
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
    frame["extra"] = extras(frame, table.extra_columns)
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
