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
from outreach.planning.observations import contact_groups
from outreach.store import Store


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


def barrier_texts_by_contact(
    store: Store, plan: Mapping[str, Any], spec: CampaignSpec, contact_pks: Iterable[int]
) -> dict[int, tuple[str, ...]]:
    """Each contact's barrier-answer texts for this wave (contacts without any are left out).

    For delivery: group a batch's recipients by the returned tuple and call
    `render_emails(..., barrier_answers=texts)` once per distinct tuple (there are only a
    few: one per combination of targeted groups).

    ```python
    texts = barrier_texts_by_contact(store, wave.plan, spec, [r.contact_pk for r in batch])
    for answers, group in itertools.groupby(sorted(batch, key=key), key=key): ...
    ```
    """
    if not (plan or {}).get("barrier_answers"):
        return {}
    groups = contact_groups(store, list(contact_pks))
    found: dict[int, tuple[str, ...]] = {}
    for pk, member_of in groups.items():
        texts = tuple(barrier_texts_for(plan, member_of, spec))
        if texts:
            found[pk] = texts
    return found
