"""Thin adapters to other areas, so planning works while they are being built.

Planning uses F's definition of "underreached" and F's tables, A's ledger writer and D's
address hashing. Each function here calls the owner's implementation when it is
importable and otherwise falls back to a small local equivalent (same meaning, documented
here). Once every area has landed the fallbacks are dead code; they are kept tiny.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import select

from outreach.store import Store
from outreach.store.models import Campaign, Delivery, Group


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float, float]:
    """F's Wilson interval (rate, low, high); 0/0 gives (0, 0, 1)."""
    try:
        from outreach.analysis.intervals import wilson as owner
    except ImportError:
        owner = None
    if owner is not None:
        return owner(successes, trials, z)
    if trials <= 0:
        return 0.0, 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return p, max(0.0, centre - half), min(1.0, centre + half)


def is_underreached(ratio_high: float, target: float) -> bool:
    """F's definition: the ratio's upper bound is below the target."""
    try:
        from outreach.analysis.representation import is_underreached as owner
    except ImportError:
        owner = None
    if owner is not None:
        return bool(owner(ratio_high, target))
    return ratio_high < target


def ratio_interval(
    respondents: int, total: int, population_share: float
) -> tuple[float, float, float]:
    """A group's representation ratio (share of respondents / population share), Wilson."""
    share, low, high = wilson(respondents, total)
    if population_share <= 0:
        return math.nan, math.nan, math.nan
    return share / population_share, low / population_share, high / population_share


def representation_table(store: Store, campaign_id: str) -> pd.DataFrame:
    """F's representation table for all waves so far (fallback: computed here)."""
    try:
        from outreach.analysis.tables import representation_table as owner
    except ImportError:
        owner = None
    if owner is not None:
        return owner(store, campaign_id)
    from outreach.planning.observations import respondents_frame

    with store.session() as session:
        groups = session.execute(
            select(Group.dimension, Group.value, Group.label, Group.population_share).where(
                Group.campaign_id == campaign_id
            )
        ).all()
        campaign = session.get(Campaign, campaign_id)
        audience = ((campaign.spec if campaign else {}) or {}).get("audience") or {}
        target = float(audience.get("target_ratio", 0.8))
    people = respondents_frame(store, [campaign_id])
    people = people[people["answer"].isin(["yes", "maybe"])]
    total = len(people)
    rows: list[dict[str, Any]] = []
    for dimension, value, label, population_share in groups:
        group = f"{dimension}:{value}"
        count = int(sum(group in gs for gs in people["groups"]))
        ratio, low, high = ratio_interval(count, total, population_share)
        rows.append(
            {
                "group": group,
                "dimension": dimension,
                "value": value,
                "label": label or group,
                "respondents": count,
                "share": count / total if total else 0.0,
                "population_share": population_share,
                "ratio": ratio,
                "ratio_low": low,
                "ratio_high": high,
                "target": target,
                "underreached": is_underreached(high, target) if total else True,
            }
        )
    return pd.DataFrame(rows)


def barriers_table(store: Store, campaign_id: str) -> pd.DataFrame:
    """F's barriers table: columns group, channel, barrier, count (fallback: here)."""
    try:
        from outreach.analysis.tables import barriers_table as owner
    except ImportError:
        owner = None
    if owner is not None:
        return owner(store, campaign_id)
    from outreach.planning.observations import respondents_frame

    people = respondents_frame(store, [campaign_id])
    counts: dict[tuple[str, str, str], int] = {}
    for groups, channel, barriers in zip(
        people["groups"], people["channel"], people["barriers"], strict=True
    ):
        for group in groups:
            for barrier in barriers:
                key = (group, channel, barrier)
                counts[key] = counts.get(key, 0) + 1
    return pd.DataFrame(
        [{"group": g, "channel": c, "barrier": b, "count": n} for (g, c, b), n in counts.items()],
        columns=["group", "channel", "barrier", "count"],
    )


def email_hash(email: str) -> str:
    """D's suppression key: sha256 of the trimmed, lower-cased address."""
    try:
        from outreach.delivery.suppressions import email_hash as owner
    except ImportError:
        owner = None
    if owner is not None:
        return owner(email)
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


@dataclass
class _LedgerRow:
    """Same fields as A's `outreach.audience.LedgerRow`."""

    recipient: str
    channel: str
    language: str
    contact_pk: int | None = None
    partner_id: str | None = None
    fallback_from: str | None = None


def ledger_row(**fields: Any) -> Any:
    """A's `LedgerRow` when available, else a field-for-field stand-in."""
    try:
        from outreach.audience import LedgerRow
    except ImportError:
        return _LedgerRow(**fields)
    return LedgerRow(**fields)


def add_ledger_rows(store: Store, campaign_id: str, wave: int, rows: Iterable[Any]) -> int:
    """A's `add_ledger_rows` (skips rows already in the ledger; returns how many were new)."""
    try:
        from outreach.audience import add_ledger_rows as owner
    except ImportError:
        owner = None
    if owner is not None:
        return owner(store, campaign_id, wave, rows)
    wanted: Sequence[Any] = list(rows)
    with store.session() as session:
        existing = {
            (recipient, channel)
            for recipient, channel in session.execute(
                select(Delivery.recipient, Delivery.channel).where(
                    Delivery.campaign_id == campaign_id, Delivery.wave == wave
                )
            )
        }
        new = 0
        for row in wanted:
            if (row.recipient, row.channel) in existing:
                continue
            existing.add((row.recipient, row.channel))
            session.add(
                Delivery(
                    campaign_id=campaign_id,
                    wave=wave,
                    recipient=row.recipient,
                    channel=row.channel,
                    language=row.language,
                    contact_pk=row.contact_pk,
                    partner_id=row.partner_id,
                    fallback_from=row.fallback_from,
                    status="pending",
                )
            )
            new += 1
    return new
