"""Contacts, groups and partners: read the campaign's CSV files, check them, normalise them.

Every problem is reported at once, each naming the file, the row as a spreadsheet user
counts it (the header is row 1) and the field. Checks are vectorised with pandas and the
per-value libraries (email-validator, phonenumbers, Babel) run once per *distinct* value,
so a 50,000-row file validates in seconds. The contacts file is checked and read in chunks
of `settings.chunk_size` rows (`outreach.contact_stream`): memory does not grow with it.

```python
from outreach.campaign import load_campaign
from outreach.contacts import check_sources, load_sources
from outreach.settings import Settings

spec = load_campaign("campaigns/the-way-ahead.yaml")
sources, problems = check_sources(spec, Settings())   # every problem, never just the first
sources = load_sources(spec, Settings())              # or: raise InvalidInput on problems
len(sources.contacts), sources.contacts.summary.languages
for chunk in sources.contacts.chunks():              # settings.chunk_size rows at a time
    chunk[["contact_id", "email", "phone", "consent_email", "group_pairs"]]
```

Files are UTF-8 with or without a byte-order mark; a file saved by Excel in Windows-1252
(Latin-1) is read correctly too, and `Sources.notes` says so. Unknown columns are kept in
the `extra` column (a dict per row).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from outreach.contact_stream import ContactFile, check_contacts, parse_groups
from outreach.datafiles import (
    checked_emails,
    display_name,
    duplicates,
    extras,
    is_language_code,
    or_none,
    read_table,
    report,
)
from outreach.problems import InvalidInput, Problem

if TYPE_CHECKING:
    from outreach.campaign import CampaignSpec
    from outreach.settings import Settings

# `parse_groups` lives with the contacts file it parses, and is still importable from here.
__all__ = ["ContactFile", "Sources", "check_sources", "load_sources", "parse_groups"]

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
SHARE_TOLERANCE = 0.02


@dataclass
class Sources:
    """The three data files of a campaign, normalised.

    `contacts` is a `ContactFile`: counts (`len`, `.summary`) and the rows read again in
    chunks (`.chunks()`), never the whole list at once; a campaign may have a million.
    `groups`: dimension, value, label, population_share, row. `partners`: partner_id, name,
    kind, languages (the `;`-joined text), language_list, email (or None), reach (int),
    extra, row. `files` maps contacts/groups/partners to paths.
    """

    contacts: ContactFile
    groups: pd.DataFrame
    partners: pd.DataFrame
    files: dict[str, Path]
    notes: list[str] = field(default_factory=list)

    def audience_chunks(self, spec: CampaignSpec) -> Iterator[pd.DataFrame]:
        """The contacts the campaign addresses (all, or those in `audience.groups`), by chunk."""
        return self.contacts.audience_chunks(spec)


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
    email, _ = checked_emails(problems, file, frame)
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


def check_sources(
    spec: CampaignSpec, settings: Settings, *, defer_contacts: bool = False
) -> tuple[Sources, list[Problem]]:
    """Read the spec's contacts, groups and partners files; return them and every problem.

    `defer_contacts=True`: the contacts' rows are checked while they are first read (see
    `contact_stream.check_contacts`); their problems are raised then, not returned here.
    """
    problems: list[Problem] = []
    notes: list[str] = []
    files = {"contacts": spec.data.contacts, "groups": spec.data.groups}
    if spec.data.partners is not None:
        files["partners"] = spec.data.partners
    groups = _check_groups_file(spec, spec.data.groups, problems, notes)
    partners = _check_partners_file(spec.data.partners, problems, notes)
    # A file that could not be read at all is reported once; contacts are then not checked
    # against it (that would bury the one real problem under thousands of echoes).
    # The contacts file is checked in chunks of settings.chunk_size rows.
    partners_known = spec.data.partners is None or len(partners) > 0
    contacts = check_contacts(
        spec,
        settings,
        spec.data.contacts,
        groups if len(groups) else None,
        partners if partners_known else None,
        problems,
        notes,
        defer=defer_contacts,
    )
    order = {display_name(path): i for i, path in enumerate(files.values())}
    problems.sort(key=lambda p: (order.get(p.file, -1), p.row or 0))
    return Sources(contacts, groups, partners, files, notes), problems


def load_sources(
    spec: CampaignSpec, settings: Settings, *, defer_contacts: bool = False
) -> Sources:
    """Like `check_sources`, but raise `InvalidInput` listing every problem."""
    sources, problems = check_sources(spec, settings, defer_contacts=defer_contacts)
    if problems:
        raise InvalidInput(problems)
    return sources
