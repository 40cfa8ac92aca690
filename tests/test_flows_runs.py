"""The flows on Prefect (one in-process test API for the module): idempotency, no personal
data in anything Prefect stores, and task runs that grow with batches, not contacts."""

from __future__ import annotations

import csv
import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import phonenumbers
import pytest
import yaml
from sqlalchemy import func, select

from outreach.orchestration import load_flow
from outreach.store import Delivery, Store

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "campaigns" / "the-way-ahead.yaml"
# A weekday morning in London: outside the sample's quiet hours (21:00-08:00).
MORNING = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def prefect_api() -> Iterator[str]:
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield str(PREFECT_API_URL.value())


def email_only_spec(tmp_path: Path, *, contacts: int | None = None) -> Path:
    """The sample campaign with only the email channel (no PDFs to render: fast), and
    optionally only the first `contacts` contacts."""
    spec = yaml.safe_load(SAMPLE.read_text())
    for channel in ("radio", "flyer", "partner_pack"):
        spec["channels"][channel]["enabled"] = False
    data = {name: str((SAMPLE.parent / path).resolve()) for name, path in spec["data"].items()}
    if contacts is not None:
        rows = (ROOT / "contacts" / "contacts.csv").read_text(encoding="utf-8").splitlines()
        small = tmp_path / "contacts.csv"
        small.write_text("\n".join(rows[: contacts + 1]) + "\n", encoding="utf-8")
        data["contacts"] = str(small)
    spec["data"] = data
    # The campaign's own translations live next to its spec.
    shutil.copytree(SAMPLE.parent / "locale", tmp_path / "locale", dirs_exist_ok=True)
    path = tmp_path / "campaign.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True))
    return path


def personal_data() -> set[str]:
    """Every name, email address and phone number (as written and as E.164) in the sample."""
    found: set[str] = set()
    with (ROOT / "contacts" / "contacts.csv").open(encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            for key in ("name", "email", "phone"):
                value = (row.get(key) or "").strip()
                if len(value) >= 6:
                    found.add(value.lower())
            if row.get("phone"):
                try:
                    number = phonenumbers.parse(row["phone"], "GB")
                    found.add(
                        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                    )
                except phonenumbers.NumberParseException:
                    pass
    return found


def ledger_rows(workdir: Path) -> int:
    store = Store(f"sqlite:///{workdir / 'outreach.db'}")
    try:
        with store.session() as session:
            return int(session.scalar(select(func.count()).select_from(Delivery)) or 0)
    finally:
        store.dispose()


def run_id(state: Any) -> UUID:
    return state.state_details.flow_run_id


def flow_run_tree(root: UUID) -> list[Any]:
    """The flow run and every subflow run under it, read through the Prefect client."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterId,
        FlowRunFilterParentFlowRunId,
    )

    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[root])))
        frontier = [root]
        while frontier:
            children = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=frontier)
                )
            )
            runs.extend(children)
            frontier = [child.id for child in children]
    return runs


def settle(api_url: str) -> None:
    from outreach.orchestration.server import wait_until_recorded

    wait_until_recorded(api_url)


def task_runs_of(flow_runs: list[Any]) -> list[Any]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    ids = [run.id for run in flow_runs]
    out: list[Any] = []
    with get_client(sync_client=True) as client:
        offset = 0
        while True:
            page = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)),
                limit=200,
                offset=offset,
            )
            out.extend(page)
            if len(page) < 200:
                return out
            offset += 200


def test_launching_twice_adds_no_ledger_rows(prefect_api: str, tmp_path: Path) -> None:
    spec = email_only_spec(tmp_path)
    workdir = tmp_path / "work"
    launch = load_flow("launch")
    first = launch(spec_path=str(spec), workdir=str(workdir), dry_run=True, now=MORNING)
    rows = ledger_rows(workdir)
    second = launch(spec_path=str(spec), workdir=str(workdir), dry_run=True, now=MORNING)
    assert first["new_ledger_rows"] == rows > 1000
    assert second["new_ledger_rows"] == 0
    assert ledger_rows(workdir) == rows


def test_no_personal_data_reaches_prefect(prefect_api: str, tmp_path: Path) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    spec = email_only_spec(tmp_path)
    workdir = tmp_path / "work"
    state = load_flow("launch")(
        spec_path=str(spec), workdir=str(workdir), now=MORNING, return_state=True
    )
    result = state.result()
    assert result["send"]["sent"] > 100  # something was really sent
    assert any((workdir / "outbox").rglob("*")), "the outbox is empty"
    settle(prefect_api)

    flow_runs = flow_run_tree(run_id(state))
    assert {run.name for run in flow_runs} and len(flow_runs) >= 2  # launch + send-wave
    task_runs = task_runs_of(flow_runs)
    assert task_runs
    log_filter = LogFilter(flow_run_id=LogFilterFlowRunId(any_=[r.id for r in flow_runs]))
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(limit=200)
        logs: list[Any] = []
        while True:
            page = client.read_logs(log_filter=log_filter, limit=200, offset=len(logs))
            logs.extend(page)
            if len(page) < 200:
                break
    assert artifacts and logs
    seen = json.dumps(
        {
            "flow_runs": [r.model_dump(mode="json") for r in flow_runs],
            "task_runs": [r.model_dump(mode="json") for r in task_runs],
            "artifacts": [a.model_dump(mode="json") for a in artifacts],
            "logs": [entry.model_dump(mode="json") for entry in logs],
            "result": result,
        },
        ensure_ascii=False,
    ).lower()
    leaked = sorted(value for value in personal_data() if value in seen)
    assert leaked == []
    # The check can see what it looks for: the parameters themselves are there.
    assert str(workdir).lower() in seen and "the-way-ahead" in seen


def test_task_runs_grow_with_batches_not_contacts(
    prefect_api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One batch holds any of these waves, so the only difference is the number of contacts.
    monkeypatch.setenv("OUTREACH_SEND_BATCH_SIZE", "100000")
    counts = {}
    for contacts in (150, 2400):
        base = tmp_path / str(contacts)
        base.mkdir()
        spec = email_only_spec(base, contacts=contacts)
        state = load_flow("launch")(
            spec_path=str(spec), workdir=str(base / "work"), now=MORNING, return_state=True
        )
        assert state.result()["send"]["sent"] > 10
        settle(prefect_api)
        counts[contacts] = len(task_runs_of(flow_run_tree(run_id(state))))
    assert counts[150] == counts[2400]
    # channels x languages x batches plus a fixed handful, nowhere near one per contact
    assert counts[2400] < 40
