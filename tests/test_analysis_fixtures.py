"""A small fixture campaign built directly in the store, with hand-countable numbers.

Used by the other `test_analysis_*` modules (`from test_analysis_fixtures import ...`).

Contacts (wave 1 email, all sent):
- 1..40   born outside the UK, aged 15-64, main language Somali; 1..12 got English
          because the Somali translation was missing (fallback);
- 41..100 born in the UK, 41..80 aged 15-64 and 81..100 aged 65+, main language English.
RSVPs through email, wave 1: 1..7 yes (7 of the 40 → 17.5%); 41..70 yes (contact 41 first
said "no", then "yes"), 71..72 maybe, 73..75 no.
Opens: 1..20 (contacts 1..5 opened twice), 41..90. Attended: 41..45.
Radio (wave 1, Somali, no contact records): 3 yes describing themselves as born outside the
UK with Somali as main language, 2 yes who said nothing, 1 maybe aged 65+.
Flyer (wave 1, Somali): 1 yes born outside the UK, naming childcare and cost as barriers.
Materials: 2 radio spots and 2 flyers in Somali; a partner pack sent to one partner.
Wave 2 email: contacts 8..30 (outside the UK); 8..12 yes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from outreach.campaign import load_campaign
from outreach.store import Store
from outreach.store.models import (
    Campaign,
    CampaignContact,
    Contact,
    ContactGroup,
    Delivery,
    Group,
    Material,
    Partner,
    ResponseEvent,
    Wave,
)

CAMPAIGN = "the-way-ahead"
GROUPS = [
    ("age", "15-64", "Aged 15 to 64", 0.855),
    ("age", "65-plus", "Aged 65 and over", 0.145),
    ("birth", "uk", "Born in the UK", 0.594),
    ("birth", "outside-uk", "Born outside the UK", 0.406),
    ("language", "en", "Main language English", 0.784),
    ("language", "so", "Main language Somali", 0.005),
    ("language", "other", "Main language another language", 0.211),
]
T0 = datetime(2027, 4, 1, 9, 0, tzinfo=UTC)


class _Events:
    def __init__(self) -> None:
        self.rows: list[ResponseEvent] = []

    def add(self, kind: str, channel: str, wave: int, language: str, **fields: object) -> None:
        n = len(self.rows)
        self.rows.append(
            ResponseEvent(
                external_id=f"ev-{n}",
                campaign_id=CAMPAIGN,
                wave=wave,
                channel=channel,
                language=language,
                kind=kind,
                source="simulated",
                occurred_at=fields.pop("occurred_at", T0 + timedelta(minutes=n)),  # type: ignore[arg-type]
                data=fields.pop("data", {}),  # type: ignore[arg-type]
                **fields,
            )
        )


def build_fixture_campaign(store: Store, sample_campaign: object) -> dict[int, int]:
    """Write the campaign above; returns contact number -> delivery id for wave 1."""
    spec = load_campaign(sample_campaign).model_dump(mode="json")  # type: ignore[arg-type]
    with store.session() as session:
        session.add(
            Campaign(id=CAMPAIGN, title=spec["event"]["title"], spec=spec, source_language="en")
        )
        session.add_all(
            Group(campaign_id=CAMPAIGN, dimension=d, value=v, label=lab, population_share=s)
            for d, v, lab, s in GROUPS
        )
        session.add_all(
            [Wave(campaign_id=CAMPAIGN, number=1), Wave(campaign_id=CAMPAIGN, number=2)]
        )
        session.add(Partner(partner_id="radio-x", name="Radio X", kind="radio", email="r@x.org"))
        for i in range(1, 101):
            outside = i <= 40
            groups = [
                ("age", "65-plus" if i > 80 else "15-64"),
                ("birth", "outside-uk" if outside else "uk"),
                ("language", "so" if outside else "en"),
            ]
            session.add(
                Contact(
                    id=i,
                    contact_id=f"C{i:03d}",
                    name=f"Person Number{i}",
                    email=f"p{i}@example.org",
                    language="so" if outside else "en",
                    groups=";".join(f"{d}:{v}" for d, v in groups),
                    consent_email=True,
                )
            )
        session.flush()
        for i in range(1, 101):
            outside = i <= 40
            session.add_all(
                ContactGroup(contact_pk=i, dimension=d, value=v)
                for d, v in [
                    ("age", "65-plus" if i > 80 else "15-64"),
                    ("birth", "outside-uk" if outside else "uk"),
                    ("language", "so" if outside else "en"),
                ]
            )
            session.add(CampaignContact(campaign_id=CAMPAIGN, contact_pk=i))
        session.flush()
        deliveries: dict[int, int] = {}
        for i in range(1, 101):
            fallback = i <= 12
            row = Delivery(
                id=i,
                campaign_id=CAMPAIGN,
                wave=1,
                recipient=f"c:{i}",
                contact_pk=i,
                channel="email",
                language="en" if (i > 40 or fallback) else "so",
                fallback_from="so" if fallback else None,
                status="sent",
            )
            session.add(row)
            deliveries[i] = i
        wave2: dict[int, int] = {}
        for i in range(8, 31):
            row = Delivery(
                id=1000 + i,
                campaign_id=CAMPAIGN,
                wave=2,
                recipient=f"c:{i}",
                contact_pk=i,
                channel="email",
                language="so",
                status="sent",
            )
            session.add(row)
            wave2[i] = 1000 + i
        session.add(
            Delivery(
                id=5000,  # explicit ids throughout: PostgreSQL's sequence is not used
                campaign_id=CAMPAIGN,
                wave=1,
                recipient="p:radio-x",
                partner_id="radio-x",
                channel="partner_pack",
                language="so",
                status="sent",
            )
        )
        for channel, kind in [("radio", "radio-30s"), ("radio", "radio-60s")]:
            session.add(
                Material(
                    campaign_id=CAMPAIGN,
                    wave=1,
                    channel=channel,
                    language="so",
                    kind=kind,
                    placement="radio-x",
                    path=f"m/{kind}",
                    sha256="0" * 64,
                )
            )
        for kind in ("flyer-a4", "flyer-a5"):
            session.add(
                Material(
                    campaign_id=CAMPAIGN,
                    wave=1,
                    channel="flyer",
                    language="so",
                    kind=kind,
                    placement="whitechapel-library",
                    path=f"m/{kind}",
                    sha256="0" * 64,
                )
            )

        ev = _Events()

        def email(kind: str, i: int, wave: int = 1, **fields: object) -> None:
            ids = deliveries if wave == 1 else wave2
            lang = "en" if (i > 40 or i <= 12) and wave == 1 else "so"
            ev.add(kind, "email", wave, lang, delivery_id=ids[i], contact_pk=i, **fields)

        for i in list(range(1, 21)) + list(range(1, 6)) + list(range(41, 91)):
            email("open", i)
        email("rsvp", 41, answer="no", occurred_at=T0 - timedelta(days=1))
        for i in range(1, 8):
            email("rsvp", i, answer="yes")
        for i in range(41, 71):
            email("rsvp", i, answer="yes")
        for i in (71, 72):
            email("rsvp", i, answer="maybe")
        for i in (73, 74, 75):
            email(
                "rsvp",
                i,
                answer="no",
                data={
                    "barriers": ["time"],
                    "barrier_text": "Call me on 07700 900123 or "
                    f"mail p{i}@example.org, Number{i} here: evenings are hard",
                },
            )
        for i in range(41, 46):
            email("attended", i)
        for _ in range(3):
            ev.add(
                "rsvp",
                "radio",
                1,
                "so",
                answer="yes",
                self_groups="birth:outside-uk;language:so",
                data={"barriers": ["language"], "heard_via": "radio"},
            )
        for _ in range(2):
            ev.add("rsvp", "radio", 1, "so", answer="yes")
        ev.add("rsvp", "radio", 1, "so", answer="maybe", self_groups="age:65-plus")
        ev.add(
            "rsvp",
            "flyer",
            1,
            "so",
            answer="yes",
            self_groups="birth:outside-uk",
            data={"barriers": ["childcare", "cost"], "barrier_text": "A crèche would help."},
        )
        ev.add("scan", "flyer", 1, "so")
        ev.add("scan", "flyer", 1, "so")
        for i in range(8, 13):
            email("rsvp", i, wave=2, answer="yes")
        session.add_all(ev.rows)
    return deliveries


def write_fixture_report(folder: Path, sample_campaign: Path, **options: object) -> Path:
    """Build the fixture campaign in a fresh SQLite store under `folder`, write its report
    to `folder / "report"`; returns the report.html path (for module-scoped fixtures)."""
    from outreach.analysis.report import write_report
    from outreach.settings import Settings

    store = Store(f"sqlite:///{folder / 'store.db'}")
    store.upgrade()
    try:
        build_fixture_campaign(store, sample_campaign)
        settings = Settings(workdir=folder / "work", secret_key="test-secret-not-for-production")
        return write_report(store, settings, CAMPAIGN, folder / "report", **options)  # type: ignore[arg-type]
    finally:
        store.dispose()
