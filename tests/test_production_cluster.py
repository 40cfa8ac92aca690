"""Production mode end to end: a Prefect server on PostgreSQL, `prefect deploy --all` from
`prefect.yaml` into a process work pool, two `prefect worker start` processes, the store on
PostgreSQL and a real SMTP server on loopback (issue 9).

The sample campaign (its groups, partners and translations; a few hundred synthetic
contacts) is launched through its deployment; one worker is SIGKILLed, with its process
group, in the middle of the send, and the `outreach-send` deployment finishes the wave on
the other worker: every message arrives once. Then a follow-up scheduled a few seconds
ahead is picked up and run by a worker.

Needs `OUTREACH_TEST_POSTGRES_URL` (a PostgreSQL superuser URL, as for the store tests);
skipped without it.
"""

from __future__ import annotations

import csv
import email
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).parent))
import contextlib

from test_delivery_support import SmtpServer, free_port, smtp_server

from outreach.store import Delivery, Store

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "campaigns" / "the-way-ahead.yaml"
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("OUTREACH_TEST_POSTGRES_URL", "")
# A weekday morning in London, outside the sample's quiet hours (21:00-08:00).
MORNING = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
CONTACTS = 240
SECRET = "production-test-secret-not-for-real-use"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="needs OUTREACH_TEST_POSTGRES_URL"),
]


# -- PostgreSQL databases made for this test and dropped after ---------------------------


def _admin_engine():  # type: ignore[no-untyped-def]
    url = make_url(PG_URL).set(drivername="postgresql+psycopg", database="postgres")
    return create_engine(url, isolation_level="AUTOCOMMIT")


def fresh_database(prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database (its name in the URL); dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine()
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# -- processes: started in their own process group, killed with it ----------------------


@dataclass
class Cluster:
    """The running pieces: the Prefect API, the workers, the shared environment."""

    api_url: str
    env: dict[str, str]
    workdir: Path
    store_url: str
    logs: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            list(args), cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.processes.append(proc)
        return proc

    def run(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            list(args), cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
        return done.stdout

    def start_worker(self, number: int) -> subprocess.Popen[bytes]:
        proc = self.start(
            f"worker-{number}", str(BIN / "prefect"), "worker", "start", "--pool", "outreach",
            "--type", "process", "--name", f"worker-{number}",
        )  # fmt: skip
        self.workers.append(proc)
        return proc

    def log(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
        for proc in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=20)


def wait_until(check: Callable[[], Any], what: str, timeout: float, cluster: Cluster) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    logs = "\n".join(f"--- {p.name}\n{cluster.log(p.stem)}" for p in cluster.logs.glob("*.log"))
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{logs}")


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    yield from smtp_server()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, smtp: SmtpServer) -> Iterator[Cluster]:
    base = tmp_path_factory.mktemp("production")
    logs = base / "logs"
    logs.mkdir()
    prefect_db = fresh_database("outreach_prefect")
    store_db = fresh_database("outreach_store")
    prefect_url = next(prefect_db)
    store_url = next(store_db)
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PREFECT_", "OUTREACH_"))
    }
    env.update(
        {
            # The Prefect server's own database: PostgreSQL through asyncpg.
            "PREFECT_API_DATABASE_CONNECTION_URL": make_url(prefect_url)
            .set(drivername="postgresql+asyncpg")
            .render_as_string(hide_password=False),
            "PREFECT_API_URL": api_url,
            "PREFECT_HOME": str(base / "prefect-home"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_WORKER_PREFETCH_SECONDS": "2",
            "PREFECT_LOGGING_LEVEL": "INFO",
            # Outreach's shared settings: the same in every process.
            "OUTREACH_WORKDIR": str(base / "work"),
            "OUTREACH_DATABASE_URL": store_url,
            "OUTREACH_SECRET_KEY": SECRET,
            "OUTREACH_PUBLIC_URL": "https://rsvp.example.org",
            "OUTREACH_DELIVERY_BACKEND": "smtp",
            "OUTREACH_SMTP_HOST": smtp.host,
            "OUTREACH_SMTP_PORT": str(smtp.port),
            "OUTREACH_SEND_BATCH_SIZE": "25",
            "OUTREACH_MAX_WORKERS": "2",
        }
    )
    cluster = Cluster(api_url, env, base / "work", store_url, logs)
    try:
        cluster.start(
            "server", str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
            "--port", str(port), "--no-ui",
        )  # fmt: skip

        def healthy() -> bool:
            try:
                return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, "the Prefect server on PostgreSQL", 150, cluster)
        prefect = str(BIN / "prefect")
        cluster.run(prefect, "work-pool", "create", "outreach", "--type", "process")
        cluster.run(prefect, "--no-prompt", "deploy", "--all", timeout=180)
        cluster.start_worker(1)
        cluster.start_worker(2)
        yield cluster
    finally:
        cluster.stop()
        for generator in (store_db, prefect_db):
            next(generator, None)


# -- the campaign: the sample with synthetic contacts -----------------------------------


def synthetic_campaign(
    base: Path, count: int, *, channels: tuple[str, ...] = ()
) -> tuple[Path, set[str]]:
    """The sample campaign with `count` synthetic contacts (the sample's columns, languages
    and groups cycled), optionally only some `channels`; returns the spec and the
    addresses that consented to email."""
    with (ROOT / "contacts" / "contacts.csv").open(encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        sample = list(reader)
    consenting: set[str] = set()
    path = base / "contacts.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for i in range(count):
            row = dict(sample[i % len(sample)])
            row.update(contact_id=f"S{i:06d}", name=f"Synthetic Person {i}", phone="")
            row["email"] = f"person{i}@example.org"
            if row["consent_email"].strip().lower() in ("yes", "true", "1"):
                consenting.add(row["email"])
            writer.writerow(row)
    spec = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data = {name: str((SAMPLE.parent / p).resolve()) for name, p in spec["data"].items()}
    data["contacts"] = str(path)
    for channel in spec["channels"]:
        if channels and channel not in channels:
            spec["channels"][channel]["enabled"] = False
    spec["data"] = data
    shutil.copytree(SAMPLE.parent / "locale", base / "locale", dirs_exist_ok=True)
    spec_path = base / "campaign.yaml"
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    return spec_path, consenting


# -- talking to the Prefect API ---------------------------------------------------------


def create_run(cluster: Cluster, deployment: str, parameters: dict[str, Any], **kw: Any) -> str:
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: cluster.api_url}):
        run = run_deployment(deployment, parameters=parameters, timeout=0, as_subflow=False, **kw)
    return str(run.id)


def flow_run(cluster: Cluster, run_id: str) -> dict[str, Any]:
    response = httpx.get(f"{cluster.api_url}/flow_runs/{run_id}", timeout=10)
    response.raise_for_status()
    return dict(response.json())


def state_of(cluster: Cluster, run_id: str) -> str:
    return str(flow_run(cluster, run_id)["state"]["type"])


def wait_final(cluster: Cluster, run_id: str, timeout: float) -> dict[str, Any]:
    def final() -> dict[str, Any] | None:
        run = flow_run(cluster, run_id)
        return run if run["state"]["type"] in ("COMPLETED", "FAILED", "CRASHED") else None

    run = wait_until(final, f"flow run {run_id}", timeout, cluster)
    assert run["state"]["type"] == "COMPLETED", run["state"]
    return run


# -- the store --------------------------------------------------------------------------


def ledger(cluster: Cluster, wave: int) -> Counter[str]:
    store = Store(cluster.store_url)
    try:
        with store.session() as session:
            rows = session.execute(
                select(Delivery.status, func.count())
                .where(Delivery.wave == wave)
                .group_by(Delivery.status)
            ).all()
        return Counter({str(status): int(n) for status, n in rows})
    finally:
        store.dispose()


def claiming_pids(cluster: Cluster) -> set[int]:
    """Pids of the processes holding claims in the ledger right now (`host:pid:random`)."""
    store = Store(cluster.store_url)
    try:
        with store.session() as session:
            claims = session.scalars(
                select(Delivery.claim_id).where(Delivery.status == "claimed").distinct()
            ).all()
    finally:
        store.dispose()
    return {int(c.split(":")[1]) for c in claims if c and c.split(":")[1].isdigit()}


def ancestors(pid: int) -> list[int]:
    chain = []
    while pid > 1:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        chain.append(pid)
    return chain


def by_wave(smtp: SmtpServer) -> dict[str, Counter[str]]:
    """Recipients per `X-Outreach-Wave` header, counted at the SMTP server."""
    out: dict[str, Counter[str]] = {}
    with smtp.recorder.lock:
        messages = list(smtp.recorder.messages)
    for tos, data in messages:
        wave = str(email.message_from_bytes(data)["X-Outreach-Wave"])
        out.setdefault(wave, Counter()).update(tos)
    return out


# -- the test ---------------------------------------------------------------------------


def test_cluster_delivers_once_through_a_killed_worker_and_runs_a_scheduled_follow_up(
    cluster: Cluster, smtp: SmtpServer, tmp_path: Path
) -> None:
    # Email only: PDF rendering (tested with both runners in test_production_runners.py)
    # would add minutes on a busy 2-core machine without exercising anything more here.
    spec_path, consenting = synthetic_campaign(tmp_path, CONTACTS, channels=("email",))
    expected = consenting
    assert len(expected) > 100

    # Kill the worker running the send (and its whole process group, flow run included)
    # when the server is asked for message 61: message 60 was accepted and marked sent.
    killed: dict[str, Any] = {}

    def kill_sender(received: int) -> None:
        if received < 60 or killed:
            return
        pids = claiming_pids(cluster)
        worker_pids = {w.pid: w for w in cluster.workers}
        for pid in pids:
            for ancestor in [pid, *ancestors(pid)]:
                if ancestor in worker_pids:
                    os.killpg(ancestor, signal.SIGKILL)
                    killed["worker"] = worker_pids[ancestor]
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        killed["pids"] = pids

    smtp.recorder.on_mail = kill_sender
    launch = create_run(
        cluster,
        "launch/outreach-launch",
        {"spec_path": str(spec_path), "workdir": str(cluster.workdir), "now": MORNING},
    )

    def killed_or_ended() -> bool:
        if killed:
            return True
        state = state_of(cluster, launch)
        assert state not in ("COMPLETED", "FAILED", "CRASHED"), f"launch ended: {state}"
        return False

    wait_until(killed_or_ended, "the send to reach 60 messages", 400, cluster)
    smtp.recorder.on_mail = None
    victim: subprocess.Popen[bytes] = killed["worker"]
    assert victim.wait(timeout=30) == -signal.SIGKILL
    survivor = next(w for w in cluster.workers if w is not victim)
    assert survivor.poll() is None
    assert state_of(cluster, launch) == "RUNNING"  # its process is gone mid-send
    interrupted = ledger(cluster, 1)
    assert interrupted["claimed"] > 0 and interrupted["sent"] >= 60  # a batch was in flight

    # The send deployment finishes wave 1 on the surviving worker: the dead run's claims
    # are recovered (its pid is gone), and only what was not sent is sent.
    resend = create_run(
        cluster,
        "send-wave/outreach-send",
        {"campaign_id": "the-way-ahead", "wave": 1, "workdir": str(cluster.workdir),
         "now": MORNING},
    )  # fmt: skip
    wait_final(cluster, resend, 300)
    wave1 = by_wave(smtp)["1"]
    assert set(wave1) == expected
    assert set(wave1.values()) == {1}, [a for a, n in wave1.items() if n > 1]
    counts = ledger(cluster, 1)
    assert counts["sent"] == sum(wave1.values())
    assert counts["pending"] == counts["claimed"] == 0

    # A follow-up scheduled a few seconds ahead, picked up by the worker when due. Its
    # clock is fixed after wave 1's response window (14 days) on a weekday morning.
    due = datetime.now(UTC) + timedelta(seconds=6)
    follow = create_run(
        cluster,
        "follow-up/outreach-follow-up",
        {"campaign_id": "the-way-ahead", "workdir": str(cluster.workdir),
         "now": MORNING + timedelta(days=15)},
        scheduled_time=due,
    )  # fmt: skip
    assert state_of(cluster, follow) == "SCHEDULED"
    run = wait_final(cluster, follow, 300)
    started = datetime.fromisoformat(run["start_time"])
    assert started >= due - timedelta(seconds=1)
    assert run["work_queue_name"] == "default"
    wave2 = ledger(cluster, 2)
    assert wave2["sent"] > 0 and wave2["pending"] == wave2["claimed"] == 0
    received2 = by_wave(smtp).get("2", Counter())
    assert sum(received2.values()) == wave2["sent"]
    assert set(received2.values()) == {1}
