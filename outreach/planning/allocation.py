"""The allocation core: evidence, costs, budget and reachable pools in; an allocation out.

The real planner (`planner.py`) and the simulator's adaptive policy (`simulator.py`) both
call `allocate`, so the benchmark measures the decision code that runs in production.

The rule, in order:

1. **Need.** `response_needs` turns each underreached group's respondents into the number
   of extra responses that would lift its representation ratio to the target (with a
   margin), accounting for the extra responses the other groups get too.
2. **Explore.** Every (group, channel) with no evidence at all gets a small probe (about
   `PROBE_PEOPLE` people, from at most `explore_share` of the budget), cheapest first:
   otherwise a channel that was never tried would never get tried.
3. **Exploit by Thompson sampling.** One draw per (group, channel) from its Beta posterior
   (seeded: the same store and seed give the same plan); options are bought greedily by
   drawn responses per unit of cost until each group's need is covered in expectation,
   its pools are empty, or the budget is spent. A unit shared by several groups (one
   partner pack reaches every group in its audience) is paid for once.

```python
from outreach.planning.allocation import Option, allocate
from outreach.planning.beta import Posterior

options = [Option("age:65+", "email", "email:fresh", units=400, unit_cost=1.0),
           Option("age:65+", "radio", "p:sunrise-fm", units=1, unit_cost=5.0, exposure=900)]
posteriors = {("age:65+", "email"): Posterior(2, 300), ("age:65+", "radio"): Posterior()}
allocate(options, posteriors, {"age:65+": 25.0}, budget=500.0, seed=0)
```
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from outreach.planning.beta import Posterior

PROBE_PEOPLE = 30.0  # people an exploration probe aims to reach
EXPLORE_SHARE = 0.15  # at most this share of the budget goes to probes
NEED_MARGIN = 1.25  # aim a little above the target: responses are random
MIN_TOTAL_RESPONDENTS = 30  # before anyone answered, plan as if this many had


@dataclass(frozen=True)
class Option:
    """Something the planner can buy for a group: `units` units of one channel.

    `key` names the unit (e.g. `email:fresh`, `p:sunrise-fm`); when `shared` is true the
    same key offered to several groups is one purchase (a partner pack reaches everyone in
    the partner's audience), paid once. `exposure` is people reached per unit (1 for a
    message to a person). `rate_factor` discounts the rate, e.g. for people contacted
    before (repeat contacts answer less often).
    """

    group: str
    channel: str
    key: str
    units: int
    unit_cost: float
    exposure: float = 1.0
    rate_factor: float = 1.0
    shared: bool = False


@dataclass
class Allocation:
    """What `allocate` bought: `units` of an option, and why."""

    group: str
    channel: str
    key: str
    units: int
    cost: float
    exposure: float
    drawn_rate: float
    expected_responses: float  # posterior mean rate x factor x people reached
    explore: bool = False
    shared: bool = False


@dataclass
class _State:
    budget_left: float
    need: dict[str, float]
    bought_shared: set[str] = field(default_factory=set)
    key_units_left: dict[str, int] = field(default_factory=dict)


def response_needs(
    respondents: Mapping[str, float],
    population_share: Mapping[str, float],
    target: float,
    underreached: Iterable[str],
    *,
    total: float | None = None,
    margin: float = NEED_MARGIN,
) -> dict[str, float]:
    """Extra responses each underreached group needs for its ratio to reach `target`.

    A group's ratio is (its respondents / all respondents) / its population share. Giving
    group g x_g more responses also grows the total, so this solves
    n_g + x_g = target * p_g * (N + sum x) by fixed-point iteration, then adds `margin`.
    `total` is all respondents (defaults to the sum of `respondents`, which undercounts
    when groups overlap dimensions; pass the true total then).
    """
    wanted = [g for g in underreached if g in population_share]
    base_total = float(total if total is not None else sum(respondents.values()))
    base_total = max(base_total, float(MIN_TOTAL_RESPONDENTS))
    extra = dict.fromkeys(wanted, 0.0)
    for _ in range(50):
        grown = base_total + sum(extra.values())
        updated = {
            g: max(0.0, target * population_share[g] * grown - respondents.get(g, 0.0))
            for g in wanted
        }
        if all(abs(updated[g] - extra[g]) < 1e-6 for g in wanted):
            extra = updated
            break
        extra = updated
    # Targets that cannot all be met at once (sum of target x share >= 1) never settle;
    # cap the need at ten times the current respondents: "as much as you can".
    ceiling = 10 * base_total
    return {g: min(x, ceiling) * margin for g, x in extra.items() if x > 0}


def _rate_of(posterior: Posterior | None) -> Posterior:
    return posterior if posterior is not None else Posterior()


def _buy(
    state: _State,
    option: Option,
    units: int,
    drawn: float,
    mean: float,
    explore: bool,
) -> Allocation:
    free = option.shared and option.key in state.bought_shared
    cost = 0.0 if free else units * option.unit_cost
    state.budget_left -= cost
    if option.shared:
        state.bought_shared.add(option.key)
    else:
        state.key_units_left[_unit_key(option)] = state.key_units_left[_unit_key(option)] - units
    people = units * option.exposure
    state.need[option.group] = (
        state.need.get(option.group, 0.0) - drawn * option.rate_factor * people
    )
    return Allocation(
        group=option.group,
        channel=option.channel,
        key=option.key,
        units=units,
        cost=cost,
        exposure=people,
        drawn_rate=drawn,
        expected_responses=mean * option.rate_factor * people,
        explore=explore,
        shared=option.shared,
    )


def _unit_key(option: Option) -> str:
    # Non-shared units are per group (people belong to the pool of the group offered).
    return f"{option.group}\x1f{option.key}"


def _available(state: _State, option: Option, used: Mapping[int, int], index: int) -> int:
    if option.shared:
        return 0 if used.get(index, 0) >= option.units else option.units - used.get(index, 0)
    return min(option.units - used.get(index, 0), state.key_units_left[_unit_key(option)])


def allocate(
    options: Iterable[Option],
    posteriors: Mapping[tuple[str, str], Posterior],
    needs: Mapping[str, float],
    budget: float,
    *,
    seed: int | np.random.Generator = 0,
    explore_share: float = EXPLORE_SHARE,
    probe_people: float = PROBE_PEOPLE,
) -> list[Allocation]:
    """Choose what to buy for the groups in `needs` within `budget` (see module doc)."""
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    opts = [o for o in options if o.group in needs and o.units > 0 and o.unit_cost >= 0]
    # One draw per (group, channel), in a fixed order so the same seed gives the same plan.
    pairs = sorted({(o.group, o.channel) for o in opts})
    drawn = {pair: _rate_of(posteriors.get(pair)).sample(rng) for pair in pairs}
    means = {pair: _rate_of(posteriors.get(pair)).mean for pair in pairs}
    state = _State(budget_left=float(budget), need={g: float(n) for g, n in needs.items()})
    for o in opts:
        if not o.shared:
            state.key_units_left.setdefault(_unit_key(o), o.units)
    used: dict[int, int] = {}
    bought: list[Allocation] = []

    # 2. Probes for (group, channel) pairs with no evidence: cheapest per person first.
    explore_left = budget * explore_share
    untried = [p for p in pairs if not _rate_of(posteriors.get(p)).tried]
    for pair in untried:
        candidates = sorted(
            (i for i, o in enumerate(opts) if (o.group, o.channel) == pair),
            key=lambda i: (opts[i].unit_cost / max(opts[i].exposure, 1e-9), opts[i].key),
        )
        reached = 0.0
        for i in candidates:
            option = opts[i]
            if reached >= probe_people:
                break
            available = _available(state, option, used, i)
            if available <= 0:
                continue
            units = min(available, max(1, math.ceil((probe_people - reached) / option.exposure)))
            free = option.shared and option.key in state.bought_shared
            if not free and option.unit_cost > 0:
                units = min(units, int(min(explore_left, state.budget_left) // option.unit_cost))
            if units <= 0:
                continue
            allocation = _buy(state, option, units, drawn[pair], means[pair], explore=True)
            explore_left -= allocation.cost
            used[i] = used.get(i, 0) + units
            reached += allocation.exposure
            bought.append(allocation)

    # 3. Greedy by drawn responses per unit cost until needs, pools or budget run out.
    while True:
        best: tuple[float, str, int] | None = None
        for i, option in enumerate(opts):
            if state.need.get(option.group, 0.0) <= 0:
                continue
            if _available(state, option, used, i) <= 0:
                continue
            free = option.shared and option.key in state.bought_shared
            cost = 0.0 if free else option.unit_cost
            if cost > state.budget_left:
                continue
            value = drawn[(option.group, option.channel)] * option.rate_factor * option.exposure
            score = math.inf if cost == 0 else value / cost
            candidate = (score, option.key, -i)
            if best is None or candidate > best:
                best = candidate
        if best is None:
            break
        i = -best[2]
        option = opts[i]
        pair = (option.group, option.channel)
        per_unit = max(drawn[pair] * option.rate_factor * option.exposure, 1e-12)
        free = option.shared and option.key in state.bought_shared
        units = min(
            _available(state, option, used, i),
            max(1, math.ceil(state.need[option.group] / per_unit)),
        )
        if not free and option.unit_cost > 0:
            units = min(units, int(state.budget_left // option.unit_cost))
        if units <= 0:  # pragma: no cover - guarded by the cost check above
            break
        used[i] = used.get(i, 0) + units
        bought.append(_buy(state, option, units, drawn[pair], means[pair], explore=False))
    return bought
