"""`outreach follow-up`: the explained plan, recording, and plain words when it can't schedule."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from test_planning_support import CAMPAIGN_ID, build_campaign, make_spec
from typer.testing import CliRunner

from outreach.cli import app
from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import Delivery, Wave


@pytest.fixture
def campaign_store(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Store:
    # No Prefect server for this work directory, and none from the environment.
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    store = Store(settings.database_url)
    store.upgrade()
    build_campaign(store, make_spec())
    yield store
    store.dispose()


def _waves(store: Store) -> int:
    with store.session() as session:
        return session.scalar(select(func.count()).select_from(Wave))


def test_dry_run_explains_the_plan_and_records_nothing(
    campaign_store: Store, settings: Settings
) -> None:
    result = CliRunner().invoke(
        app, ["follow-up", CAMPAIGN_ID, "--dry-run", "--workdir", str(settings.workdir)]
    )
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())  # rich wraps lines
    assert "follow-up wave 2" in text
    assert "age:older" in text and "underreached" in text
    # Ratio with its interval, the chosen channels and languages, and why.
    assert "representation ratio 0.22 (95% interval 0.10–0.47)" in text
    assert "radio via radio-bn" in text and "email to 58 people" in text
    assert "languages bn, en" in text or "languages en, bn" in text
    assert "Expected extra responses" in text
    assert "radio: " in text and "from 3 of ~" in text
    assert "flyer: untried, exploring" in text
    assert "childcare" in text
    assert "Dry run: nothing was recorded or scheduled." in text
    assert _waves(campaign_store) == 1


def test_without_dry_run_records_the_wave_and_says_plainly_it_could_not_schedule(
    campaign_store: Store, settings: Settings
) -> None:
    result = CliRunner().invoke(app, ["follow-up", CAMPAIGN_ID, "--workdir", str(settings.workdir)])
    output = " ".join((result.output + (result.stderr or "")).split())
    assert "Traceback" not in output
    assert "Recorded wave 2" in output
    assert _waves(campaign_store) == 2
    with campaign_store.session() as session:
        rows = session.scalar(select(func.count()).where(Delivery.wave == 2))
    assert rows > 0
    if result.exit_code != 0:  # no Prefect server here: say so, and how to run it
        assert "could not be scheduled" in output and "outreach serve" in output
    # Asking again does not plan a third wave while the second has not gone out.
    again = CliRunner().invoke(
        app, ["follow-up", CAMPAIGN_ID, "--dry-run", "--workdir", str(settings.workdir)]
    )
    assert "Wave 2 of plan-test is already planned and not sent yet" in " ".join(
        again.output.split()
    )
    assert _waves(campaign_store) == 2


def test_bad_when_and_unknown_campaign_are_plain_errors(
    campaign_store: Store, settings: Settings
) -> None:
    bad_when = CliRunner().invoke(
        app, ["follow-up", CAMPAIGN_ID, "--at", "tomorrowish", "--workdir", str(settings.workdir)]
    )
    assert bad_when.exit_code == 2
    assert "not a date-time" in bad_when.output + (bad_when.stderr or "")
    unknown = CliRunner().invoke(
        app, ["follow-up", "nope", "--dry-run", "--workdir", str(settings.workdir)]
    )
    assert unknown.exit_code == 1
    assert "no campaign 'nope'" in " ".join((unknown.output + (unknown.stderr or "")).split())
