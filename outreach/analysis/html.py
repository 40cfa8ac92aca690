"""`report.html`: one self-contained page (inline CSS, inline SVG charts, no external URLs).

Order: headlines, how to read this, charts, then tables. Tables are rendered from the
shared (suppressed) tables only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from outreach.analysis.charts import CHANNEL_NAMES, Chart
from outreach.analysis.headlines import BARRIER_NAMES, language_name
from outreach.analysis.membership import ALL, NOT_STATED
from outreach.analysis.published import ReportTables
from outreach.analysis.suppression import HIDDEN

MAX_QUOTES = 60
UNITS = {
    "people": ("person", "people"),
    "packs": ("pack delivered", "packs delivered"),
    "materials": ("material issued", "materials issued"),
}


def _reach(count: str, unit: str) -> str:
    one, many = UNITS.get(unit, (unit, unit))
    return f"{count} {one if count == '1' else many}"


@dataclass
class HtmlTable:
    id: str
    title: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""
    csv: str = ""
    numeric: list[bool] = field(default_factory=list)
    row_classes: list[str] = field(default_factory=list)


def _num(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def _pct(value: Any) -> str:
    number = _num(value)
    if math.isnan(number):
        return ""
    # Small population shares (0.5% Somali speakers) must not read as "0%".
    return f"{number * 100:.1f}%" if 0 < number < 0.095 else f"{number * 100:.0f}%"


def _interval(low: Any, high: Any, percent: bool = True) -> str:
    lo, hi = _num(low), _num(high)
    if math.isnan(lo) or math.isnan(hi):
        return ""
    if not percent:
        return f"{lo:.2f}–{hi:.2f}"
    digits = 1 if hi < 0.095 else 0  # "4.1–4.3%", not "4–4%"
    return f"{lo * 100:.{digits}f}–{hi * 100:.{digits}f}%"


def _ratio(value: Any) -> str:
    number = _num(value)
    return "" if math.isnan(number) else f"{number:.2f}"


def _channel(name: Any) -> str:
    return CHANNEL_NAMES.get(str(name), str(name))


def representation_html(report: ReportTables) -> HtmlTable:
    shown = report.shared["representation"].shown
    rows, classes = [], []
    for _, r in shown.iterrows():
        is_total = r["dimension"] == ALL
        is_unstated = r["group"].endswith(NOT_STATED)
        respondents = r["respondents"]
        if respondents == HIDDEN:
            respondents = "hidden"
        rows.append(
            [
                str(r["label"]),
                respondents,
                "" if is_total or is_unstated else _pct(r["share"]),
                "" if is_total or is_unstated else _interval(r["share_low"], r["share_high"]),
                _pct(r["population_share"]),
                _ratio(r["ratio"]),
                _interval(r["ratio_low"], r["ratio_high"], percent=False),
                str(r.get("status") or ""),
            ]
        )
        classes.append(
            "total"
            if is_total
            else ("muted" if is_unstated else str(r["status"]).replace(" ", "-"))
        )
    return HtmlTable(
        "representation",
        "Representation: respondents compared with the community",
        [
            "Group",
            "Respondents",
            "Share of respondents",
            "95% interval",
            "Share of community",
            "Ratio",
            "95% interval",
            "Status",
        ],
        rows,
        note="Shares are of the respondents who told us that part of who they are; "
        '"not stated" rows count those who did not.',
        csv="tables/representation.csv",
        numeric=[False, True, True, True, True, True, True, False],
        row_classes=classes,
    )


def headway_html(report: ReportTables) -> HtmlTable:
    shown = report.shared["headway"].shown
    shown = shown[(shown["dimension"] != ALL) & ~shown["group"].str.endswith(NOT_STATED)]
    waves = sorted(shown["wave"].unique())
    rows, classes = [], []
    for _group, part in shown.groupby("group", sort=False):
        cells = [str(part["label"].iloc[0])]
        by_wave = part.set_index("wave")
        for wave in waves:
            if wave not in by_wave.index:
                cells.append("")
                continue
            r = by_wave.loc[wave]
            if r["respondents"] == HIDDEN:
                cells.append("numbers hidden")
            elif r["respondents"].startswith("<"):
                cells.append(f"{r['respondents']} respondents")
            else:
                ratio = _ratio(r["ratio"])
                interval = _interval(r["ratio_low"], r["ratio_high"], percent=False)
                cells.append(f"{ratio} ({interval})" if ratio else "")
        rows.append(cells)
        classes.append(str(part["status"].iloc[-1]).replace(" ", "-"))
    return HtmlTable(
        "headway",
        "Headway: representation ratio after each wave (everyone who answered so far)",
        ["Group", *[f"After wave {w}" for w in waves]],
        rows,
        note="Ratio with its 95% interval in brackets. The colour is the latest status.",
        csv="tables/headway.csv",
        numeric=[False, *[True] * len(waves)],
        row_classes=classes,
    )


def channels_html(report: ReportTables) -> HtmlTable:
    shown = report.shared["channels"].shown
    rows = [
        [
            _channel(r["channel"]),
            _reach(r["reached"], str(r["reach_unit"])),
            r["engaged"],
            r["responded_positive"],
            r["responded_no"],
            r["attended"],
        ]
        for _, r in shown.iterrows()
    ]
    return HtmlTable(
        "channels",
        "Channels: reach and answers (all waves)",
        ["Channel", "Reached", "Opened, clicked or scanned", "Yes or maybe", "No", "Attended"],
        rows,
        note="Email reaches people on our list; radio and flyers are counted as materials "
        "issued (one per language, format and station or distribution point); partner packs "
        "as packs delivered.",
        csv="tables/channels.csv",
        numeric=[False, True, True, True, True, True],
    )


def rates_html(report: ReportTables) -> HtmlTable:
    shown = report.shared["response_rates"].shown
    channels = list(dict.fromkeys(shown["channel"]))
    rows = []
    for _, part in shown.groupby("group", sort=False):
        cells = [str(part["label"].iloc[0])]
        by_channel = part.set_index("channel")
        for channel in channels:
            r = by_channel.loc[channel]
            if r["reached"] in ("", None) or (isinstance(r["reached"], float)):
                cells.append(f"{r['positive']} answers")
            elif r["reached"] == "0":
                cells.append("not sent")
            else:
                rate = _pct(r["rate"])
                interval = _interval(r["rate_low"], r["rate_high"])
                detail = f" = {rate} ({interval})" if rate else ""
                cells.append(f"{r['positive']} of {r['reached']}{detail}")
        rows.append(cells)
    order = [i for i, r in enumerate(rows) if r[0] == "Everyone"]
    rows = [rows[i] for i in order] + [r for i, r in enumerate(rows) if i not in order]
    return HtmlTable(
        "rates",
        "Who answered yes or maybe, by channel and group",
        ["Group", *[_channel(c) for c in channels]],
        rows,
        note="For email: yes-or-maybe answers of invitations sent, with the 95% interval. "
        "Radio, flyers and partner packs have no list of recipients: answers only.",
        csv="tables/response_rates.csv",
        numeric=[False, *[True] * len(channels)],
    )


def barriers_html(report: ReportTables) -> HtmlTable:
    shown = report.shared["barriers"].shown
    barriers = sorted(shown["barrier"].unique())
    rows = []
    for (channel, _group), part in shown.groupby(["channel", "group"], sort=False):
        by = part.set_index("barrier")["count"]
        rows.append(
            [_channel(channel), str(part["label"].iloc[0])]
            + [str(by.get(b, "0")) for b in barriers]
        )
    rows.sort(key=lambda r: (r[0], r[1] != "Everyone", r[1]))
    return HtmlTable(
        "barriers",
        "What would make it easier to take part? (people naming each barrier)",
        ["Answered through", "Group", *[BARRIER_NAMES.get(b, b).capitalize() for b in barriers]],
        rows,
        note="Each person's latest answer counts, whatever they answered (people who said "
        "no often tell us the most).",
        csv="tables/barriers.csv",
        numeric=[False, False, *[True] * len(barriers)],
    )


def heard_via_html(report: ReportTables) -> HtmlTable:
    shown = report.shared["heard_via"].shown
    rows = [[_channel(r["channel"]), str(r["heard_via"]), r["count"]] for _, r in shown.iterrows()]
    return HtmlTable(
        "heard-via",
        "How people say they heard about it",
        ["Answered through", "Heard via", "People"],
        rows,
        csv="tables/heard_via.csv",
        numeric=[False, False, True],
    )


def fallback_html(report: ReportTables) -> HtmlTable:
    shown = report.shared["fallback"].shown
    rows = [
        [
            str(r["wave"]),
            _channel(r["channel"]),
            language_name(str(r["fallback_from"])),
            language_name(str(r["language"])),
            r["count"],
        ]
        for _, r in shown.iterrows()
    ]
    return HtmlTable(
        "fallback",
        "Invitations sent in another language because a translation was missing",
        ["Wave", "Channel", "Needed", "Sent in", "People"],
        rows,
        csv="tables/fallback.csv",
        numeric=[True, False, False, False, True],
    )


TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }} — outreach report</title>
<style>
:root { --ink:#1d1d1f; --muted:#5f6368; --line:#d9dce1; --bg:#ffffff; --soft:#f5f6f8;
        --red:#b2182b; --green:#1b7837; --grey:#6f6f6f; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans", "DejaVu Sans", Arial, sans-serif; color: var(--ink);
       background: var(--bg); margin: 0; line-height: 1.5; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 1.25rem 3rem; }
header { border-bottom: 3px solid var(--ink); margin-bottom: 1.25rem; }
h1 { font-size: 1.7rem; margin: 0 0 .25rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 .6rem; border-bottom: 1px solid var(--line);
     padding-bottom: .25rem; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
.meta { color: var(--muted); margin: 0 0 .8rem; }
.internal { background: var(--red); color: #fff; padding: .6rem 1rem; font-weight: bold;
            border-radius: 4px; margin-bottom: 1rem; }
ul.headlines { list-style: none; padding: 0; margin: 0; display: grid; gap: .5rem; }
ul.headlines li { background: var(--soft); border-left: 5px solid var(--ink);
                  padding: .6rem .9rem; font-size: 1.05rem; }
ul.headlines li.bad { border-left-color: var(--red); }
ul.headlines li.good { border-left-color: var(--green); }
.howto { background: var(--soft); padding: .8rem 1rem; border-radius: 4px; }
.howto dt { font-weight: bold; }
.howto dd { margin: 0 0 .5rem 0; }
figure { margin: 1rem 0 1.6rem; }
figure svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: .92rem; margin-top: .3rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0; font-size: .92rem; }
caption { text-align: left; font-weight: bold; padding: .3rem 0; }
th, td { border-bottom: 1px solid var(--line); padding: .35rem .5rem; text-align: left;
         vertical-align: top; }
th { background: var(--soft); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody th { font-weight: normal; }
tr.underreached > :first-child { border-left: 5px solid var(--red); }
tr.meets-target > :first-child { border-left: 5px solid var(--green); }
tr.not-yet-clear > :first-child { border-left: 5px solid var(--grey); }
tr.total > * { font-weight: bold; }
tr.muted > * { color: var(--muted); }
.note { color: var(--muted); font-size: .88rem; margin: .2rem 0 1rem; }
blockquote { margin: .4rem 0; padding: .4rem .8rem; border-left: 3px solid var(--line);
             background: var(--soft); }
blockquote footer { color: var(--muted); font-size: .85rem; }
.scroll { overflow-x: auto; }
</style>
</head>
<body>
<main>
<header>
{% if unsuppressed %}<p class="internal">INTERNAL — NOT FOR SHARING. Small numbers are
NOT hidden in this version. Share the normal report instead.</p>{% endif %}
<h1>{{ title }}</h1>
<p class="meta">Campaign <code>{{ campaign_id }}</code> · {{ wave_text }} · report made
{{ generated }}</p>
</header>

<section aria-labelledby="headlines-title">
<h2 id="headlines-title">Headlines</h2>
<ul class="headlines">
{% for line in headlines %}<li class="{{ line.kind }}">{{ line.text }}</li>
{% endfor %}</ul>
</section>

<section aria-labelledby="howto-title">
<h2 id="howto-title">How to read this</h2>
<dl class="howto">
<dt>Respondents</dt>
<dd>People whose latest answer is <em>yes</em> or <em>maybe</em>. People who answered
through radio or a flyer are counted in the groups they told us they belong to, or as
"not stated".</dd>
<dt>Representation ratio</dt>
<dd>A group's share of respondents divided by its share of the community. 1.0 means the
group answers in proportion; 0.5 means half as often as it should. The target is
{{ target }}.</dd>
<dt>Intervals</dt>
<dd>Each rate and ratio comes with a 95% interval: the range the true value is very likely
in, given how many people answered. Few answers make a wide range. A group is
<strong>underreached</strong> only when even the top of its range is below the target;
when the range straddles the target we say "not yet clear".</dd>
<dt>Small numbers</dt>
<dd>To protect privacy, counts from 1 to {{ threshold - 1 }} are shown as "&lt;{{ threshold }}",
and rates or ratios based on them are left blank. Where a total would let a reader work a
hidden number out, a second number is hidden too and shown as "hidden".</dd>
</dl>
</section>

<section aria-labelledby="charts-title">
<h2 id="charts-title">Charts</h2>
{% for chart in charts %}
<figure id="chart-{{ chart.name }}">
<h3>{{ chart.title }}</h3>
{{ chart.svg }}
<figcaption>{{ chart.caption }}</figcaption>
</figure>
{% endfor %}
</section>

<section aria-labelledby="tables-title">
<h2 id="tables-title">Tables</h2>
<p class="note">Every table is also in the <code>tables/</code> folder next to this file as
CSV (with the same small numbers hidden), including the full funnel by wave, channel,
language and group (<code>tables/funnel.csv</code>).</p>
{% for table in tables %}
<div class="scroll" id="table-{{ table.id }}">
<table>
<caption>{{ table.title }}</caption>
<thead><tr>{% for h in table.headers %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in table.rows %}
{%- set rc = table.row_classes[loop.index0] if table.row_classes else "" %}
<tr class="{{ rc }}">{% for cell in row %}{% if loop.first %}<th scope="row">{{ cell }}</th>
{%- else %}<td class="{{ 'num' if table.numeric[loop.index0] else '' }}">{{ cell }}</td>
{%- endif %}{% endfor %}</tr>
{% else %}<tr><td colspan="{{ table.headers|length }}">Nothing yet.</td></tr>
{% endfor %}
</tbody>
</table>
{% if table.note %}<p class="note">{{ table.note }}</p>{% endif %}
</div>
{% endfor %}

<h3>In their own words</h3>
<p class="note">Free-text answers to "Is there anything that would make it easier for you to
take part?". Email addresses, phone numbers and the person's name are removed.</p>
{% for quote in quotes %}
<blockquote><p>{{ quote.text }}</p><footer>{{ quote.where }}</footer></blockquote>
{% else %}<p>No free-text answers yet.</p>
{% endfor %}
{% if more_quotes %}<p class="note">{{ more_quotes }} more answers are in
<code>tables/free_text.csv</code>.</p>{% endif %}
</section>
</main>
</body>
</html>
"""
)


def render_html(
    report: ReportTables,
    *,
    headlines: list[tuple[str, str]],
    charts: list[Chart],
    generated: str,
) -> str:
    frames = report.frames
    waves = [w for w in frames.waves if w > 0]
    wave_text = (
        f"waves 1–{max(waves)}"
        if len(waves) > 1
        else (f"wave {waves[0]}" if waves else "no waves yet")
    )
    tables = [
        representation_html(report),
        headway_html(report),
        channels_html(report),
        rates_html(report),
        barriers_html(report),
        heard_via_html(report),
        fallback_html(report),
    ]
    free = report.shared["free_text"].shown
    more = max(0, len(free) - MAX_QUOTES)
    # The newest answers first; the CSV file has them all.
    free = free.iloc[::-1].head(MAX_QUOTES)
    quotes = [
        {
            "text": r["text"],
            "where": f"wave {r['wave']} · {_channel(r['channel'])} · "
            f"{language_name(str(r['language']))} · answered {r['answer']}",
        }
        for _, r in free.iterrows()
    ]
    return TEMPLATE.render(
        title=frames.title,
        campaign_id=frames.campaign_id,
        wave_text=wave_text,
        generated=generated,
        unsuppressed=report.unsuppressed,
        headlines=[{"text": text, "kind": kind} for text, kind in headlines],
        target=f"{frames.target:.2f}",
        threshold=report.threshold,
        charts=[
            {"name": c.name, "title": c.title, "caption": c.caption, "svg": Markup(c.svg)}
            for c in charts
        ],
        tables=tables,
        quotes=quotes,
        more_quotes=more,
    )


def as_frame(table: HtmlTable) -> pd.DataFrame:
    return pd.DataFrame(table.rows, columns=table.headers)
