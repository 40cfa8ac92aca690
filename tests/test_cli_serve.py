"""`outreach serve`: the web app and the served flows on one machine, stopped with Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from outreach.orchestration.loading import DEPLOYMENTS

OUTREACH = Path(sys.executable).parent / "outreach"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(workdir: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "OUTREACH_"))}
    process = subprocess.Popen(
        [str(OUTREACH), "serve", "--port", str(port), "--workdir", str(workdir), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    return process, port


def wait_for(check, deadline: float, process: subprocess.Popen[str]) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        assert process.poll() is None, process.communicate()
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    pytest.fail("outreach serve did not come up in time")


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)  # what Ctrl-C does
    try:
        out, err = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"outreach serve did not stop on Ctrl-C: {err[-2000:]}")
    return out, err


def test_serve_without_flows_runs_the_web_app_and_stops_cleanly(tmp_path: Path) -> None:
    process, port = start(tmp_path / "work", "--no-flows")
    try:
        wait_for(
            lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200,
            120,
            process,
        )
    finally:
        out, err = stop(process)
    assert "Traceback" not in err and "Traceback" not in out
    assert not (tmp_path / "work" / ".prefect" / "server.json").exists()


@pytest.mark.integration
def test_serve_serves_the_four_deployments_and_tidies_up(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    process, port = start(workdir)
    state = workdir / ".prefect" / "server.json"

    def deployments() -> list[str]:
        if not state.exists():
            return []
        api_url = json.loads(state.read_text())["api_url"]
        return [d["name"] for d in httpx.post(f"{api_url}/deployments/filter", json={}).json()]

    try:
        wait_for(lambda: len(deployments()) == len(DEPLOYMENTS), 240, process)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200
        names = sorted(deployments())
    finally:
        out, err = stop(process)
    assert names == sorted(full.split("/", 1)[1] for full in DEPLOYMENTS.values())
    assert "Traceback" not in err and "Traceback" not in out
    assert not state.exists()  # other commands no longer look for this server
