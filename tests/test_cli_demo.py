"""`outreach demo` end to end, as a new user runs it: a subprocess in a fresh directory."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from test_flows_runs import personal_data

OUTREACH = Path(sys.executable).parent / "outreach"


def read_everything(database: Path) -> dict[str, list]:
    """Every row of every table in the demo's Prefect database (runs, artifacts, logs...)."""
    connection = sqlite3.connect(database)
    try:
        tables = [
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        return {
            table: [list(map(str, row)) for row in connection.execute(f'SELECT * FROM "{table}"')]
            for table in tables
        }
    finally:
        connection.close()


def test_demo_runs_the_whole_loop_quietly_and_leaves_its_files(tmp_path: Path) -> None:
    workdir = tmp_path / "demo-work"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "OUTREACH_"))}
    env.update({"COLUMNS": "120", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"})
    done = subprocess.run(
        [str(OUTREACH), "demo", "--workdir", str(workdir)],
        capture_output=True,
        text=True,
        timeout=1800,  # minutes on an idle 2-core machine; far more on a shared one
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
    stored = read_everything(workdir / ".prefect" / "prefect.db")
    assert stored["flow_run"] and stored["task_run"] and stored["artifact"] and stored["log"]
    text = json.dumps(stored, ensure_ascii=False).lower()
    assert sorted(value for value in personal_data() if value in text) == []

    # Running it again starts afresh in the same directory (a previous demo is replaced).
    marker = workdir / ".outreach-demo"
    assert marker.is_file()
