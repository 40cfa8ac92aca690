"""`outreach serve --host H --port P [--no-flows]`: the web app and the flows, one machine.

Runs E's RSVP/tracking app with uvicorn and, unless `--no-flows`, serves the Prefect
deployments of the four flows in a subprocess, against `PREFECT_API_URL` or a local
Prefect server (database and log under `<workdir>/.prefect/`) that this command keeps
running. Other commands in the same work directory find that server, so a follow-up
scheduled with `outreach follow-up` runs here when it is due.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Annotated

import typer

from outreach.cli.app import WorkdirOption, app, console, settings_for, user_errors


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address the web app listens on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the web app.")] = 8000,
    flows: Annotated[
        bool,
        typer.Option(
            "--flows/--no-flows",
            help="Also serve the Prefect deployments (launch, send, follow-up, report).",
        ),
    ] = True,
    workdir: WorkdirOption = None,
) -> None:
    """Run the RSVP and tracking web app, and serve the flows for scheduled follow-ups."""
    settings = settings_for(workdir)
    from outreach.orchestration import prefect_environment

    prefect_environment(settings)
    server = None
    runner = None
    try:
        with user_errors():
            if flows:
                server, runner = _start_flows(settings)
            import uvicorn

            from outreach.tracking.app import create_app

            console.print(f"Web app on [bold]http://{host}:{port}[/]  (Ctrl-C stops everything)")
            uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
    finally:
        _stop(settings, server, runner)


def _start_flows(settings: object) -> tuple[object, subprocess.Popen[bytes]]:
    from outreach.orchestration.environment import prefect_home
    from outreach.orchestration.loading import PROJECT_ROOT
    from outreach.orchestration.server import LocalPrefectServer, write_served_api

    server = None
    api_url = os.environ.get("PREFECT_API_URL")
    if not api_url:
        server = LocalPrefectServer(settings, services="all")  # type: ignore[arg-type]
        console.print("Starting the local Prefect server (the first start takes a while)…")
        api_url = server.start()
        write_served_api(settings, api_url, os.getpid())  # type: ignore[arg-type]
    log = (prefect_home(settings) / "runner.log").open("ab")  # type: ignore[arg-type]
    runner = subprocess.Popen(
        [sys.executable, "-m", "outreach.orchestration.serving"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PREFECT_API_URL": api_url},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    log.close()
    console.print(
        f"Serving the flows against Prefect at [bold]{api_url}[/] "
        f"(log: {prefect_home(settings) / 'runner.log'})"  # type: ignore[arg-type]
    )
    return server, runner


def _stop(settings: object, server: object, runner: subprocess.Popen[bytes] | None) -> None:
    from outreach.orchestration.server import clear_served_api

    if runner is not None and runner.poll() is None:
        runner.terminate()
        try:
            runner.wait(timeout=15)
        except subprocess.TimeoutExpired:
            runner.kill()
            runner.wait()
    if server is not None:
        clear_served_api(settings)  # type: ignore[arg-type]
        server.stop()  # type: ignore[attr-defined]
