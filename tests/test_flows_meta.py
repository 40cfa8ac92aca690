"""Layering and wiring of the flows, without running Prefect."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import yaml

from outreach.orchestration import DEPLOYMENTS, FLOWS_DIR, load_flow, prefect_environment
from outreach.orchestration.loading import relative_entrypoint
from outreach.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
IMPORTS_FLOWS = re.compile(r"^\s*(from\s+flows[\s.]|import\s+flows\b)", re.MULTILINE)


def test_nothing_under_outreach_imports_flows() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "outreach").rglob("*.py")
        if IMPORTS_FLOWS.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_grep_would_catch_an_import_of_flows() -> None:
    assert IMPORTS_FLOWS.search("from flows.send import send_wave\n")
    assert IMPORTS_FLOWS.search("    import flows\n")
    assert not IMPORTS_FLOWS.search("from outreach.orchestration import load_flow\n")


@pytest.mark.parametrize(
    ("name", "flow_name", "parameters"),
    [
        ("launch", "launch", {"spec_path", "workdir", "dry_run", "allow_fallback"}),
        ("send", "send-wave", {"campaign_id", "wave", "workdir"}),
        ("follow_up", "follow-up", {"campaign_id", "workdir"}),
        ("report", "report", {"campaign_id", "workdir", "out_dir"}),
    ],
)
def test_flows_load_by_entrypoint_with_the_interface_parameters(
    name: str, flow_name: str, parameters: set[str]
) -> None:
    flow = load_flow(name)
    assert flow.name == flow_name
    assert parameters <= set(flow.parameters.properties)
    assert DEPLOYMENTS[name].startswith(f"{flow_name}/")


def test_prefect_yaml_declares_the_four_deployments_at_the_loaded_entrypoints() -> None:
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    declared = {d["name"]: d["entrypoint"] for d in config["deployments"]}
    for name, full_name in DEPLOYMENTS.items():
        deployment = full_name.split("/", 1)[1]
        assert declared[deployment] == relative_entrypoint(name)
        path, function = declared[deployment].split(":")
        assert (ROOT / path).is_file() and f"def {function}(" in (ROOT / path).read_text()
    assert all(d["work_pool"]["name"] == "outreach" for d in config["deployments"])
    assert FLOWS_DIR == ROOT / "flows"


def test_prefect_environment_keeps_prefect_inside_the_workdir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PREFECT_HOME", "PREFECT_SERVER_ANALYTICS_ENABLED"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "333")
    settings = Settings(workdir=tmp_path / "work")
    applied = prefect_environment(settings)
    assert os.environ["PREFECT_HOME"] == str(tmp_path / "work" / ".prefect")
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    # A value the user exported wins over our default.
    assert os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "333"
    assert "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" not in applied
    assert (tmp_path / "work" / ".prefect").is_dir()
