"""Writing a plan down: wave N+1 as a `Wave` row plus ledger rows, or the campaign's end.

```python
plan = plan_follow_up(store, spec, settings)
new_rows = record_follow_up(store, spec, settings, plan)   # idempotent: 0 the second time
```
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from outreach.campaign import CampaignSpec
from outreach.planning import adapters
from outreach.planning.plan import FollowUpPlan
from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import Campaign, Wave


def finish_campaign(store: Store, campaign_id: str, reason: str) -> None:
    """Mark the campaign finished and say why (`Campaign.status`, `Campaign.stop_reason`)."""
    with store.session() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is not None:
            campaign.status = "finished"
            campaign.stop_reason = reason


def record_follow_up(
    store: Store,
    spec: CampaignSpec,
    settings: Settings,
    plan: FollowUpPlan,
    *,
    scheduled_for: datetime | None = None,
) -> int:
    """Record the plan: a stop finishes the campaign; otherwise wave N+1 and its ledger rows.

    The `Wave` row (status `planned`) holds `plan.to_json()` — ids, counts and reasons, no
    personal data — with `scheduled_for` (default: the plan's send time) and the end of its
    response window. Ledger rows go through A's `add_ledger_rows`, which skips rows already
    there, so recording the same plan twice adds nothing. Returns the number of new rows.
    """
    del settings  # part of the contract
    if plan.stop_reason:
        finish_campaign(store, plan.campaign_id, plan.stop_reason)
        return 0
    when = scheduled_for or plan.send_at
    with store.session() as session:
        wave = session.scalar(
            select(Wave).where(Wave.campaign_id == plan.campaign_id, Wave.number == plan.next_wave)
        )
        if wave is None:
            session.add(
                Wave(
                    campaign_id=plan.campaign_id,
                    number=plan.next_wave,
                    status="planned",
                    plan=plan.to_json(),
                    scheduled_for=when,
                    response_window_ends=when + spec.waves.response_window,
                )
            )
        elif wave.status == "planned":
            wave.plan = plan.to_json()
            wave.scheduled_for = when
            wave.response_window_ends = when + spec.waves.response_window
    return adapters.add_ledger_rows(store, plan.campaign_id, plan.next_wave, plan.rows)
