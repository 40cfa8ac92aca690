"""The officer reads the plan as sentences: they must never contradict each other."""

from __future__ import annotations

from conftest import SAMPLE_CAMPAIGN

from outreach.campaign import load_campaign
from outreach.planning.explain import group_sentences
from outreach.planning.plan import ChannelChoice, GroupPlan

SPEC = load_campaign(SAMPLE_CAMPAIGN)


def _group(**changes: object) -> GroupPlan:
    values: dict[str, object] = dict(
        group="birth:outside-uk",
        label="Born outside the UK",
        respondents=36,
        ratio=0.58,
        ratio_low=0.43,
        ratio_high=0.76,
        target=0.8,
        underreached=True,
        need=26.0,
        languages=["bn"],
    )
    values.update(changes)
    return GroupPlan(**values)  # type: ignore[arg-type]


def test_a_plan_that_covers_the_gap_does_not_say_nothing_was_chosen() -> None:
    radio = ChannelChoice("radio", people=5000, cost=1.6, expected_responses=30.0, explore=False)
    text = " ".join(group_sentences(SPEC, _group(channels=[radio])))
    assert "Chosen: radio" in text
    assert "Nothing could be chosen" not in text


def test_an_empty_plan_says_why() -> None:
    text = " ".join(group_sentences(SPEC, _group()))
    assert "Nothing could be chosen" in text
