"""Counts for the admin views: per campaign, wave and kind; RSVPs by channel; barriers.

Counts only: no names, addresses, free text or ids of people.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import func, select

from outreach.store import Store
from outreach.store.models import Campaign, ResponseEvent, Suppression


def admin_counts(store: Store) -> tuple[list[dict[str, Any]], list[tuple[str, int]]]:
    """(one dict per campaign, suppressions by reason)."""
    with store.session() as session:
        campaigns = session.execute(select(Campaign.id, Campaign.title).order_by(Campaign.id)).all()
        by_kind = session.execute(
            select(
                ResponseEvent.campaign_id,
                ResponseEvent.wave,
                ResponseEvent.kind,
                func.count(ResponseEvent.id),
            ).group_by(ResponseEvent.campaign_id, ResponseEvent.wave, ResponseEvent.kind)
        ).all()
        rsvps = session.execute(
            select(
                ResponseEvent.campaign_id,
                ResponseEvent.channel,
                ResponseEvent.answer,
                func.count(ResponseEvent.id),
                func.coalesce(func.sum(ResponseEvent.party_size), 0),
            )
            .where(ResponseEvent.kind == "rsvp")
            .group_by(ResponseEvent.campaign_id, ResponseEvent.channel, ResponseEvent.answer)
        ).all()
        barrier_rows = session.execute(
            select(ResponseEvent.campaign_id, ResponseEvent.data).where(
                ResponseEvent.kind.in_(("rsvp", "attended"))
            )
        ).all()
        suppressions = session.execute(
            select(Suppression.reason, func.count(Suppression.id)).group_by(Suppression.reason)
        ).all()
    waves: dict[str, dict[Any, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    kinds: dict[str, set[str]] = defaultdict(set)
    for campaign_id, wave, kind, count in by_kind:
        waves[campaign_id][wave][kind] = int(count)
        kinds[campaign_id].add(kind)
    answers: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    for campaign_id, channel, answer, count, people in rsvps:
        row = answers[campaign_id].setdefault(channel, {"yes": 0, "maybe": 0, "no": 0, "people": 0})
        row[answer or "no"] = row.get(answer or "no", 0) + int(count)
        if answer == "yes":
            row["people"] += int(people)
    barriers: dict[str, Counter[str]] = defaultdict(Counter)
    for campaign_id, data in barrier_rows:
        barriers[campaign_id].update((data or {}).get("barriers", []))
    out = []
    for campaign_id, title in campaigns:
        out.append(
            {
                "id": campaign_id,
                "title": title,
                "kinds": sorted(kinds[campaign_id]),
                "by_wave": sorted(
                    waves[campaign_id].items(), key=lambda item: (item[0] is None, item[0] or 0)
                ),
                "rsvps": sorted(answers[campaign_id].items()),
                "barriers": barriers[campaign_id].most_common(),
            }
        )
    return out, [(reason, int(count)) for reason, count in suppressions]
