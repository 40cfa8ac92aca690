"""`outreach launch CAMPAIGN.yaml [--dry-run] [--allow-fallback LANG]`: wave 1 via Prefect."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from outreach.cli.app import (
    EXIT_PROBLEMS,
    WorkdirOption,
    app,
    console,
    err_console,
    report_problems,
    settings_for,
    user_errors,
)


@app.command()
def launch(
    campaign: Annotated[Path, typer.Argument(help="Campaign spec (YAML).")],
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Record and plan wave 1, print the plan; send nothing."),
    ] = False,
    allow_fallback: Annotated[
        str | None,
        typer.Option(
            "--allow-fallback",
            metavar="LANG",
            help="Send in LANG where a translation is missing (otherwise that is an error).",
        ),
    ] = None,
    workdir: WorkdirOption = None,
) -> None:
    """Launch a campaign: validate, record the audience, render materials and send wave 1."""
    settings = settings_for(workdir)
    from outreach.orchestration import prefect_environment

    prefect_environment(settings)
    from outreach.validation import validate_campaign

    # Problems are shown here, before Prefect: they can quote a contact's row, and
    # nothing personal may reach Prefect's logs.
    with user_errors():
        report = validate_campaign(campaign, settings, allow_fallback=allow_fallback)
    if report.problems:
        report_problems(report.problems.error())
        raise typer.Exit(EXIT_PROBLEMS)
    assert report.spec is not None
    campaign_id = report.spec.id
    with user_errors(), flow_failures():
        result = run_launch(settings, campaign, dry_run=dry_run, allow_fallback=allow_fallback)
    if result.get("left_audience"):
        console.print(
            f"{result['left_audience']:,} people recorded before are no longer selected by "
            f"the contacts file: they left the audience and get no more messages "
            f"({result['unsent_dropped']:,} planned messages dropped; those already sent "
            "stay in the ledger)."
        )
    if dry_run:
        show_plan(settings, campaign_id, 1)
        console.print(
            f"[bold]Dry run.[/] Wave 1 of {campaign_id} is planned "
            f"({result['new_ledger_rows']} new ledger rows); nothing was rendered or sent."
        )
        return
    from outreach.orchestration.console import counts_line

    console.print(
        f"[bold green]Wave 1 of {campaign_id} launched:[/] {counts_line(result['send'])}; "
        f"{result.get('materials', 0)} material files under {settings.materials_dir}."
    )
    if result["send"].get("deferred"):
        console.print(
            "Deferred messages wait for the campaign's quiet hours to end or for a person's "
            "minimum gap between messages; run the same command again later and only they "
            "are sent."
        )


def run_launch(
    settings: object, campaign: Path, *, dry_run: bool, allow_fallback: str | None, now=None
) -> dict:
    """Run the launch flow against this work directory's Prefect API, with a progress bar."""
    from outreach.orchestration import load_flow, prefect_api
    from outreach.orchestration.console import send_progress_bar

    with prefect_api(settings), send_progress_bar(console):  # type: ignore[arg-type]
        return load_flow("launch")(
            spec_path=str(campaign.resolve()),
            workdir=str(settings.workdir),  # type: ignore[attr-defined]
            dry_run=dry_run,
            allow_fallback=allow_fallback,
            now=now,
        )


def show_plan(settings: object, campaign_id: str, wave: int) -> None:
    from outreach.audience import plan_table
    from outreach.orchestration.console import plan_rich_table
    from outreach.store import Store

    store = Store(settings.database_url)  # type: ignore[attr-defined]
    try:
        frame = plan_table(store, campaign_id, wave)
    finally:
        store.dispose()
    console.print(plan_rich_table(frame, title=f"Wave {wave} of {campaign_id}: who gets what"))


class flow_failures:
    """A failed flow run becomes one plain sentence (details stay in Prefect's logs)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, _tb) -> bool:
        if error is None or isinstance(error, typer.Exit | KeyboardInterrupt | SystemExit):
            return False
        from outreach.problems import InvalidInput

        if isinstance(error, InvalidInput | FileNotFoundError):
            return False  # user_errors() words these
        err_console.print(
            f"[bold red]The run stopped:[/] {type(error).__name__}: {error}", highlight=False
        )
        err_console.print(
            "Nothing sent is sent twice on re-run. Prefect's log of this run is in the "
            "work directory's Prefect database (see `outreach serve`)."
        )
        raise typer.Exit(EXIT_PROBLEMS)
