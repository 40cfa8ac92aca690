"""`outreach demo [--workdir DIR]`: the whole loop on the shipped sample, offline.

Validate, launch wave 1 (materials, outbox), simulated responses through the real tracking
code, the report, the follow-up plan, wave 2 toward the underreached groups, simulated
responses again and a second report showing headway. Time is simulated: wave 1 goes out
at the next 10:00 in the campaign's time zone, wave 2 when wave 1's response window ends.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from rich.panel import Panel
from rich.table import Table

from outreach.cli.app import (
    EXIT_USAGE,
    WorkdirOption,
    app,
    console,
    err_console,
    report_problems,
    settings_for,
    user_errors,
)
from outreach.settings import Settings

SAMPLE = Path(__file__).resolve().parents[2] / "campaigns" / "the-way-ahead.yaml"
MARKER = ".outreach-demo"
STEPS = 7


def _step(number: int, title: str) -> None:
    console.rule(f"[bold cyan]{number}/{STEPS}  {title}", align="left")


def _fresh_workdir(settings: Settings) -> None:
    """Start from an empty work directory; replace only a previous demo's."""
    workdir = settings.workdir
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / MARKER).exists():
            err_console.print(
                f"[bold red]{workdir} is not empty[/] and was not made by `outreach demo`. "
                "Choose another with --workdir DIR; the demo never overwrites your data."
            )
            raise typer.Exit(EXIT_USAGE)
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by `outreach demo`; safe to delete\n")


def _next_morning(zone: Any, after: datetime) -> datetime:
    """The next 10:00 in the campaign's zone: outside quiet hours, like a real send."""
    local = after.astimezone(zone)
    candidate = local.replace(hour=10, minute=0, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate.astimezone(UTC)


def _representation(store: Any, campaign_id: str, wave: int | None) -> dict[str, tuple]:
    from outreach.analysis.tables import representation_table

    frame = representation_table(store, campaign_id, wave)
    out: dict[str, tuple] = {}
    for row in frame.to_dict("records"):
        key = str(row.get("group") or f"{row.get('dimension')}:{row.get('value')}")
        out[key] = (
            str(row.get("label") or key),
            row.get("ratio"),
            bool(row.get("underreached")),
        )
    return out


def _ratio(value: Any) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "–"
    return "–" if number != number else f"{number:.2f}"


def _headway_table(before: dict[str, tuple], after: dict[str, tuple], target: float) -> Table:
    table = Table(title=f"Headway: representation ratio by group (target {target:g})")
    table.add_column("group")
    table.add_column("after wave 1", justify="right")
    table.add_column("after wave 2", justify="right")
    table.add_column("", justify="left")
    for key in sorted(set(before) | set(after)):
        label, r1, under1 = before.get(key, (key, None, False))
        _, r2, under2 = after.get(key, (label, None, False))
        change = ""
        try:
            if float(r2) > float(r1) + 0.005:
                change = "[green]▲[/]"
            elif float(r2) < float(r1) - 0.005:
                change = "[red]▼[/]"
        except (TypeError, ValueError):
            pass
        flag = "[yellow]underreached[/]" if under2 else ("[green]met[/]" if under1 else "")
        table.add_row(label, _ratio(r1), _ratio(r2), f"{change} {flag}".strip())
    return table


def _counts_table(title: str, counts: dict[str, Any]) -> Table:
    table = Table(title=title)
    table.add_column("what")
    table.add_column("count", justify="right")
    for key, value in counts.items():
        table.add_row(str(key), str(value))
    return table


def _when(moment: datetime, zone: Any) -> str:
    return f"{moment.astimezone(zone):%a %d %b %Y %H:%M %Z}"


def _files(directory: Path, pattern: str) -> int:
    return sum(1 for _ in directory.rglob(pattern)) if directory.exists() else 0


@app.command()
def demo(workdir: WorkdirOption = None) -> None:
    """Run the whole loop offline on the sample campaign, in a fresh work directory."""
    settings = settings_for(workdir)
    _fresh_workdir(settings)
    from outreach.orchestration import prefect_environment

    prefect_environment(settings)
    console.print(
        Panel.fit(
            "A whole campaign, offline, on synthetic contacts: wave 1, people answering, "
            "a report, a follow-up aimed at the groups still missing, and a second report.\n"
            f"Everything is written to [bold]{settings.workdir}[/]. Nothing leaves this machine.",
            title="Outreach demo: The Way Ahead",
        )
    )
    from outreach.cli.launch import flow_failures

    with user_errors(), flow_failures():
        _run(settings)


def _run(settings: Settings) -> None:
    from outreach.campaign import load_campaign
    from outreach.orchestration import load_flow, prefect_api
    from outreach.orchestration.console import counts_line, send_progress_bar
    from outreach.validation import validate_campaign

    # 1. validate
    _step(1, "Checking the campaign, its contacts, templates and translations")
    spec = load_campaign(SAMPLE)
    real_now = datetime.now(UTC)
    wave1_at = _next_morning(spec.zone, real_now)
    wave2_at = wave1_at + spec.waves.response_window
    report = validate_campaign(SAMPLE, settings, now=wave1_at)
    for line in report.summary_lines():
        console.print(f"  {line}")
    if report.problems:
        report_problems(report.problems.error())
        raise typer.Exit(1)
    console.print("  [green]Valid.[/]")

    with prefect_api(settings):
        # 2. launch wave 1
        _step(
            2,
            f"Launching wave 1 (simulated time: {_when(wave1_at, spec.zone)})",
        )
        with send_progress_bar(console):
            launched = load_flow("launch")(
                spec_path=str(SAMPLE), workdir=str(settings.workdir), now=wave1_at
            )
        console.print(
            f"  Wave 1: {counts_line(launched['send'])}. "
            f"{launched.get('materials', 0)} flyers, radio scripts and partner packs rendered."
        )
        console.print(
            f"  Materials: [bold]{settings.materials_dir}[/]   "
            f"Outbox: [bold]{settings.outbox_dir}[/] "
            f"({_files(settings.outbox_dir, '*.eml')} .eml files)"
        )

        store = _store(settings)
        try:
            # 3. responses
            _step(3, "Simulating two weeks of responses (through the real RSVP code)")
            responses = _simulate(store, settings, spec.id, 1, seed=0)
            console.print(_counts_table("Wave 1 responses (synthetic)", responses))

            # 4. report
            _step(4, "Writing the evaluators' report for wave 1")
            report_flow = load_flow("report")
            first = report_flow(
                campaign_id=spec.id,
                workdir=str(settings.workdir),
                out_dir=str(settings.reports_dir / "wave-1"),
            )
            console.print(f"  Report: [bold]{first}[/]")
            before = _representation(store, spec.id, 1)

            # 5. follow-up plan
            _step(5, "Planning wave 2 toward the groups still underreached")
            from outreach.planning.explain import print_plan
            from outreach.planning.planner import plan_follow_up

            plan = plan_follow_up(store, spec, settings, now=wave2_at, seed=0)
            print_plan(plan, console, dry_run=False)
            if plan.stop_reason:
                console.print(f"  The campaign stops: {plan.stop_reason}.")
                return

            # 6. wave 2
            _step(
                6,
                f"Sending wave 2 (simulated time: {_when(wave2_at, spec.zone)})",
            )
            with send_progress_bar(console):
                followed = load_flow("follow_up")(
                    campaign_id=spec.id, workdir=str(settings.workdir), now=wave2_at, seed=0
                )
            console.print(
                f"  Wave {followed.get('wave')}: {counts_line(followed.get('send') or {})}, "
                f"{followed.get('materials', 0)} material files."
            )
            responses2 = _simulate(store, settings, spec.id, int(followed.get("wave") or 2), seed=1)
            console.print(_counts_table("Wave 2 responses (synthetic)", responses2))

            # 7. report again
            _step(7, "Writing the report again: did we make headway?")
            second = report_flow(
                campaign_id=spec.id,
                workdir=str(settings.workdir),
                out_dir=str(settings.reports_dir / "wave-2"),
            )
            after = _representation(store, spec.id, None)
            console.print(_headway_table(before, after, spec.audience.target_ratio))
            console.print(f"  Report: [bold]{second}[/]")
        finally:
            store.dispose()

    console.print(
        Panel.fit(
            "\n".join(
                [
                    f"Materials (flyers, radio scripts, partner packs): {settings.materials_dir}",
                    f"Emails as sent (.eml, open with any mail program): {settings.outbox_dir}",
                    f"Report after wave 1: {first}",
                    f"Report after wave 2: {second}",
                    f"Prefect runs of this demo: PREFECT_HOME={settings.workdir / '.prefect'} "
                    "prefect server start",
                ]
            ),
            title="[bold green]Done. Where to look",
        )
    )


def _store(settings: Settings) -> Any:
    from outreach.store import Store

    store = Store(settings.database_url)
    store.upgrade()
    return store


def _simulate(store: Any, settings: Settings, campaign_id: str, wave: int, *, seed: int) -> dict:
    from outreach.tracking.simulate import simulate_responses

    return dict(simulate_responses(store, settings, campaign_id, wave, seed=seed))
