"""Validate a whole campaign: the spec, its data files, its translations and its channels.

```python
from outreach.settings import Settings
from outreach.validation import validate_campaign

report = validate_campaign("campaigns/the-way-ahead.yaml", Settings())
for line in report.summary_lines():
    print(line)
for problem in report.problems:       # every problem, each with file, row and field
    print(problem)
```

A missing spec file raises `FileNotFoundError` (a usage error: exit status 2 in the CLI);
everything wrong *inside* the files is a `Problem` (exit status 1).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from outreach.campaign import CampaignSpec, load_campaign
from outreach.contacts import Sources, check_sources, display_name
from outreach.problems import InvalidInput, Problem, ProblemList

if TYPE_CHECKING:
    from outreach.settings import Settings


@dataclass
class ValidationReport:
    """What `outreach validate` found. `spec`/`sources` are None when they could not load."""

    spec: CampaignSpec | None
    sources: Sources | None
    problems: ProblemList
    notes: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def summary_lines(self) -> list[str]:
        lines: list[str] = []
        if self.spec is not None:
            event = self.spec.event
            start = event.start.astimezone(self.spec.zone)
            lines.append(
                f"Campaign {self.spec.id}: {event.title!r}, "
                f"{start:%Y-%m-%d %H:%M} {event.timezone}, at {event.venue.name}"
            )
            lines.append(f"Channels: {', '.join(self.spec.channels.enabled()) or 'none'}")
        if self.sources is not None:
            lines.extend(_source_lines(self.sources))
        lines.extend(f"Note: {note}" for note in self.notes)
        return lines


def _source_lines(sources: Sources) -> list[str]:
    # Counts gathered while the contacts file was checked chunk by chunk: the rows
    # themselves are not held (a campaign may have a million).
    contacts = sources.contacts.summary
    lines: list[str] = []
    if contacts.count:
        lines.append(
            f"Contacts: {contacts.count:,} ({contacts.with_email:,} with email, "
            f"{contacts.consented:,} consented to email, {contacts.with_phone:,} "
            f"with phone, {contacts.with_partner:,} linked to a partner)"
        )
        languages = contacts.languages
        lines.append(
            f"Languages: {len(languages)} — "
            + ", ".join(f"{code} {count:,}" for code, count in languages.most_common())
        )
    else:
        lines.append("Contacts: 0")
    groups = sources.groups
    if len(groups):
        dimensions = list(dict.fromkeys(groups["dimension"]))
        lines.append(
            f"Groups: {len(groups)} in {len(dimensions)} dimensions ({', '.join(dimensions)})"
        )
    partners = sources.partners
    if len(partners):
        kinds = Counter(partners["kind"])
        lines.append(
            f"Partners: {len(partners)} ("
            + ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
            + f"; {int(partners['email'].notna().sum())} with email)"
        )
    return lines


def check_event(spec: CampaignSpec, *, now: datetime | None = None) -> list[Problem]:
    """An event in the past, or ending before it starts, is a problem."""
    now = now or datetime.now(UTC)
    file = display_name(spec.spec_path) if spec.spec_path else "campaign"
    problems: list[Problem] = []
    if spec.event.start <= now:
        problems.append(
            Problem(
                file,
                None,
                "event.start",
                f"{spec.event.start.isoformat()} is in the past; invitations would arrive late",
            )
        )
    if spec.event.end <= spec.event.start:
        problems.append(
            Problem(
                file,
                None,
                "event.end",
                f"{spec.event.end.isoformat()} is not after the start "
                f"({spec.event.start.isoformat()})",
            )
        )
    return problems


def validate_campaign(
    path: str | Path,
    settings: Settings,
    *,
    allow_fallback: str | None = None,
    now: datetime | None = None,
) -> ValidationReport:
    """Check everything `outreach launch` relies on; send nothing, write only worksheets."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(2, "campaign spec not found", str(path))
    problems = ProblemList()
    try:
        spec = load_campaign(path)
    except InvalidInput as error:
        problems.extend(error.problems)
        return ValidationReport(None, None, problems)
    problems.extend(check_event(spec, now=now))
    sources, source_problems = check_sources(spec, settings)
    problems.extend(source_problems)
    fallback = allow_fallback or spec.allow_fallback
    # Imported here: templates and catalogs are only needed once the data itself is read.
    from outreach.channels.checks import check_channels
    from outreach.i18n.checks import check_translations

    problems.extend(check_translations(spec, sources, settings, allow_fallback=fallback))
    problems.extend(check_channels(spec, sources, settings))
    return ValidationReport(spec, sources, problems, notes=list(sources.notes))


def validated(path: str | Path, settings: Settings, **options: Any) -> ValidationReport:
    """`validate_campaign`, raising `InvalidInput` when anything is wrong (for flows)."""
    report = validate_campaign(path, settings, **options)
    if report.problems:
        raise report.problems.error()
    return report
