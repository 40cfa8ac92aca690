"""Consent and care rules checked at send time: quiet hours and the minimum gap.

```python
window = quiet_window(spec, now)        # None, or the UTC time the quiet hours end
gaps = recent_sends(session, [3, 4], now, spec.waves.min_gap)   # {3: last sent_at}
```
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.campaign import CampaignSpec
from outreach.store.models import Delivery


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything in the ledger is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_window(spec: CampaignSpec, now: datetime) -> datetime | None:
    """When `now` falls in the campaign's quiet hours (its own time zone), the UTC moment
    they end; otherwise None. "21:00"-"08:00" wraps midnight; equal ends mean none."""
    if not spec.waves.quiet_hours:
        return None
    start, end = (_clock(part) for part in spec.waves.quiet_hours)
    if start == end:
        return None
    zone = spec.zone
    local = as_utc(now).astimezone(zone)
    clock = local.time().replace(tzinfo=None)
    wraps = start > end  # 21:00-08:00 runs over midnight
    quiet = (clock >= start or clock < end) if wraps else (start <= clock < end)
    if not quiet:
        return None
    day = local.date() if clock < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(UTC)


def recent_sends(
    session: Session,
    contact_pks: Iterable[int],
    now: datetime,
    min_gap: timedelta,
    *,
    exclude_ids: Iterable[int] = (),
) -> dict[int, datetime]:
    """Contacts that were sent anything (any campaign, any channel) less than `min_gap`
    before `now`, with the time of their latest message."""
    pks = list(contact_pks)
    if not pks or min_gap <= timedelta(0):
        return {}
    since = as_utc(now) - min_gap
    query = (
        select(Delivery.contact_pk, func.max(Delivery.sent_at))
        .where(
            Delivery.contact_pk.in_(pks),
            Delivery.status == "sent",
            Delivery.sent_at.is_not(None),
            Delivery.sent_at > since,
        )
        .group_by(Delivery.contact_pk)
    )
    excluded = list(exclude_ids)
    if excluded:
        query = query.where(Delivery.id.not_in(excluded))
    return {int(pk): as_utc(last) for pk, last in session.execute(query) if last is not None}
