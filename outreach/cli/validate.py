"""`outreach validate CAMPAIGN.yaml`: every problem at once, nothing sent."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.cli.app import EXIT_PROBLEMS, WorkdirOption, app, console, settings_for, user_errors


@app.command()
def validate(
    campaign: Annotated[Path, typer.Argument(help="Campaign spec (YAML).", exists=False)],
    workdir: WorkdirOption = None,
) -> None:
    """Check the spec, contacts, groups, partners, templates and translations; send nothing."""
    from outreach.validation import validate_campaign

    settings = settings_for(workdir)
    with user_errors():
        report = validate_campaign(campaign, settings)
    for line in report.summary_lines():
        console.print(line)
    if report.problems:
        from outreach.cli.app import report_problems

        report_problems(report.problems.error())
        raise typer.Exit(EXIT_PROBLEMS)
    console.print("[bold green]Valid.[/] Nothing was sent.")
