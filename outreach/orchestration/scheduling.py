"""Schedule a follow-up wave as a flow run of the follow-up deployment.

The run is created with an idempotency key per campaign and wave, so asking twice (a
re-run command, two officers, a retried flow) leaves one scheduled run. It executes when
due under a process that serves the deployment (`outreach serve`) or a Prefect worker.

```python
from datetime import UTC, datetime, timedelta
from outreach.orchestration import schedule_follow_up

run_id = schedule_follow_up(settings, "the-way-ahead", 2, datetime.now(UTC) + timedelta(days=14))
```
"""

from __future__ import annotations

from datetime import UTC, datetime

from outreach.orchestration.loading import DEPLOYMENTS
from outreach.orchestration.server import prefect_api
from outreach.settings import Settings


def idempotency_key(campaign_id: str, wave: int) -> str:
    return f"outreach-follow-up:{campaign_id}:wave-{wave}"


def schedule_follow_up(settings: Settings, campaign_id: str, wave: int, when: datetime) -> str:
    """Schedule wave `wave` of `campaign_id` for `when`; return the flow run id.

    Needs a Prefect server that outlives this call: `PREFECT_API_URL`, or the one
    `outreach serve` runs for this work directory (else `NoPrefectServer`).
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    with prefect_api(settings, persistent=True):
        from prefect.deployments import run_deployment

        flow_run = run_deployment(
            DEPLOYMENTS["follow_up"],
            parameters={"campaign_id": campaign_id, "workdir": str(settings.workdir), "wave": wave},
            scheduled_time=when,
            timeout=0,
            idempotency_key=idempotency_key(campaign_id, wave),
            as_subflow=False,
            tags=["outreach", f"campaign:{campaign_id}"],
        )
        run_id = str(flow_run.id)
    _note_on_wave(settings, campaign_id, wave, when, run_id)
    return run_id


def _note_on_wave(
    settings: Settings, campaign_id: str, wave: int, when: datetime, run_id: str
) -> None:
    """Keep the schedule on the wave row too, when the wave is already planned."""
    from sqlalchemy import select

    from outreach.orchestration.context import open_store
    from outreach.store import Wave

    store = open_store(settings)
    try:
        with store.session() as session:
            row = session.scalar(
                select(Wave).where(Wave.campaign_id == campaign_id, Wave.number == wave)
            )
            if row is not None:
                row.scheduled_for = when
                row.flow_run_id = run_id
                if row.status == "planned":
                    row.status = "scheduled"
    finally:
        store.dispose()
