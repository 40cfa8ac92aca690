"""`outreach report CAMPAIGN_ID [--out DIR]`: report.html, charts and CSV tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.cli.app import EXIT_PROBLEMS, WorkdirOption, app, console, err_console, settings_for


@app.command()
def report(
    campaign_id: Annotated[str, typer.Argument(help="Campaign id (as in the spec's `id`).")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for report.html, charts/ and tables/.",
            show_default="<workdir>/reports/<campaign id>",
        ),
    ] = None,
    unsuppressed: Annotated[
        bool,
        typer.Option(
            "--unsuppressed",
            help="Officer's internal view with exact small numbers. NOT FOR SHARING: files "
            "are named *-INTERNAL-not-for-sharing*.",
        ),
    ] = False,
    workdir: WorkdirOption = None,
) -> None:
    """Write the evaluator report: headlines, charts and tables, small numbers hidden."""
    from outreach.analysis.frames import UnknownCampaign
    from outreach.analysis.report import write_report
    from outreach.store import Store

    settings = settings_for(workdir)
    store = Store(settings.database_url)
    try:
        store.upgrade()
        out_dir = out or settings.reports_dir / campaign_id
        try:
            path = write_report(store, settings, campaign_id, out_dir, unsuppressed=unsuppressed)
        except UnknownCampaign:
            err_console.print(
                f"[bold red]No campaign called {campaign_id!r}[/] in {settings.workdir}. "
                "Launch it first, or check --workdir."
            )
            raise typer.Exit(EXIT_PROBLEMS) from None
    finally:
        store.dispose()
    if unsuppressed:
        console.print("[bold red]INTERNAL — NOT FOR SHARING:[/] small numbers are not hidden.")
    console.print(f"Report written: {path}")
    console.print(f"Charts and CSV tables are in {path.parent}")
