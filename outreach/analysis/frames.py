"""Bulk reads from the store into pandas frames: the only module of analysis that queries.

Each read is one SQL `SELECT` (aggregated in the database where that shrinks the rows),
read with `pandas.read_sql`, so a report over a million response events does a handful of
queries and no per-row Python.

Person keys (`who`, integers so that grouping a million rows stays fast) tie rows to
groups:

- a positive key is a known contact's primary key; their groups come from `contact_groups`;
- a negative key stands for one self-description (`self_codes[key]`, e.g.
  `"birth:outside-uk;language:so"`, or `""` when they said nothing) given by someone
  without a contact record (radio, flyer, a partner's sign-in sheet).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
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
    rsvps: pd.DataFrame  # id, seq (time order), wave, channel, language, answer, who, person,
    # contact_pk, self_groups, data
    members: pd.DataFrame  # contact_pk, dimension, value
    self_codes: dict[int, str] = field(default_factory=dict)  # negative who -> self_groups
    waves: list[int] = field(default_factory=list)
    cache: dict[str, Any] = field(default_factory=dict)  # derived frames, computed once


_READ_CHUNK = 50_000


def _read(store: Store, query: Select[Any]) -> pd.DataFrame:
    """What `pandas.read_sql` gives, with each repeated string stored once.

    A million-row wave's ledger and its three million group memberships are mostly the same
    few strings ("email", "sent", "age", "65+"...), but the driver returns a new object for
    every cell: read with `read_sql`, the summary at the end of a wave took about 1.7 KB
    per ledger row. Rows are fetched a chunk at a time and their strings shared; the frame
    is then built once, as `read_sql` builds it, so values and dtypes are the same.
    """
    shared: dict[str, str] = {}
    rows: list[tuple[Any, ...]] = []
    with store.engine.connect() as connection:
        result = connection.execution_options(yield_per=_READ_CHUNK).execute(query)
        columns = list(result.keys())
        for partition in result.partitions():
            rows.extend(
                tuple(shared.setdefault(v, v) if type(v) is str else v for v in row)
                for row in partition
            )
    return pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)


class _SelfCodes:
    """Negative integer keys for self-descriptions, shared by every frame of a report."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def who(self, contact_pk: pd.Series, self_groups: pd.Series) -> pd.Series:
        text = self_groups.astype(object).where(self_groups.notna(), "")
        for value in pd.unique(text[contact_pk.isna()]):
            self.codes.setdefault(str(value), -(len(self.codes) + 1))
        anonymous = text.map(self.codes).fillna(0).astype("int64")
        return contact_pk.fillna(0).astype("int64").where(contact_pk.notna(), anonymous)


def _fill_from_ledger(frame: pd.DataFrame, deliveries: pd.DataFrame) -> None:
    """Fill an event's missing wave, language and contact from its ledger row; then 0 for
    an unknown wave and "und" for an unknown language."""
    linked = frame["delivery_id"].notna()
    if linked.any():
        by_id = deliveries.set_index("id")
        ids = frame.loc[linked, "delivery_id"].astype("int64")
        for column in ("wave", "language", "contact_pk"):
            missing = frame.loc[linked, column].isna()
            if missing.any():
                values = ids[missing].map(by_id[column])
                frame[column] = frame[column].astype(object)
                frame.loc[values.index, column] = values
    frame["wave"] = pd.to_numeric(frame["wave"]).fillna(0).astype("int64")
    frame["language"] = frame["language"].astype(object).fillna("und")
    frame["contact_pk"] = pd.to_numeric(frame["contact_pk"])


def _categories(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    for column in columns:
        frame[column] = frame[column].astype(object).fillna("").astype(str).astype("category")
    return frame


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

    # The ledger, read once: reach, partner packs and fallbacks are all derived from it.
    deliveries = _read(
        store,
        select(
            Delivery.id,
            Delivery.wave,
            Delivery.channel,
            Delivery.language,
            Delivery.status,
            Delivery.contact_pk,
            Delivery.fallback_from,
        ).where(Delivery.campaign_id == campaign_id),
    )
    deliveries["fallback_from"] = deliveries["fallback_from"].astype(object)
    ledger = (
        deliveries.groupby(["wave", "channel", "language", "status", "fallback_from"], dropna=False)
        .size()
        .reset_index(name="n")
    )
    sent = deliveries[deliveries["status"] == "sent"]
    to_people = sent["contact_pk"].notna()
    reach = sent.loc[to_people, ["wave", "channel", "language", "contact_pk", "fallback_from"]]
    reach = reach.assign(who=reach["contact_pk"].astype("int64")).reset_index(drop=True)
    partner_reach = (
        sent[~to_people].groupby(["wave", "channel", "language"]).size().reset_index(name="n")
    )
    materials = _read(
        store,
        select(Material.wave, Material.channel, Material.language, func.count().label("n"))
        .where(Material.campaign_id == campaign_id, Material.channel.in_(("radio", "flyer")))
        .group_by(Material.wave, Material.channel, Material.language),
    )

    # Events other than RSVPs, read as rows (faster than grouping in SQLite) and reduced
    # here: a known contact counts once per cell and kind; self-descriptions are counted.
    events = _read(
        store,
        select(
            ResponseEvent.wave,
            ResponseEvent.channel,
            ResponseEvent.language,
            ResponseEvent.kind,
            ResponseEvent.contact_pk,
            ResponseEvent.self_groups,
            ResponseEvent.delivery_id,
        ).where(ResponseEvent.campaign_id == campaign_id, ResponseEvent.kind.in_(COUNTED_KINDS)),
    )
    _fill_from_ledger(events, deliveries)
    codes = _SelfCodes()
    events["who"] = codes.who(events["contact_pk"], events["self_groups"])
    events = _categories(events, ["channel", "language", "kind"])
    keys = ["wave", "channel", "language", "kind", "who"]
    events = events.groupby(keys, observed=True).size().reset_index(name="n")
    events["contact"] = events["who"] > 0
    events.loc[events["contact"], "n"] = 1
    events = events.astype({"wave": "int64", "n": "int64"})

    rsvps = _read(
        store,
        select(
            ResponseEvent.id,
            ResponseEvent.wave,
            ResponseEvent.channel,
            ResponseEvent.language,
            ResponseEvent.answer,
            ResponseEvent.contact_pk,
            ResponseEvent.self_groups,
            ResponseEvent.delivery_id,
            cast(ResponseEvent.data, Text).label("data"),
        )
        .where(ResponseEvent.campaign_id == campaign_id, ResponseEvent.kind == "rsvp")
        # Time order is row order: "latest answer" needs no date parsing in Python.
        .order_by(ResponseEvent.occurred_at, ResponseEvent.id),
    )
    _fill_from_ledger(rsvps, deliveries)
    rsvps["seq"] = range(len(rsvps))
    rsvps["answer"] = rsvps["answer"].astype(object).fillna("").astype(str).str.lower()
    rsvps["who"] = codes.who(rsvps["contact_pk"], rsvps["self_groups"])
    # Someone without a contact record is one person per RSVP submission.
    rsvps["person"] = rsvps["who"].where(rsvps["who"] > 0, -rsvps["id"].astype("int64"))
    rsvps["wave"] = rsvps["wave"].astype("int64")
    rsvps = _categories(rsvps, ["channel", "language"])

    audience_pks = union(
        select(CampaignContact.contact_pk.label("pk")).where(
            CampaignContact.campaign_id == campaign_id
        ),
        select(Delivery.contact_pk.label("pk")).where(
            Delivery.campaign_id == campaign_id, Delivery.contact_pk.is_not(None)
        ),
    ).subquery()
    in_dimensions = ContactGroup.dimension.in_(dimensions) if dimensions else literal(True)
    member_columns = (ContactGroup.contact_pk, ContactGroup.dimension, ContactGroup.value)
    members = _read(
        store,
        select(*member_columns).where(
            ContactGroup.contact_pk.in_(select(audience_pks.c.pk)), in_dimensions
        ),
    )
    # Contacts who answered without being in the audience (matched by an import, say).
    answered = pd.concat([events["who"], rsvps["who"]])
    extra = np.setdiff1d(
        np.unique(answered[answered > 0].to_numpy()),
        np.concatenate([reach["who"].to_numpy(), members["contact_pk"].to_numpy()]),
    )
    for start in range(0, len(extra), 900):
        chunk = [int(pk) for pk in extra[start : start + 900]]
        found = _read(
            store,
            select(*member_columns).where(ContactGroup.contact_pk.in_(chunk), in_dimensions),
        )
        members = pd.concat([members, found], ignore_index=True)

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
        self_codes={code: text for text, code in codes.codes.items()},
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
