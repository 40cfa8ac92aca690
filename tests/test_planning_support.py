"""Builders for the planning tests: a small synthetic campaign written straight into a store.

(No tests here; the other `test_planning_*` modules import these builders.)

The campaign: two age groups with equal population shares; 100 younger contacts (English,
all consenting) and 100 older ones (60 consenting, half Bengali speakers); a Bengali radio
station, an English venue and a Bengali community group. Wave 1 emailed every consenting
contact and sent the radio station its pack; younger people answered far more, so
`age:older` is underreached.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from conftest import SAMPLE_CAMPAIGN

from outreach.campaign import CampaignSpec, load_campaign
from outreach.store import Store
from outreach.store.models import (
    Campaign,
    CampaignContact,
    Contact,
    ContactGroup,
    Delivery,
    Group,
    Partner,
    ResponseEvent,
    Wave,
)

CAMPAIGN_ID = "plan-test"
T0 = datetime(2027, 4, 1, 10, 0, tzinfo=UTC)
WINDOW = timedelta(days=14)
AFTER_WINDOW = T0 + WINDOW + timedelta(hours=1)


def make_spec(**waves: Any) -> CampaignSpec:
    data = load_campaign(SAMPLE_CAMPAIGN).model_dump(mode="json")
    data["id"] = CAMPAIGN_ID
    data["waves"].update({"response_window": "14d", "min_gap": "7d", **waves})
    data["waves"].pop("quiet_hours", None)
    data["channels"]["flyer"]["distribution_points"] = []
    return CampaignSpec.model_validate(data)


def build_campaign(store: Store, spec: CampaignSpec | None = None) -> dict[str, Any]:
    """Write the campaign of the module doc; returns ids the tests need."""
    spec = spec or make_spec()
    ids: dict[str, Any] = {"young": [], "older": [], "older_consenting": []}
    with store.session() as session:
        session.add(
            Campaign(
                id=spec.id,
                title=spec.event.title,
                spec=spec.model_dump(mode="json"),
                source_language="en",
            )
        )
        session.add_all(
            [
                Group(
                    campaign_id=spec.id,
                    dimension="age",
                    value="young",
                    label="Younger",
                    population_share=0.5,
                ),
                Group(
                    campaign_id=spec.id,
                    dimension="age",
                    value="older",
                    label="Older",
                    population_share=0.5,
                ),
            ]
        )
        session.add_all(
            [
                Partner(
                    partner_id="radio-bn",
                    name="Radio Bn",
                    kind="radio",
                    languages="bn;en",
                    email="studio@radio.example.org",
                    reach=1000,
                ),
                Partner(
                    partner_id="hall-en",
                    name="Hall",
                    kind="venue",
                    languages="en",
                    email="hall@example.org",
                    reach=400,
                ),
                Partner(
                    partner_id="circle-bn",
                    name="Circle",
                    kind="community",
                    languages="bn",
                    email="circle@example.org",
                    reach=300,
                ),
            ]
        )
        session.add(
            Wave(
                campaign_id=spec.id,
                number=1,
                status="sent",
                sent_at=T0,
                response_window_ends=T0 + WINDOW,
            )
        )
        session.flush()
        for i in range(200):
            older = i >= 100
            consent = (not older) or (i < 160)
            contact = Contact(
                contact_id=f"k{i}",
                name=f"Person {i}",
                email=f"person{i}@example.org",
                language="bn" if older and i % 2 else "en",
                groups=f"age:{'older' if older else 'young'}",
                consent_email=consent,
            )
            session.add(contact)
            session.flush()
            session.add(
                ContactGroup(
                    contact_pk=contact.id, dimension="age", value="older" if older else "young"
                )
            )
            session.add(CampaignContact(campaign_id=spec.id, contact_pk=contact.id))
            ids["older" if older else "young"].append(contact.id)
            if older and consent:
                ids["older_consenting"].append(contact.id)
            session.add(
                Delivery(
                    campaign_id=spec.id,
                    wave=1,
                    recipient=f"c:{contact.id}",
                    contact_pk=contact.id,
                    channel="email",
                    language=contact.language,
                    status="sent" if consent else "skipped",
                    sent_at=T0 if consent else None,
                )
            )
        session.add(
            Delivery(
                campaign_id=spec.id,
                wave=1,
                recipient="p:radio-bn",
                partner_id="radio-bn",
                channel="partner_pack",
                language="bn",
                status="sent",
                sent_at=T0,
            )
        )
        session.flush()
        deliveries = {
            d.contact_pk: d.id for d in session.query(Delivery).filter(Delivery.channel == "email")
        }
        ids["deliveries"] = deliveries
    # Answers: 40 younger yes by email, 2 older yes by email, 3 older yes by radio call-in.
    for pk in ids["young"][:40]:
        add_rsvp(store, pk, "yes", delivery_id=ids["deliveries"][pk])
    for pk in ids["older_consenting"][:2]:
        add_rsvp(store, pk, "yes", delivery_id=ids["deliveries"][pk], barriers=["time"])
    for n in range(3):
        add_rsvp(
            store,
            None,
            "yes",
            channel="radio",
            self_groups="age:older",
            barriers=["childcare"],
            key=f"radio-{n}",
        )
    return ids


def add_rsvp(
    store: Store,
    contact_pk: int | None,
    answer: str,
    *,
    channel: str = "email",
    delivery_id: int | None = None,
    self_groups: str | None = None,
    barriers: list[str] | None = None,
    key: str | None = None,
    campaign_id: str = CAMPAIGN_ID,
) -> None:
    with store.session() as session:
        session.add(
            ResponseEvent(
                external_id=key or f"rsvp-{campaign_id}-{contact_pk}-{answer}",
                campaign_id=campaign_id,
                wave=1,
                channel=channel,
                language="en",
                kind="rsvp",
                answer=answer,
                party_size=1,
                source="simulated",
                delivery_id=delivery_id,
                contact_pk=contact_pk,
                self_groups=self_groups,
                data={"barriers": barriers or []},
                occurred_at=T0 + timedelta(days=2),
            )
        )
