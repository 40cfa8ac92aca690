"""Bulk reads from the store into pandas frames: the only module of analysis that queries.

Each read is one SQL `SELECT` (aggregated in the database where that shrinks the rows),
read with `pandas.read_sql`, so a report over a million response events does a handful of
queries and no per-row Python.

Person keys (`who`) tie rows to groups:

- `c:<contact pk>` — a known contact; their groups come from `contact_groups`;
- `s:<self_groups>` — someone without a contact record (radio, flyer, a partner's sign-in
  sheet); their groups are the ones they described themselves in (`s:` when they did not).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import Text, cast, func, literal, select, union
from sqlalchemy.sql import Select

from outreach.analysis.representation import DEFAULT_TARGET
from outreach.store import Store
from outreach.store.models import (
    Campaign,
    CampaignContact,
    ContactGroup,
    Delivery,
    Group,
    Material,
    ResponseEvent,
)

ENGAGEMENT_KINDS = ("open", "click", "scan")
# Everything except RSVPs that a person-level funnel counts.
COUNTED_KINDS = ("delivered", "bounce", "attended", *ENGAGEMENT_KINDS)


class UnknownCampaign(LookupError):
    """No campaign with that id in the store."""


@dataclass
class CampaignFrames:
    """Everything the tables need about one campaign, as frames (see module docstring)."""

    campaign_id: str
    title: str
    spec: dict[str, Any]
    dimensions: list[str]
    target: float
    groups: pd.DataFrame  # dimension, value, label, population_share
    reach: pd.DataFrame  # wave, channel, language, who, fallback_from (sent to contacts)
    partner_reach: pd.DataFrame  # wave, channel, language, n (sent to partners)
    materials: pd.DataFrame  # wave, channel, language, n
    ledger: pd.DataFrame  # wave, channel, language, status, fallback_from, n (all rows)
    events: pd.DataFrame  # wave, channel, language, kind, who, contact, n
    rsvps: pd.DataFrame  # id, wave, channel, language, answer, who, person, occurred_at, data
    members: pd.DataFrame  # contact_pk, dimension, value
    waves: list[int] = field(default_factory=list)


def _read(store: Store, query: Select[Any], **kwargs: Any) -> pd.DataFrame:
    with store.engine.connect() as connection:
        return pd.read_sql(query, connection, **kwargs)


def _who_contact(pk: pd.Series) -> pd.Series:
    return "c:" + pk.astype("int64").astype(str)


def _who_self(self_groups: pd.Series) -> pd.Series:
    return "s:" + self_groups.fillna("").astype(str)


def load_campaign_frames(store: Store, campaign_id: str) -> CampaignFrames:
    """Read one campaign's ledger, materials, events and group memberships in bulk."""
    with store.session() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise UnknownCampaign(campaign_id)
        spec = dict(campaign.spec or {})
        title = campaign.title
    audience = spec.get("audience") or {}
    target = float(audience.get("target_ratio", DEFAULT_TARGET) or DEFAULT_TARGET)

    groups = _read(
        store,
        select(Group.dimension, Group.value, Group.label, Group.population_share)
        .where(Group.campaign_id == campaign_id)
        .order_by(Group.dimension, Group.value),
    )
    wanted = [g for g in audience.get("groups") or [] if ":" in g]
    if wanted:
        keys = groups["dimension"] + ":" + groups["value"]
        groups = groups[keys.isin(wanted)].reset_index(drop=True)
    dimensions = list(audience.get("dimensions") or []) or sorted(groups["dimension"].unique())

    ledger = _read(
        store,
        select(
            Delivery.wave,
            Delivery.channel,
            Delivery.language,
            Delivery.status,
            Delivery.fallback_from,
            func.count().label("n"),
        )
        .where(Delivery.campaign_id == campaign_id)
        .group_by(
            Delivery.wave,
            Delivery.channel,
            Delivery.language,
            Delivery.status,
            Delivery.fallback_from,
        ),
    )
    reach = _read(
        store,
        select(
            Delivery.wave,
            Delivery.channel,
            Delivery.language,
            Delivery.contact_pk,
            Delivery.fallback_from,
        ).where(
            Delivery.campaign_id == campaign_id,
            Delivery.status == "sent",
            Delivery.contact_pk.is_not(None),
        ),
    )
    reach["who"] = _who_contact(reach["contact_pk"])
    partner_reach = _read(
        store,
        select(Delivery.wave, Delivery.channel, Delivery.language, func.count().label("n"))
        .where(
            Delivery.campaign_id == campaign_id,
            Delivery.status == "sent",
            Delivery.contact_pk.is_(None),
        )
        .group_by(Delivery.wave, Delivery.channel, Delivery.language),
    )
    materials = _read(
        store,
        select(Material.wave, Material.channel, Material.language, func.count().label("n"))
        .where(Material.campaign_id == campaign_id, Material.channel.in_(("radio", "flyer")))
        .group_by(Material.wave, Material.channel, Material.language),
    )

    # Events other than RSVPs: one row per (cell, kind, person) for contacts (repeats of the
    # same open collapse in the database), one row with a count for each self-description.
    wave = func.coalesce(ResponseEvent.wave, Delivery.wave, 0).label("wave")
    language = func.coalesce(ResponseEvent.language, Delivery.language, "und").label("language")
    contact = func.coalesce(ResponseEvent.contact_pk, Delivery.contact_pk).label("contact_pk")
    events = _read(
        store,
        select(
            wave,
            ResponseEvent.channel,
            language,
            ResponseEvent.kind,
            contact,
            ResponseEvent.self_groups,
            func.count().label("n"),
        )
        .select_from(ResponseEvent)
        .outerjoin(Delivery, Delivery.id == ResponseEvent.delivery_id)
        .where(ResponseEvent.campaign_id == campaign_id, ResponseEvent.kind.in_(COUNTED_KINDS))
        .group_by(
            wave,
            ResponseEvent.channel,
            language,
            ResponseEvent.kind,
            contact,
            ResponseEvent.self_groups,
        ),
    )
    known = events["contact_pk"].notna()
    events["who"] = _who_self(events["self_groups"])
    events.loc[known, "who"] = _who_contact(events.loc[known, "contact_pk"])
    # A known contact counts once per cell and kind, whatever they described themselves as.
    events.loc[known, "n"] = 1
    events = (
        events.groupby(["wave", "channel", "language", "kind", "who"], as_index=False)
        .agg(n=("n", "sum"), contact=("contact_pk", "max"))
        .astype({"wave": "int64", "n": "int64"})
    )

    rsvps = _read(
        store,
        select(
            ResponseEvent.id,
            wave,
            ResponseEvent.channel,
            language,
            ResponseEvent.answer,
            contact,
            ResponseEvent.self_groups,
            ResponseEvent.occurred_at,
            cast(ResponseEvent.data, Text).label("data"),
        )
        .select_from(ResponseEvent)
        .outerjoin(Delivery, Delivery.id == ResponseEvent.delivery_id)
        .where(ResponseEvent.campaign_id == campaign_id, ResponseEvent.kind == "rsvp"),
    )
    rsvps["answer"] = rsvps["answer"].fillna("").astype(str).str.lower()
    known = rsvps["contact_pk"].notna()
    rsvps["who"] = _who_self(rsvps["self_groups"])
    rsvps.loc[known, "who"] = _who_contact(rsvps.loc[known, "contact_pk"])
    # Someone without a contact record is one person per RSVP submission.
    rsvps["person"] = "e:" + rsvps["id"].astype(str)
    rsvps.loc[known, "person"] = rsvps.loc[known, "who"]
    rsvps["wave"] = rsvps["wave"].astype("int64")

    people = union(
        select(CampaignContact.contact_pk.label("pk")).where(
            CampaignContact.campaign_id == campaign_id
        ),
        select(Delivery.contact_pk.label("pk")).where(
            Delivery.campaign_id == campaign_id, Delivery.contact_pk.is_not(None)
        ),
        select(ResponseEvent.contact_pk.label("pk")).where(
            ResponseEvent.campaign_id == campaign_id, ResponseEvent.contact_pk.is_not(None)
        ),
    ).subquery()
    members = _read(
        store,
        select(ContactGroup.contact_pk, ContactGroup.dimension, ContactGroup.value).where(
            ContactGroup.contact_pk.in_(select(people.c.pk)),
            ContactGroup.dimension.in_(dimensions) if dimensions else literal(True),
        ),
    )

    waves = sorted(
        {int(w) for w in ledger["wave"]}
        | {int(w) for w in rsvps["wave"] if w}
        | {int(w) for w in events["wave"] if w}
    )
    return CampaignFrames(
        campaign_id=campaign_id,
        title=title,
        spec=spec,
        dimensions=dimensions,
        target=target,
        groups=groups,
        reach=reach,
        partner_reach=partner_reach,
        materials=materials,
        ledger=ledger,
        events=events,
        rsvps=rsvps,
        members=members,
        waves=waves,
    )


def parse_data(texts: pd.Series) -> pd.Series:
    """Decode the JSON `data` column, only for rows that carry something (dicts out)."""

    def decode(text: Any) -> dict[str, Any]:
        if isinstance(text, dict):
            return text
        if not isinstance(text, str) or len(text) < 3:
            return {}
        try:
            value = json.loads(text)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    return texts.map(decode)
