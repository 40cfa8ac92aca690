"""The demo's simulated respondents: through the web app, group-dependent, deterministic."""

from __future__ import annotations

import random

from sqlalchemy import func, select
from test_tracking_support import CAMPAIGN, seed

from outreach.channels.codes import issue_code
from outreach.store.models import Contact, Delivery, ResponseEvent
from outreach.tracking.simulate import simulate_responses
from outreach.tracking.tokens import TokenPayload

AGES = ["18-24", "25-44", "45-64", "65+"]


def populate(store, n: int = 400) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(1)
    with store.session() as session:
        for i in range(n):
            language = rng.choice(["en", "en", "en", "ar", "es", "bn"])
            birth = "uk" if language == "en" and rng.random() < 0.8 else "outside-uk"
            groups = f"age:{rng.choice(AGES)};birth:{birth};language:{language}"
            contact = Contact(
                contact_id=f"p{i}", name=f"Person {i}", email=f"p{i}@example.org",
                language=language, groups=groups, consent_email=True,
            )  # fmt: skip
            session.add(contact)
            session.flush()
            session.add(
                Delivery(
                    campaign_id=CAMPAIGN,
                    wave=1,
                    recipient=f"c:{contact.id}",
                    contact_pk=contact.id,
                    channel="email",
                    language=language,
                    status="sent",
                )  # fmt: skip
            )


def test_simulated_responses_are_group_dependent_and_idempotent(sqlite_store, settings) -> None:  # type: ignore[no-untyped-def]
    seed(sqlite_store, settings)
    populate(sqlite_store)
    for i in range(12):
        issue_code(sqlite_store, TokenPayload(CAMPAIGN, 1, "radio", "bn", partner=f"radio-{i}"))
        issue_code(sqlite_store, TokenPayload(CAMPAIGN, 1, "flyer", "ar", point=f"point-{i}"))

    counts = simulate_responses(sqlite_store, settings, CAMPAIGN, 1, seed=3)
    assert counts["emails"] == 403
    assert counts["rsvp"] == counts["rsvp_yes"] + counts["rsvp_maybe"] + counts["rsvp_no"]
    assert counts["code_responses"] >= 6 and counts["clicks"] > 0
    assert set(counts) >= {"rsvp_yes", "rsvp_maybe", "rsvp_no", "unsubscribes", "attended"}
    with sqlite_store.session() as session:
        stored_rsvps = session.scalar(
            select(func.count(ResponseEvent.id)).where(ResponseEvent.kind == "rsvp")
        )
        assert stored_rsvps == counts["rsvp"]
        sources = set(session.scalars(select(ResponseEvent.source).distinct()))
        assert sources == {"simulated"}
        # Every simulated RSVP came through the form (its submission id is in the data).
        datas = session.scalars(select(ResponseEvent.data).where(ResponseEvent.kind == "rsvp"))
        assert all(d["submission_id"].startswith("sim") for d in datas)
        by_code = session.scalars(
            select(ResponseEvent.self_groups).where(
                ResponseEvent.kind == "rsvp", ResponseEvent.channel == "radio"
            )
        ).all()
        assert by_code and any(g and "language:bn" in g for g in by_code)
        # Email responses: the youngest band answers far less than the others.
        rows = session.execute(
            select(Contact.groups, ResponseEvent.id)
            .join(Delivery, Delivery.contact_pk == Contact.id)
            .outerjoin(
                ResponseEvent,
                (ResponseEvent.delivery_id == Delivery.id) & (ResponseEvent.kind == "rsvp"),
            )
        ).all()
    young = [r for r in rows if "age:18-24" in r[0]]
    older = [r for r in rows if "age:18-24" not in r[0]]
    rate_young = sum(r[1] is not None for r in young) / len(young)
    rate_older = sum(r[1] is not None for r in older) / len(older)
    assert rate_young < rate_older / 1.5

    again = simulate_responses(sqlite_store, settings, CAMPAIGN, 1, seed=3)
    assert "already_simulated" in again
    with sqlite_store.session() as session:
        assert (
            session.scalar(select(func.count(ResponseEvent.id)).where(ResponseEvent.kind == "rsvp"))
            == counts["rsvp"]
        )
