"""The same campaign through the threads runner and the Dask runner (a local cluster of 2
processes) gives the same results: the same materials byte for byte (sha256), the same
ledger, the same messages to the same people in the same languages (issue 9).

Runs the whole sample campaign (flyers, radio scripts, partner packs and email) through
H's `launch` flow with `OUTREACH_TASK_RUNNER=threads`, then `=dask`.
"""

from __future__ import annotations

import email
import hashlib
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from outreach.orchestration import load_flow
from outreach.store import Delivery, Store
from outreach.store.models import Material

sys.path.insert(0, str(Path(__file__).parent))
from test_flows_runs import MORNING, prefect_api  # noqa: F401
from test_production_cluster import synthetic_campaign

pytestmark = pytest.mark.integration

CONTACTS = 150


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
    prefect_api: str,  # noqa: F811
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
    assert {to for to, _, _ in threads["outbox"]} >= consenting
    assert len(yaml.safe_load(spec_path.read_text())["target_languages"]) == len(
        {lang for _, lang, _ in threads["outbox"]}
    )
