"""Whole campaigns against a simulated population: the planner's benchmark.

```python
from outreach.planning.simulator import simulate
from outreach.planning.scenario import load_scenario

result = simulate(load_scenario("bench/scenarios/london-consultation.yaml"), "adaptive", 20)
result.cost_mean, result.targets_met_share, result.to_json()
```

**Population.** Each group has `size` people; each person is reachable by a channel with
the group's `reachable` share (drawn once per seed) and answers a contact through it with
the group's `response_rate` for that channel, times `fatigue` for every earlier contact.
A person who answered is never contacted again.

**Waves.** Wave 1, the launch, is the same for every policy and mirrors the product's
launch: email to everyone email reaches (a random sample if the budget is short), and any
budget left split evenly across the other channels, untargeted. After every wave each
group's representation is computed as the reports do (Wilson interval of its share of
respondents, divided by its population share); the campaign stops when no group is
underreached (`is_underreached`, the reports' definition) or after `waves` waves. Later
waves follow the policy:

- `adaptive` — the real planner's decision core (`allocation.allocate`, with the same
  needs, priors, exploration and repeat-contact assumption as `planner.py`), fed the
  simulated evidence: responses and people contacted per (group, channel).
- `resend` — what mailing tools offer: resend to the non-responders of the underreached
  groups on the channel that first reached them, as far as the budget goes.
- `round-robin` — wave k uses the next channel in turn for the underreached groups (people
  not yet contacted by it first), the budget split evenly between those groups.

Everything is drawn from `numpy.random.default_rng(seed)`: one seed, one outcome.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from outreach.planning import adapters
from outreach.planning.allocation import Option, allocate, response_needs
from outreach.planning.beta import Posterior
from outreach.planning.evidence import pooled_prior
from outreach.planning.planner import REPEAT_FACTOR
from outreach.planning.scenario import Scenario, load_scenario

POLICIES = ("adaptive", "resend", "round-robin")


@dataclass
class _Group:
    reach: np.ndarray  # (people, channels) bool
    responded: np.ndarray  # (people,) bool
    contacts: np.ndarray  # (people,) int: contacts so far
    contacted_by: np.ndarray  # (people, channels) bool
    first_channel: np.ndarray  # (people,) int, -1 = never contacted
    rates: np.ndarray  # (channels,)
    fatigue: float


@dataclass
class _Action:
    group: int
    channel: int
    count: int
    pool: str  # "fresh" (not yet contacted by this channel) | "repeat" | "first" (resend)


@dataclass
class RunResult:
    """One seed's campaign."""

    seed: int
    cost: float
    waves: int
    min_ratio: float
    targets_met: bool
    responses_by_group: dict[str, int]
    trace: list[dict[str, Any]] = field(default_factory=list)  # per wave: cost, min_ratio, met


@dataclass
class SimulationResult:
    """Means over seeds (`to_json()` is what `outreach simulate --json` prints)."""

    policy: str
    seeds: int
    cost_mean: float
    waves_mean: float
    min_ratio_mean: float
    targets_met_share: float
    responses_by_group: dict[str, float]
    runs: list[RunResult] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "seeds": self.seeds,
            "cost_mean": round(self.cost_mean, 2),
            "waves_mean": round(self.waves_mean, 3),
            "min_ratio_mean": round(self.min_ratio_mean, 4),
            "targets_met_share": round(self.targets_met_share, 4),
            "responses_by_group": {g: round(v, 2) for g, v in self.responses_by_group.items()},
        }


class _Campaign:
    """One simulated campaign (one scenario, one seed)."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.channels = scenario.channel_names
        self.costs = np.array([scenario.channels[c].cost for c in self.channels], dtype=float)
        self.groups: list[_Group] = []
        for g in scenario.groups:
            reach_p = np.array([g.reachable.get(c, 0.0) for c in self.channels])
            size = g.size
            self.groups.append(
                _Group(
                    reach=self.rng.random((size, len(self.channels))) < reach_p,
                    responded=np.zeros(size, dtype=bool),
                    contacts=np.zeros(size, dtype=int),
                    contacted_by=np.zeros((size, len(self.channels)), dtype=bool),
                    first_channel=np.full(size, -1, dtype=int),
                    rates=np.array([g.response_rate.get(c, 0.0) for c in self.channels]),
                    fatigue=g.fatigue,
                )
            )
        shape = (len(self.groups), len(self.channels))
        self.successes = np.zeros(shape)
        self.trials = np.zeros(shape)
        self.cost = 0.0

    # --- state ------------------------------------------------------------------------

    def respondents(self) -> np.ndarray:
        return np.array([int(g.responded.sum()) for g in self.groups])

    def representation(self) -> tuple[list[float], list[float], list[bool]]:
        counts = self.respondents()
        total = int(counts.sum())
        ratios, highs, under = [], [], []
        for count, group in zip(counts, self.scenario.groups, strict=True):
            ratio, _low, high = adapters.ratio_interval(int(count), total, group.population_share)
            ratios.append(ratio if total else 0.0)
            highs.append(high)
            under.append(
                True if total == 0 else adapters.is_underreached(high, self.scenario.target_ratio)
            )
        return ratios, highs, under

    def pool(self, gi: int, ci: int, kind: str, busy: np.ndarray) -> np.ndarray:
        g = self.groups[gi]
        open_ = g.reach[:, ci] & ~g.responded & ~busy
        if kind == "fresh":
            return np.flatnonzero(open_ & ~g.contacted_by[:, ci])
        if kind == "repeat":
            return np.flatnonzero(open_ & g.contacted_by[:, ci])
        return np.flatnonzero(open_ & (g.first_channel == ci))

    # --- acting -----------------------------------------------------------------------

    def run_wave(self, actions: Sequence[_Action]) -> float:
        busy = [np.zeros(len(g.responded), dtype=bool) for g in self.groups]
        spent = 0.0
        for action in actions:
            if action.count <= 0:
                continue
            candidates = self.pool(action.group, action.channel, action.pool, busy[action.group])
            if not len(candidates):
                continue
            take = min(action.count, len(candidates))
            chosen = self.rng.choice(candidates, size=take, replace=False)
            busy[action.group][chosen] = True
            spent += take * self.costs[action.channel]
            self._contact(action.group, action.channel, chosen)
        self.cost += spent
        return spent

    def _contact(self, gi: int, ci: int, people: np.ndarray) -> None:
        g = self.groups[gi]
        p = g.rates[ci] * np.power(g.fatigue, g.contacts[people])
        answered = self.rng.random(len(people)) < p
        g.responded[people[answered]] = True
        g.contacts[people] += 1
        g.contacted_by[people, ci] = True
        first = people[g.first_channel[people] < 0]
        g.first_channel[first] = ci
        self.successes[gi, ci] += int(answered.sum())
        self.trials[gi, ci] += len(people)


# --- policies ---------------------------------------------------------------------------


def _untargeted(sim: _Campaign, ci: int, people: int) -> list[_Action]:
    """`people` contacts on channel `ci`, each group in proportion to its reachable people."""
    reachable = [int(g.reach[:, ci].sum()) for g in sim.groups]
    total = sum(reachable)
    if total == 0 or people <= 0:
        return []
    people = min(people, total)
    return [
        _Action(gi, ci, round(people * count / total), "fresh")
        for gi, count in enumerate(reachable)
    ]


def _launch(sim: _Campaign) -> list[_Action]:
    """Wave 1 for every policy, as the product launches: email first, then the rest.

    Email to everyone email can reach (a random sample when the budget does not stretch
    that far); whatever budget is left is split evenly across the other channels,
    untargeted.
    """
    budget = sim.scenario.budget_per_wave
    actions: list[_Action] = []
    others = list(range(len(sim.channels)))
    if "email" in sim.channels:
        ci = sim.channels.index("email")
        others.remove(ci)
        reachable = sum(int(g.reach[:, ci].sum()) for g in sim.groups)
        cost = float(sim.costs[ci])
        people = reachable if cost == 0 else min(reachable, int(budget // cost))
        actions += _untargeted(sim, ci, people)
        budget -= people * cost
    if others and budget > 0:
        share = budget / len(others)
        for ci in others:
            cost = float(sim.costs[ci])
            actions += _untargeted(sim, ci, 10**9 if cost == 0 else int(share // cost))
    return actions


def _adaptive(sim: _Campaign, wave: int) -> list[_Action]:
    scenario = sim.scenario
    ids = [g.id for g in scenario.groups]
    _ratios, _highs, under = sim.representation()
    respondents = sim.respondents()
    needs = response_needs(
        dict(zip(ids, respondents.tolist(), strict=True)),
        {g.id: g.population_share for g in scenario.groups},
        scenario.target_ratio,
        [gid for gid, u in zip(ids, under, strict=True) if u],
        total=float(respondents.sum()),
    )
    posteriors: dict[tuple[str, str], Posterior] = {}
    for ci, channel in enumerate(sim.channels):
        evidence = list(zip(sim.successes[:, ci], sim.trials[:, ci], strict=True))
        prior_a, prior_b = pooled_prior(evidence)
        for gi, gid in enumerate(ids):
            posteriors[(gid, channel)] = Posterior(
                float(sim.successes[gi, ci]), float(sim.trials[gi, ci]), prior_a, prior_b
            )
    options: list[Option] = []
    for gi, gid in enumerate(ids):
        if gid not in needs:
            continue
        busy = np.zeros(len(sim.groups[gi].responded), dtype=bool)
        for ci, channel in enumerate(sim.channels):
            cost = float(sim.costs[ci])
            fresh = len(sim.pool(gi, ci, "fresh", busy))
            repeat = len(sim.pool(gi, ci, "repeat", busy))
            options.append(Option(gid, channel, f"{channel}:fresh", fresh, cost))
            options.append(
                Option(gid, channel, f"{channel}:repeat", repeat, cost, rate_factor=REPEAT_FACTOR)
            )
    bought = allocate(
        options,
        posteriors,
        needs,
        scenario.budget_per_wave,
        seed=np.random.default_rng([sim.seed, wave]),
    )
    index = {gid: gi for gi, gid in enumerate(ids)}
    channel_index = {c: ci for ci, c in enumerate(sim.channels)}
    return [
        _Action(index[a.group], channel_index[a.channel], a.units, a.key.split(":", 1)[1])
        for a in bought
    ]


def _underreached(sim: _Campaign) -> list[int]:
    _ratios, _highs, under = sim.representation()
    return [gi for gi, u in enumerate(under) if u]


def _resend(sim: _Campaign, wave: int) -> list[_Action]:
    del wave
    targets = _underreached(sim)
    # Everyone eligible, in a random order across groups and channels, until the budget ends.
    people: list[tuple[int, int]] = []
    for gi in targets:
        for ci in range(len(sim.channels)):
            count = len(sim.pool(gi, ci, "first", np.zeros(len(sim.groups[gi].responded), bool)))
            people += [(gi, ci)] * count
    order = sim.rng.permutation(len(people))
    budget = sim.scenario.budget_per_wave
    counts: dict[tuple[int, int], int] = {}
    for i in order:
        gi, ci = people[i]
        if sim.costs[ci] > budget:
            continue
        budget -= sim.costs[ci]
        counts[(gi, ci)] = counts.get((gi, ci), 0) + 1
    return [_Action(gi, ci, n, "first") for (gi, ci), n in sorted(counts.items())]


def _round_robin(sim: _Campaign, wave: int) -> list[_Action]:
    targets = _underreached(sim)
    if not targets:
        return []
    ci = (wave - 2) % len(sim.channels)
    cost = float(sim.costs[ci])
    share = sim.scenario.budget_per_wave / len(targets)
    actions: list[_Action] = []
    for gi in targets:
        affordable = 10**9 if cost == 0 else int(share // cost)
        none = np.zeros(len(sim.groups[gi].responded), dtype=bool)
        fresh = len(sim.pool(gi, ci, "fresh", none))
        actions.append(_Action(gi, ci, min(fresh, affordable), "fresh"))
        if affordable > fresh:
            actions.append(_Action(gi, ci, affordable - fresh, "repeat"))
    return actions


_POLICY = {"adaptive": _adaptive, "resend": _resend, "round-robin": _round_robin}


def _within(sim: _Campaign, actions: list[_Action], money: float) -> list[_Action]:
    """Scale a wave's actions down evenly so they cost at most `money` (equal-cost runs)."""
    planned = sum(a.count * sim.costs[a.channel] for a in actions)
    if planned <= money:
        return actions
    factor = max(money, 0.0) / planned
    return [_Action(a.group, a.channel, int(a.count * factor), a.pool) for a in actions]


def run_campaign(
    scenario: Scenario, policy: str, seed: int, *, total_budget: float | None = None
) -> RunResult:
    """One whole campaign under `policy` with `seed`.

    `total_budget` caps the whole campaign's spending (waves are scaled down evenly when
    they would exceed it): the benchmark's equal-cost comparison.
    """
    if policy not in _POLICY:
        raise ValueError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
    sim = _Campaign(scenario, seed)
    trace: list[dict[str, Any]] = []
    met = False
    waves = 0
    for wave in range(1, scenario.waves + 1):
        actions = _launch(sim) if wave == 1 else _POLICY[policy](sim, wave)
        if total_budget is not None:
            actions = _within(sim, actions, total_budget - sim.cost)
        spent = sim.run_wave(actions)
        waves = wave
        ratios, _highs, under = sim.representation()
        met = not any(under)
        trace.append(
            {"wave": wave, "spent": spent, "cost": sim.cost, "min_ratio": min(ratios), "met": met}
        )
        if met:
            break
    ratios, _highs, _under = sim.representation()
    counts = sim.respondents()
    return RunResult(
        seed=seed,
        cost=sim.cost,
        waves=waves,
        min_ratio=float(min(ratios)),
        targets_met=met,
        responses_by_group={g.id: int(n) for g, n in zip(scenario.groups, counts, strict=True)},
        trace=trace,
    )


def simulate(
    scenario: Scenario | str | Path, policy: str, seeds: int | Iterable[int] = 20
) -> SimulationResult:
    """Run the scenario under `policy` for each seed (`seeds=N` means seeds 0..N-1)."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    seed_list = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seed_list:
        raise ValueError("at least one seed is needed")
    runs = [run_campaign(scenario, policy, seed) for seed in seed_list]
    n = len(runs)
    return SimulationResult(
        policy=policy,
        seeds=n,
        cost_mean=sum(r.cost for r in runs) / n,
        waves_mean=sum(r.waves for r in runs) / n,
        min_ratio_mean=sum(r.min_ratio for r in runs) / n,
        targets_met_share=sum(r.targets_met for r in runs) / n,
        responses_by_group={
            g.id: sum(r.responses_by_group[g.id] for r in runs) / n for g in scenario.groups
        },
        runs=runs,
    )
