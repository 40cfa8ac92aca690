"""`outreach responses import FILE.csv --campaign ID`: sign-in sheets, phone logs, call-ins."""

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

responses = typer.Typer(
    help="Responses that did not come through the web: sign-in sheets, phone and text logs, "
    "radio call-ins.",
    no_args_is_help=True,
)
app.add_typer(responses, name="responses")


@responses.command("import")
def import_command(
    file: Annotated[Path, typer.Argument(help="CSV file (see README, section tracking).")],
    campaign: Annotated[str, typer.Option("--campaign", help="Campaign id, e.g. the-way-ahead.")],
    workdir: WorkdirOption = None,
) -> None:
    """Import offline responses; report every unusable row and import the rest.

    Columns are listed in the README (section tracking). Re-importing a file adds nothing.
    """
    from outreach.problems import InvalidInput
    from outreach.store import Store
    from outreach.tracking.imports import import_responses

    settings = settings_for(workdir)
    with user_errors():
        store = Store(settings.database_url)
        store.upgrade()
        report = import_responses(store, settings, campaign, file)
        store.dispose()
    console.print(
        f"{file.name}: {report.rows} rows read; [bold]{report.imported}[/] responses imported "
        f"({report.matched} matched to known contacts), {report.duplicates} already imported, "
        f"{len({p.row for p in report.problems})} rows skipped."
    )
    if report.problems:
        report_problems(InvalidInput(report.problems))
        raise typer.Exit(EXIT_PROBLEMS)
