"""Offline responses: sign-in sheets, phone and text logs, radio call-ins (CSV).

Columns (header row required; names are case-insensitive; unknown columns are ignored):

| column | meaning |
|---|---|
| `code` | the short code people quote (`RADIO-7K`, from a flyer or a radio script) — or |
| `token` | the signed token from a link or QR code; one of the two is required |
| `answer` | `yes`, `no` or `maybe` (required unless `attended` is yes) |
| `attended` | `yes`/`no` (also `1`/`0`, `true`/`false`, `x`): a sign-in sheet row |
| `date` | when: `2027-05-03`, `2027-05-03 18:40`, `03/05/2027` (day first); event's time zone |
| `party_size` | people including the respondent, 1–20 (default 1) |
| `name`, `email`, `phone` | matched to known contacts (email lower-cased, phone E.164) |
| `groups` | self-described groups, `age:18-24;birth:outside-uk` (the campaign's groups) |
| `barriers` | `time;childcare;language;cost;access;belonging` |
| `heard_via` | email, radio, flyer, partner, friend, social, other |
| `access_needs`, `notes` | free text |

Every row that cannot be used is reported (row number as a spreadsheet shows it, field,
reason) and skipped; the rest are imported. Each row's event id is a hash of the campaign
and the normalised row (plus its occurrence number, so two identical anonymous call-ins
count twice), so importing the same file again adds nothing.

```python
report = import_responses(store, settings, "the-way-ahead", Path("radio-calls.csv"))
report.imported, report.duplicates, [str(p) for p in report.problems]
```
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select

from outreach.problems import InvalidInput, Problem
from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import Campaign, Contact, Group
from outreach.tracking import _deps
from outreach.tracking.events import BARRIERS, HEARD_VIA, MAX_PARTY, insert_events, resolve_delivery
from outreach.tracking.tokens import BadToken, TokenPayload, TokenSigner

COLUMNS = (
    "date",
    "code",
    "token",
    "answer",
    "attended",
    "party_size",
    "name",
    "email",
    "phone",
    "groups",
    "barriers",
    "heard_via",
    "access_needs",
    "notes",
)
_ANSWERS = {
    "yes": "yes",
    "y": "yes",
    "coming": "yes",
    "attending": "yes",
    "no": "no",
    "n": "no",
    "not coming": "no",
    "maybe": "maybe",
    "m": "maybe",
    "perhaps": "maybe",
    "not sure": "maybe",
}
_TRUE = {"yes", "y", "true", "1", "x", "✓", "attended"}
_FALSE = {"", "no", "n", "false", "0"}
_DATE_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%d/%m/%Y",
    "%d/%m/%Y %H:%M",
    "%d/%m/%y",
)
_CHUNK = 500


@dataclass
class ImportReport:
    """What an import did: new events, rows already imported, and every unusable row."""

    imported: int
    duplicates: int
    problems: list[Problem] = field(default_factory=list)
    matched: int = 0  # rows attributed to a known contact
    rows: int = 0  # data rows read


@dataclass
class _Row:
    number: int
    payload: TokenPayload
    kind: str
    answer: str | None
    party_size: int
    occurred_at: datetime | None
    name: str
    email: str
    phone: str
    groups: list[str]
    barriers: list[str]
    heard_via: str
    access_needs: str
    notes: str

    def normalised(self) -> dict[str, Any]:
        return {
            "code": [
                self.payload.campaign,
                self.payload.wave,
                self.payload.channel,
                self.payload.language,
                self.payload.delivery,
                self.payload.partner,
                self.payload.point,
            ],
            "kind": self.kind,
            "answer": self.answer,
            "party_size": self.party_size,
            "date": self.occurred_at.isoformat() if self.occurred_at else "",
            "name": " ".join(self.name.casefold().split()),
            "email": self.email,
            "phone": self.phone,
            "groups": sorted(self.groups),
            "barriers": sorted(self.barriers),
            "heard_via": self.heard_via,
            "access_needs": self.access_needs.strip(),
            "notes": self.notes.strip(),
        }


class _Reader:
    """Turns CSV rows into `_Row`s, collecting every problem."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        campaign_id: str,
        path: Path,
        zone: ZoneInfo,
        groups: set[str],
    ) -> None:
        self.store = store
        self.settings = settings
        self.campaign_id = campaign_id
        self.file = str(path)
        self.zone = zone
        self.groups = groups
        self.signer = TokenSigner(settings.secret_key_value())
        self.codes: dict[str, TokenPayload | None] = {}

    def problem(self, row: int, column: str, message: str) -> Problem:
        return Problem(self.file, row, column, message)

    def attribution(
        self, number: int, code: str, token: str
    ) -> tuple[TokenPayload | None, list[Problem]]:
        if token:
            try:
                payload = self.signer.verify(token)
            except BadToken:
                return None, [self.problem(number, "token", "is not a valid Outreach token")]
            column = "token"
        elif code:
            if code not in self.codes:
                self.codes[code] = _deps.resolve_code(self.store, code)
            payload = self.codes[code]
            if payload is None:
                return None, [
                    self.problem(number, "code", f"{code!r} is not a known tracking code")
                ]
            column = "code"
        else:
            return None, [
                self.problem(
                    number,
                    "code",
                    "is empty; write the short code people quoted "
                    "(for example RADIO-7K) or the link's token",
                )
            ]
        if payload.campaign != self.campaign_id:
            return None, [
                self.problem(
                    number,
                    column,
                    f"belongs to campaign {payload.campaign!r}, not {self.campaign_id!r}",
                )
            ]
        return payload, []

    def parse_date(self, number: int, text: str) -> tuple[datetime | None, list[Problem]]:
        if not text:
            return None, []
        for pattern in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, pattern)
            except ValueError:
                continue
            return parsed.replace(tzinfo=self.zone), []
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None, [
                self.problem(
                    number, "date", f"{text!r} is not a date like 2027-05-03 or 03/05/2027 18:40"
                )
            ]
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=self.zone)), []

    def read(self, number: int, raw: dict[str, str]) -> tuple[_Row | None, list[Problem]]:
        get = {k: (raw.get(k) or "").strip() for k in COLUMNS}
        problems: list[Problem] = []
        payload, found = self.attribution(number, get["code"], get["token"])
        problems += found
        attended_text = get["attended"].lower()
        attended = attended_text in _TRUE
        if attended_text not in _TRUE | _FALSE:
            problems.append(
                self.problem(number, "attended", f"{get['attended']!r} is not yes or no")
            )
        answer = _ANSWERS.get(get["answer"].lower()) if get["answer"] else None
        if get["answer"] and answer is None:
            problems.append(
                self.problem(number, "answer", f"{get['answer']!r} is not yes, no or maybe")
            )
        elif answer is None and not attended:
            problems.append(
                self.problem(
                    number,
                    "answer",
                    "is empty; write yes, no or maybe (or attended = yes for a sign-in sheet)",
                )
            )
        party = 1
        if get["party_size"]:
            try:
                party = int(get["party_size"])
                if not 1 <= party <= MAX_PARTY:
                    raise ValueError
            except ValueError:
                problems.append(
                    self.problem(
                        number,
                        "party_size",
                        f"{get['party_size']!r} is not a number from 1 to {MAX_PARTY}",
                    )
                )
        occurred, found = self.parse_date(number, get["date"])
        problems += found
        email = ""
        if get["email"]:
            try:
                email = validate_email(get["email"], check_deliverability=False).normalized.lower()
            except EmailNotValidError:
                problems.append(
                    self.problem(number, "email", f"{get['email']!r} is not a valid email address")
                )
        phone = ""
        if get["phone"]:
            try:
                parsed = phonenumbers.parse(get["phone"], self.settings.phone_region)
                if not phonenumbers.is_possible_number(parsed):
                    raise phonenumbers.NumberParseException(1, "invalid")
                phone = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            except phonenumbers.NumberParseException:
                problems.append(
                    self.problem(number, "phone", f"{get['phone']!r} is not a valid phone number")
                )
        groups = [g.strip() for g in get["groups"].split(";") if g.strip()]
        for group in groups:
            if group not in self.groups:
                problems.append(
                    self.problem(
                        number,
                        "groups",
                        f"{group!r} is not one of the campaign's groups (dimension:value)",
                    )
                )
        barriers = [
            b.strip().lower() for b in get["barriers"].replace(",", ";").split(";") if b.strip()
        ]
        for barrier in barriers:
            if barrier not in BARRIERS:
                problems.append(
                    self.problem(
                        number, "barriers", f"{barrier!r} is not one of {', '.join(BARRIERS)}"
                    )
                )
        heard = get["heard_via"].lower()
        if heard and heard not in HEARD_VIA:
            problems.append(
                self.problem(number, "heard_via", f"{heard!r} is not one of {', '.join(HEARD_VIA)}")
            )
        if problems or payload is None:
            return None, problems
        return _Row(
            number=number,
            payload=payload,
            kind="attended" if attended else "rsvp",
            answer=answer or ("yes" if attended else None),
            party_size=party,
            occurred_at=occurred,
            name=get["name"],
            email=email,
            phone=phone,
            groups=groups,
            barriers=barriers,
            heard_via=heard,
            access_needs=get["access_needs"],
            notes=get["notes"],
        ), []


def _match_contacts(store: Store, rows: list[_Row]) -> dict[int, int]:
    """Row number -> contact pk, by email, then phone, then a name only one contact has."""
    emails = {r.email for r in rows if r.email}
    phones = {r.phone for r in rows if r.phone}
    names = {" ".join(r.name.split()).lower() for r in rows if r.name}
    by_email: dict[str, int] = {}
    by_phone: dict[str, int] = {}
    by_name: dict[str, list[int]] = {}
    live = Contact.erased_at.is_(None)
    with store.session() as session:
        for chunk in _chunks(sorted(emails)):
            for pk, email in session.execute(
                select(Contact.id, Contact.email).where(live, Contact.email.in_(chunk))
            ):
                by_email[email] = pk
        for chunk in _chunks(sorted(phones)):
            for pk, phone in session.execute(
                select(Contact.id, Contact.phone).where(live, Contact.phone.in_(chunk))
            ):
                by_phone[phone] = pk
        for chunk in _chunks(sorted(names)):
            lowered = func.lower(Contact.name)
            for pk, name in session.execute(
                select(Contact.id, lowered).where(live, lowered.in_(chunk))
            ):
                by_name.setdefault(name, []).append(pk)
    matched: dict[int, int] = {}
    for row in rows:
        name = " ".join(row.name.split()).lower()
        pk = by_email.get(row.email) or by_phone.get(row.phone)
        if pk is None and name and len(by_name.get(name, [])) == 1:
            pk = by_name[name][0]
        if pk is not None:
            matched[row.number] = pk
    return matched


def _chunks(items: list[str], size: int = _CHUNK) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInput([Problem(str(path), None, "", "file not found")]) from None
    except UnicodeDecodeError:
        raise InvalidInput(
            [Problem(str(path), None, "", "is not UTF-8 text; save it as CSV UTF-8")]
        ) from None
    # csv.reader (not DictReader) so a blank line still counts as a row: row numbers must
    # match what the spreadsheet shows.
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records:
        return [], []
    header = [(h or "").strip().lower() for h in records[0]]
    rows = [dict(zip(header, record, strict=False)) for record in records[1:]]
    return header, rows


def import_responses(
    store: Store, settings: Settings, campaign_id: str, path: Path
) -> ImportReport:
    """Import a CSV of offline responses into `campaign_id`; see the module docs for columns.

    Raises `InvalidInput` when the file cannot be used at all (missing, not UTF-8, no
    `code`/`token` or `answer`/`attended` column, unknown campaign); otherwise returns
    an `ImportReport` listing every skipped row.
    """
    path = Path(path)
    with store.session() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise InvalidInput(
                [
                    Problem(
                        str(path),
                        None,
                        "--campaign",
                        f"there is no campaign {campaign_id!r} in the store; launch it first",
                    )
                ]
            )
        zone = ZoneInfo(
            ((campaign.spec or {}).get("event") or {}).get("timezone") or "Europe/London"
        )
        groups = {
            f"{d}:{v}"
            for d, v in session.execute(
                select(Group.dimension, Group.value).where(Group.campaign_id == campaign_id)
            )
        }
    header, raw_rows = _read_csv(path)
    missing = []
    if not {"code", "token"} & set(header):
        missing.append(Problem(str(path), 1, "code", "the header has no code (or token) column"))
    if not {"answer", "attended"} & set(header):
        missing.append(
            Problem(str(path), 1, "answer", "the header has no answer (or attended) column")
        )
    if missing:
        raise InvalidInput(missing)
    reader = _Reader(store, settings, campaign_id, path, zone, groups)
    good: list[_Row] = []
    problems: list[Problem] = []
    for index, raw in enumerate(raw_rows):
        number = index + 2  # the header is row 1
        if not any((value or "").strip() for value in raw.values() if isinstance(value, str)):
            continue  # blank line
        row, found = reader.read(number, raw)
        problems += found
        if row is not None:
            good.append(row)
    matched = _match_contacts(store, good)
    events = []
    occurrences: Counter[str] = Counter()
    with store.session() as session:
        for row in good:
            delivery_id, delivery_contact = resolve_delivery(session, row.payload)
            contact_pk = delivery_contact or matched.get(row.number)
            canonical = json.dumps(row.normalised(), sort_keys=True, ensure_ascii=False)
            occurrences[canonical] += 1
            digest = hashlib.sha256(
                f"{campaign_id}|{canonical}|{occurrences[canonical]}".encode()
            ).hexdigest()
            event: dict[str, Any] = {
                "external_id": f"import:{digest[:48]}",
                "campaign_id": campaign_id,
                "wave": row.payload.wave,
                "channel": row.payload.channel,
                "language": row.payload.language,
                "kind": row.kind,
                "answer": row.answer,
                "party_size": (row.party_size if row.answer != "no" else 0) if row.answer else None,
                "source": "import",
                "delivery_id": delivery_id,
                "contact_pk": contact_pk,
                "partner_id": row.payload.partner,
                "point": row.payload.point,
                "self_groups": ";".join(sorted(set(row.groups))) or None,
                "data": {
                    "barriers": sorted(set(row.barriers)),
                    "heard_via": row.heard_via,
                    "access_needs": row.access_needs,
                    "notes": row.notes,
                    "file": path.name,
                    "row": row.number,
                },
            }
            if row.occurred_at is not None:
                event["occurred_at"] = row.occurred_at
            events.append(event)
    imported = sum(
        insert_events(store, events[i : i + _CHUNK]) for i in range(0, len(events), _CHUNK)
    )
    return ImportReport(
        imported=imported,
        duplicates=len(events) - imported,
        problems=sorted(problems, key=lambda p: (p.row or 0, p.field)),
        matched=sum(1 for e in events if e["contact_pk"] is not None),
        rows=sum(
            1
            for raw in raw_rows
            if any((v or "").strip() for v in raw.values() if isinstance(v, str))
        ),
    )
