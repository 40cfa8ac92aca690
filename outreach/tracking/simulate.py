"""The demo's synthetic respondents, answering through the real web app.

`simulate_responses` drives the tracking app in-process (httpx's ASGI transport), so the
simulated clicks, RSVPs and unsubscribes take exactly the path a person's browser takes;
the app instance it uses records them with `source="simulated"`.

Rates depend on groups, so the first wave leaves some groups underreached by email (the
smallest age band, people born outside the UK, speakers of languages other than the
campaign's source language); radio, flyers and partner packs (short codes) reach them,
few at first and more in follow-up waves, which also carry the campaign's answers to
the barriers people named. Deterministic for a given seed;
re-running the same wave adds nothing. Returns counts only.

```python
counts = simulate_responses(store, settings, "the-way-ahead", wave=1, seed=0)
counts["rsvp"], counts["code_responses"]
```
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import func, select

from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import Campaign, Contact, Delivery, Group, ResponseEvent, TrackingCode
from outreach.tracking.events import BARRIERS, insert_events
from outreach.tracking.tokens import TokenPayload, TokenSigner

SOURCE = "simulated"
_CONCURRENCY = 8
EMAIL_CLICK = 0.2  # chance an ordinary recipient opens the link
CLICK_TO_RSVP = 0.6
HARD_FACTOR = 0.4  # email response multiplier per "hard to reach by email" group
FOLLOW_UP_LIFT = 1.6  # later waves carry barrier answers and partner help
# Responders per short code (a flyer at a library, a radio spot, a partner's pack).
CODE_RESPONDERS = {1: ((0, 1, 2), (0.5, 0.35, 0.15)), 2: ((1, 2, 3, 4), (0.25, 0.35, 0.25, 0.15))}
ANSWER_WEIGHTS = (("yes", 0.6), ("maybe", 0.25), ("no", 0.15))
UNSUBSCRIBE = 0.01
ATTEND = 0.7


@dataclass(frozen=True)
class _Person:
    token: str
    groups: tuple[str, ...]  # "dimension:value"


def _hard_groups(groups: list[tuple[str, str, float]], source_language: str) -> set[str]:
    """Groups email alone reaches poorly in the simulation."""
    hard: set[str] = set()
    by_dimension: dict[str, list[tuple[str, float]]] = {}
    for dimension, value, share in groups:
        by_dimension.setdefault(dimension, []).append((value, share))
    for dimension, values in by_dimension.items():
        if dimension == "birth":
            hard.update(f"birth:{v}" for v, _ in values if "outside" in v or "abroad" in v)
        elif dimension == "language":
            hard.update(f"language:{v}" for v, _ in values if v != source_language)
        elif len(values) > 1:
            hard.add(f"{dimension}:{min(values, key=lambda item: item[1])[0]}")
    return hard


def _self_groups(
    rng: random.Random,
    shares: dict[str, list[tuple[str, float]]],
    hard: set[str],
    language: str,
    source_language: str,
) -> tuple[str, ...]:
    """Who answers a flyer, radio spot or partner pack in `language`."""
    chosen = []
    for dimension, values in shares.items():
        options = [v for v, _ in values]
        weights = [s * (1.5 if f"{dimension}:{v}" in hard else 1.0) for v, s in values]
        if dimension == "language" and language in options and rng.random() < 0.8:
            value = language
        elif dimension == "birth" and language != source_language and rng.random() < 0.85:
            outside = [v for v in options if f"birth:{v}" in hard]
            value = outside[0] if outside else rng.choices(options, weights)[0]
        else:
            value = rng.choices(options, weights)[0]
        chosen.append(f"{dimension}:{value}")
    return tuple(chosen)


def _answer(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for answer, weight in ANSWER_WEIGHTS:
        total += weight
        if roll < total:
            return answer
    return "yes"


def _barriers(rng: random.Random, groups: tuple[str, ...], hard: set[str]) -> list[str]:
    chosen = set()
    if rng.random() < 0.25:
        chosen.add("time")
    if any(g.startswith("birth:") and g in hard for g in groups) and rng.random() < 0.4:
        chosen.add("belonging")
    if any(g.startswith("language:") and g in hard for g in groups) and rng.random() < 0.5:
        chosen.add("language")
    if any(g.startswith("age:") and g in hard for g in groups) and rng.random() < 0.3:
        chosen.add("cost")
    if rng.random() < 0.1:
        chosen.add(rng.choice(BARRIERS))
    return sorted(chosen)


def _form(rng: random.Random, groups: tuple[str, ...], hard: set[str], heard: str) -> dict:
    answer = _answer(rng)
    form: dict[str, Any] = {
        "answer": answer,
        "party_size": str(1 if rng.random() < 0.7 else rng.randint(2, 4)),
        "heard_via": heard,
        "barriers": _barriers(rng, groups, hard),
        "submission_id": f"sim{rng.getrandbits(96):024x}",
    }
    for group in groups:
        dimension, value = group.split(":", 1)
        if rng.random() < 0.85:  # some prefer not to say
            form[f"group_{dimension}"] = value
    return form


def _run(coro: Any) -> Any:
    """asyncio.run, also from inside a running loop (e.g. a Prefect task in an async flow)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def simulate_responses(
    store: Store, settings: Settings, campaign_id: str, wave: int, *, seed: int = 0
) -> dict[str, int]:
    """Synthetic clicks, RSVPs, unsubscribes and attendance for one wave; counts only."""
    from outreach.tracking.app import create_app

    with store.session() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise KeyError(f"no campaign {campaign_id!r} in the store")
        already = session.scalar(
            select(func.count(ResponseEvent.id)).where(
                ResponseEvent.campaign_id == campaign_id,
                ResponseEvent.wave == wave,
                ResponseEvent.source == SOURCE,
            )
        )
        groups = [
            (d, v, s)
            for d, v, s in session.execute(
                select(Group.dimension, Group.value, Group.population_share).where(
                    Group.campaign_id == campaign_id
                )
            )
        ]
        deliveries = session.execute(
            select(Delivery.id, Delivery.language, Contact.groups)
            .join(Contact, Contact.id == Delivery.contact_pk)
            .where(
                Delivery.campaign_id == campaign_id,
                Delivery.wave == wave,
                Delivery.channel == "email",
                Delivery.status == "sent",
            )
            .order_by(Delivery.id)
        ).all()
        codes = session.execute(
            select(
                TrackingCode.channel,
                TrackingCode.language,
                TrackingCode.partner_id,
                TrackingCode.point,
            )
            .where(TrackingCode.campaign_id == campaign_id, TrackingCode.wave == wave)
            .order_by(TrackingCode.code)
        ).all()
        source_language = campaign.source_language
    if already:
        return {"already_simulated": int(already)}

    rng = random.Random(seed * 7919 + wave)
    signer = TokenSigner(settings.secret_key_value())
    hard = _hard_groups(groups, source_language)
    known = {f"{d}:{v}" for d, v, _ in groups}
    lift = FOLLOW_UP_LIFT if wave > 1 else 1.0
    counts: Counter[str] = Counter(
        dict.fromkeys(
            ("clicks", "rsvp", "rsvp_yes", "rsvp_maybe", "rsvp_no", "code_responses",
             "unsubscribes", "attended"),
            0,
        )
    )  # fmt: skip

    email_people = []
    for delivery_id, language, group_text in deliveries:
        own = tuple(g for g in (group_text or "").split(";") if g in known)
        token = signer.sign(
            TokenPayload(campaign_id, wave, "email", language, delivery=delivery_id)
        )
        email_people.append(_Person(token, own))
    counts["emails"] = len(email_people)

    # Respondents through short codes: people the radio, flyers and partners reached.
    shares: dict[str, list[tuple[str, float]]] = {}
    for dimension, value, share in groups:
        shares.setdefault(dimension, []).append((value, share))
    code_people = []
    sizes, size_weights = CODE_RESPONDERS[min(wave, 2)]
    for channel, language, partner, point in codes:
        token = signer.sign(
            TokenPayload(campaign_id, wave, channel, language, partner=partner, point=point)
        )
        for _ in range(rng.choices(sizes, size_weights)[0]):
            code_people.append(
                (
                    _Person(token, _self_groups(rng, shares, hard, language, source_language)),
                    channel,
                )
            )

    plan: list[tuple[str, _Person, dict[str, Any] | None]] = []
    for person in email_people:
        rate = EMAIL_CLICK
        for group in person.groups:
            if group in hard:
                rate *= HARD_FACTOR * lift
        if rng.random() < UNSUBSCRIBE:
            plan.append(("unsubscribe", person, None))
            continue
        if rng.random() >= min(rate, 0.95):
            continue
        form = _form(rng, person.groups, hard, "email") if rng.random() < CLICK_TO_RSVP else None
        plan.append(("click", person, form))
    for person, channel in code_people:
        heard = {"radio": "radio", "flyer": "flyer"}.get(channel, "partner")
        plan.append(("code", person, _form(rng, person.groups, hard, heard)))

    async def drive() -> None:
        app = create_app(settings, store=store, source=SOURCE)
        transport = httpx.ASGITransport(app=app)
        limit = asyncio.Semaphore(_CONCURRENCY)
        async with httpx.AsyncClient(transport=transport, base_url="http://simulated") as client:

            async def one(action: str, person: _Person, form: dict[str, Any] | None) -> None:
                async with limit:
                    if action == "unsubscribe":
                        response = await client.post(
                            f"/u/{person.token}", data={"List-Unsubscribe": "One-Click"}
                        )
                        response.raise_for_status()
                        counts["unsubscribes"] += 1
                        return
                    if action == "click":
                        response = await client.get(f"/r/{person.token}")
                        if response.status_code != 302:
                            raise RuntimeError(f"click failed: {response.status_code}")
                        counts["clicks"] += 1
                    if form is None:
                        return
                    response = await client.post(f"/rsvp/{person.token}", data=form)
                    if response.status_code != 303:
                        raise RuntimeError(f"RSVP failed: {response.status_code}")
                    counts["rsvp"] += 1
                    counts[f"rsvp_{form['answer']}"] += 1
                    if action == "code":
                        counts["code_responses"] += 1

            await asyncio.gather(*(one(*item) for item in plan))

    _run(drive())

    # Attendance is recorded after the event, as from a sign-in sheet.
    with store.session() as session:
        yes_rows = session.execute(
            select(
                ResponseEvent.external_id,
                ResponseEvent.channel,
                ResponseEvent.language,
                ResponseEvent.delivery_id,
                ResponseEvent.contact_pk,
                ResponseEvent.partner_id,
                ResponseEvent.point,
                ResponseEvent.self_groups,
            )
            .where(
                ResponseEvent.campaign_id == campaign_id,
                ResponseEvent.wave == wave,
                ResponseEvent.kind == "rsvp",
                ResponseEvent.answer == "yes",
                ResponseEvent.source == SOURCE,
            )
            .order_by(ResponseEvent.external_id)
        ).all()
    attended = []
    for row in yes_rows:
        if rng.random() < ATTEND:
            attended.append(
                {
                    "external_id": f"attended:{row.external_id}",
                    "campaign_id": campaign_id,
                    "wave": wave,
                    "channel": row.channel,
                    "language": row.language,
                    "kind": "attended",
                    "answer": "yes",
                    "source": SOURCE,
                    "delivery_id": row.delivery_id,
                    "contact_pk": row.contact_pk,
                    "partner_id": row.partner_id,
                    "point": row.point,
                    "self_groups": row.self_groups,
                }
            )
    counts["attended"] = insert_events(store, attended)
    return dict(sorted(counts.items()))
