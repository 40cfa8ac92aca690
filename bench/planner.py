"""Benchmark: the adaptive follow-up planner against `resend` and `round-robin`.

Runs every scenario in bench/scenarios/ for 20 seeds under each policy and prints, per
scenario and policy: how often every group met its target; the cost to meet the targets
(median over seeds, a run that never met them counting as infinitely expensive, so the
median is "not met" when fewer than half the runs met them); the mean cost of the runs
that did; mean waves; the minimum representation ratio at the end; and the minimum
representation ratio **at equal cost** — each policy re-run on the same seed (same
simulated population) with its total spending capped at what the adaptive planner spent
there (a wave that would exceed the cap is scaled down evenly).

    .venv/bin/python bench/planner.py [--seeds 20] [--json]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from outreach.planning.scenario import load_scenario  # noqa: E402
from outreach.planning.simulator import (  # noqa: E402
    POLICIES,
    RunResult,
    run_campaign,
    simulate,
)


def cost_to_meet(runs: list[RunResult]) -> float:
    return statistics.median(r.cost if r.targets_met else math.inf for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    started = time.perf_counter()
    for path in sorted((ROOT / "bench" / "scenarios").glob("*.yaml")):
        scenario = load_scenario(path)
        results = {policy: simulate(scenario, policy, args.seeds) for policy in POLICIES}
        reference = {r.seed: r.cost for r in results["adaptive"].runs}
        for policy, result in results.items():
            met = [r.cost for r in result.runs if r.targets_met]
            rows.append(
                {
                    "scenario": scenario.name,
                    "policy": policy,
                    "targets_met_share": result.targets_met_share,
                    "median_cost_to_meet": cost_to_meet(result.runs),
                    "mean_cost_when_met": sum(met) / len(met) if met else None,
                    "waves_mean": result.waves_mean,
                    "min_ratio_mean": result.min_ratio_mean,
                    "min_ratio_at_adaptive_cost": result.min_ratio_mean
                    if policy == "adaptive"
                    else sum(
                        run_campaign(
                            scenario, policy, r.seed, total_budget=reference[r.seed]
                        ).min_ratio
                        for r in result.runs
                    )
                    / len(result.runs),
                    "adaptive_cost": results["adaptive"].cost_mean,
                }
            )
    elapsed = time.perf_counter() - started
    if args.json:
        print(json.dumps(rows, default=lambda v: None if v == math.inf else v))
        return
    print(f"{args.seeds} seeds per scenario and policy; {elapsed:.1f} s in all.\n")
    print(
        "| scenario | policy | targets met | cost to meet (median) | mean cost when met "
        "| waves | min ratio at end | min ratio at adaptive's cost |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        median = row["median_cost_to_meet"]
        mean_met = row["mean_cost_when_met"]
        print(
            f"| {row['scenario']} | {row['policy']} | {row['targets_met_share']:.0%} | "
            f"{'not met' if median == math.inf else f'{median:,.0f}'} | "
            f"{'–' if mean_met is None else f'{mean_met:,.0f}'} | {row['waves_mean']:.2f} | "
            f"{row['min_ratio_mean']:.2f} | {row['min_ratio_at_adaptive_cost']:.2f} |"
        )


if __name__ == "__main__":
    main()
