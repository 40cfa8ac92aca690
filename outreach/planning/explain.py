"""The plan in words and tables: what was chosen for each group, and why.

```python
from outreach.planning.explain import print_plan
print_plan(plan, console)          # a rich table, then plain sentences per group
```
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from outreach.campaign import CampaignSpec

if TYPE_CHECKING:
    from outreach.planning.planner import ChannelChoice, FollowUpPlan, GroupPlan


def _ratio(value: float) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.2f}"


def _choice_text(choice: ChannelChoice) -> str:
    if choice.channel == "email":
        what = f"email to {choice.recipients} people"
    else:
        via = ", ".join(choice.partners + choice.flyer_points)
        what = f"{choice.channel} via {via} (~{choice.people:.0f} people)"
    tag = " [exploring]" if choice.explore else ""
    return f"{what}, cost {choice.cost:.1f}{tag}"


def group_sentences(spec: CampaignSpec, group: GroupPlan) -> list[str]:
    """Plain-language reasons for one group's plan (stored in the wave's plan too)."""
    sentences = [
        f"{group.label} ({group.group}): representation ratio {_ratio(group.ratio)} "
        f"(95% interval {_ratio(group.ratio_low)}–{_ratio(group.ratio_high)}) against a target "
        f"of {group.target:.2f}, from {group.respondents} respondents: underreached; about "
        f"{group.need:.0f} more responses would close the gap."
    ]
    if group.channels:
        chosen = "; ".join(_choice_text(c) for c in group.channels)
        sentences.append(
            f"Chosen: {chosen}; languages {', '.join(group.languages)}. Expected extra "
            f"responses: {group.expected_responses:.1f}."
        )
    if group.limited_by == "budget":
        sentences.append(
            "That is less than the gap: the wave budget is spent; later waves continue."
        )
    elif group.limited_by == "reach":
        sentences.append(
            "That is less than the gap: it is as far as this group's eligible contacts and "
            "partners working in its languages go; more partners (partners.csv) would help."
        )
    elif not group.channels:
        sentences.append(
            "Nothing could be chosen: no eligible contacts, matching partners or budget left."
        )
    exploring = {c.channel for c in group.channels if c.explore}
    why = "; ".join(
        est.sentence(exploring=est.channel in exploring) for est in group.estimates.values()
    )
    if why:
        sentences.append(f"Why (response rate per person reached, 95% interval): {why}.")
    if group.barriers:
        named = ", ".join(f"{b} ({n})" for b, n in group.barriers.items())
        if group.barrier_answers:
            answered = ", ".join(group.barrier_answers)
            sentences.append(
                f"Respondents in this group named {named}; the follow-up includes the "
                f"campaign's answer on {answered}."
            )
        else:
            sentences.append(
                f"Respondents in this group named {named}; the campaign has no answer "
                "configured for these (barrier_answers in the spec)."
            )
    return sentences


def print_plan(plan: FollowUpPlan, console: Console, *, dry_run: bool = True) -> None:
    """Print a follow-up plan: a summary table, then sentences per underreached group."""
    title = f"Campaign {plan.campaign_id}: follow-up wave {plan.next_wave}"
    if plan.window_open_until is not None:
        console.print(
            f"[yellow]Note:[/] the response window of wave {plan.next_wave - 1} is open until "
            f"{plan.window_open_until:%Y-%m-%d %H:%M %Z}; answers still coming in are not in "
            "this plan's evidence."
        )
    table = Table(title=title)
    for column in (
        "group",
        "ratio (95% interval)",
        "target",
        "status",
        "channels",
        "languages",
        "expected extra",
        "cost",
    ):
        table.add_column(
            column,
            justify="right" if column in ("expected extra", "cost") else "left",
            overflow="fold",
        )
    for group in plan.groups:
        interval = f"{_ratio(group.ratio)} ({_ratio(group.ratio_low)}–{_ratio(group.ratio_high)})"
        if group.underreached:
            table.add_row(
                group.group,
                interval,
                f"{group.target:.2f}",
                "[red]underreached[/]",
                ", ".join(c.channel for c in group.channels) or "-",
                ", ".join(group.languages),
                f"{group.expected_responses:.1f}",
                f"{group.cost:.1f}",
            )
        else:
            table.add_row(
                group.group, interval, f"{group.target:.2f}", "[green]ok[/]", "", "", "", ""
            )
    console.print(table)
    if plan.stop_reason:
        console.print(
            f"[bold]The campaign stops: {plan.stop_reason}.[/] No further wave is planned."
        )
        return
    for group in plan.underreached:
        console.print()
        for sentence in group.reasons:
            console.print(sentence, markup=False, highlight=False)
    counts = plan.counts()
    console.print()
    console.print(
        f"Wave {plan.next_wave}: {counts.get('email', 0)} emails, "
        f"{counts.get('partner_pack', 0)} partner packs, {len(plan.flyer_points)} flyer "
        f"batches at distribution points; cost {plan.cost:.1f} of a budget of "
        f"{plan.budget:.0f}; to go out at {plan.send_at:%Y-%m-%d %H:%M %Z}.",
        markup=False,
        highlight=False,
    )
    excluded = {k: v for k, v in plan.excluded.items() if v}
    if excluded:
        parts = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in excluded.items())
        console.print(f"Not emailed: {parts}.", markup=False, highlight=False)
    if dry_run:
        console.print("Dry run: nothing was recorded or scheduled.")
