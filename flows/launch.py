"""`launch`: validate a campaign, record it and its audience, render materials, plan wave 1,
and (unless a dry run) send it.

```python
launch(spec_path="campaigns/the-way-ahead.yaml", workdir="outreach-work", dry_run=True)
```
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact

from flows.send import send_wave
from flows.tasks import plan_first_wave, record, render_wave_materials, validate
from outreach.orchestration.context import campaign_spec, open_store, partner_ids, settings_at
from outreach.orchestration.progress import note


@flow(name="launch")
def launch(
    spec_path: str,
    workdir: str,
    dry_run: bool = False,
    allow_fallback: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Wave 1 of the campaign in `spec_path`; returns ids and counts."""
    logger = get_run_logger()
    spec_path = str(Path(spec_path).resolve())
    checked = validate(spec_path, workdir, allow_fallback, now)
    campaign_id = checked["campaign_id"]
    recorded = record(spec_path, workdir)
    note(f"recorded {campaign_id} and its {recorded['contacts']:,} contacts")
    if recorded["left"]:
        # Counts for Prefect's log; the CLI tells the officer from the flow's result.
        logger.info(
            "%s left the audience of %s; %s planned messages dropped",
            recorded["left"],
            campaign_id,
            recorded["unsent"],
        )
    new_rows = plan_first_wave(spec_path, workdir, allow_fallback, now)
    note(f"planned wave 1: {new_rows:,} new ledger rows")
    result: dict[str, Any] = {
        "campaign_id": campaign_id,
        "wave": 1,
        "contacts": checked["contacts"],
        "left_audience": recorded["left"],
        "unsent_dropped": recorded["unsent"],
        "new_ledger_rows": new_rows,
        "dry_run": dry_run,
    }
    if dry_run:
        logger.info(
            "dry run: wave 1 of %s planned (%s new ledger rows), nothing rendered or sent",
            campaign_id,
            new_rows,
        )
        return result
    settings = settings_at(workdir)
    store = open_store(settings)
    try:
        spec = campaign_spec(store, campaign_id)
        partners = partner_ids(store)
    finally:
        store.dispose()
    note(
        f"rendering flyers, radio scripts and partner packs: "
        f"{len(spec.target_languages)} languages, {len(partners)} partners"
    )
    materials = render_wave_materials(
        campaign_id, 1, workdir, languages=list(spec.target_languages), partner_ids=partners
    )
    create_table_artifact(
        [{"kind": kind, "files": n} for kind, n in sorted(materials.items())],
        key=f"{campaign_id}-wave-1-materials",
        description=f"Materials rendered for wave 1 of {campaign_id} (under materials/).",
    )
    result["materials"] = sum(materials.values())
    result["send"] = send_wave(campaign_id, 1, workdir, now)
    return result
