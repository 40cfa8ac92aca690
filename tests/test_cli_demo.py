"""`outreach demo` end to end, as a new user runs it: a subprocess in a fresh directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx

from outreach.orchestration import LocalPrefectServer
from outreach.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from test_flows_runs import personal_data

OUTREACH = Path(sys.executable).parent / "outreach"


def read_everything(api_url: str) -> dict[str, list]:
    """Every flow run, task run, artifact and log line the demo left in Prefect."""
    out: dict[str, list] = {}
    for kind in ("flow_runs", "task_runs", "artifacts", "logs"):
        rows: list = []
        offset = 0
        while True:
            page = httpx.post(
                f"{api_url}/{kind}/filter", json={"limit": 200, "offset": offset}, timeout=30
            ).json()
            rows.extend(page)
            if len(page) < 200:
                break
            offset += 200
        out[kind] = rows
    return out


def test_demo_runs_the_whole_loop_quietly_and_leaves_its_files(tmp_path: Path) -> None:
    workdir = tmp_path / "demo-work"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "OUTREACH_"))}
    env.update({"COLUMNS": "120", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    done = subprocess.run(
        [str(OUTREACH), "demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "Traceback" not in done.stdout
    assert "Finished in state" not in done.stdout + done.stderr  # no Prefect chatter
    # What the officer is told, and where to look.
    for phrase in ("Launching wave 1", "wave 2", "headway", "Where to look"):
        assert phrase.lower() in done.stdout.lower()

    materials = list((workdir / "materials").rglob("*.pdf"))
    assert materials, "no flyers or scripts under materials/"
    emails = list((workdir / "outbox").rglob("*.eml"))
    assert len(emails) > 100
    waves = {
        line.split(":", 1)[1].strip()
        for path in emails
        for line in path.read_text(errors="replace").splitlines()[:40]
        if line.lower().startswith("x-outreach-wave:")
    }
    assert {"1", "2"} <= waves, "wave 2 sent nothing"
    for wave in (1, 2):
        report = workdir / "reports" / f"wave-{wave}" / "report.html"
        assert report.is_file() and report.stat().st_size > 1000

    # Nothing personal reached Prefect: read back everything the demo stored there.
    server = LocalPrefectServer(Settings(workdir=workdir))
    api_url = server.start(timeout=180)
    try:
        stored = read_everything(api_url)
    finally:
        server.stop(drain=False)
    assert stored["flow_runs"] and stored["task_runs"] and stored["artifacts"]
    text = json.dumps(stored, ensure_ascii=False).lower()
    assert sorted(value for value in personal_data() if value in text) == []

    # Running it again starts afresh in the same directory (a previous demo is replaced).
    marker = workdir / ".outreach-demo"
    assert marker.is_file()
