"""`outreach validate CAMPAIGN.yaml`: every problem at once, nothing sent."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.cli.app import (
    EXIT_PROBLEMS,
    WorkdirOption,
    app,
    console,
    report_problems,
    settings_for,
    user_errors,
)


@app.command()
def validate(
    campaign: Annotated[Path, typer.Argument(help="Campaign spec (YAML).", exists=False)],
    workdir: WorkdirOption = None,
    allow_fallback: Annotated[
        str | None,
        typer.Option(
            "--allow-fallback",
            metavar="LANG",
            help="Accept missing translations by sending those messages in LANG instead.",
        ),
    ] = None,
) -> None:
    """Check the spec, contacts, groups, partners, templates and translations; send nothing.

    Exit status: 0 valid, 1 problems found (each names file, row and field), 2 usage error.
    """
    from outreach.validation import validate_campaign

    settings = settings_for(workdir)
    with user_errors():
        report = validate_campaign(campaign, settings, allow_fallback=allow_fallback)
    for line in report.summary_lines():
        console.print(line, markup=False, highlight=False)
    if report.problems:
        report_problems(report.problems.error())
        raise typer.Exit(EXIT_PROBLEMS)
    console.print("[bold green]Valid.[/] Nothing was sent.")
