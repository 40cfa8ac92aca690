"""The Dask task runner gives the same results as the default threads (issue 9)."""

from __future__ import annotations

import email
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.orchestration import load_flow
from outreach.store import Delivery, Store

sys.path.insert(0, str(Path(__file__).parent))
from test_flows_runs import MORNING, email_only_spec, prefect_api  # noqa: F401

pytestmark = pytest.mark.integration


def ledger(workdir: Path) -> set[tuple[str, str, str, str]]:
    store = Store(f"sqlite:///{workdir / 'outreach.db'}")
    try:
        with store.session() as session:
            return {
                (row.recipient, row.channel, row.language, row.status)
                for row in session.scalars(select(Delivery))
            }
    finally:
        store.dispose()


def outbox(workdir: Path) -> set[tuple[str, str, str]]:
    """(recipient, language, wave) of every message written to the outbox."""
    out = set()
    for path in (workdir / "outbox").rglob("*.eml"):
        message = email.message_from_bytes(path.read_bytes())
        out.add(
            (
                str(message["To"]),
                str(message["Content-Language"]),
                str(message["X-Outreach-Wave"]),
            )
        )
    return out


def test_dask_and_threads_send_the_same_wave(
    prefect_api: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OUTREACH_SEND_BATCH_SIZE", "60")  # several batches in parallel
    monkeypatch.setenv("OUTREACH_MAX_WORKERS", "2")
    results = {}
    for runner in ("threads", "dask"):
        monkeypatch.setenv("OUTREACH_TASK_RUNNER", runner)
        base = tmp_path / runner
        base.mkdir()
        spec = email_only_spec(base, contacts=300)
        workdir = base / "work"
        sent = load_flow("launch")(spec_path=str(spec), workdir=str(workdir), now=MORNING)
        results[runner] = (sent["send"]["sent"], ledger(workdir), outbox(workdir))
    threads, dask = results["threads"], results["dask"]
    assert threads[0] > 50 and threads[0] == dask[0]
    assert threads[1] == dask[1]
    assert threads[2] == dask[2] and len(threads[2]) == threads[0]
