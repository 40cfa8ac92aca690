"""The report's charts (matplotlib, Agg backend), drawn only from shared (suppressed) tables.

Each chart is written as PNG and SVG next to the report and returned as inline SVG for
`report.html`. A value hidden by small-number suppression is left out of the chart, and
the caption says so.

```python
chart = representation_chart(shared["representation"], target=0.8)
chart.save(out_dir / "charts")    # representation.png, representation.svg
chart.svg                          # inline <svg> for the HTML
```
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from outreach.analysis.membership import ALL, ALL_LABEL, NOT_STATED
from outreach.analysis.suppression import Protected

plt.rcParams.update(
    {
        "svg.hashsalt": "outreach",  # stable ids: the same data gives the same file
        "font.size": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)
STATUS_COLOURS = {
    "underreached": "#b2182b",
    "meets target": "#1b7837",
    "not yet clear": "#6f6f6f",
}
CHANNEL_COLOURS = {
    "email": "#2166ac",
    "radio": "#e08214",
    "flyer": "#7b3294",
    "partner_pack": "#1b7837",
}
CHANNEL_NAMES = {
    "email": "Email",
    "radio": "Radio",
    "flyer": "Flyers",
    "partner_pack": "Partner packs",
}
RATIO_CAP = 3.0  # ratios above this are drawn at the edge with their value written


@dataclass
class Chart:
    name: str
    title: str
    caption: str
    svg: str
    png: bytes

    def save(self, folder: Path) -> tuple[Path, Path]:
        folder.mkdir(parents=True, exist_ok=True)
        png, svg = folder / f"{self.name}.png", folder / f"{self.name}.svg"
        png.write_bytes(self.png)
        svg.write_text(self.svg, encoding="utf-8")
        return png, svg


def _finish(name: str, title: str, caption: str, figure: Figure) -> Chart:
    figure.tight_layout()
    svg_buffer, png_buffer = io.StringIO(), io.BytesIO()
    figure.savefig(svg_buffer, format="svg", metadata={"Date": None})
    figure.savefig(png_buffer, format="png", dpi=120)
    plt.close(figure)
    svg = svg_buffer.getvalue()
    svg = re.sub(r"<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg)
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{title}" ', 1)
    return Chart(name, title, caption, svg, png_buffer.getvalue())


def _empty(name: str, title: str, message: str) -> Chart:
    figure, axes = plt.subplots(figsize=(7, 1.6))
    axes.axis("off")
    axes.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    return _finish(name, title, message, figure)


def _visible(protected: Protected, counts: list[str]) -> pd.Series:
    hidden = np.zeros(len(protected.exact), dtype=bool)
    for column in counts:
        hidden |= protected.mask[column].to_numpy()
    return pd.Series(~hidden, index=protected.exact.index)


def response_rate_chart(rates: Protected) -> Chart:
    """Yes-or-maybe per invitation, by channel and group, with 95% intervals; plus counts
    of answers through channels without a list of recipients (radio, flyers)."""
    title = "Who answered, by channel and group"
    exact = rates.exact
    visible = _visible(rates, ["reached", "positive"])
    stated = exact["value"] != NOT_STATED
    people = exact["reached"].fillna(0) > 0
    rate_rows = exact[visible & stated & people & exact["rate"].notna()]
    offline = exact[visible & stated & exact["reached"].isna() & (exact["positive"] > 0)]
    hidden = int((~visible & stated & (people | exact["reached"].isna())).sum())
    if rate_rows.empty and offline.empty:
        return _empty("response_rates", title, "No answers to show yet.")
    groups = list(dict.fromkeys(pd.concat([rate_rows["label"], offline["label"]])))
    groups.sort(key=lambda g: g != ALL_LABEL)  # "Everyone" first, then the groups in order
    panels = int(not rate_rows.empty) + int(not offline.empty)
    height = 0.42 * len(groups) + 1.6
    figure, axes_list = plt.subplots(
        1, panels, figsize=(6.2 * panels, height), sharey=True, squeeze=False
    )
    axes_iter = iter(axes_list[0])
    positions = {g: i for i, g in enumerate(groups)}
    if not rate_rows.empty:
        axes = next(axes_iter)
        channels = list(dict.fromkeys(rate_rows["channel"]))
        width = 0.8 / len(channels)
        for j, channel in enumerate(channels):
            rows = rate_rows[rate_rows["channel"] == channel]
            y = (
                np.array([positions[g] for g in rows["label"]])
                + (j - (len(channels) - 1) / 2) * width
            )
            rate = rows["rate"].to_numpy() * 100
            error = np.vstack(
                [
                    rate - rows["rate_low"].to_numpy() * 100,
                    rows["rate_high"].to_numpy() * 100 - rate,
                ]
            )
            axes.barh(
                y,
                rate,
                height=width * 0.9,
                xerr=error,
                capsize=3,
                color=CHANNEL_COLOURS.get(channel, "#444"),
                label=CHANNEL_NAMES.get(channel, channel),
                alpha=0.85,
                error_kw={"elinewidth": 1, "ecolor": "#222"},
            )
        axes.set_xlabel("% of invitations answered yes or maybe (bars: 95% interval)")
        axes.set_xlim(0, max(5.0, float(np.nanmax(rate_rows["rate_high"])) * 100 * 1.05))
        axes.legend(loc="lower right", frameon=False)
        axes.set_title("Response rate (channels with a recipient list)", fontsize=10)
    if not offline.empty:
        axes = next(axes_iter)
        channels = list(dict.fromkeys(offline["channel"]))
        width = 0.8 / len(channels)
        for j, channel in enumerate(channels):
            rows = offline[offline["channel"] == channel]
            y = (
                np.array([positions[g] for g in rows["label"]])
                + (j - (len(channels) - 1) / 2) * width
            )
            axes.barh(
                y,
                rows["positive"].to_numpy(),
                height=width * 0.9,
                color=CHANNEL_COLOURS.get(channel, "#444"),
                label=CHANNEL_NAMES.get(channel, channel),
                alpha=0.85,
            )
        axes.set_xlabel("people who answered yes or maybe (count)")
        axes.legend(loc="lower right", frameon=False)
        axes.set_title("Answers through radio, flyers and partners", fontsize=10)
    first = axes_list[0][0]
    first.set_yticks(range(len(groups)), groups)
    first.invert_yaxis()
    caption = (
        "Bars show the share of invitations answered with yes or maybe; the black lines are "
        "95% intervals (the true rate is very likely inside). Radio and flyers have no list "
        "of who heard them, so they show counts of answers instead of rates."
    )
    if hidden:
        caption += f" {hidden} small values are not drawn (fewer than the threshold)."
    return _finish("response_rates", title, caption, figure)


def representation_chart(representation: Protected, target: float) -> Chart:
    """Each group's representation ratio with its interval against the target line."""
    title = "Are respondents like the community?"
    exact = representation.exact
    visible = _visible(representation, ["respondents"])
    rows = exact[
        visible
        & (exact["dimension"] != ALL)
        & (exact["value"] != NOT_STATED)
        & exact["ratio"].notna()
    ].reset_index(drop=True)
    hidden = int((~visible & (exact["dimension"] != ALL) & (exact["value"] != NOT_STATED)).sum())
    if rows.empty:
        return _empty("representation", title, "No respondents to compare with the community yet.")
    figure, axes = plt.subplots(figsize=(8.5, 0.42 * len(rows) + 1.6))
    y = np.arange(len(rows))
    ratio = rows["ratio"].to_numpy()
    low, high = rows["ratio_low"].to_numpy(), rows["ratio_high"].to_numpy()
    colours = [STATUS_COLOURS.get(s, "#444") for s in rows["status"]]
    shown = np.minimum(ratio, RATIO_CAP)
    axes.hlines(y, np.minimum(low, RATIO_CAP), np.minimum(high, RATIO_CAP), colors=colours, lw=2.4)
    axes.scatter(shown, y, color=colours, zorder=3, s=36)
    for yi, r, h in zip(y, ratio, high, strict=True):
        if h > RATIO_CAP:
            axes.annotate(
                f"up to {h:.1f}" if r <= RATIO_CAP else f"{r:.1f} →",
                (RATIO_CAP, yi),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
                annotation_clip=False,
            )
    axes.axvline(1.0, color="#333", lw=1, label="1.0 = same as the community")
    axes.axvline(
        target, color=STATUS_COLOURS["underreached"], lw=1, ls="--", label=f"target {target:.2f}"
    )
    axes.set_yticks(y, rows["label"])
    axes.invert_yaxis()
    axes.set_xlim(0, RATIO_CAP)
    axes.set_xlabel("share of respondents ÷ share of the community (lines: 95% interval)")
    for status, colour in STATUS_COLOURS.items():
        axes.scatter([], [], color=colour, label=status)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    caption = (
        "A dot at 1.0 means a group makes up the same share of respondents as of the "
        "community. Red: underreached (even the top of the interval is below the dashed "
        "target). Grey: not enough answers yet to be sure either way."
    )
    if hidden:
        caption += f" {hidden} groups with small numbers are not drawn."
    return _finish("representation", title, caption, figure)


def headway_chart(headway: Protected, target: float, dimensions: list[str]) -> Chart:
    """Representation ratio after each wave (cumulative), one panel per dimension."""
    title = "Headway: representation after each wave"
    exact = headway.exact
    visible = _visible(headway, ["respondents"])
    rows = exact[(exact["dimension"] != ALL) & (exact["value"] != NOT_STATED)].assign(
        ratio=exact["ratio"].where(visible)
    )
    rows = rows[rows["dimension"].isin(dimensions)]
    if rows.empty or rows["ratio"].notna().sum() == 0:
        return _empty("headway", title, "No respondents yet, so no headway to show.")
    waves = sorted(rows["wave"].unique())
    panels = [d for d in dimensions if d in set(rows["dimension"])]
    most = max(part["label"].nunique() for _, part in rows.groupby("dimension"))
    figure, axes_list = plt.subplots(
        1,
        len(panels),
        figsize=(4.2 * len(panels), 3.4 + 0.16 * most),
        squeeze=False,
        sharey=True,
    )
    for axes, dimension in zip(axes_list[0], panels, strict=True):
        part = rows[rows["dimension"] == dimension]
        for label, line in part.groupby("label", sort=False):
            line = line.sort_values("wave")
            values = np.minimum(line["ratio"].to_numpy(dtype=float), RATIO_CAP)
            axes.plot(line["wave"], values, marker="o", label=label)
        axes.axhline(target, color=STATUS_COLOURS["underreached"], ls="--", lw=1)
        axes.axhline(1.0, color="#333", lw=0.8)
        axes.set_title(dimension.capitalize(), fontsize=10)
        axes.set_xticks(waves, [f"wave {w}" for w in waves])
        axes.set_xlim(waves[0] - 0.3, waves[-1] + 0.3)
        if part["ratio"].notna().sum() == 0:
            axes.text(
                (waves[0] + waves[-1]) / 2,
                1.8,
                "numbers too small to show",
                ha="center",
                color="#6f6f6f",
                fontsize=9,
            )
        axes.set_ylim(0, RATIO_CAP)
        axes.legend(fontsize=7, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    axes_list[0][0].set_ylabel(f"representation ratio (target {target:.2f}, dashed)")
    caption = (
        "Each line is a group's representation ratio counting everyone who answered up to "
        "that wave. Lines rising toward 1.0 show headway. Ratios above "
        f"{RATIO_CAP:.0f} are drawn at the top; hidden small numbers leave gaps."
    )
    return _finish("headway", title, caption, figure)
