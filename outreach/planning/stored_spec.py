"""Read a campaign's spec back from the store (`Campaign.spec`, the spec as launched).

`CampaignSpec.model_dump(mode="json")` writes durations as ISO 8601 (`P14D`), which the
spec's own YAML parser does not read; this converts them before validating, and falls back
to the spec file (`Campaign.spec_path`) if the stored copy cannot be read.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import TypeAdapter

from outreach.campaign import CampaignSpec, load_campaign
from outreach.problems import InvalidInput, Problem
from outreach.store import Store
from outreach.store.models import Campaign

_DURATION = TypeAdapter(timedelta)


def _durations_as_seconds(data: dict[str, Any]) -> dict[str, Any]:
    waves = dict(data.get("waves") or {})
    for key in ("response_window", "min_gap"):
        value = waves.get(key)
        if isinstance(value, str) and value.upper().startswith("P"):
            waves[key] = _DURATION.validate_python(value).total_seconds()
    return {**data, "waves": waves} if waves else data


def spec_from_store(store: Store, campaign_id: str) -> CampaignSpec:
    """The campaign's spec; raises `InvalidInput` when the campaign is unknown."""
    with store.session() as session:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            known = [row.id for row in session.query(Campaign.id).order_by(Campaign.id)]
            hint = f"; known campaigns: {', '.join(known)}" if known else "; launch one first"
            raise InvalidInput(
                [Problem("campaign", None, "id", f"no campaign {campaign_id!r} in the store{hint}")]
            )
        data, path = dict(campaign.spec or {}), campaign.spec_path
    try:
        return CampaignSpec.model_validate(_durations_as_seconds(data))
    except ValueError:
        if path:
            return load_campaign(path)
        raise
