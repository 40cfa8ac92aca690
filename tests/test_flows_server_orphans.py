"""A CLI that is killed must not leave its local Prefect server running forever."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

CHILD = textwrap.dedent(
    """
    import sys, time
    from outreach.orchestration.server import LocalPrefectServer
    from outreach.settings import Settings

    server = LocalPrefectServer(Settings(workdir=sys.argv[1]))
    server.start()
    print(server.process.pid, flush=True)
    time.sleep(600)  # killed by the test long before this
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped) counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


@pytest.mark.integration
def test_server_stops_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    parent = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path / "work")],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        line = parent.stdout.readline()  # type: ignore[union-attr]
        assert line.strip().isdigit(), "the local Prefect server did not start"
        server_pid = int(line)
        assert _alive(server_pid)
        # An idle server must leave the cores to the work: a sub-second flush interval
        # once made Prefect's task-run recorder spin (half a core, all the time).
        server = psutil.Process(server_pid)
        time.sleep(2)  # let the services settle after start-up
        before = sum(server.cpu_times()[:2])
        time.sleep(5)
        idle_cpu = sum(server.cpu_times()[:2]) - before
        assert idle_cpu < 1.0, f"idle Prefect server used {idle_cpu:.1f} CPU s in 5 s"
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 60
        while _alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _alive(server_pid), "the Prefect server outlived the killed CLI"
    finally:
        parent.kill()
        if "server_pid" in locals() and _alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)
