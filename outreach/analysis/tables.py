"""The report's tidy tables, computed from bulk reads with pandas.

Definitions (also in the report's "how to read this"):

- **reached** — for channels addressed to people (email): people whose message the ledger
  marks `sent`, counted in each of their groups (`reach_unit = "people"`). For partner packs:
  packs delivered to partners (`"packs"`); for radio and flyers: materials issued for the
  wave — one per language, format (spot length or paper size) and station or distribution
  point (`"materials"`). Materials and packs are not split by group (group rows show NA).
- **delivered** — people with a provider "delivered" event; **opened / clicked / scanned**
  — people (or, without a contact record, events) with that event; **engaged** — people
  with any of the three.
- **responded_yes / maybe / no** — people by their latest RSVP answer in that cell.
- **attended** — people signed in at the event.
- **fallback** — people who got the invitation in another language because the
  translation of theirs was missing (`Delivery.fallback_from`).

Groups: a contact counts in their own groups; someone without a contact record counts in
the groups they described themselves in. For each dimension, anyone with no value is
counted as `not-stated`, so the groups of a dimension add up to the `all` row.

```python
from outreach.analysis.tables import funnel_table, representation_table

funnel_table(store, "the-way-ahead")             # wave × channel × language × group
representation_table(store, "the-way-ahead", 1)  # after wave 1
```
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from outreach.analysis.frames import CampaignFrames, load_campaign_frames, parse_data
from outreach.analysis.membership import (
    ALL,
    ALL_LABEL,
    NOT_STATED,
    expand,
    group_key,
    group_mapping,
    label_of,
    labels_for,
)
from outreach.analysis.representation import add_ratios
from outreach.store import Store
from outreach.store.models import Contact

CELL = ["wave", "channel", "language"]
MEASURES = [
    "reached",
    "delivered",
    "engaged",
    "opened",
    "clicked",
    "scanned",
    "responded_yes",
    "responded_maybe",
    "responded_no",
    "attended",
    "fallback",
]
_EVENT_MEASURE = {
    "delivered": "delivered",
    "open": "opened",
    "click": "clicked",
    "scan": "scanned",
    "attended": "attended",
}
ANSWERS = ("yes", "maybe", "no")
POSITIVE = ("yes", "maybe")


# ---------------------------------------------------------------- units -> counts


def _latest(rsvps: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Each person's latest RSVP within `by` (later time wins; ties by event id)."""
    # Rows arrive in time order (`seq`), so the last one per person is their latest.
    return rsvps.drop_duplicates(subset=[*by, "person"], keep="last")


def _units(frames: CampaignFrames) -> pd.DataFrame:
    """Rows `wave, channel, language, measure, who, n`: who counts for what, how often.

    Reach and fallback are not here: the database counts them by group (`frames.reach`)."""
    parts: list[pd.DataFrame] = []
    events = frames.events
    mapped = events[events["kind"].isin(list(_EVENT_MEASURE))]
    parts.append(mapped[[*CELL, "who", "n"]].assign(measure=mapped["kind"].map(_EVENT_MEASURE)))
    engaged = events[events["kind"].isin(["open", "click", "scan"])]
    known = engaged["contact"]
    parts.append(
        engaged[known]
        .drop_duplicates(subset=[*CELL, "who"])[[*CELL, "who"]]
        .assign(measure="engaged", n=1)
    )
    parts.append(
        engaged[~known].groupby([*CELL, "who"], as_index=False)["n"].sum().assign(measure="engaged")
    )

    rsvps = frames.rsvps[frames.rsvps["answer"].isin(ANSWERS)]
    latest = _latest(rsvps, CELL)
    parts.append(latest[[*CELL, "who"]].assign(measure="responded_" + latest["answer"], n=1))
    units = pd.concat([p for p in parts if not p.empty] or [parts[0]], ignore_index=True)
    units = units.astype(
        {"wave": "int64", "n": "int64", "channel": "category", "language": "category",
         "measure": "category"}
    )  # fmt: skip
    return units[[*CELL, "measure", "who", "n"]]


def _group_values(frames: CampaignFrames, observed: pd.DataFrame) -> pd.DataFrame:
    """Every (dimension, value) a table shows: the campaign's groups, anything observed,
    and `not-stated` for each dimension."""
    known = frames.groups[["dimension", "value"]]
    extra = observed[["dimension", "value"]] if not observed.empty else known.iloc[0:0]
    stated = pd.DataFrame(
        {"dimension": frames.dimensions, "value": [NOT_STATED] * len(frames.dimensions)}
    )
    values = pd.concat([known, extra, stated], ignore_index=True).drop_duplicates()
    values = values[values["dimension"].isin(frames.dimensions)]
    order = {d: i for i, d in enumerate(frames.dimensions)}
    values = values.assign(
        _d=values["dimension"].map(order), _ns=values["value"].eq(NOT_STATED)
    ).sort_values(["_d", "_ns", "value"])
    return values.drop(columns=["_d", "_ns"]).reset_index(drop=True)


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns (used for speed inside) back to plain text for the outside."""
    for column in table.columns:
        if isinstance(table[column].dtype, pd.CategoricalDtype):
            table[column] = table[column].astype(str)
    return table


def _mapping(frames: CampaignFrames) -> pd.DataFrame:
    """Group membership of every person key in the campaign, computed once per report."""
    if "mapping" not in frames.cache:
        whos = pd.concat([frames.events["who"], frames.rsvps["who"]], ignore_index=True)
        frames.cache["mapping"] = group_mapping(
            whos.to_numpy(), frames.members, frames.dimensions, frames.self_codes
        )
    return frames.cache["mapping"]


def _finish(table: pd.DataFrame, frames: CampaignFrames) -> pd.DataFrame:
    labels = labels_for(frames.groups)
    table["group"] = [
        group_key(d, v) for d, v in zip(table["dimension"], table["value"], strict=True)
    ]
    table["label"] = [
        label_of(labels, d, v) for d, v in zip(table["dimension"], table["value"], strict=True)
    ]
    return table


def funnel_table(store: Store, campaign_id: str) -> pd.DataFrame:
    """Tidy funnel: one row per wave × channel × language × group (see module docstring).

    Columns: `wave, channel, language, group, dimension, value, label, reach_unit,` then
    `MEASURES`. Rows with `group == "all"` hold the cell's totals.
    """
    return funnel_from(load_campaign_frames(store, campaign_id))


def funnel_from(frames: CampaignFrames) -> pd.DataFrame:
    units = _units(frames)
    reach = frames.reach.melt(
        id_vars=[*CELL, "dimension", "value"],
        value_vars=["reached", "fallback"],
        var_name="measure",
        value_name="n",
    )
    is_total = reach["dimension"].eq(ALL)
    totals = pd.concat(
        [
            units.groupby([*CELL, "measure"], as_index=False, observed=True)["n"].sum(),
            reach.loc[is_total, [*CELL, "measure", "n"]],
        ],
        ignore_index=True,
    )
    mapping = _mapping(frames)
    by_group = pd.concat(
        [
            expand(units, mapping)
            .groupby([*CELL, "measure", "dimension", "value"], as_index=False, observed=True)["n"]
            .sum(),
            reach[~is_total],
        ],
        ignore_index=True,
    )

    cells = pd.concat(
        [
            units[CELL],
            frames.reach[CELL],
            frames.partner_reach[CELL],
            frames.materials[CELL],
        ],
        ignore_index=True,
    ).drop_duplicates()
    cells = cells.astype({"wave": "int64"}).sort_values(CELL).reset_index(drop=True)
    values = _group_values(frames, by_group)
    grid = pd.concat(
        [
            cells.merge(values, how="cross"),
            cells.assign(dimension=ALL, value=ALL),
        ],
        ignore_index=True,
    )
    wide_groups = by_group.pivot_table(
        index=[*CELL, "dimension", "value"], columns="measure", values="n", aggfunc="sum"
    )
    wide_totals = totals.assign(dimension=ALL, value=ALL).pivot_table(
        index=[*CELL, "dimension", "value"], columns="measure", values="n", aggfunc="sum"
    )
    wide = pd.concat([wide_groups, wide_totals]).reset_index()
    table = grid.merge(wide, on=[*CELL, "dimension", "value"], how="left")
    for measure in MEASURES:
        if measure not in table:
            table[measure] = 0
        table[measure] = table[measure].fillna(0).astype("int64")

    # Reach of radio, flyers and partner packs is counted in materials, not people.
    offline = pd.concat(
        [
            frames.partner_reach.assign(unit="packs"),
            frames.materials.assign(unit="materials"),
        ],
        ignore_index=True,
    )
    if not offline.empty:
        offline = (
            offline.astype({"wave": "int64"})
            .groupby(CELL, as_index=False)
            .agg(offline_n=("n", "sum"), unit=("unit", "max"))
        )
        table = table.merge(offline, on=CELL, how="left")
    else:
        table["offline_n"] = np.nan
        table["unit"] = None
    people = table.groupby(CELL)["reached"].transform("max") > 0
    material = ~people & table["offline_n"].notna()
    table["reach_unit"] = np.where(material, table["unit"], "people")
    reached = table["reached"].astype("Int64")
    is_all = table["dimension"].eq(ALL)
    reached[material & is_all] = table.loc[material & is_all, "offline_n"].astype("int64")
    reached[material & ~is_all] = pd.NA
    table["reached"] = reached
    table = _finish(table.drop(columns=["offline_n", "unit"]), frames)
    columns = [*CELL, "group", "dimension", "value", "label", "reach_unit", *MEASURES]
    return _plain(table[columns].reset_index(drop=True))


# ---------------------------------------------------------------- representation


def _respondents(frames: CampaignFrames, upto_wave: int | None) -> pd.DataFrame:
    """Distinct respondents (latest answer yes/maybe) up to a wave, with `who`."""
    rsvps = frames.rsvps[frames.rsvps["answer"].isin(ANSWERS)]
    if upto_wave is not None:
        rsvps = rsvps[rsvps["wave"] <= upto_wave]
    latest = _latest(rsvps, [])
    return latest[latest["answer"].isin(POSITIVE)]


def representation_from(frames: CampaignFrames, wave: int | None = None) -> pd.DataFrame:
    """See `representation_table`; works on frames already loaded (for headway)."""
    people = _respondents(frames, wave)
    mapping = _mapping(frames)
    rows = expand(people[["person", "who"]], mapping)
    counts = rows.groupby(["dimension", "value"])["person"].nunique()
    stated_rows = rows[rows["value"] != NOT_STATED]
    stated = stated_rows.groupby("dimension")["person"].nunique()
    not_stated = rows[rows["value"] == NOT_STATED].groupby("dimension")["person"].nunique()

    table = frames.groups[frames.groups["dimension"].isin(frames.dimensions)].copy()
    index = pd.MultiIndex.from_frame(table[["dimension", "value"]])
    table["respondents"] = counts.reindex(index, fill_value=0).to_numpy().astype("int64")
    table["stated"] = table["dimension"].map(stated).fillna(0).astype("int64")
    table["not_stated"] = table["dimension"].map(not_stated).fillna(0).astype("int64")
    table["total_respondents"] = len(people)
    table = add_ratios(table, frames.target)
    table["status"] = np.select(
        [table["underreached"], (table["stated"] > 0) & (table["ratio"] >= frames.target)],
        ["underreached", "meets target"],
        default="not yet clear",
    )
    table["group"] = table["dimension"] + ":" + table["value"]
    labels = labels_for(frames.groups)
    table["label"] = [labels[g] for g in table["group"]]
    columns = [
        "group",
        "dimension",
        "value",
        "label",
        "respondents",
        "share",
        "population_share",
        "ratio",
        "ratio_low",
        "ratio_high",
        "target",
        "underreached",
        "status",
        "stated",
        "not_stated",
        "total_respondents",
        "share_low",
        "share_high",
    ]
    return table[columns].reset_index(drop=True)


def representation_table(store: Store, campaign_id: str, wave: int | None = None) -> pd.DataFrame:
    """Each group's share of respondents against its population share.

    `wave=None`: all waves so far; `wave=k`: cumulative after wave k (waves 1..k).
    Columns: `group, dimension, value, label, respondents, share, population_share, ratio,
    ratio_low, ratio_high, target, underreached`, plus `status` ("underreached", "meets
    target", "not yet clear"), `stated` (the share's denominator: respondents whose group
    in that dimension is known), `not_stated`, `total_respondents`, `share_low/high`.
    """
    return representation_from(load_campaign_frames(store, campaign_id), wave)


def headway_from(frames: CampaignFrames) -> pd.DataFrame:
    waves = [w for w in frames.waves if w > 0] or [1]
    parts = [representation_from(frames, w).assign(wave=w) for w in waves]
    table = pd.concat(parts, ignore_index=True)
    return table[["wave", *[c for c in table.columns if c != "wave"]]]


def headway_table(store: Store, campaign_id: str) -> pd.DataFrame:
    """Representation after each wave (cumulative): `representation_table` rows + `wave`."""
    return headway_from(load_campaign_frames(store, campaign_id))


# ---------------------------------------------------------------- what we heard


def _heard(frames: CampaignFrames) -> pd.DataFrame:
    """Each person's latest RSVP (any answer) with its decoded `data` (computed once)."""
    if "heard" in frames.cache:
        return frames.cache["heard"]
    rsvps = frames.rsvps[frames.rsvps["answer"].isin(ANSWERS)]
    latest = _latest(rsvps, [])
    carrying = latest["data"].fillna("").astype(str).str.len() > 2
    latest = latest.assign(parsed=[{}] * len(latest))
    latest.loc[carrying, "parsed"] = parse_data(latest.loc[carrying, "data"])
    frames.cache["heard"] = latest
    return latest


def barriers_from(frames: CampaignFrames) -> pd.DataFrame:
    heard = _heard(frames)
    heard = heard.assign(barrier=heard["parsed"].map(lambda d: list(d.get("barriers") or [])))
    exploded = heard[["person", "who", "channel", "barrier"]].explode("barrier").dropna()
    exploded = exploded.drop_duplicates(subset=["person", "channel", "barrier"])
    columns = ["group", "dimension", "value", "label", "channel", "barrier", "count"]
    if exploded.empty:
        return pd.DataFrame(columns=columns)
    mapping = _mapping(frames)
    by_group = (
        expand(exploded, mapping)
        .groupby(["dimension", "value", "channel", "barrier"], as_index=False)["person"]
        .nunique()
    )
    total = (
        exploded.groupby(["channel", "barrier"], as_index=False)["person"]
        .nunique()
        .assign(dimension=ALL, value=ALL)
    )
    table = pd.concat([total, by_group], ignore_index=True).rename(columns={"person": "count"})
    table = _finish(table, frames)
    table = _plain(table[columns])
    return table.sort_values(["group", "channel", "barrier"]).reset_index(drop=True)


def barriers_table(store: Store, campaign_id: str) -> pd.DataFrame:
    """People naming each barrier, per group and channel (`group == "all"`: everyone).

    Columns `group, channel, barrier, count` plus `dimension, value, label`. Each person's
    latest RSVP counts (whatever their answer: "no" answers say most about barriers).
    """
    return barriers_from(load_campaign_frames(store, campaign_id))


def heard_via_from(frames: CampaignFrames) -> pd.DataFrame:
    """How people say they heard about the event, per channel their answer came through."""
    heard = _heard(frames)
    via = heard["parsed"].map(lambda d: str(d.get("heard_via") or "").strip().lower())
    table = (
        heard.assign(heard_via=via.replace("", "not stated"))
        .groupby(["channel", "heard_via"], as_index=False)["person"]
        .nunique()
        .rename(columns={"person": "count"})
    )
    table = _plain(table)
    return table.sort_values(["channel", "count"], ascending=[True, False]).reset_index(drop=True)


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
# Seven or more digits, allowing spaces, dots, dashes, brackets and a leading +.
_PHONE = re.compile(r"(?<!\w)\+?\(?\d[\d\s().-]{5,}\d(?!\w)")


def scrub(text: str, names: list[str] = ()) -> str:  # type: ignore[assignment]
    """Remove email addresses, phone numbers and the given names from free text."""
    text = _EMAIL.sub("[email removed]", text)
    text = _PHONE.sub(
        lambda m: "[phone removed]" if sum(c.isdigit() for c in m.group()) >= 7 else m.group(),
        text,
    )
    lowered = text.lower()
    for name in names:
        for part in {p for p in re.split(r"\s+", name or "") if len(p) >= 3}:
            if part.lower() in lowered:  # cheap test first: most texts name nobody
                text = re.sub(rf"(?i)\b{re.escape(part)}\b", "[name removed]", text)
    return text


def free_text_from(frames: CampaignFrames, store: Store | None = None) -> pd.DataFrame:
    """Free-text answers ("anything that would make it easier?"), without names.

    Email addresses and phone numbers are stripped; for known contacts their own name is
    stripped too. Columns: `wave, channel, language, answer, text` (no person keys).
    """
    heard = _heard(frames)
    text = heard["parsed"].map(lambda d: str(d.get("barrier_text") or "").strip())
    heard = heard.assign(text=text)[text != ""]
    names: dict[int, str] = {}
    pks = [int(pk) for pk in heard["contact_pk"].dropna().unique()]
    if store is not None and pks:
        with store.session() as session:
            for start in range(0, len(pks), 900):
                chunk = pks[start : start + 900]
                names.update(
                    session.execute(
                        select(Contact.id, Contact.name).where(Contact.id.in_(chunk))
                    ).all()
                )
    cleaned = [
        scrub(t, [names.get(int(pk), "")] if pd.notna(pk) else [])
        for t, pk in zip(heard["text"], heard["contact_pk"], strict=True)
    ]
    table = _plain(heard.assign(text=cleaned)[["wave", "channel", "language", "answer", "text"]])
    return table.sort_values(["wave", "channel", "language"]).reset_index(drop=True)


def fallback_from(frames: CampaignFrames) -> pd.DataFrame:
    """People sent the invitation in another language: `wave, channel, language,
    fallback_from, count` (language = what they got, fallback_from = what they needed)."""
    ledger = frames.ledger
    rows = ledger[ledger["fallback_from"].notna() & ledger["status"].eq("sent")]
    return (
        rows.groupby(["wave", "channel", "language", "fallback_from"], as_index=False)["n"]
        .sum()
        .rename(columns={"n": "count"})
        .reset_index(drop=True)
    )


def cell_label(value: Any) -> str:
    return ALL_LABEL if value == ALL else str(value)
