"""Scale benchmark: a wave to N synthetic contacts, plan + render + deliver to the outbox,
through the real `launch` flow on a local Prefect API (issue 9).

Prints wall time (per step and in total), messages per second, peak memory (RSS of this
process and of the whole process tree: the Prefect server, Dask workers) and the number of
Prefect task runs the API recorded.

    .venv/bin/python bench/scale.py --contacts 100000
    .venv/bin/python bench/scale.py --contacts 100000 --runner dask
    .venv/bin/python bench/scale.py --contacts 100000 --db postgres   # OUTREACH_TEST_POSTGRES_URL
    .venv/bin/python bench/scale.py --contacts 1000000 --keep /tmp/scale-1m

The campaign is the sample (its groups, partners, translations) with the email channel
only (radio scripts, flyers and partner packs do not grow with contacts; `bench/render.py`
measures them) and `N` synthetic contacts built from the sample's rows. Every message is
written to the Maildir outbox under the work directory, which is deleted afterwards unless
`--keep DIR` is given.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "campaigns" / "the-way-ahead.yaml"
MORNING = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # outside the sample's quiet hours


class PeakMemory:
    """Samples the RSS of this process and of its whole process tree every 0.2 s, and the
    CPU time each process used (so the Prefect server's share is visible)."""

    def __init__(self) -> None:
        self.me = psutil.Process()
        self.peak_self = 0
        self.peak_tree = 0
        self.cpu_start = sum(self.me.cpu_times()[:2])
        self.cpu: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        try:
            own = self.me.memory_info().rss
            tree = own
            for child in self.me.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    tree += child.memory_info().rss
                    self.cpu[child.pid] = (_role(child), sum(child.cpu_times()[:2]))
        except psutil.Error:
            return
        self.peak_self = max(self.peak_self, own)
        self.peak_tree = max(self.peak_tree, tree)

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds by role: this process (the flow and thread tasks) and its children."""
        roles = {"this process": sum(self.me.cpu_times()[:2]) - self.cpu_start}
        for role, seconds in self.cpu.values():
            roles[role] = roles.get(role, 0.0) + seconds
        return roles

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.sample()

    def __enter__(self) -> PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def _role(process: psutil.Process) -> str:
    command = " ".join(process.cmdline())
    if "prefect.server" in command or "prefect server" in command:
        return "Prefect server"
    if "distributed" in command or "dask" in command or "multiprocessing" in command:
        return "Dask workers"
    return "other"


def write_contacts(path: Path, count: int) -> int:
    """`count` synthetic contacts, streamed to CSV; returns how many consented to email."""
    with (ROOT / "contacts" / "contacts.csv").open(encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        sample = list(reader)
    consenting = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for i in range(count):
            row = dict(sample[i % len(sample)])
            row.update(contact_id=f"S{i:07d}", name=f"Person {i}", phone="")
            row["email"] = f"person{i}@example.org"
            consenting += row["consent_email"].strip().lower() in ("yes", "true", "1")
            writer.writerow(row)
    return consenting


def campaign(base: Path, contacts: Path) -> Path:
    spec = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    for channel in ("radio", "flyer", "partner_pack"):
        spec["channels"][channel]["enabled"] = False
    data = {name: str((SAMPLE.parent / p).resolve()) for name, p in spec["data"].items()}
    data["contacts"] = str(contacts)
    spec["data"] = data
    shutil.copytree(SAMPLE.parent / "locale", base / "locale", dirs_exist_ok=True)
    path = base / "campaign.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    return path


def postgres_database(url: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"outreach_scale_{uuid.uuid4().hex[:8]}"
    admin = create_engine(
        make_url(url).set(drivername="postgresql+psycopg", database="postgres"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(url).set(database=name).render_as_string(hide_password=False), drop


class TaskRuns:
    """What the Prefect API recorded: task runs by name, with their total run time and the
    wall-clock span from the first start to the last end (the phase's elapsed time)."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}
        self.seconds: dict[str, float] = {}
        self.first: dict[str, datetime] = {}
        self.last: dict[str, datetime] = {}

    def add(self, run: Any) -> None:
        key = run.name.rsplit("-", 1)[0]
        self.count[key] = self.count.get(key, 0) + 1
        self.seconds[key] = self.seconds.get(key, 0.0) + run.total_run_time.total_seconds()
        if run.start_time and run.end_time:
            self.first[key] = min(self.first.get(key, run.start_time), run.start_time)
            self.last[key] = max(self.last.get(key, run.end_time), run.end_time)

    def span(self, key: str) -> float:
        if key not in self.first:
            return 0.0
        return (self.last[key] - self.first[key]).total_seconds()

    def total(self) -> int:
        return sum(self.count.values())

    def table(self) -> str:
        return "\n".join(
            f"    {key:<22}{self.count[key]:>6} runs {self.seconds[key]:>9.1f} s run time"
            f" {self.span(key):>9.1f} s elapsed"
            for key in sorted(self.count)
        )


def read_task_runs() -> TaskRuns:
    """Task runs recorded by the API (waits until the count stops growing)."""
    import asyncio

    from prefect.client.orchestration import get_client

    async def read() -> TaskRuns:
        runs = TaskRuns()
        async with get_client() as client:
            offset = 0
            while True:
                page = await client.read_task_runs(limit=200, offset=offset)
                for run in page:
                    runs.add(run)
                if len(page) < 200:
                    return runs
                offset += 200

    previous = -1
    deadline = time.monotonic() + 30
    while True:
        runs = asyncio.run(read())
        if runs.total() == previous or time.monotonic() > deadline:
            return runs
        previous = runs.total()
        time.sleep(2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--runner", choices=("threads", "dask"), default="threads")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres", default=os.environ.get("OUTREACH_TEST_POSTGRES_URL", ""))
    parser.add_argument("--workers", type=int, default=2, help="OUTREACH_MAX_WORKERS")
    parser.add_argument("--batch", type=int, default=2000, help="OUTREACH_SEND_BATCH_SIZE")
    parser.add_argument(
        "--plan-only",
        action="store_true",
        help="launch as a dry run: validate, record and plan wave 1; render and send nothing",
    )
    parser.add_argument("--keep", type=Path, help="keep the work directory here")
    args = parser.parse_args()

    base = args.keep or Path(tempfile.mkdtemp(prefix="outreach-scale-"))
    base.mkdir(parents=True, exist_ok=True)
    workdir = base / "work"
    drop = None
    os.environ.update(
        {
            "OUTREACH_WORKDIR": str(workdir),
            "OUTREACH_SECRET_KEY": "bench-secret-not-for-production",
            "OUTREACH_DELIVERY_BACKEND": "outbox",
            "OUTREACH_TASK_RUNNER": args.runner,
            "OUTREACH_MAX_WORKERS": str(args.workers),
            "OUTREACH_SEND_BATCH_SIZE": str(args.batch),
        }
    )
    if args.db == "postgres":
        if not args.postgres:
            parser.error("--db postgres needs --postgres URL or OUTREACH_TEST_POSTGRES_URL")
        url, drop = postgres_database(args.postgres)
        os.environ["OUTREACH_DATABASE_URL"] = url
    else:
        os.environ.pop("OUTREACH_DATABASE_URL", None)

    # A busy machine can take minutes to start a local Prefect API (migrations).
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "600")
    from outreach.orchestration import prefect_environment
    from outreach.settings import get_settings

    settings = get_settings(workdir)
    prefect_environment(settings)
    from outreach.orchestration import load_flow
    from outreach.orchestration.server import prefect_api

    print(
        f"scale: {args.contacts:,} contacts, runner={args.runner}, db={args.db}, "
        f"workers={args.workers}, batch={args.batch}",
        flush=True,
    )
    try:
        started = time.perf_counter()
        contacts_csv = base / "contacts.csv"
        consenting = write_contacts(contacts_csv, args.contacts)
        spec_path = campaign(base, contacts_csv)
        generated = time.perf_counter() - started
        with prefect_api(settings) as api_url, PeakMemory() as memory:
            print(f"  Prefect API {api_url}", flush=True)
            launch = load_flow("launch")
            t0 = time.perf_counter()
            result = launch(
                spec_path=str(spec_path),
                workdir=str(workdir),
                now=MORNING,
                dry_run=args.plan_only,
            )
            wall = time.perf_counter() - t0
            task_runs = read_task_runs()
            cpu = memory.cpu_seconds()
        if args.plan_only:
            print(f"  launch flow, dry run (validate, record, plan): {wall:.1f} s")
            print(f"  ledger rows planned: {result['new_ledger_rows']:,}")
            print(
                f"  peak RSS: this process {memory.peak_self / 2**20:,.0f} MiB, "
                f"process tree {memory.peak_tree / 2**20:,.0f} MiB"
            )
            print("  CPU seconds: " + ", ".join(f"{k} {v:,.0f}" for k, v in cpu.items()))
            print(f"  Prefect task runs: {task_runs.total()}\n{task_runs.table()}")
            return 0
        send = result["send"]
        files = (
            sum(1 for _ in (workdir / "outbox").rglob("*.eml"))
            if args.contacts <= 200_000
            else None
        )
        print(f"  contacts file written in {generated:.1f} s ({consenting:,} consent to email)")
        print(f"  launch flow (validate, record, plan, render, send): {wall:.1f} s")
        sending = task_runs.span("send-batch")
        print(
            f"  sent {send['sent']:,} ({send['skipped']:,} skipped, {send['failed']} failed) "
            f"in {send['batches']} batches: {send['sent'] / wall:,.0f} messages/s overall, "
            f"{send['sent'] / max(sending, 1e-9):,.0f} messages/s while sending ({sending:.1f} s)"
        )
        if files is not None:
            print(f"  outbox files: {files:,}")
        print(
            f"  peak RSS: this process {memory.peak_self / 2**20:,.0f} MiB, "
            f"process tree {memory.peak_tree / 2**20:,.0f} MiB"
        )
        print("  CPU seconds: " + ", ".join(f"{k} {v:,.0f}" for k, v in cpu.items()))
        print(f"  Prefect task runs: {task_runs.total()}\n{task_runs.table()}")
        assert send["sent"] == consenting, (send, consenting)
    finally:
        if drop is not None:
            drop()
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
