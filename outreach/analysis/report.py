"""The evaluator report and the per-wave summary for Prefect artifacts.

```python
from outreach.analysis.report import write_report, wave_summary

path = write_report(store, settings, "the-way-ahead", settings.reports_dir / "the-way-ahead")
# path / .. : report.html, charts/*.png|svg, tables/*.csv — all with small numbers hidden

summary = wave_summary(store, settings, "the-way-ahead", 1)
summary.markdown     # counts only, suppressed: for create_markdown_artifact
summary.table        # list of dicts:            for create_table_artifact
```

`write_report(..., unsuppressed=True)` is the officer's internal view: exact counts, files
named `*-INTERNAL-not-for-sharing*` and a red banner on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from outreach.analysis.charts import (
    CHANNEL_NAMES,
    headway_chart,
    representation_chart,
    response_rate_chart,
)
from outreach.analysis.headlines import headlines, language_name
from outreach.analysis.html import render_html
from outreach.analysis.membership import ALL, NOT_STATED
from outreach.analysis.published import ReportTables, build_report_tables
from outreach.settings import Settings
from outreach.store import Store

INTERNAL = "INTERNAL-not-for-sharing"
CSV_TABLES = (
    "funnel",
    "channels",
    "response_rates",
    "representation",
    "headway",
    "barriers",
    "heard_via",
    "fallback",
    "free_text",
)


def _kind(line: str) -> str:
    if "no longer underreached" in line or "headway" in line:
        return "good"
    if "underreached" in line or "missing" in line:
        return "bad"
    return ""


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(4)
    out.to_csv(path, index=False)


def write_report(
    store: Store,
    settings: Settings,
    campaign_id: str,
    out_dir: Path | str,
    *,
    unsuppressed: bool = False,
    now: datetime | None = None,
) -> Path:
    """Write report.html, charts (PNG + SVG) and CSV tables to `out_dir`; return the HTML path.

    Raises `frames.UnknownCampaign` for an id not in the store.
    """
    out = Path(out_dir)
    suffix = f"-{INTERNAL}" if unsuppressed else ""
    charts_dir, tables_dir = out / f"charts{suffix}", out / f"tables{suffix}"
    charts_dir.mkdir(parents=True, exist_ok=True)
    tables_dir.mkdir(parents=True, exist_ok=True)
    report = build_report_tables(
        store, campaign_id, threshold=settings.suppression_threshold, unsuppressed=unsuppressed
    )
    charts = [
        response_rate_chart(report.shared["response_rates"]),
        representation_chart(report.shared["representation"], report.frames.target),
        headway_chart(report.shared["headway"], report.frames.target, report.frames.dimensions),
    ]
    for chart in charts:
        chart.save(charts_dir)
    for name in CSV_TABLES:
        _write_csv(report.shared[name].shown, tables_dir / f"{name}.csv")
    generated = (now or datetime.now(UTC)).strftime("%d %B %Y, %H:%M UTC")
    html = render_html(
        report,
        headlines=[(line, _kind(line)) for line in headlines(report)],
        charts=charts,
        generated=generated,
    )
    if unsuppressed:
        html = html.replace('href="tables/', f'href="tables{suffix}/')
    path = out / f"report{suffix}.html"
    path.write_text(html, encoding="utf-8")
    return path


@dataclass
class WaveSummary:
    """Counts only, small numbers hidden: safe for Prefect artifacts."""

    campaign_id: str
    wave: int
    markdown: str
    table: list[dict[str, Any]]


def wave_summary(store: Store, settings: Settings, campaign_id: str, wave: int) -> WaveSummary:
    """One wave's funnel per channel × language (everyone), and each group's status so far."""
    report = build_report_tables(store, campaign_id, threshold=settings.suppression_threshold)
    funnel = report.shared["funnel"].shown
    rows = funnel[(funnel["wave"] == wave) & (funnel["group"] == ALL)]
    columns = {
        "reached": "reached",
        "engaged": "opened/clicked/scanned",
        "responded_positive": "yes or maybe",
        "responded_no": "no",
        "attended": "attended",
        "fallback": "sent in a fallback language",
    }
    table = [
        {
            "channel": CHANNEL_NAMES.get(r["channel"], r["channel"]),
            "language": language_name(str(r["language"])),
            "unit": r["reach_unit"],
            **{label: r[column] for column, label in columns.items()},
        }
        for _, r in rows.iterrows()
    ]
    lines = [f"## Wave {wave} of `{campaign_id}`", ""]
    if table:
        headers = list(table[0])
        lines.append("| " + " | ".join(headers) + " |")
        lines.append("|" + "---|" * len(headers))
        lines.extend("| " + " | ".join(str(row[h]) for h in headers) + " |" for row in table)
    else:
        lines.append("Nothing recorded for this wave yet.")
    lines += ["", "### Groups after this wave", ""]
    lines.extend(_group_lines(report, wave))
    lines += ["", f"Counts under {report.threshold} are shown as <{report.threshold}."]
    return WaveSummary(campaign_id, wave, "\n".join(lines), table)


def _group_lines(report: ReportTables, wave: int) -> list[str]:
    headway = report.shared["headway"]
    shown, exact = headway.shown, headway.exact
    rows = shown[(exact["wave"] == wave) & (exact["dimension"] != ALL)]
    rows = rows[rows["value"] != NOT_STATED] if "value" in rows else rows
    out = []
    for _, r in rows.iterrows():
        if str(r["group"]).endswith(NOT_STATED):
            continue
        out.append(f"- {r['label']}: {r['status']} ({r['respondents']} respondents)")
    return out or ["- no respondents yet"]
