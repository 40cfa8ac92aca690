"""The same campaign through the threads runner and the Dask runner (a local cluster of 2
processes) gives the same results: the same materials byte for byte (sha256), the same
ledger, the same messages to the same people in the same languages (issue 9).

Runs the whole sample campaign (flyers, radio scripts, partner packs and email) through
H's `launch` flow with `OUTREACH_TASK_RUNNER=threads`, then `=dask`.
"""

from __future__ import annotations

import contextlib
import email
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from email.utils import parseaddr
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select

from outreach.orchestration import load_flow
from outreach.store import Delivery, Store
from outreach.store.models import Material

sys.path.insert(0, str(Path(__file__).parent))
from test_delivery_support import free_port
from test_flows_runs import MORNING
from test_production_cluster import synthetic_campaign

pytestmark = pytest.mark.integration

CONTACTS = 150


@pytest.fixture(scope="module")
def prefect_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A `prefect server start` subprocess (SQLite, its own PREFECT_HOME) on a free port.

    Not `prefect_test_harness`: its fixed start-up timeout is too short for a busy 2-core
    machine; here the deadline is generous and the server's output is kept for errors.
    """
    from prefect.settings import PREFECT_API_URL, temporary_settings

    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(home),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
    )
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host",
         "127.0.0.1", "--port", str(port), "--no-ui"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 400
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, (home / "server.log").read_text()
            assert time.monotonic() < deadline, (home / "server.log").read_text()
            time.sleep(0.5)
        with temporary_settings(updates={PREFECT_API_URL: url}):
            yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)


def results(workdir: Path) -> dict[str, Any]:
    store = Store(f"sqlite:///{workdir / 'outreach.db'}")
    try:
        with store.session() as session:
            materials = sorted(
                (m.wave, m.channel, m.language, m.kind, m.placement, m.path, m.sha256)
                for m in session.scalars(select(Material))
            )
            deliveries = sorted(
                (d.wave, d.recipient, d.channel, d.language, d.status)
                for d in session.scalars(select(Delivery))
            )
    finally:
        store.dispose()
    for *_, path, sha in materials:  # the recorded digest is the file on disk
        assert hashlib.sha256((workdir / path).read_bytes()).hexdigest() == sha, path
    messages: Counter[tuple[str, str, str]] = Counter()
    for path in (workdir / "outbox").rglob("*.eml"):
        message = email.message_from_bytes(path.read_bytes())
        messages[
            (str(message["To"]), str(message["Content-Language"]), str(message["X-Outreach-Wave"]))
        ] += 1
    return {"materials": materials, "ledger": deliveries, "outbox": messages}


def test_threads_and_dask_runners_give_identical_results(
    prefect_api: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OUTREACH_SECRET_KEY", "runner-equivalence-secret-not-for-production")
    monkeypatch.setenv("OUTREACH_SEND_BATCH_SIZE", "40")  # several batches in parallel
    monkeypatch.setenv("OUTREACH_MAX_WORKERS", "2")
    monkeypatch.delenv("OUTREACH_DATABASE_URL", raising=False)
    spec_path, consenting = synthetic_campaign(tmp_path, CONTACTS)
    found = {}
    for runner in ("threads", "dask"):
        monkeypatch.setenv("OUTREACH_TASK_RUNNER", runner)
        workdir = tmp_path / runner
        monkeypatch.setenv("OUTREACH_WORKDIR", str(workdir))
        outcome = load_flow("launch")(spec_path=str(spec_path), workdir=str(workdir), now=MORNING)
        assert outcome["send"]["sent"] > 0
        found[runner] = results(workdir)
    threads, dask = found["threads"], found["dask"]
    kinds = Counter(m[3] for m in threads["materials"])
    assert {"flyer-a4"} <= set(kinds) and sum(kinds.values()) > 20, kinds
    assert threads["materials"] == dask["materials"]
    assert threads["ledger"] == dask["ledger"]
    assert threads["outbox"] == dask["outbox"]
    sent = sum(1 for row in threads["ledger"] if row[-1] == "sent")
    assert sum(threads["outbox"].values()) == sent
    addresses = {parseaddr(to)[1] for to, _, _ in threads["outbox"]}
    assert addresses >= consenting
    languages = {language for _, language, _ in threads["outbox"]}
    targets = set(yaml.safe_load(spec_path.read_text())["target_languages"])
    assert len(languages) > 1 and languages <= targets
