"""`outreach follow-up CAMPAIGN_ID [--dry-run] [--at WHEN]`: plan, explain, record, schedule."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from outreach.cli.app import (
    EXIT_PROBLEMS,
    WorkdirOption,
    app,
    console,
    err_console,
    settings_for,
    user_errors,
)


def parse_when(text: str | None, zone: object) -> datetime | None:
    """'now', or an ISO date-time (a time without zone is read in the campaign's zone)."""
    if text is None:
        return None
    if text.strip().lower() == "now":
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date-time; write 'now' or e.g. 2027-05-06T09:00 "
            "(optionally with +01:00)",
            param_hint="--at",
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=zone)  # type: ignore[arg-type]


@app.command("follow-up")
def follow_up(
    campaign_id: Annotated[str, typer.Argument(help="The campaign's id (as in its spec).")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and its reasons; record nothing.")
    ] = False,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help="When the next wave goes out: 'now' or an ISO date-time. Default: the end "
            "of the latest wave's response window.",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the planner's sampling.")] = 0,
    workdir: WorkdirOption = None,
) -> None:
    """Plan the next wave toward the groups still underreached, explain it, and schedule it."""
    from outreach.planning.explain import print_plan
    from outreach.planning.plan import WaveNotSent
    from outreach.planning.planner import plan_follow_up, record_follow_up
    from outreach.planning.stored_spec import spec_from_store
    from outreach.store import Store

    settings = settings_for(workdir)
    store = Store(settings.database_url)
    try:
        with user_errors():
            store.upgrade()
            spec = spec_from_store(store, campaign_id)
            when = parse_when(at, spec.zone)
            try:
                plan = plan_follow_up(store, spec, settings, seed=seed, send_at=when)
            except WaveNotSent as pending:
                _pending_wave(settings, store, campaign_id, pending.wave, when, dry_run)
                return
            print_plan(plan, console, dry_run=dry_run)
            if dry_run:
                return
            new_rows = record_follow_up(store, spec, settings, plan, scheduled_for=when)
            if plan.stop_reason:
                console.print(f"Campaign {campaign_id} is marked finished: {plan.stop_reason}.")
                return
            console.print(f"Recorded wave {plan.next_wave}: {new_rows} new ledger rows.")
            _schedule(settings, campaign_id, plan.next_wave, when or plan.send_at)
    finally:
        store.dispose()


def _pending_wave(
    settings: object,
    store: object,
    campaign_id: str,
    wave: int,
    when: datetime | None,
    dry_run: bool,
) -> None:
    from sqlalchemy import select

    from outreach.store.models import Wave

    with store.session() as session:  # type: ignore[attr-defined]
        row = session.scalar(
            select(Wave).where(Wave.campaign_id == campaign_id, Wave.number == wave)
        )
        scheduled_for = row.scheduled_for if row else None
        flow_run_id = row.flow_run_id if row else None
    console.print(
        f"Wave {wave} of {campaign_id} is already planned and not sent yet"
        + (f" (scheduled for {scheduled_for:%Y-%m-%d %H:%M})" if scheduled_for else "")
        + ". Plan the next wave after it has gone out and its answers are in."
    )
    if dry_run or flow_run_id:
        if flow_run_id:
            console.print(f"It is scheduled as Prefect flow run {flow_run_id}.")
        return
    _schedule(settings, campaign_id, wave, when or scheduled_for or datetime.now(UTC))


def _schedule(settings: object, campaign_id: str, wave: int, when: datetime) -> None:
    try:
        from outreach.orchestration import schedule_follow_up
    except ImportError:
        _cannot_schedule(campaign_id, wave, "the scheduling module is not installed")
        return
    try:
        run_id = schedule_follow_up(settings, campaign_id, wave, when)  # type: ignore[arg-type]
    except Exception as error:
        _cannot_schedule(campaign_id, wave, f"{type(error).__name__}: {error}".strip())
        return
    console.print(
        f"Scheduled wave {wave} for {when:%Y-%m-%d %H:%M %Z} as Prefect flow run {run_id}. "
        "It runs when due under `outreach serve` or a Prefect worker."
    )


def _cannot_schedule(campaign_id: str, wave: int, reason: str) -> None:
    err_console.print(
        f"[bold yellow]Wave {wave} is recorded but could not be scheduled:[/] {reason}",
        highlight=False,
    )
    err_console.print(
        "To run it: start `outreach serve` (it runs the web app and serves the flows, with a "
        "Prefect server for this work directory), or point PREFECT_API_URL at your Prefect "
        "server and start a worker (`prefect worker start --pool <pool>`); then run "
        f"`outreach follow-up {campaign_id}` again to schedule wave {wave}. Recording is not "
        "repeated.",
        highlight=False,
    )
    raise typer.Exit(EXIT_PROBLEMS)
