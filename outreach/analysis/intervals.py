"""Rates with 95% Wilson score intervals.

The Wilson interval stays inside [0, 1] and behaves well for small counts and rates near
0 or 1, where the textbook "rate ± 1.96 standard errors" interval misleads. It is the
interval every rate and representation ratio in the reports carries.

```python
from outreach.analysis.intervals import wilson

wilson(7, 40)        # (0.175, 0.08745..., 0.31950...)
wilson(0, 0)         # (nan, 0.0, 1.0): nothing observed, anything is possible
```
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

Z95 = 1.959963984540054  # two-sided 95%


def wilson(successes: int, trials: int, z: float = 1.96) -> tuple[float, float, float]:
    """`(rate, low, high)` for `successes` out of `trials`.

    With no trials the rate is unknown (NaN) and the interval is the whole of [0, 1].
    """
    if trials < 0 or successes < 0 or successes > trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return (math.nan, 0.0, 1.0)
    p = successes / trials
    z2 = z * z
    denominator = 1.0 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials)) / denominator
    # Exact ends: 0 of n starts at 0 and n of n ends at 1 (no floating-point dust).
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == trials else min(1.0, centre + half)
    return (p, low, high)


def wilson_arrays(
    successes: np.ndarray | pd.Series, trials: np.ndarray | pd.Series, z: float = 1.96
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vectorised `wilson` for whole columns: `(rate, low, high)` arrays.

    Rows with no trials get `(nan, 0, 1)`, like `wilson`.
    """
    k = np.asarray(successes, dtype=float)
    n = np.asarray(trials, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(n > 0, k / n, np.nan)
        z2 = z * z
        denominator = 1.0 + z2 / n
        centre = (p + z2 / (2 * n)) / denominator
        half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
        low = np.where(n > 0, np.clip(centre - half, 0.0, 1.0), 0.0)
        high = np.where(n > 0, np.clip(centre + half, 0.0, 1.0), 1.0)
        # Exact ends: 0 of n starts at 0 and n of n ends at 1 (no floating-point dust).
        low = np.where(k == 0, 0.0, low)
        high = np.where((n > 0) & (k == n), 1.0, high)
    return p, low, high
