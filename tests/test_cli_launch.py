"""`outreach launch` as an officer runs it: a subprocess, a terminal, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from outreach.store import Delivery, Store

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "campaigns" / "the-way-ahead.yaml"
OUTREACH = Path(sys.executable).parent / "outreach"


def run(*args: str, workdir: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({"OUTREACH_WORKDIR": str(workdir), "COLUMNS": "120", "TERM": "dumb"})
    return subprocess.run(
        [str(OUTREACH), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        cwd=workdir.parent,
    )


def test_dry_run_prints_the_plan_sends_nothing_and_stays_quiet(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    done = run("launch", str(SAMPLE), "--dry-run", "--workdir", str(workdir), workdir=workdir)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    # Prefect's own chatter stays out of the officer's terminal.
    assert "Finished in state" not in done.stderr + done.stdout
    assert "Dry run" in done.stdout and "nothing was rendered or sent" in done.stdout
    for header in ("channel", "language", "group", "recipients"):
        assert header in done.stdout
    assert "partner_pack" in done.stdout and "age:65-plus" in done.stdout
    store = Store(f"sqlite:///{workdir / 'outreach.db'}")
    try:
        with store.session() as session:
            planned = session.scalar(select(func.count()).select_from(Delivery))
            sent = session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.status == "sent")
            )
    finally:
        store.dispose()
    assert planned and planned > 1000 and sent == 0
    assert not any((workdir / "outbox").rglob("*.eml"))
    # Prefect's database and log live in the work directory, not in ~/.prefect.
    assert (workdir / ".prefect" / "prefect.db").is_file()


def test_a_broken_campaign_is_reported_plainly_before_anything_runs(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    broken = tmp_path / "broken.yaml"
    text = SAMPLE.read_text().replace("target_languages: [", "target_languages: [xx-nope, ")
    text = text.replace("../contacts/", f"{ROOT / 'contacts'}/")
    broken.write_text(text)
    done = run("launch", str(broken), "--workdir", str(workdir), workdir=workdir)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "problem" in done.stderr and "xx-nope" in done.stderr
    assert not (workdir / ".prefect" / "prefect.db").exists()  # Prefect never started


def test_people_removed_from_the_file_are_told_to_have_left_the_audience(tmp_path: Path) -> None:
    import shutil

    shutil.copytree(ROOT / "campaigns", tmp_path / "campaigns")
    shutil.copytree(ROOT / "contacts", tmp_path / "contacts")
    spec, contacts = tmp_path / "campaigns" / SAMPLE.name, tmp_path / "contacts" / "contacts.csv"
    workdir = tmp_path / "work"
    args = ("launch", str(spec), "--dry-run", "--workdir", str(workdir))
    assert run(*args, workdir=workdir).returncode == 0
    lines = contacts.read_text(encoding="utf-8").splitlines(keepends=True)
    contacts.write_text("".join(lines[:-10]), encoding="utf-8")  # the last ten rows go

    done = run(*args, workdir=workdir)

    assert done.returncode == 0, done.stderr
    assert "10 people recorded before are no longer selected" in done.stdout
    assert "planned messages dropped" in done.stdout
