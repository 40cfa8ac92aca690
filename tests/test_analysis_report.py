"""The evaluator report: files, self-containment, headlines, CLI, wave summary, Chromium."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import SAMPLE_CAMPAIGN
from test_analysis_fixtures import CAMPAIGN, build_fixture_campaign, write_fixture_report
from typer.testing import CliRunner

from outreach.analysis.report import wave_summary
from outreach.settings import Settings
from outreach.store import Store

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def report_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fixture_report(tmp_path_factory.mktemp("report"), SAMPLE_CAMPAIGN)


def test_report_files_are_written(report_html: Path) -> None:
    folder = report_html.parent
    assert report_html.name == "report.html"
    for name in ("response_rates", "representation", "headway"):
        assert (folder / "charts" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert "<svg" in (folder / "charts" / f"{name}.svg").read_text(encoding="utf-8")
    tables = {p.stem for p in (folder / "tables").glob("*.csv")}
    assert tables == {
        "funnel", "channels", "response_rates", "representation", "headway",
        "barriers", "heard_via", "fallback", "free_text",
    }  # fmt: skip


def test_report_is_self_contained_and_has_no_personal_data(report_html: Path) -> None:
    html = report_html.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert html.count("<svg") == 3
    assert "meet.example.org" not in html
    assert "example.org" not in html and "Person Number" not in html
    assert "07700" not in html and "Number73" not in html
    assert "[phone removed]" in html and "[email removed]" in html


def test_headlines_come_first_in_plain_language(report_html: Path) -> None:
    html = report_html.read_text(encoding="utf-8")
    positions = [html.index(s) for s in ("Headlines", "How to read this", "Charts", "Tables")]
    assert positions == sorted(positions)
    text = re.sub(r"<[^>]+>", "", html)
    assert (
        "People aged 65 and over are 14% of the community but fewer than 5 of the "
        "respondents so far — still underreached after wave 2." in text
    )
    assert (
        "12 people got the Somali invitation in English because the translation was missing" in text
    )
    assert "INTERNAL" not in html


def test_unsuppressed_report_is_marked_not_for_sharing(tmp_path: Path) -> None:
    path = write_fixture_report(tmp_path, SAMPLE_CAMPAIGN, unsuppressed=True)
    assert path.name == "report-INTERNAL-not-for-sharing.html"
    html = path.read_text(encoding="utf-8")
    assert "INTERNAL — NOT FOR SHARING" in html
    assert re.search(r'<th scope="row">Everyone</th><td class="num">51</td>', html)
    assert (path.parent / "tables-INTERNAL-not-for-sharing" / "funnel.csv").exists()
    assert not (path.parent / "report.html").exists()


def test_cli_writes_the_report(settings: Settings, tmp_path: Path) -> None:
    from outreach.cli import app

    store = Store(settings.database_url)
    store.upgrade()
    build_fixture_campaign(store, SAMPLE_CAMPAIGN)
    store.dispose()
    out = tmp_path / "out"
    runner = CliRunner()
    result = runner.invoke(
        app, ["report", CAMPAIGN, "--out", str(out), "--workdir", str(settings.workdir)]
    )
    assert result.exit_code == 0, result.output
    assert (out / "report.html").exists() and (out / "tables" / "funnel.csv").exists()
    result = runner.invoke(app, ["report", "nope", "--workdir", str(settings.workdir)])
    assert result.exit_code == 1
    assert "No campaign called 'nope'" in result.output


def test_wave_summary_is_counts_only_and_suppressed(
    sqlite_store: Store, settings: Settings
) -> None:
    build_fixture_campaign(sqlite_store, SAMPLE_CAMPAIGN)
    summary = wave_summary(sqlite_store, settings, CAMPAIGN, 1)
    english = next(
        r for r in summary.table if (r["channel"], r["language"]) == ("Email", "English")
    )
    assert english["reached"] == "72" and english["yes or maybe"] == "39"
    assert english["no"] == "<5" and english["sent in a fallback language"] == "12"
    assert "| Email | English | people | 72 |" in summary.markdown
    assert "Aged 65 and over: not yet clear (<5 respondents)" in summary.markdown
    assert "@" not in summary.markdown and "Person" not in summary.markdown
    assert {r["channel"] for r in summary.table} == {"Email", "Radio", "Flyers", "Partner packs"}


@pytest.mark.browser
def test_report_renders_in_chromium(report_html: Path, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(report_html.as_uri())
            page.wait_for_load_state("load")
            charts = page.locator("figure svg")
            assert charts.count() == 3
            for i in range(3):
                box = charts.nth(i).bounding_box()
                assert box and box["width"] > 200 and box["height"] > 80
            assert page.locator("table").count() >= 6
            assert "Headlines" in page.locator("h2").first.inner_text()
            shot = tmp_path / "report.png"
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert all(url.startswith("file://") for url in requests), requests
    assert shot.stat().st_size > 10_000
