"""Wilson intervals and the underreach rule, against hand-computed values.

Hand computation for 7 of 40 (z = 1.96): p = 0.175, z²/n = 0.09604, denominator 1.09604,
centre = (0.175 + 0.04802) / 1.09604 = 0.203478, half-width =
1.96 · √(0.175·0.825/40 + 3.8416/6400) / 1.09604 = 1.96 · √0.0042100 / 1.09604 = 0.116029,
so [0.08745, 0.31951]. (Equivalently the roots of 1.09604 p² − 0.44604 p + 0.030625 = 0.)
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from outreach.analysis.intervals import wilson, wilson_arrays
from outreach.analysis.representation import add_ratios, is_underreached, ratio_interval


def test_seven_of_forty_matches_the_hand_computation() -> None:
    rate, low, high = wilson(7, 40)
    assert rate == 0.175
    assert low == pytest.approx(0.08745, abs=5e-5)
    assert high == pytest.approx(0.31950, abs=5e-5)


def test_edges_zero_all_and_nothing() -> None:
    # 0 of 10: [0, z²/(n+z²)] = [0, 3.8416/13.8416] = [0, 0.27754]
    assert wilson(0, 10) == (0.0, 0.0, pytest.approx(0.27754, abs=5e-5))
    rate, low, high = wilson(10, 10)
    assert (rate, high) == (1.0, 1.0) and low == pytest.approx(0.72246, abs=5e-5)
    rate, low, high = wilson(0, 0)
    assert math.isnan(rate) and (low, high) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson(5, 4)


def test_vectorised_version_agrees() -> None:
    k, n = np.array([7, 0, 10, 0, 33]), np.array([40, 10, 10, 0, 120])
    rates, lows, highs = wilson_arrays(k, n)
    for i in range(len(k)):
        r, lo, hi = wilson(int(k[i]), int(n[i]))
        assert lows[i] == pytest.approx(lo) and highs[i] == pytest.approx(hi)
        assert (math.isnan(r) and math.isnan(rates[i])) or rates[i] == pytest.approx(r)


def test_ratio_interval_divides_the_share_interval_by_the_population_share() -> None:
    ratio, low, high = ratio_interval(7, 40, 0.35)
    assert ratio == pytest.approx(0.5)
    assert low == pytest.approx(0.08745 / 0.35, abs=2e-4)
    assert high == pytest.approx(0.31950 / 0.35, abs=2e-4)  # 0.913: not underreached at 0.8
    assert not is_underreached(high, 0.8)
    # 9 of 100 against 37%: high = 0.1625 / 0.37 = 0.44 < 0.8 → underreached.
    _, _, high = ratio_interval(9, 100, 0.37)
    assert high == pytest.approx(0.16245 / 0.37, abs=2e-3)
    assert is_underreached(high, 0.8)


def test_underreached_means_the_upper_bound_is_below_the_target() -> None:
    assert is_underreached(0.79, 0.8)
    assert not is_underreached(0.8, 0.8)
    assert not is_underreached(float("nan"), 0.8)  # unknown is not "underreached"
    assert is_underreached(0.95, 1.0)


def test_add_ratios_flags_rows_with_the_same_rule() -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {"respondents": [9, 7, 0], "stated": [100, 40, 0], "population_share": [0.37, 0.35, 0.2]}
    )
    out = add_ratios(frame, 0.8)
    assert list(out["underreached"]) == [True, False, False]
    assert out.loc[1, "ratio_high"] == pytest.approx(0.31950 / 0.35, abs=2e-4)
