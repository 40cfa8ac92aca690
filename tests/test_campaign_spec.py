"""The campaign spec: stored JSON reads back as the same spec; durations in either form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import SAMPLE_CAMPAIGN

from outreach.campaign import load_campaign, parse_campaign, parse_duration
from outreach.problems import InvalidInput


def test_spec_stored_as_json_reads_back_identically() -> None:
    spec = load_campaign(SAMPLE_CAMPAIGN)
    again = parse_campaign(spec.model_dump(mode="json"), SAMPLE_CAMPAIGN)
    assert again.model_dump() == spec.model_dump()
    assert again.waves.response_window == timedelta(days=14)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14d", timedelta(days=14)),
        ("36h", timedelta(hours=36)),
        ("P7D", timedelta(days=7)),
        ("PT90M", timedelta(minutes=90)),
        (3600, timedelta(hours=1)),
    ],
)
def test_durations(text: object, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_bad_spec_lists_every_problem_with_its_field(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "id: Bad Id\nevent: {title: T, start: 2027-01-01T10:00:00, end: 2027-01-01T12:00:00,"
        " venue: {name: V, address: A, access: X}}\ntarget_languages: [en]\n"
        "data: {contacts: c.csv, groups: g.csv}\naudience: {dimensions: [age]}\n"
        "waves: {response_window: soon}\nsender: {name: S, email: s@test.invalid}\n"
    )
    with pytest.raises(InvalidInput) as caught:
        load_campaign(path)
    fields = {problem.field for problem in caught.value.problems}
    assert {"id", "event.start", "event.end", "waves.response_window"} <= fields
    assert all(problem.file == str(path) for problem in caught.value.problems)
