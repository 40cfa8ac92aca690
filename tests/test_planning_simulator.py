"""The simulator: scenario validation, determinism, policies, and `outreach simulate`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT
from typer.testing import CliRunner

from outreach.cli import app
from outreach.planning import simulator
from outreach.planning.scenario import load_scenario
from outreach.planning.simulator import simulate
from outreach.problems import InvalidInput

SCENARIOS = sorted((ROOT / "bench" / "scenarios").glob("*.yaml"))
LONDON = ROOT / "bench" / "scenarios" / "london-consultation.yaml"
JSON_KEYS = {
    "policy",
    "seeds",
    "cost_mean",
    "waves_mean",
    "min_ratio_mean",
    "targets_met_share",
    "responses_by_group",
}


def test_at_least_three_scenarios_ship_and_load() -> None:
    assert len(SCENARIOS) >= 3
    for path in SCENARIOS:
        scenario = load_scenario(path)
        assert sum(g.population_share for g in scenario.groups) == pytest.approx(1, abs=0.02)


@pytest.mark.parametrize("policy", ["adaptive", "resend", "round-robin"])
def test_same_seed_same_campaign(policy: str) -> None:
    scenario = load_scenario(LONDON)
    first = simulate(scenario, policy, [4, 5])
    again = simulate(scenario, policy, [4, 5])
    assert first.to_json() == again.to_json()
    assert [r.trace for r in first.runs] == [r.trace for r in again.runs]
    other = simulate(scenario, policy, [6, 7])
    assert other.to_json() != first.to_json()


def test_adaptive_policy_runs_the_planners_allocation_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[float] = []
    real = simulator.allocate

    def spy(options, posteriors, needs, budget, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(budget)
        return real(options, posteriors, needs, budget, **kwargs)

    monkeypatch.setattr(simulator, "allocate", spy)
    result = simulate(load_scenario(LONDON), "adaptive", [0])
    assert calls and result.runs[0].waves == len(calls) + 1  # wave 1 is the common launch
    calls.clear()
    simulate(load_scenario(LONDON), "resend", [0])
    assert calls == []


def test_adaptive_meets_targets_where_resend_does_not() -> None:
    scenario = load_scenario(LONDON)
    adaptive = simulate(scenario, "adaptive", 5)
    resend = simulate(scenario, "resend", 5)
    assert adaptive.targets_met_share > resend.targets_met_share
    assert adaptive.min_ratio_mean > resend.min_ratio_mean
    # Budgets hold wave by wave.
    for run in adaptive.runs + resend.runs:
        assert all(step["spent"] <= scenario.budget_per_wave + 1e-9 for step in run.trace)


def test_simulate_json_prints_one_object_with_the_contracted_keys() -> None:
    result = CliRunner().invoke(
        app, ["simulate", str(LONDON), "--policy", "round-robin", "--seeds", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == JSON_KEYS
    assert data["policy"] == "round-robin" and data["seeds"] == 3
    assert set(data["responses_by_group"]) == {"birth:uk", "birth:outside-uk"}
    assert 0 <= data["targets_met_share"] <= 1


def test_simulate_prints_a_table_by_default() -> None:
    result = CliRunner().invoke(app, ["simulate", str(LONDON), "--seeds", "2"])
    assert result.exit_code == 0, result.output
    assert "targets met" in result.output and "birth:outside-uk" in result.output


def test_bad_scenarios_name_every_bad_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "waves: 0\nbudget_per_wave: 100\nchannels: {email: {cost: -1}}\n"
        "groups:\n  - {id: nodim, population_share: 0.5, size: 10}\n"
        "  - {id: 'a:b', population_share: 0.5, size: 10, reachable: {email: 1.5}}\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as raised:
        load_scenario(bad)
    fields = {problem.field for problem in raised.value.problems}
    assert {"waves", "channels.email.cost", "groups[0].id", "groups[1].reachable"} <= fields
    result = CliRunner().invoke(app, ["simulate", str(bad)])
    assert result.exit_code == 1
    assert "groups[0].id" in result.output + (result.stderr or "")

    shares = tmp_path / "shares.yaml"
    shares.write_text(
        "waves: 2\nbudget_per_wave: 100\nchannels: {email: {cost: 1}}\n"
        "groups:\n  - {id: 'a:b', population_share: 0.5, size: 10, reachable: {mail: 1}}\n"
        "  - {id: 'a:c', population_share: 0.2, size: 10}\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as raised:
        load_scenario(shares)
    fields = {problem.field for problem in raised.value.problems}
    assert fields == {"groups[0].reachable", "groups[*].population_share"}
