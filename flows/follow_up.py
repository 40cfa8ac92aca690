"""`follow_up`: the next wave toward the groups still underreached, or the campaign's end.

If the wave was already planned (by `outreach follow-up`), it is rendered and sent as
planned; otherwise G's planner decides it now from the evidence in the store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows.send import send_wave
from flows.tasks import render_wave_materials
from outreach.orchestration.context import (
    campaign_spec,
    latest_wave,
    open_store,
    settings_at,
    wave_row,
    wave_status,
)
from outreach.orchestration.progress import note


@task(name="plan-follow-up")
def plan_and_record(
    campaign_id: str, workdir: str, now: datetime | None = None, seed: int = 0
) -> dict[str, Any]:
    """Plan wave N+1 and record it; return ids, counts and the stop reason (if any)."""
    from outreach.planning.planner import plan_follow_up
    from outreach.planning.record import record_follow_up

    settings = settings_at(workdir)
    store = open_store(settings)
    try:
        spec = campaign_spec(store, campaign_id)
        plan = plan_follow_up(store, spec, settings, now=now, seed=seed)
        new_rows = record_follow_up(store, spec, settings, plan)
    finally:
        store.dispose()
    return {
        "wave": plan.next_wave,
        "stop_reason": plan.stop_reason,
        "new_ledger_rows": new_rows,
        "underreached": [g.group for g in plan.underreached],
        "channels": list(plan.channels),
        "languages": list(plan.languages),
        "partner_ids": sorted(plan.partner_channels),
        "cost": round(plan.cost, 2),
    }


@flow(name="follow-up")
def follow_up(
    campaign_id: str,
    workdir: str,
    wave: int | None = None,
    now: datetime | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Send wave `wave` if it is planned and unsent; otherwise plan the next wave and send it."""
    logger = get_run_logger()
    settings = settings_at(workdir)
    store = open_store(settings)
    try:
        spec = campaign_spec(store, campaign_id)
        target = wave or latest_wave(store, campaign_id)
        existing = wave_row(store, campaign_id, target) if target else None
        ledger = wave_status(store, campaign_id, target) if existing else {}
    finally:
        store.dispose()

    unsent = ledger.get("pending", 0) + ledger.get("claimed", 0)
    if (
        existing
        and existing["status"] in ("planned", "scheduled", "sending")
        and unsent
        and target > 1
    ):
        plan = existing["plan"]
        decided: dict[str, Any] = {
            "wave": target,
            "stop_reason": None,
            "languages": list(plan.get("languages") or spec.target_languages),
            "partner_ids": list(plan.get("partner_ids") or []),
            "new_ledger_rows": 0,
        }
    elif wave is not None and existing and existing["status"] == "sent":
        logger.info("wave %s of %s was already sent; nothing to do", wave, campaign_id)
        return {"campaign_id": campaign_id, "wave": wave, "stop_reason": None, "already_sent": True}
    else:
        decided = plan_and_record(campaign_id, workdir, now, seed)

    if decided["stop_reason"]:
        create_markdown_artifact(
            f"**{campaign_id}** stops: {decided['stop_reason']}.",
            key=f"{campaign_id}-stop",
            description="Why the campaign stopped.",
        )
        logger.info("campaign %s stops: %s", campaign_id, decided["stop_reason"])
        return {"campaign_id": campaign_id, **decided}

    number = int(decided["wave"])
    note(
        f"wave {number}: rendering materials in {len(decided['languages'])} languages "
        f"for {len(decided['partner_ids'])} partners"
    )
    materials = render_wave_materials(
        campaign_id,
        number,
        workdir,
        languages=list(decided["languages"]),
        partner_ids=list(decided["partner_ids"]),
    )
    sent = send_wave(campaign_id, number, workdir, now)
    return {
        "campaign_id": campaign_id,
        **decided,
        "materials": sum(materials.values()),
        "send": sent,
    }
