"""Campaign specs: YAML in, a validated `CampaignSpec` out, every problem reported at once.

```python
from outreach.campaign import load_campaign

spec = load_campaign("campaigns/the-way-ahead.yaml")   # raises InvalidInput listing all problems
spec.event.start, spec.target_languages, spec.data.contacts
```

Relative data paths in the spec are resolved against the spec file's folder.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from outreach.problems import InvalidInput, Problem

CHANNELS = ("email", "radio", "flyer", "partner_pack")
Channel = Literal["email", "radio", "flyer", "partner_pack"]
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(m|min|h|d|w)\s*$")
_ISO_DURATION = TypeAdapter(timedelta)
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(value: Any) -> timedelta:
    """'14d', '36h', '90m', '2w', a number of seconds, or ISO 8601 ('P14D').

    ISO 8601 is what a spec stored as JSON (`model_dump(mode="json")`) holds, so a spec
    read back from the store parses exactly like the YAML it came from.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    if str(value).strip().upper().startswith("P"):
        try:
            return _ISO_DURATION.validate_python(str(value).strip())
        except ValidationError:
            pass
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a duration; write e.g. 14d, 36h, 90m or 2w")
    amount, unit = match.groups()
    return timedelta(**{_UNITS[unit]: float(amount)})


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Venue(_Model):
    name: str
    address: str
    access: str = Field(..., description="Step-free access, hearing loop, toilets, transport.")
    map_url: str | None = None


class Event(_Model):
    title: str
    description: str = ""
    start: datetime
    end: datetime
    timezone: str = "Europe/London"
    venue: Venue
    online_url: str | None = None

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("has no time zone; write it like 2027-05-20T18:30:00+01:00")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not a time zone name like Europe/London") from exc
        return value


class DataFiles(_Model):
    contacts: Path
    groups: Path
    partners: Path | None = None


class EmailChannel(_Model):
    enabled: bool = True
    cost: float = 1.0
    subject: str | None = None  # default comes from the template catalog


class RadioChannel(_Model):
    enabled: bool = True
    cost: float = 0.2
    spot_seconds: list[int] = [30, 60]
    words_per_minute: int = 150
    characters_per_minute: int = 300  # for scripts without spaces (Chinese)
    pronunciations: dict[str, str] = {}  # name or place -> how to say it


class DistributionPoint(_Model):
    id: str
    name: str
    languages: list[str] = []


class FlyerChannel(_Model):
    enabled: bool = True
    cost: float = 3.0
    sizes: list[Literal["A4", "A5"]] = ["A4", "A5"]
    bilingual: bool = True
    large_print: bool = True
    distribution_points: list[DistributionPoint] = []


class PartnerPackChannel(_Model):
    enabled: bool = True
    cost: float = 5.0


class Channels(_Model):
    email: EmailChannel = EmailChannel()
    radio: RadioChannel = RadioChannel()
    flyer: FlyerChannel = FlyerChannel()
    partner_pack: PartnerPackChannel = PartnerPackChannel()

    def enabled(self) -> list[str]:
        return [name for name in CHANNELS if getattr(self, name).enabled]

    def cost(self, channel: str) -> float:
        return float(getattr(self, channel).cost)


class Audience(_Model):
    dimensions: list[str] = Field(
        ..., min_length=1, description="Group dimensions the campaign tracks (age, birth...)."
    )
    groups: list[str] = Field(
        default_factory=list,
        description="'dimension:value' groups targeted; empty means all groups in groups.csv.",
    )
    target_ratio: float = Field(0.8, gt=0, le=2)


class Waves(_Model):
    response_window: timedelta = timedelta(days=14)
    max_waves: int = Field(4, ge=1, le=20)
    min_gap: timedelta = timedelta(days=7)
    budget_per_wave: float = Field(2000.0, gt=0)
    quiet_hours: tuple[str, str] | None = ("21:00", "08:00")

    @field_validator("response_window", "min_gap", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_validator("quiet_hours", mode="before")
    @classmethod
    def _quiet(cls, value: Any) -> Any:
        if isinstance(value, dict):
            value = (value.get("start"), value.get("end"))
        if value is not None:
            for part in value:
                if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", str(part)):
                    raise ValueError(f"{part!r} is not a time like 21:00")
        return value


class Sender(_Model):
    name: str
    email: str
    reply_to: str | None = None
    organisation: str = ""
    postal_address: str = ""  # shown in every email footer


class CampaignSpec(_Model):
    id: str = Field(..., pattern=r"^[a-z0-9][a-z0-9-]{1,98}$")
    event: Event
    source_language: str = "en"
    target_languages: list[str] = Field(..., min_length=1)
    allow_fallback: str | None = None  # language used when a translation is missing
    data: DataFiles
    channels: Channels = Channels()
    audience: Audience
    waves: Waves = Waves()
    sender: Sender
    barrier_answers: dict[str, str] = Field(
        default_factory=dict,
        description="Barrier id (time, childcare, language, cost, access, belonging) -> "
        "the campaign's answer, included in follow-ups to groups that named it.",
    )
    spec_path: Path | None = Field(None, exclude=True)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.event.timezone)


def _field_path(location: tuple[Any, ...]) -> str:
    return ".".join(str(part) for part in location)


def _plain(message: str) -> str:
    return message.removeprefix("Value error, ")


def parse_campaign(data: dict[str, Any], path: Path) -> CampaignSpec:
    """Validate a parsed spec; raise `InvalidInput` naming every bad field."""
    base = path.parent
    try:
        spec = CampaignSpec.model_validate({**data, "spec_path": path})
    except ValidationError as exc:
        problems = [
            Problem(
                str(path), None, _field_path(err["loc"]), err["msg"].removeprefix("Value error, ")
            )
            for err in exc.errors()
        ]
        raise InvalidInput(problems) from None
    files = {
        name: (value if value.is_absolute() else (base / value).resolve())
        for name, value in spec.data.model_dump().items()
        if value is not None
    }
    return spec.model_copy(update={"data": DataFiles(**files)})


def load_campaign(path: str | Path) -> CampaignSpec:
    """Read and validate a campaign YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInput([Problem(str(path), None, "", "file not found")]) from None
    except UnicodeDecodeError:
        raise InvalidInput(
            [Problem(str(path), None, "", "is not UTF-8 text; save it as UTF-8")]
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise InvalidInput([Problem(str(path), row, "", f"is not valid YAML: {exc}")]) from None
    if not isinstance(data, dict):
        raise InvalidInput([Problem(str(path), None, "", "must be a YAML mapping of settings")])
    return parse_campaign(data, path)
