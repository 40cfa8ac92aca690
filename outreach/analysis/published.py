"""The report's tables as they are shared: exact tables in, suppressed tables out.

`build_report_tables` computes every table once from one bulk read (`frames`), then
protects each with the lines it shows (see `suppression`). The report, its CSV files,
the headlines and the charts all use these protected tables, so nothing shared can show a
number the tables hide.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from outreach.analysis import tables as t
from outreach.analysis.frames import CampaignFrames, load_campaign_frames
from outreach.analysis.intervals import wilson_arrays
from outreach.analysis.membership import ALL, ALL_LABEL, NOT_STATED, label_of, labels_for
from outreach.analysis.suppression import (
    Line,
    Protected,
    group_lines,
    row_lines,
    share_safely,
)
from outreach.store import Store

FUNNEL_COUNTS = t.MEASURES
RATIO_COLUMNS = ["share", "share_low", "share_high", "ratio", "ratio_low", "ratio_high"]


@dataclass
class ReportTables:
    """Exact tables (`funnel`, `representation`, ...) and their shared versions (`shared`)."""

    frames: CampaignFrames
    threshold: int
    unsuppressed: bool
    funnel: pd.DataFrame
    representation: pd.DataFrame
    headway: pd.DataFrame
    barriers: pd.DataFrame
    heard_via: pd.DataFrame
    fallback: pd.DataFrame
    free_text: pd.DataFrame
    shared: dict[str, Protected] = field(default_factory=dict)


def _channels(funnel: pd.DataFrame) -> pd.DataFrame:
    everyone = funnel[funnel["group"] == ALL]
    counts = ["reached", "engaged", "responded_positive", "responded_no", "attended"]
    everyone = everyone.assign(
        responded_positive=everyone["responded_yes"] + everyone["responded_maybe"]
    )
    return everyone.groupby(["channel", "reach_unit"], as_index=False)[counts].sum()


def _rates(funnel: pd.DataFrame) -> pd.DataFrame:
    """Channel × group: people reached, yes-or-maybe, and the rate where reach is people."""
    keys = ["channel", "dimension", "value", "group", "label"]
    table = funnel.assign(
        positive=funnel["responded_yes"] + funnel["responded_maybe"],
        people=funnel["reached"].where(funnel["reach_unit"] == "people"),
    )
    table = table.groupby(keys, as_index=False, sort=False, dropna=False).agg(
        reached=("people", lambda s: s.sum(min_count=1)), positive=("positive", "sum")
    )
    table["reached"] = table["reached"].astype("Float64").astype(float)
    reached = table["reached"].fillna(0).to_numpy()
    rate, low, high = wilson_arrays(
        table["positive"].clip(upper=reached).where(reached > 0, 0), reached
    )
    table["rate"], table["rate_low"], table["rate_high"] = rate, low, high
    unknown = table["rate"].isna()
    table.loc[unknown, ["rate_low", "rate_high"]] = float("nan")
    return table


def _with_margins(representation: pd.DataFrame, frames: CampaignFrames) -> pd.DataFrame:
    """Representation rows plus "not stated" per dimension and "Everyone" (the total)."""
    labels = labels_for(frames.groups)
    parts = []
    for dimension in frames.dimensions:
        rows = representation[representation["dimension"] == dimension]
        parts.append(rows)
        not_stated = int(rows["not_stated"].iloc[0]) if len(rows) else 0
        parts.append(
            pd.DataFrame(
                [
                    {
                        "group": f"{dimension}:{NOT_STATED}",
                        "dimension": dimension,
                        "value": NOT_STATED,
                        "label": label_of(labels, dimension, NOT_STATED),
                        "respondents": not_stated,
                        "status": "",
                    }
                ]
            )
        )
    total = int(representation["total_respondents"].iloc[0]) if len(representation) else 0
    parts.append(
        pd.DataFrame(
            [
                {
                    "group": ALL,
                    "dimension": ALL,
                    "value": ALL,
                    "label": ALL_LABEL,
                    "respondents": total,
                    "status": "",
                }
            ]
        )
    )
    table = pd.concat([p for p in parts if not p.empty], ignore_index=True)
    columns = [
        "group",
        "dimension",
        "value",
        "label",
        "respondents",
        "share",
        "share_low",
        "share_high",
        "population_share",
        "ratio",
        "ratio_low",
        "ratio_high",
        "target",
        "status",
    ]
    if "wave" in representation:
        columns.insert(0, "wave")
    return table[[c for c in columns if c in table]]


def _representation_lines(table: pd.DataFrame, by: list[str]) -> list[Line]:
    """Groups + not stated add up to Everyone; stated groups add up to an implied total
    (shares give it away), so they form a line of their own."""
    lines = group_lines(table, ["respondents"], by=by)
    stated = table[(table["dimension"] != ALL) & (table["group"].str.endswith(NOT_STATED) == False)]  # noqa: E712
    for _, part in stated.groupby([*by, "dimension"], sort=False):
        lines.append(Line(tuple((int(i), "respondents") for i in part.index)))
    return lines


def build_report_tables(
    store: Store, campaign_id: str, *, threshold: int = 5, unsuppressed: bool = False
) -> ReportTables:
    frames = load_campaign_frames(store, campaign_id)
    funnel = t.funnel_from(frames)
    representation = t.representation_from(frames)
    headway = t.headway_from(frames)
    report = ReportTables(
        frames=frames,
        threshold=threshold,
        unsuppressed=unsuppressed,
        funnel=funnel,
        representation=representation,
        headway=headway,
        barriers=t.barriers_from(frames),
        heard_via=t.heard_via_from(frames),
        fallback=t.fallback_from(frames),
        free_text=t.free_text_from(frames, store),
    )
    options = {"unsuppressed": unsuppressed}

    shared_funnel = funnel.copy()
    position = shared_funnel.columns.get_loc("responded_no")
    shared_funnel.insert(
        position,
        "responded_positive",
        shared_funnel["responded_yes"] + shared_funnel["responded_maybe"],
    )
    counts = [*FUNNEL_COUNTS, "responded_positive"]
    report.shared["funnel"] = share_safely(
        shared_funnel,
        counts,
        threshold,
        lines=[
            *group_lines(shared_funnel, counts, by=t.CELL),
            *row_lines(shared_funnel, ["responded_yes", "responded_maybe"], "responded_positive"),
        ],
        exempt={"reached": (shared_funnel["reach_unit"] != "people").to_numpy()},
        **options,
    )
    channels = _channels(funnel)
    report.shared["channels"] = share_safely(
        channels,
        ["reached", "engaged", "responded_positive", "responded_no", "attended"],
        threshold,
        exempt={"reached": (channels["reach_unit"] != "people").to_numpy()},
        **options,
    )
    rates = _rates(funnel)
    report.shared["response_rates"] = share_safely(
        rates,
        ["reached", "positive"],
        threshold,
        lines=group_lines(rates, ["reached", "positive"], by=["channel"]),
        derived={c: ["reached", "positive"] for c in ("rate", "rate_low", "rate_high")},
        **options,
    )
    shown_rep = _with_margins(representation, frames)
    report.shared["representation"] = share_safely(
        shown_rep,
        ["respondents"],
        threshold,
        lines=_representation_lines(shown_rep, []),
        derived={c: ["respondents"] for c in RATIO_COLUMNS},
        prefer_total=True,
        **options,
    )
    waves = [
        _with_margins(headway[headway["wave"] == w].reset_index(drop=True), frames).assign(wave=w)
        for w in sorted(headway["wave"].unique())
    ]
    shown_headway = pd.concat(waves, ignore_index=True) if waves else shown_rep.assign(wave=1)
    shown_headway = shown_headway[["wave", *[c for c in shown_headway if c != "wave"]]]
    report.shared["headway"] = share_safely(
        shown_headway,
        ["respondents"],
        threshold,
        lines=_representation_lines(shown_headway, ["wave"]),
        derived={c: ["respondents"] for c in RATIO_COLUMNS},
        prefer_total=True,
        **options,
    )
    barriers = report.barriers.reset_index(drop=True)
    report.shared["barriers"] = share_safely(
        barriers,
        ["count"],
        threshold,
        lines=group_lines(barriers, ["count"], by=["channel", "barrier"]),
        **options,
    )
    report.shared["heard_via"] = share_safely(report.heard_via, ["count"], threshold, **options)
    report.shared["fallback"] = share_safely(report.fallback, ["count"], threshold, **options)
    report.shared["free_text"] = share_safely(report.free_text, [], threshold, **options)
    return report
