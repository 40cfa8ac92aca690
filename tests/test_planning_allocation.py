"""The allocation core and the Beta evidence it reads (shared by planner and simulator)."""

from __future__ import annotations

import pytest

from outreach.planning.allocation import Option, allocate, response_needs
from outreach.planning.beta import Posterior, beta_cdf, beta_ppf


def test_beta_quantiles_match_closed_forms() -> None:
    # Beta(1, 1) is uniform; Beta(2, 1) has cdf x^2, so its median is sqrt(0.5).
    assert beta_ppf(0.025, 1, 1) == pytest.approx(0.025, abs=1e-9)
    assert beta_ppf(0.5, 2, 1) == pytest.approx(0.5**0.5, abs=1e-9)
    assert beta_cdf(0.3, 2, 5) == pytest.approx(0.579825, abs=1e-6)
    low, high = Posterior(3, 49).interval()
    assert low < 3 / 49 < high
    assert Posterior(30, 490).interval()[1] - Posterior(30, 490).interval()[0] < high - low


def test_needs_account_for_the_growing_total() -> None:
    # 10 of 100 respondents from a group that is half the population; target 0.8:
    # 10 + x = 0.8 * 0.5 * (100 + x)  =>  x = 50, then the 1.25 margin.
    needs = response_needs({"a": 10, "b": 90}, {"a": 0.5, "b": 0.5}, 0.8, ["a"], total=100)
    assert needs == {"a": pytest.approx(62.5, rel=1e-4)}
    assert response_needs({"a": 50, "b": 50}, {"a": 0.5, "b": 0.5}, 0.8, ["a"], total=100) == {}


def _options(group: str = "g") -> list[Option]:
    return [
        Option(group, "radio", "radio:fresh", units=1000, unit_cost=1.0),
        Option(group, "email", "email:fresh", units=1000, unit_cost=1.0),
    ]


def test_buys_the_channel_the_evidence_favours() -> None:
    posteriors = {("g", "radio"): Posterior(30, 300), ("g", "email"): Posterior(1, 300)}
    bought = allocate(_options(), posteriors, {"g": 20.0}, budget=1000, seed=1)
    channels = {a.channel for a in bought}
    assert channels == {"radio"}
    radio = bought[0]
    # About 20 / 10% = 200 people, far below the budget: the need, not the budget, limits it.
    assert 100 <= radio.units <= 400
    assert radio.expected_responses == pytest.approx(radio.units * Posterior(30, 300).mean)


def test_still_explores_an_untried_channel_within_the_probe_budget() -> None:
    options = [*_options(), Option("g", "flyer", "flyer:fresh", units=500, unit_cost=3.0)]
    posteriors = {("g", "radio"): Posterior(30, 300), ("g", "email"): Posterior(1, 300)}
    bought = allocate(options, posteriors, {"g": 20.0}, budget=1000, seed=1)
    flyer = [a for a in bought if a.channel == "flyer"]
    assert len(flyer) == 1 and flyer[0].explore
    assert 0 < flyer[0].cost <= 0.15 * 1000
    assert not any(a.explore for a in bought if a.channel == "radio")


def test_same_seed_same_allocation_and_budget_respected() -> None:
    posteriors = {("g", "radio"): Posterior(2, 40), ("g", "email"): Posterior(2, 40)}
    first = allocate(_options(), posteriors, {"g": 500.0}, budget=300, seed=7)
    again = allocate(_options(), posteriors, {"g": 500.0}, budget=300, seed=7)
    assert [(a.channel, a.units) for a in first] == [(a.channel, a.units) for a in again]
    assert sum(a.cost for a in first) <= 300


def test_a_shared_partner_pack_is_paid_once_for_several_groups() -> None:
    options = [
        Option("a", "radio", "p:station", 1, 5.0, exposure=400, shared=True),
        Option("b", "radio", "p:station", 1, 5.0, exposure=300, shared=True),
    ]
    posteriors = {("a", "radio"): Posterior(4, 400), ("b", "radio"): Posterior(3, 300)}
    bought = allocate(options, posteriors, {"a": 5.0, "b": 5.0}, budget=100, seed=0)
    assert {a.group for a in bought} == {"a", "b"}
    assert sum(a.cost for a in bought) == pytest.approx(5.0)
