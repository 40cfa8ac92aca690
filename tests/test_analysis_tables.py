"""Known synthetic events give exact funnel counts, representation ratios and barriers.

The fixture campaign is described in `test_analysis_fixtures.py`; every expected number
below is counted by hand from that description. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import SAMPLE_CAMPAIGN
from test_analysis_fixtures import CAMPAIGN, build_fixture_campaign

from outreach.analysis.frames import UnknownCampaign
from outreach.analysis.intervals import wilson
from outreach.analysis.tables import (
    MEASURES,
    barriers_table,
    funnel_table,
    headway_table,
    representation_table,
    scrub,
)
from outreach.store import Store


@pytest.fixture
def campaign_store(store: Store) -> Store:
    build_fixture_campaign(store, SAMPLE_CAMPAIGN)
    return store


def _row(table: pd.DataFrame, **keys: object) -> pd.Series:
    match = table
    for key, value in keys.items():
        match = match[match[key] == value]
    assert len(match) == 1, keys
    return match.iloc[0]


def test_funnel_counts_people_once_per_cell(campaign_store: Store) -> None:
    funnel = funnel_table(campaign_store, CAMPAIGN)
    english = _row(funnel, wave=1, channel="email", language="en", group="all")
    assert english["reach_unit"] == "people"
    assert english["reached"] == 72  # 12 fallback + 60 born in the UK
    assert english["fallback"] == 12
    assert english["opened"] == 62  # repeat opens by 1..5 count once
    assert english["engaged"] == 62
    # Contact 41 said "no" first, then "yes": the latest answer counts.
    assert (english["responded_yes"], english["responded_maybe"], english["responded_no"]) == (
        37,
        2,
        3,
    )
    assert english["attended"] == 5
    outside = _row(funnel, wave=1, channel="email", language="en", group="birth:outside-uk")
    assert (outside["reached"], outside["responded_yes"], outside["label"]) == (
        12,
        7,
        "Born outside the UK",
    )
    somali = _row(funnel, wave=1, channel="email", language="so", group="all")
    assert (somali["reached"], somali["opened"], somali["responded_yes"]) == (28, 8, 0)
    wave2 = _row(funnel, wave=2, channel="email", language="so", group="birth:outside-uk")
    assert (wave2["reached"], wave2["responded_yes"]) == (23, 5)


def test_radio_and_flyer_responders_count_in_self_described_groups(campaign_store: Store) -> None:
    funnel = funnel_table(campaign_store, CAMPAIGN)
    radio = funnel[(funnel["channel"] == "radio") & (funnel["wave"] == 1)].set_index("group")
    assert radio.loc["all", "responded_yes"] == 5 and radio.loc["all", "responded_maybe"] == 1
    assert radio.loc["birth:outside-uk", "responded_yes"] == 3
    assert radio.loc["language:so", "responded_yes"] == 3
    # Two said nothing about themselves, one only gave their age: "not stated", not dropped.
    assert radio.loc["birth:not-stated", "responded_yes"] == 2
    assert radio.loc["birth:not-stated", "responded_maybe"] == 1
    assert radio.loc["age:65-plus", "responded_maybe"] == 1
    assert radio.loc["age:not-stated", "responded_yes"] == 5
    assert radio.loc["all", "reach_unit"] == "materials" and radio.loc["all", "reached"] == 2
    assert pd.isna(radio.loc["birth:outside-uk", "reached"])  # materials are not split by group
    flyer = funnel[funnel["channel"] == "flyer"].set_index("group")
    assert flyer.loc["birth:outside-uk", "responded_yes"] == 1
    assert flyer.loc["all", "scanned"] == 2 and flyer.loc["birth:not-stated", "scanned"] == 2
    pack = _row(funnel, channel="partner_pack", group="all")
    assert (pack["reach_unit"], pack["reached"]) == ("packs", 1)


def test_every_dimension_adds_up_to_the_total(campaign_store: Store) -> None:
    funnel = funnel_table(campaign_store, CAMPAIGN)
    cell = ["wave", "channel", "language"]
    totals = funnel[funnel["group"] == "all"].set_index(cell)
    people = [m for m in MEASURES if m != "reached"]
    for dimension in ("age", "birth", "language"):
        part = funnel[funnel["dimension"] == dimension]
        sums = part.groupby(cell)[people].sum()
        pd.testing.assert_frame_equal(
            sums, totals.loc[sums.index, people], check_names=False, check_index_type=False
        )
        reach = part[part["reach_unit"] == "people"].groupby(cell)["reached"].sum()
        assert (reach == totals.loc[reach.index, "reached"]).all()
    # Every RSVP answer is counted: 49 by email, 6 by radio, 1 by flyer (latest per person).
    everyone = funnel[funnel["group"] == "all"]
    answers = everyone[["responded_yes", "responded_maybe", "responded_no"]].sum().sum()
    assert answers == 44 + 3 + 6 + 1  # email yes/maybe/no, radio, flyer


def test_representation_ratios_and_the_underreach_rule(campaign_store: Store) -> None:
    table = representation_table(campaign_store, CAMPAIGN).set_index("group")
    outside = table.loc["birth:outside-uk"]
    # 7 + 5 by email, 3 by radio, 1 by flyer = 16 of the 48 who stated where they were born.
    assert (outside["respondents"], outside["stated"], outside["not_stated"]) == (16, 48, 3)
    assert outside["total_respondents"] == 51
    assert outside["share"] == pytest.approx(16 / 48)
    assert outside["ratio"] == pytest.approx((16 / 48) / 0.406)
    _, low, high = wilson(16, 48)
    assert outside["ratio_low"] == pytest.approx(low / 0.406)
    assert outside["ratio_high"] == pytest.approx(high / 0.406)
    assert not outside["underreached"] and outside["status"] == "meets target"
    # One person aged 65+ of 45: Wilson high 0.1157 / 0.145 = 0.798 < 0.8.
    older = table.loc["age:65-plus"]
    assert (older["respondents"], older["stated"]) == (1, 45)
    assert older["ratio_high"] == pytest.approx(0.79772, abs=1e-4)
    assert older["underreached"] and older["status"] == "underreached"
    assert table.loc["language:other", "underreached"]
    assert list(table.columns[:12]) == [
        "dimension", "value", "label", "respondents", "share", "population_share",
        "ratio", "ratio_low", "ratio_high", "target", "underreached", "status",
    ]  # fmt: skip
    assert (table["target"] == 0.8).all()


def test_headway_is_cumulative_by_wave(campaign_store: Store) -> None:
    after1 = representation_table(campaign_store, CAMPAIGN, wave=1).set_index("group")
    assert after1.loc["birth:outside-uk", "respondents"] == 11  # 7 email + 3 radio + 1 flyer
    assert after1.loc["birth:outside-uk", "stated"] == 43
    assert after1.loc["birth:outside-uk", "status"] == "not yet clear"
    headway = headway_table(campaign_store, CAMPAIGN)
    outside = headway[headway["group"] == "birth:outside-uk"].set_index("wave")
    assert list(outside["respondents"]) == [11, 16]
    assert outside.loc[2, "ratio"] > outside.loc[1, "ratio"]


def test_barriers_per_group_and_channel(campaign_store: Store) -> None:
    barriers = barriers_table(campaign_store, CAMPAIGN)
    counts = {
        (g, c, b): n
        for g, c, b, n in barriers[["group", "channel", "barrier", "count"]].itertuples(index=False)
    }
    assert counts[("all", "email", "time")] == 3
    assert counts[("birth:uk", "email", "time")] == 3
    assert counts[("birth:outside-uk", "radio", "language")] == 3
    assert counts[("birth:outside-uk", "flyer", "childcare")] == 1
    assert counts[("age:not-stated", "flyer", "cost")] == 1


def test_free_text_loses_emails_phones_and_names() -> None:
    text = "Ring Amina Yusuf on +44 20 7946 0018 or amina.y@example.org; 3 kids, 2 buses."
    cleaned = scrub(text, ["Amina Yusuf"])
    assert "example.org" not in cleaned and "7946" not in cleaned
    assert "Amina" not in cleaned and "Yusuf" not in cleaned
    assert "3 kids, 2 buses" in cleaned


def test_unknown_campaign_is_a_clear_error(campaign_store: Store) -> None:
    with pytest.raises(UnknownCampaign):
        funnel_table(campaign_store, "no-such-campaign")
