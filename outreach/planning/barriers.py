"""Which of the campaign's barrier answers a follow-up recipient gets.

The planner records, per targeted group, the barrier ids its respondents named
(`Wave.plan["barrier_answers"] = {"age:65-plus": ["time", "access"], ...}`). Delivery
passes the texts to C's `render_emails(..., barrier_answers=...)` for each contact:

```python
texts = barrier_texts_for(wave.plan, contact_groups, spec)   # ["Children are welcome; ..."]
```
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from outreach.campaign import CampaignSpec


def barrier_ids_for(plan: Mapping[str, Any], groups: Iterable[str]) -> list[str]:
    """Barrier ids for a person in `groups` (union over their groups, first-named first)."""
    by_group = (plan or {}).get("barrier_answers") or {}
    found: list[str] = []
    for group in sorted(groups):
        for barrier in by_group.get(group, []):
            if barrier not in found:
                found.append(barrier)
    return found


def barrier_texts_for(
    plan: Mapping[str, Any], groups: Iterable[str], spec: CampaignSpec
) -> list[str]:
    """The campaign's answers (English source texts, translated by the templates)."""
    return [
        spec.barrier_answers[b] for b in barrier_ids_for(plan, groups) if b in spec.barrier_answers
    ]


def partner_barrier_ids(plan: Mapping[str, Any], partner_id: str) -> list[str]:
    """Barrier ids for a partner pack: the answers of every group the partner was chosen for."""
    groups = [
        group
        for group, detail in ((plan or {}).get("groups") or {}).items()
        if partner_id in (detail.get("partners") or [])
    ]
    return barrier_ids_for(plan, groups)
