"""Scheduling follow-ups against a real Prefect server (a subprocess on a free port) with
the flows served by `outreach.orchestration.serving`, as `outreach serve` runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from outreach.orchestration import LocalPrefectServer, load_flow, schedule_follow_up
from outreach.orchestration.loading import DEPLOYMENTS, PROJECT_ROOT
from outreach.settings import Settings
from outreach.store import Delivery, Store, Wave

pytestmark = pytest.mark.integration

sys.path.insert(0, str(Path(__file__).parent))
from test_flows_runs import MORNING, email_only_spec  # noqa: E402


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One Prefect API server with all its services, for the whole session."""
    settings = Settings(workdir=tmp_path_factory.mktemp("prefect-server"))
    server = LocalPrefectServer(settings, services="all")
    api_url = server.start(timeout=180)
    try:
        yield api_url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def served_flows(prefect_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The four deployments, served by a runner subprocess as `outreach serve` does."""
    log = (tmp_path_factory.mktemp("runner") / "runner.log").open("wb")
    runner = subprocess.Popen(
        [sys.executable, "-m", "outreach.orchestration.serving"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PREFECT_API_URL": prefect_server},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            names = [
                d["name"]
                for d in httpx.post(f"{prefect_server}/deployments/filter", json={}).json()
            ]
            if len(names) >= len(DEPLOYMENTS):
                break
            assert runner.poll() is None, "the runner stopped; see its log"
            time.sleep(0.5)
        else:
            pytest.fail("the flows were not served within 120 s")
        yield prefect_server
    finally:
        runner.terminate()
        try:
            runner.wait(timeout=20)
        except subprocess.TimeoutExpired:
            runner.kill()
        log.close()


@pytest.fixture
def on_server(served_flows: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PREFECT_API_URL", served_flows)
    return served_flows


def follow_up_runs(api_url: str, campaign_id: str) -> list[dict]:
    runs = httpx.post(
        f"{api_url}/flow_runs/filter",
        json={"flow_runs": {"tags": {"all_": [f"campaign:{campaign_id}"]}}},
    ).json()
    return [run for run in runs if run["parameters"].get("campaign_id") == campaign_id]


def test_scheduling_the_same_wave_twice_creates_one_flow_run(
    on_server: str, tmp_path: Path
) -> None:
    settings = Settings(workdir=tmp_path / "work")
    when = datetime.now(UTC) + timedelta(days=14)
    first = schedule_follow_up(settings, "twice-campaign", 2, when)
    again = schedule_follow_up(settings, "twice-campaign", 2, when + timedelta(hours=1))
    other = schedule_follow_up(settings, "twice-campaign", 3, when + timedelta(days=14))
    assert first == again != other
    runs = follow_up_runs(on_server, "twice-campaign")
    assert sorted(run["parameters"]["wave"] for run in runs) == [2, 3]
    assert {run["state_type"] for run in runs} == {"SCHEDULED"}


def test_a_scheduled_follow_up_runs_when_due_under_the_served_deployment(
    on_server: str, tmp_path: Path
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    spec = email_only_spec(tmp_path, contacts=300)
    workdir = tmp_path / "work"
    with temporary_settings(updates={PREFECT_API_URL: on_server}):
        launched = load_flow("launch")(spec_path=str(spec), workdir=str(workdir), now=MORNING)
    assert launched["send"]["sent"] > 0
    settings = Settings(workdir=workdir)
    run_id = schedule_follow_up(
        settings, "the-way-ahead", 2, datetime.now(UTC) + timedelta(seconds=3)
    )
    deadline = time.monotonic() + 150
    state = None
    while time.monotonic() < deadline:
        state = httpx.get(f"{on_server}/flow_runs/{run_id}").json()["state_type"]
        if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            break
        time.sleep(1)
    assert state == "COMPLETED"
    store = Store(settings.database_url)
    try:
        with store.session() as session:
            waves = {w.number: w for w in session.scalars(select(Wave))}
            wave2_rows = session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.wave == 2)
            )
    finally:
        store.dispose()
    # Nobody has answered yet, so every group is missing: the served run planned wave 2
    # and wrote its ledger rows (sending them now or, in quiet hours, deferring them).
    assert waves[1].status == "sent"
    assert 2 in waves and wave2_rows and wave2_rows > 0
