"""What a flow needs to find its way from ids and paths to the library's objects.

Flow parameters are ids and paths only; these helpers turn them into settings, a store and
a campaign spec inside the flow run, where personal data may be handled but never leaves.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from outreach.campaign import CampaignSpec, load_campaign, parse_campaign
from outreach.problems import InvalidInput, Problem
from outreach.settings import Settings, get_settings
from outreach.store import Campaign, Delivery, Store, Wave


def settings_at(workdir: str | Path) -> Settings:
    return get_settings(workdir)


_upgraded: set[str] = set()
_upgrade_lock = threading.Lock()


def open_store(settings: Settings) -> Store:
    """A store at the newest schema. Alembic's upgrade is not thread-safe (it swaps
    module globals), so parallel tasks in one process upgrade once, under a lock."""
    store = Store(settings.database_url)
    with _upgrade_lock:
        if store.url not in _upgraded:
            store.upgrade()
            _upgraded.add(store.url)
    return store


def campaign_spec(store: Store, campaign_id: str) -> CampaignSpec:
    """The spec recorded at launch: re-read from its file, else from the stored copy."""
    with store.session() as session:
        row = session.get(Campaign, campaign_id)
        if row is None:
            raise InvalidInput(
                [Problem("campaign", None, "id", f"no campaign {campaign_id!r} in the store")]
            )
        spec_path, stored = row.spec_path, dict(row.spec or {})
    if spec_path and Path(spec_path).is_file():
        return load_campaign(spec_path)
    return parse_campaign(stored, Path(spec_path or f"{campaign_id}.yaml"))


def wave_status(store: Store, campaign_id: str, wave: int) -> dict[str, int]:
    """Ledger rows of one wave by status."""
    with store.session() as session:
        rows = session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.campaign_id == campaign_id, Delivery.wave == wave)
            .group_by(Delivery.status)
        ).all()
    return {str(status): int(count) for status, count in rows}


def wave_row(store: Store, campaign_id: str, wave: int) -> dict[str, Any] | None:
    """The wave's status, plan (ids and counts) and times, or None."""
    with store.session() as session:
        row = session.scalar(
            select(Wave).where(Wave.campaign_id == campaign_id, Wave.number == wave)
        )
        if row is None:
            return None
        return {
            "number": row.number,
            "status": row.status,
            "plan": dict(row.plan or {}),
            "sent_at": row.sent_at,
            "scheduled_for": row.scheduled_for,
            "response_window_ends": row.response_window_ends,
        }


def latest_wave(store: Store, campaign_id: str) -> int:
    with store.session() as session:
        number = session.scalar(
            select(func.max(Wave.number)).where(Wave.campaign_id == campaign_id)
        )
    return int(number or 0)


def mark_wave(store: Store, campaign_id: str, wave: int, status: str, **values: Any) -> None:
    with store.session() as session:
        row = session.scalar(
            select(Wave).where(Wave.campaign_id == campaign_id, Wave.number == wave)
        )
        if row is not None:
            row.status = status
            for name, value in values.items():
                setattr(row, name, value)


def partner_ids(store: Store) -> list[str]:
    from outreach.store import Partner

    with store.session() as session:
        return list(session.scalars(select(Partner.partner_id).order_by(Partner.partner_id)))
