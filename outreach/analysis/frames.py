"""Bulk reads from the store into pandas frames: the only module of analysis that queries.

Each read is one SQL `SELECT` (aggregated in the database where that shrinks the rows:
the ledger and reach by group always are), so a report over a million response events
does a handful of queries and no per-row Python, and the summary at the end of a
million-message wave holds counts, not the wave.

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

import pandas as pd
from sqlalchemy import Text, and_, case, cast, distinct, func, literal, select
from sqlalchemy.sql import Select

from outreach.analysis.membership import ALL, NOT_STATED
from outreach.analysis.representation import DEFAULT_TARGET
from outreach.store import Store
from outreach.store.models import (
    Campaign,
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
    reach: pd.DataFrame  # wave, channel, language, dimension, value, reached, fallback
    # (people sent to, counted in the database; dimension "all" holds each cell's total)
    partner_reach: pd.DataFrame  # wave, channel, language, n (sent to partners)
    materials: pd.DataFrame  # wave, channel, language, n
    ledger: pd.DataFrame  # wave, channel, language, status, fallback_from, n (all rows)
    events: pd.DataFrame  # wave, channel, language, kind, who, contact, n
    rsvps: pd.DataFrame  # id, seq (time order), wave, channel, language, answer, who, person,
    # contact_pk, self_groups, data
    members: pd.DataFrame  # contact_pk, dimension, value (contacts who answered)
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


def _reach_counts(store: Store, campaign_id: str, dimensions: list[str]) -> pd.DataFrame:
    """People sent to, per cell and group, counted by the database.

    Rows `wave, channel, language, dimension, value, reached, fallback`: the cell's total
    (dimension and value "all"), each group of a tracked dimension, and "not-stated" for
    those with no value in a dimension, so a dimension's rows add up to the total as they
    do for every other measure. A million-row wave is a few grouped queries, not a frame.
    """
    cell = (Delivery.wave, Delivery.channel, Delivery.language)
    counts = (
        func.count(distinct(Delivery.contact_pk)).label("reached"),
        func.count(
            distinct(case((Delivery.fallback_from.is_not(None), Delivery.contact_pk)))
        ).label("fallback"),
    )
    sent = (
        Delivery.campaign_id == campaign_id,
        Delivery.status == "sent",
        Delivery.contact_pk.is_not(None),
    )
    totals = _read(store, select(*cell, *counts).where(*sent).group_by(*cell))
    parts = [totals.assign(dimension=ALL, value=ALL)]
    if dimensions and not totals.empty:
        joined = (
            select(*cell, ContactGroup.dimension)
            .join(ContactGroup, ContactGroup.contact_pk == Delivery.contact_pk)
            .where(*sent, ContactGroup.dimension.in_(dimensions))
        )
        by_value = _read(
            store,
            joined.add_columns(ContactGroup.value, *counts).group_by(
                *cell, ContactGroup.dimension, ContactGroup.value
            ),
        )
        # Someone may have two values in a dimension: "stated" counts them once.
        stated = _read(store, joined.add_columns(*counts).group_by(*cell, ContactGroup.dimension))
        keys = ["wave", "channel", "language"]
        for dimension in dimensions:
            known = stated[stated["dimension"] == dimension].drop(columns="dimension")
            rest = totals.merge(known, on=keys, how="left", suffixes=("", "_stated"))
            for measure in ("reached", "fallback"):
                rest[measure] = rest[measure] - rest[f"{measure}_stated"].fillna(0)
            rest = rest[[*keys, "reached", "fallback"]]
            parts.append(rest.assign(dimension=dimension, value=NOT_STATED))
        parts.append(by_value)
    columns = ["wave", "channel", "language", "dimension", "value", "reached", "fallback"]
    reach = pd.concat(parts, ignore_index=True)[columns]
    reach = reach.astype({"wave": "int64", "reached": "int64", "fallback": "int64"})
    return reach[reach["reached"] > 0].reset_index(drop=True)


def _linked(campaign_id: str, *columns: Any) -> Select[Any]:
    """Response events with what their ledger row knows: an event linked to a delivery but
    missing its wave, language or contact takes them from the delivery."""
    return (
        select(
            ResponseEvent.id,
            func.coalesce(ResponseEvent.wave, Delivery.wave).label("wave"),
            ResponseEvent.channel,
            func.coalesce(ResponseEvent.language, Delivery.language).label("language"),
            *columns,
            func.coalesce(ResponseEvent.contact_pk, Delivery.contact_pk).label("contact_pk"),
            ResponseEvent.self_groups,
        )
        .select_from(ResponseEvent)
        .outerjoin(
            Delivery,
            and_(Delivery.id == ResponseEvent.delivery_id, Delivery.campaign_id == campaign_id),
        )
        .where(ResponseEvent.campaign_id == campaign_id)
    )


def _unknowns(frame: pd.DataFrame) -> None:
    """0 for an unknown wave and "und" for an unknown language."""
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

    # The ledger is counted in the database: a wave's rows never come into this process.
    cell = (Delivery.wave, Delivery.channel, Delivery.language)
    ledger_keys = (*cell, Delivery.status, Delivery.fallback_from)
    ledger = _read(
        store,
        select(*ledger_keys, func.count().label("n"))
        .where(Delivery.campaign_id == campaign_id)
        .group_by(*ledger_keys)
        .order_by(*ledger_keys),
    )
    ledger["fallback_from"] = ledger["fallback_from"].astype(object)
    ledger = ledger.astype({"n": "int64"})
    reach = _reach_counts(store, campaign_id, dimensions)
    partner_reach = _read(
        store,
        select(*cell, func.count().label("n"))
        .where(
            Delivery.campaign_id == campaign_id,
            Delivery.status == "sent",
            Delivery.contact_pk.is_(None),
        )
        .group_by(*cell)
        .order_by(*cell),
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
        store, _linked(campaign_id, ResponseEvent.kind).where(ResponseEvent.kind.in_(COUNTED_KINDS))
    )
    _unknowns(events)
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
        _linked(campaign_id, ResponseEvent.answer, cast(ResponseEvent.data, Text).label("data"))
        .where(ResponseEvent.kind == "rsvp")
        # Time order is row order: "latest answer" needs no date parsing in Python.
        .order_by(ResponseEvent.occurred_at, ResponseEvent.id),
    )
    _unknowns(rsvps)
    rsvps["seq"] = range(len(rsvps))
    rsvps["answer"] = rsvps["answer"].astype(object).fillna("").astype(str).str.lower()
    rsvps["who"] = codes.who(rsvps["contact_pk"], rsvps["self_groups"])
    # Someone without a contact record is one person per RSVP submission.
    rsvps["person"] = rsvps["who"].where(rsvps["who"] > 0, -rsvps["id"].astype("int64"))
    rsvps["wave"] = rsvps["wave"].astype("int64")
    rsvps = _categories(rsvps, ["channel", "language"])

    # Groups of the people who answered (reach is counted by group in the database).
    answered = _linked(campaign_id).with_only_columns(
        func.coalesce(ResponseEvent.contact_pk, Delivery.contact_pk)
    )
    in_dimensions = ContactGroup.dimension.in_(dimensions) if dimensions else literal(True)
    members = _read(
        store,
        select(ContactGroup.contact_pk, ContactGroup.dimension, ContactGroup.value).where(
            ContactGroup.contact_pk.in_(answered), in_dimensions
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
