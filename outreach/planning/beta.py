"""Beta-Binomial evidence: the posterior of a response rate, its interval, and draws.

A response rate is unknown; after `successes` responses from `trials` people reached it is
`Beta(prior_a + successes, prior_b + trials - successes)`. The prior is weakly
informative: mean 5%, worth ten people (`Beta(0.5, 9.5)`), so one wave's evidence
outweighs it at once, and a channel never tried still has a wide interval that Thompson
sampling will sometimes draw high — which is how untried channels get tried.

```python
from outreach.planning.beta import Posterior

p = Posterior(successes=3, trials=49)
p.mean                      # 0.0593...
p.interval()                # (0.017, 0.14): 95% equal-tailed credible interval
p.sample(numpy.random.default_rng(0))
```

Quantiles are computed exactly (regularised incomplete beta by continued fraction, then
bisection), so no SciPy is needed and results are deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

PRIOR_A = 0.5
PRIOR_B = 9.5


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction for the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 500):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-12:
            break
    return h


def beta_cdf(x: float, a: float, b: float) -> float:
    """Regularised incomplete beta I_x(a, b): P(rate <= x) under Beta(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def beta_ppf(q: float, a: float, b: float) -> float:
    """Quantile of Beta(a, b) by bisection on `beta_cdf` (60 halvings: below 1e-15)."""
    low, high = 0.0, 1.0
    for _ in range(60):
        mid = (low + high) / 2.0
        if beta_cdf(mid, a, b) < q:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


@dataclass(frozen=True)
class Posterior:
    """The response rate of one (group, channel) after the evidence.

    `trials` may be fractional: for radio, flyers and partner packs it is an exposure
    estimate (partner reach times the group's share of that partner's audience). `weight`
    discounts such estimates: the rate stays successes/trials, but the evidence counts as
    `trials * weight` people, so a rough reach figure cannot make the planner certain.
    """

    successes: float = 0.0
    trials: float = 0.0
    prior_a: float = PRIOR_A
    prior_b: float = PRIOR_B
    weight: float = 1.0  # how much one estimated person counts (below 1 for estimates)

    @property
    def a(self) -> float:
        return self.prior_a + self.successes * self.weight

    @property
    def b(self) -> float:
        return self.prior_b + max(self.trials - self.successes, 0.0) * self.weight

    @property
    def tried(self) -> bool:
        return self.trials > 0

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        tail = (1.0 - level) / 2.0
        return beta_ppf(tail, self.a, self.b), beta_ppf(1.0 - tail, self.a, self.b)

    def sample(self, rng: np.random.Generator) -> float:
        """One Thompson draw."""
        return float(rng.beta(self.a, self.b))

    def add(self, successes: float, trials: float) -> Posterior:
        return Posterior(
            self.successes + successes,
            self.trials + trials,
            self.prior_a,
            self.prior_b,
            self.weight,
        )
