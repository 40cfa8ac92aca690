"""The funnel's reach is counted by the database, so the end-of-wave summary stays small.

The wave summary runs at the end of every send: at a million contacts, reading the ledger
and everyone's groups into pandas was the largest thing in the flow's process. Reach is now
counted per group in SQL; these tests check the counts against people counted one by one,
and that what the analysis holds does not grow with the number of people sent to.
"""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from outreach.analysis.frames import load_campaign_frames
from outreach.analysis.membership import ALL, NOT_STATED
from outreach.analysis.tables import funnel_table
from outreach.store import Store
from outreach.store.models import Campaign, Contact, ContactGroup, Delivery, Group, ResponseEvent

CAMPAIGN = "scale-check"
DIMENSIONS = ["age", "birth"]
CELLS = [(1, "email", "en"), (1, "email", "so"), (2, "email", "en")]


def _campaign(store: Store) -> None:
    with store.session() as session:
        spec = {"audience": {"dimensions": DIMENSIONS}}
        session.add(Campaign(id=CAMPAIGN, title="Scale", spec=spec, source_language="en"))
        session.add_all(
            Group(campaign_id=CAMPAIGN, dimension=d, value=v, label=f"{d} {v}", population_share=s)
            for d, v, s in [
                ("age", "young", 0.6),
                ("age", "old", 0.4),
                ("birth", "uk", 0.7),
                ("birth", "abroad", 0.3),
            ]
        )


def _people(store: Store, count: int, seed: int) -> list[dict[str, object]]:
    """`count` contacts with random groups, sent to in random cells (some failed, some in a
    fallback language); returns what each person is, for counting by hand."""
    rng = random.Random(seed)
    people = []
    with store.session() as session:
        for index in range(count):
            contact = Contact(
                contact_id=f"S{seed}-{index}", name="Someone", email=f"s{seed}-{index}@example.org",
                language="en", groups="", consent_email=True,
            )  # fmt: skip
            session.add(contact)
            session.flush()
            groups = set()
            if rng.random() < 0.8:
                groups.add(("age", rng.choice(["young", "old", "unlisted"])))
            if rng.random() < 0.1:
                groups.add(("age", "young"))  # two values in one dimension
            if rng.random() < 0.6:
                groups.add(("birth", rng.choice(["uk", "abroad"])))
            groups.add(("tenure", "renting"))  # a dimension the campaign does not track
            session.add_all(
                ContactGroup(contact_pk=contact.id, dimension=d, value=v) for d, v in groups
            )
            sent = []
            for wave in (1, 2):  # one message per person, wave and channel
                if rng.random() < 0.7:
                    _, channel, language = rng.choice([c for c in CELLS if c[0] == wave])
                    status = rng.choice(["sent", "sent", "sent", "failed"])
                    fallback = "so" if language == "en" and rng.random() < 0.2 else None
                    session.add(
                        Delivery(
                            campaign_id=CAMPAIGN, wave=wave, recipient=f"c:{contact.id}",
                            channel=channel, language=language, status=status,
                            contact_pk=contact.id, fallback_from=fallback,
                        )
                    )  # fmt: skip
                    if status == "sent":
                        sent.append(((wave, channel, language), fallback is not None))
            people.append({"groups": groups, "sent": sent})
    return people


def _by_hand(people: list[dict[str, object]]) -> dict[tuple[object, ...], list[int]]:
    """(wave, channel, language, group) -> [reached, fallback], counting each person."""
    counts: dict[tuple[object, ...], list[int]] = defaultdict(lambda: [0, 0])
    for person in people:
        groups = person["groups"]
        for cell, fallback in person["sent"]:  # type: ignore[attr-defined]
            keys = [ALL]
            for dimension in DIMENSIONS:
                values = sorted(v for d, v in groups if d == dimension)  # type: ignore[attr-defined]
                keys += [f"{dimension}:{v}" for v in values or [NOT_STATED]]
            for key in keys:
                counts[(*cell, key)][0] += 1
                counts[(*cell, key)][1] += int(fallback)
    return counts


def test_reach_by_group_is_what_counting_people_one_by_one_gives(store: Store) -> None:
    _campaign(store)
    people = _people(store, 300, seed=3)
    expected = _by_hand(people)

    funnel = funnel_table(store, CAMPAIGN)

    shown = {
        (r.wave, r.channel, r.language, r.group): [int(r.reached), int(r.fallback)]
        for r in funnel.itertuples()
        if r.reached or r.fallback
    }
    assert shown == dict(expected)
    # Each dimension still adds up to everyone, however many values a person has.
    everyone = funnel[funnel["group"] == ALL].set_index(["wave", "channel", "language"])
    for dimension in DIMENSIONS:
        rows = funnel[funnel["dimension"] == dimension]
        at_least = rows.groupby(["wave", "channel", "language"])["reached"].sum()
        assert (at_least >= everyone["reached"].reindex(at_least.index)).all()
    assert "tenure:renting" not in set(funnel["group"])


def test_events_linked_only_by_their_delivery_count_for_that_person(store: Store) -> None:
    _campaign(store)
    _people(store, 40, seed=5)
    with store.session() as session:
        deliveries = session.query(Delivery).filter_by(status="sent", wave=1).all()
        for n, delivery in enumerate(deliveries[:10]):
            session.add(
                ResponseEvent(
                    external_id=f"open-{n}", campaign_id=CAMPAIGN, channel="email", kind="open",
                    source="sendgrid", delivery_id=delivery.id,  # no wave, language or contact
                )
            )  # fmt: skip
        cells = {(d.wave, d.language) for d in deliveries[:10]}
    funnel = funnel_table(store, CAMPAIGN)
    everyone = funnel[funnel["group"] == ALL]
    opened = everyone[everyone["opened"] > 0]
    assert set(zip(opened["wave"], opened["language"], strict=True)) == cells
    assert int(everyone["opened"].sum()) == 10
    # They count in their own groups too: every dimension accounts for all ten.
    for dimension in DIMENSIONS:
        assert int(funnel.loc[funnel["dimension"] == dimension, "opened"].sum()) >= 10


@pytest.mark.parametrize("count", [60, 600])
def test_what_the_summary_holds_does_not_grow_with_the_wave(store: Store, count: int) -> None:
    _campaign(store)
    _people(store, count, seed=11)

    frames = load_campaign_frames(store, CAMPAIGN)

    # Counts per cell and group, whatever the number of people: at most
    # 3 cells x (everyone + 2 dimensions x 4 values) reach rows, 3 x 2 statuses x 2 ledger rows.
    assert len(frames.reach) <= len(CELLS) * (1 + len(DIMENSIONS) * 4)
    assert len(frames.ledger) <= len(CELLS) * 2 * 2
    assert len(frames.members) == 0  # nobody has answered: no one's groups are read
    assert int(frames.reach.loc[frames.reach["dimension"] == ALL, "reached"].sum()) > count // 2
