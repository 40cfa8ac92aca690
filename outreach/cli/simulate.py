"""`outreach simulate SCENARIO.yaml --policy adaptive|resend|round-robin [--seeds N] [--json]`."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from outreach.cli.app import WorkdirOption, app, console, user_errors


class Policy(StrEnum):
    adaptive = "adaptive"
    resend = "resend"
    round_robin = "round-robin"


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario file (YAML); see bench/scenarios/.")],
    policy: Annotated[
        Policy,
        typer.Option(
            help="adaptive: the follow-up planner; resend: resend to non-responders on the "
            "channel that first reached them; round-robin: cycle through the channels."
        ),
    ] = Policy.adaptive,
    seeds: Annotated[int, typer.Option(min=1, help="Number of simulated campaigns (seeds).")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    workdir: WorkdirOption = None,
) -> None:
    """What-if runs of the follow-up planner against a simulated population."""
    del workdir  # simulations touch no store; accepted like on every command
    from outreach.planning.scenario import load_scenario
    from outreach.planning.simulator import simulate as run

    with user_errors():
        loaded = load_scenario(scenario)
    result = run(loaded, policy.value, seeds)
    if as_json:
        typer.echo(json.dumps(result.to_json()))
        return
    table = Table(title=f"{loaded.name}: policy {policy.value}, {result.seeds} seeds")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("mean cost", f"{result.cost_mean:,.0f}")
    table.add_row("mean waves", f"{result.waves_mean:.2f} of at most {loaded.waves}")
    table.add_row("targets met (share of runs)", f"{result.targets_met_share:.0%}")
    table.add_row("mean minimum representation ratio", f"{result.min_ratio_mean:.2f}")
    for group, responses in result.responses_by_group.items():
        table.add_row(f"mean responses, {group}", f"{responses:.1f}")
    console.print(table)
    console.print(
        f"Target: every group's representation ratio at least {loaded.target_ratio:.2f} "
        "(not underreached: the upper bound of its 95% interval reaches the target)."
    )
