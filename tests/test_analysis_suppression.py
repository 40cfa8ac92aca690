"""Small numbers are hidden, with complements, in the CSV files and the HTML alike."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import SAMPLE_CAMPAIGN
from test_analysis_fixtures import write_fixture_report

from outreach.analysis.suppression import group_lines, row_lines, share_safely


def _groups(counts: dict[str, int]) -> pd.DataFrame:
    rows = [{"dimension": "birth", "value": k, "n": v} for k, v in counts.items()]
    rows.append({"dimension": "all", "value": "all", "n": sum(counts.values())})
    return pd.DataFrame(rows)


def test_a_small_cell_and_its_complement_are_hidden() -> None:
    table = _groups({"outside-uk": 3, "uk": 10, "not-stated": 20})
    shared = share_safely(table, ["n"], 5, lines=group_lines(table, ["n"], by=[]))
    assert list(shared.shown["n"]) == ["<5", "hidden", "20", "33"]
    # Without the complement, 33 - 10 - 20 would give the 3 away.


def test_zero_is_shown_and_a_zero_complement_is_the_last_resort() -> None:
    table = _groups({"outside-uk": 2, "uk": 0, "not-stated": 0})
    shared = share_safely(table, ["n"], 5, lines=group_lines(table, ["n"], by=[]))
    # The total (2) is small itself, so the line already has two hidden cells.
    assert list(shared.shown["n"]) == ["<5", "0", "0", "<5"]
    table = _groups({"outside-uk": 4, "uk": 0, "not-stated": 9})
    shared = share_safely(table, ["n"], 5, lines=group_lines(table, ["n"], by=[]))
    assert list(shared.shown["n"]) == ["<5", "0", "hidden", "13"]


def test_row_totals_protect_yes_and_maybe() -> None:
    table = pd.DataFrame({"yes": [40, 12], "maybe": [2, 7], "positive": [42, 19]})
    shared = share_safely(table, ["yes", "maybe", "positive"], 5, lines=row_lines(
        table, ["yes", "maybe"], "positive"
    ))  # fmt: skip
    assert shared.shown.iloc[0].tolist() == ["hidden", "<5", "42"]
    assert shared.shown.iloc[1].tolist() == ["12", "7", "19"]


def test_rates_from_hidden_counts_are_hidden() -> None:
    table = pd.DataFrame({"reached": [40, 40], "positive": [3, 12], "rate": [3 / 40, 12 / 40]})
    shared = share_safely(
        table, ["reached", "positive"], 5, derived={"rate": ["reached", "positive"]}
    )
    assert pd.isna(shared.shown.loc[0, "rate"])
    assert shared.shown.loc[1, "rate"] == pytest.approx(0.3)


def test_threshold_comes_from_settings_and_unsuppressed_shows_everything() -> None:
    table = _groups({"outside-uk": 7, "uk": 30})
    strict = share_safely(table, ["n"], 10, lines=group_lines(table, ["n"], by=[]))
    assert list(strict.shown["n"]) == ["<10", "hidden", "37"]
    internal = share_safely(table, ["n"], 10, unsuppressed=True)
    assert list(internal.shown["n"]) == ["7", "30", "37"]


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("suppression")
    return write_fixture_report(folder, SAMPLE_CAMPAIGN).parent


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _html_row(html: str, label: str) -> list[str]:
    match = re.search(rf"<tr[^>]*><th scope=\"row\">{re.escape(label)}</th>(.*?)</tr>", html)
    assert match, label
    return re.findall(r"<td[^>]*>(.*?)</td>", match.group(1))


def test_csv_and_html_hide_the_same_small_cells(report_dir: Path) -> None:
    html = (report_dir / "report.html").read_text(encoding="utf-8")
    rows = {r["group"]: r for r in _csv(report_dir / "tables" / "representation.csv")}
    # 3 people did not say where they were born: small. Shown with the total, it would
    # give the birth split away, so the total (51) is hidden as the complement.
    assert rows["birth:not-stated"]["respondents"] == "<5"
    assert rows["all"]["respondents"] == "hidden"
    assert rows["birth:outside-uk"]["respondents"] == "16"
    # One person aged 65+: small; with 44 of 45 shown, the share would give it away.
    assert rows["age:65-plus"]["respondents"] == "<5"
    assert rows["age:15-64"]["respondents"] == "hidden"
    assert rows["age:65-plus"]["ratio"] == "" and rows["age:15-64"]["ratio"] == ""
    assert _html_row(html, "Birth not stated")[0] == "&lt;5"
    assert _html_row(html, "Everyone")[0] == "hidden"
    assert _html_row(html, "Aged 65 and over")[0] == "&lt;5"
    assert _html_row(html, "Aged 65 and over")[4] == ""  # no ratio from a hidden count
    assert _html_row(html, "Born outside the UK")[0] == "16"
    assert ">51<" not in html

    channels = {r["channel"]: r for r in _csv(report_dir / "tables" / "channels.csv")}
    assert channels["email"]["responded_no"] == "<5"  # 3 said no
    assert channels["radio"]["reached"] == "2"  # radio spots are not people: not hidden
    assert '<td class="num">&lt;5</td>' in html

    funnel = _csv(report_dir / "tables" / "funnel.csv")
    english = next(
        r for r in funnel if (r["wave"], r["channel"], r["language"], r["group"]) == (
            "1", "email", "en", "all")
    )  # fmt: skip
    assert (english["responded_yes"], english["responded_maybe"]) == ("hidden", "<5")
    assert english["responded_positive"] == "39"
    for row in funnel:
        for column in ("responded_yes", "responded_maybe", "responded_no", "attended"):
            value = row[column]
            assert value in ("hidden", "<5", "0") or int(value) >= 5, (row, column)


def test_barriers_csv_hides_small_counts(report_dir: Path) -> None:
    barriers = _csv(report_dir / "tables" / "barriers.csv")
    assert barriers and all(
        r["count"] in ("<5", "hidden") or int(r["count"]) >= 5 for r in barriers
    )
