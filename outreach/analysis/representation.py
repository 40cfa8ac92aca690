"""Representation: is each group's share of respondents close to its share of the community?

Definitions (the report's "how to read this" repeats them in plain words):

- A **respondent** is a distinct person whose latest RSVP answer is *yes* or *maybe*.
  Known contacts are counted once however often they answered; people who answered
  through radio or a flyer (no contact record) count once per RSVP submission and are
  placed in the groups they described themselves in.
- A group's **share** is its respondents divided by the respondents whose group in that
  dimension is known (people who did not say are shown as "not stated", apart), because
  population shares are shares of people whose group is known too.
- The **ratio** is share / population share (1.0 = mirrors the community). Its 95% interval
  is the Wilson interval of the share divided by the population share: the population
  share comes from the census and is treated as exact.
- A group is **underreached** when even the top of that interval is below the campaign's
  target (`audience.target_ratio`, default 0.8): we are confident it is missing. Groups
  with too little evidence either way are not called underreached.

```python
from outreach.analysis.representation import is_underreached, ratio_interval

rate, low, high = ratio_interval(respondents=9, stated=100, population_share=0.37)
is_underreached(high, 0.8)     # True: even 0.44 is below 0.8
```
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from outreach.analysis.intervals import wilson, wilson_arrays

DEFAULT_TARGET = 0.8


def is_underreached(ratio_high: float, target: float) -> bool:
    """THE underreach rule: the ratio's upper 95% bound is below the target.

    An unknown bound (NaN, e.g. a group with no population share) is not underreached.
    """
    if ratio_high is None or math.isnan(ratio_high):
        return False
    return bool(ratio_high < target)


def ratio_interval(
    respondents: int, stated: int, population_share: float
) -> tuple[float, float, float]:
    """`(ratio, low, high)`: the Wilson interval of the share over the population share."""
    if not population_share or population_share <= 0:
        return (math.nan, math.nan, math.nan)
    share, low, high = wilson(respondents, stated)
    return (share / population_share, low / population_share, high / population_share)


def add_ratios(frame: pd.DataFrame, target: float) -> pd.DataFrame:
    """Add `share, share_low, share_high, ratio, ratio_low, ratio_high, target, underreached`.

    `frame` needs `respondents`, `stated` (respondents whose group in the dimension is known)
    and `population_share` columns; one row per group. Vectorised for headway tables.
    """
    out = frame.copy()
    share, low, high = wilson_arrays(out["respondents"], out["stated"])
    population = out["population_share"].astype(float).to_numpy()
    valid = np.isfinite(population) & (population > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share"] = share
        out["share_low"] = low
        out["share_high"] = high
        out["ratio"] = np.where(valid, share / population, np.nan)
        out["ratio_low"] = np.where(valid, low / population, np.nan)
        out["ratio_high"] = np.where(valid, high / population, np.nan)
    out["target"] = float(target)
    out["underreached"] = [is_underreached(h, target) for h in out["ratio_high"]]
    return out
