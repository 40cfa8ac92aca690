"""Plain-language headlines for the top of the report, from the shared tables only.

Every number in a headline is one the shared tables show; a hidden count becomes "fewer
than 5" or is left out, never printed.

```python
headlines(report_tables)
# ['People born outside the UK are 41% of the community but 18% of respondents so far —
#   still underreached after wave 2.', 'Radio reached people whose main language is
#   Somali best (15 of their answers).', ...]
```
"""

from __future__ import annotations

import math
from functools import lru_cache

import pandas as pd
from babel import Locale, UnknownLocaleError

from outreach.analysis.charts import CHANNEL_NAMES
from outreach.analysis.membership import ALL, NOT_STATED
from outreach.analysis.published import ReportTables

BARRIER_NAMES = {
    "time": "the time of the meeting",
    "childcare": "childcare",
    "language": "language",
    "cost": "cost or travel",
    "access": "access to the venue",
    "belonging": "not being sure it is for people like them",
}


@lru_cache(maxsize=512)
def language_name(code: str) -> str:
    try:
        return Locale.parse(code.replace("-", "_")).get_display_name("en") or code
    except (UnknownLocaleError, ValueError, TypeError):
        return code


def people(label: str) -> str:
    """ "Born outside the UK" -> "People born outside the UK" (labels read as groups)."""
    if label.lower().startswith("main language "):
        return f"People whose main language is {label[len('main language ') :]}"
    first = label.split(" ", 1)[0]
    if first in {"Born", "Aged", "Living", "Speaking", "Under", "Over"}:
        return f"People {label[0].lower()}{label[1:]}"
    return label


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _pct(value: float) -> str:
    return f"{value * 100:.0f}%"


def _visible(report: ReportTables, name: str, row: int, column: str) -> bool:
    return not report.shared[name].hidden(row, column)


def headlines(report: ReportTables) -> list[str]:
    t = report.threshold
    lines: list[str] = []
    waves = [w for w in report.frames.waves if w > 0]
    last = max(waves) if waves else 1
    rep = report.shared["representation"].exact
    after = f"after wave {last}" if waves else "so far"

    total_rows = rep.index[rep["dimension"] == ALL]
    if len(total_rows) and _visible(report, "representation", int(total_rows[0]), "respondents"):
        total = int(rep.loc[total_rows[0], "respondents"])
        lines.append(f"{total} {'person' if total == 1 else 'people'} said yes or maybe {after}.")

    groups = rep[(rep["dimension"] != ALL) & (rep["value"] != NOT_STATED)]
    for i, row in groups[groups["status"] == "underreached"].iterrows():
        who = people(str(row["label"]))
        population = _pct(float(row["population_share"]))
        if not _visible(report, "representation", int(i), "respondents"):
            share = f"fewer than {t} of the respondents"
        elif int(row["respondents"]) == 0:
            share = "none of the respondents"
        else:
            share = f"{_pct(float(row['share']))} of respondents"
        lines.append(
            f"{who} are {population} of the community but {share} so far — "
            f"still underreached {after}."
        )

    headway = report.shared["headway"].exact
    if len(waves) > 1:
        earlier = headway[(headway["wave"] < last) & (headway["status"] == "underreached")]
        now = groups.set_index("group")["status"]
        for group in sorted(set(earlier["group"])):
            if now.get(group) == "meets target":
                label = groups.loc[groups["group"] == group, "label"].iloc[0]
                lines.append(f"{people(str(label))} are no longer underreached {after}: headway.")

    met = int((groups["status"] == "meets target").sum())
    unclear = groups[groups["status"] == "not yet clear"]
    if len(groups):
        lines.append(
            f"{met} of {len(groups)} groups answer at least in proportion to the community "
            f"(ratio at or above the target of {report.frames.target:.2f})."
        )
    if len(unclear):
        names = "; ".join(_lower_first(people(str(x))) for x in unclear["label"])
        lines.append(f"Too few answers yet to be sure about: {names}.")

    lines.extend(_best_channels(report))

    fallback = report.shared["fallback"]
    for i, row in fallback.exact.iterrows():
        wanted, got = language_name(str(row["fallback_from"])), language_name(str(row["language"]))
        count = (
            f"{int(row['count']):,} people"
            if _visible(report, "fallback", int(i), "count")
            else f"Fewer than {t} people"
        )
        channel = CHANNEL_NAMES.get(row["channel"], row["channel"])
        lines.append(
            f"{count} got the {wanted} invitation in {got} because the translation was "
            f"missing (wave {int(row['wave'])}, {channel})."
        )

    barriers = report.barriers
    everyone = barriers[barriers["group"] == ALL]
    if not everyone.empty:
        totals = everyone.groupby("barrier")["count"].sum().sort_values(ascending=False)
        top, count = str(totals.index[0]), int(totals.iloc[0])
        name = BARRIER_NAMES.get(top, top)
        if count >= t:
            lines.append(f"The barrier people named most often was {name} ({count:,} people).")
        else:
            lines.append(f"A few people named barriers; the most common was {name}.")
    return lines


def _best_channels(report: ReportTables) -> list[str]:
    """ "Radio reached people whose main language is Somali best" — for groups whose best
    channel (most yes-or-maybe answers, shown counts only) differs from the overall best."""
    rates = report.shared["response_rates"]
    exact = rates.exact.assign(visible=~rates.mask["positive"].to_numpy())
    exact = exact[exact["visible"] & (exact["positive"] >= report.threshold)]
    overall = exact[exact["group"] == ALL]
    if overall.empty:
        return []
    top_overall = overall.sort_values("positive", ascending=False)["channel"].iloc[0]
    lines = []
    stated = exact[(exact["group"] != ALL) & (exact["value"] != NOT_STATED)]
    for _, part in stated.groupby("group", sort=False):
        best = part.sort_values("positive", ascending=False).iloc[0]
        if best["channel"] != top_overall and not (
            len(part) > 1 and part["positive"].nlargest(2).iloc[1] == best["positive"]
        ):
            channel = CHANNEL_NAMES.get(best["channel"], best["channel"])
            lines.append(
                f"{channel} reached {_lower_first(people(str(best['label'])))} best "
                f"({int(best['positive']):,} of their yes-or-maybe answers came through it)."
            )
    return lines[:4]


def fmt_interval(low: float, high: float, percent: bool) -> str:
    if any(isinstance(v, float) and math.isnan(v) for v in (low, high)) or pd.isna(low):
        return ""
    if percent:
        return f"{low * 100:.0f}–{high * 100:.0f}%"
    return f"{low:.2f}–{high:.2f}"
