"""The send ledger: claiming due rows atomically, recovering dead runs' claims, marking.

A row's life: `pending` → `claimed` (by one run: `claim_id`, `claimed_at`, attempts+1) →
`sent` (with the provider's id) | `failed` (with the reason); or, never sent,
`suppressed` / `skipped` (with the reason); or back to `pending` with `not_before` (quiet
hours, minimum gap, a transient failure waiting for its retry).

Claiming is one statement: on PostgreSQL `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE
SKIP LOCKED)`, so concurrent workers never claim the same row and never wait for each
other; on SQLite the same `UPDATE ... WHERE id IN (SELECT ... LIMIT n)` runs as one write
transaction (SQLite serialises writers), which is just as exclusive.

A claim id is `<host>:<pid>:<random>`. A claim is *stale*, and its rows go back to
`pending`, when its process is gone (same host, pid not running, or this very process
but not a batch that is still running) or when it is older than `stale_after` (other
hosts). See `recover_stale_claims`.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, or_, select, text, update

from outreach.delivery.care import as_utc
from outreach.store import Store
from outreach.store.models import Delivery

SENDABLE_CHANNELS = ("email", "partner_pack")
DEFAULT_STALE_AFTER = timedelta(hours=1)
_TABLE = Delivery.__table__
_HOST = socket.gethostname()
_LIVE: set[str] = set()  # claim ids of batches running in this process right now
_LIVE_LOCK = threading.Lock()


def new_claim_id() -> str:
    claim = f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
    with _LIVE_LOCK:
        _LIVE.add(claim)
    return claim


def end_claim(claim_id: str) -> None:
    with _LIVE_LOCK:
        _LIVE.discard(claim_id)


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:  # a killed child its parent has not reaped yet is a zombie: dead for us
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def claim_is_dead(
    claim_id: str, claimed_at: datetime | None, now: datetime, stale_after: timedelta
) -> bool:
    if claimed_at is not None and as_utc(claimed_at) < as_utc(now) - stale_after:
        return True
    host, _, rest = claim_id.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        with _LIVE_LOCK:
            return claim_id not in _LIVE
    return not _pid_running(pid)


def recover_stale_claims(
    store: Store,
    campaign_id: str,
    wave: int,
    *,
    now: datetime,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
) -> int:
    """Put rows claimed by dead runs back to `pending`; return how many.

    Their attempt is not counted against them (it never finished). For the outbox a
    recovered row whose file is already in the Maildir is marked sent without writing
    again; for SMTP and SendGrid a recovered row is sent again (README "delivery": the
    one unavoidable window).
    """
    with store.engine.begin() as connection:
        claims = connection.execute(
            select(_TABLE.c.claim_id, func.min(_TABLE.c.claimed_at))
            .where(
                _TABLE.c.campaign_id == campaign_id,
                _TABLE.c.wave == wave,
                _TABLE.c.status == "claimed",
            )
            .group_by(_TABLE.c.claim_id)
        ).all()
        dead = [
            claim
            for claim, claimed_at in claims
            if claim is None or claim_is_dead(claim, claimed_at, now, stale_after)
        ]
        recovered = 0
        for claim in dead:
            condition = _TABLE.c.claim_id.is_(None) if claim is None else _TABLE.c.claim_id == claim
            result = connection.execute(
                update(_TABLE)
                .where(
                    condition,
                    _TABLE.c.status == "claimed",
                    _TABLE.c.campaign_id == campaign_id,
                    _TABLE.c.wave == wave,
                )
                .values(status="pending", claim_id=None, attempts=_TABLE.c.attempts - 1)
            )
            recovered += result.rowcount or 0
    return recovered


def due_rows(
    campaign_id: str,
    wave: int,
    *,
    limit: int,
    now: datetime,
    channels: Sequence[str] = SENDABLE_CHANNELS,
) -> Select[Any]:
    """The ids of the next `limit` due pending rows, in claim order."""
    return (
        select(_TABLE.c.id)
        .where(
            _TABLE.c.campaign_id == campaign_id,
            _TABLE.c.wave == wave,
            _TABLE.c.status == "pending",
            _TABLE.c.channel.in_(list(channels)),
            or_(_TABLE.c.not_before.is_(None), _TABLE.c.not_before <= as_utc(now)),
        )
        # Language first: a batch is then mostly one language, which is what SendGrid
        # batches per request (and what the renderer compiles templates for). The index
        # on (campaign_id, wave, status, language, id) gives this order without a sort.
        .order_by(_TABLE.c.language, _TABLE.c.id)
        .limit(limit)
    )


def claim_rows(
    store: Store,
    campaign_id: str,
    wave: int,
    *,
    limit: int,
    now: datetime,
    claim_id: str,
    channels: Sequence[str] = SENDABLE_CHANNELS,
) -> list[int]:
    """Atomically claim up to `limit` due pending rows for `claim_id`; return their ids."""
    now = as_utc(now)
    due = due_rows(campaign_id, wave, limit=limit, now=now, channels=channels)
    if not store.is_sqlite:
        due = due.with_for_update(skip_locked=True)
    statement = (
        update(_TABLE)
        .where(_TABLE.c.id.in_(due.scalar_subquery()), _TABLE.c.status == "pending")
        .values(
            status="claimed",
            claim_id=claim_id,
            claimed_at=now,
            attempts=_TABLE.c.attempts + 1,
            updated_at=now,
        )
        .returning(_TABLE.c.id)
    )
    with store.engine.begin() as connection:
        return sorted(int(row_id) for row_id in connection.execute(statement).scalars())


@dataclass(frozen=True)
class Outcome:
    """The new state of one claimed row."""

    delivery_id: int
    status: str  # sent|failed|suppressed|skipped|pending
    provider_id: str | None = None
    error: str | None = None
    sent_at: datetime | None = None
    not_before: datetime | None = None
    uncount_attempt: bool = False  # deferred before sending: the claim was not an attempt


def _mark_statement(clear_claim: bool) -> Any:
    values: dict[str, Any] = {
        "status": bindparam("new_status"),
        "provider_id": bindparam("new_provider_id"),
        "last_error": bindparam("new_error"),
        "sent_at": bindparam("new_sent_at"),
        "not_before": bindparam("new_not_before"),
        "attempts": _TABLE.c.attempts - bindparam("uncount"),
        "updated_at": bindparam("now"),
    }
    if clear_claim:  # back to pending: no run holds it; final rows keep who handled them
        values["claim_id"] = None
    return update(_TABLE).where(_TABLE.c.id == bindparam("row_id")).values(**values)


_MARK_FINAL = _mark_statement(clear_claim=False)
_MARK_PENDING = _mark_statement(clear_claim=True)


def mark(
    store: Store,
    outcomes: Iterable[Outcome],
    *,
    now: datetime,
    connection: Connection | None = None,
) -> int:
    """Write outcomes in one transaction (one commit); return how many rows.

    Pass an open `connection` (not in a transaction) when marking many small groups: it
    saves the pool checkout and its liveness ping per commit.
    """
    final: list[dict[str, Any]] = []
    pending: list[dict[str, Any]] = []
    for o in outcomes:
        (pending if o.status == "pending" else final).append(
            {
                "row_id": o.delivery_id,
                "new_status": o.status,
                "new_provider_id": o.provider_id,
                "new_error": o.error,
                "new_sent_at": as_utc(o.sent_at) if o.sent_at else None,
                "new_not_before": as_utc(o.not_before) if o.not_before else None,
                "uncount": 1 if o.uncount_attempt else 0,
                "now": as_utc(now),
            }
        )
    if not final and not pending:
        return 0
    if connection is None:
        with store.engine.connect() as own:
            return _mark(store, own, final, pending)
    return _mark(store, connection, final, pending)


def _mark(
    store: Store,
    connection: Connection,
    final: list[dict[str, Any]],
    pending: list[dict[str, Any]],
) -> int:
    with connection.begin():
        if not store.is_sqlite:
            # The commit returns without waiting for the WAL flush (milliseconds to tens of
            # them on a busy disk, per SMTP message). The sender dying right after is safe:
            # the server has the commit. Only a crash of the database server itself within
            # a fraction of a second could lose a mark, and then that row is sent again.
            connection.execute(text("SET LOCAL synchronous_commit TO OFF"))
        if final:
            connection.execute(_MARK_FINAL, final)
        if pending:
            connection.execute(_MARK_PENDING, pending)
    return len(final) + len(pending)


def release(store: Store, ids: Sequence[int], claim_id: str) -> int:
    """Give rows this run claimed but never handed to a sender back to `pending`."""
    if not ids:
        return 0
    with store.engine.begin() as connection:
        result = connection.execute(
            update(_TABLE)
            .where(
                _TABLE.c.id.in_(list(ids)),
                _TABLE.c.claim_id == claim_id,
                _TABLE.c.status == "claimed",
            )
            .values(status="pending", claim_id=None, attempts=_TABLE.c.attempts - 1)
        )
    return result.rowcount or 0


def wave_counts(store: Store, campaign_id: str, wave: int) -> dict[str, int]:
    """Ledger rows of one wave by status, e.g. `{"sent": 1890, "skipped": 110}`."""
    with store.engine.connect() as connection:
        rows = connection.execute(
            select(_TABLE.c.status, func.count())
            .where(_TABLE.c.campaign_id == campaign_id, _TABLE.c.wave == wave)
            .group_by(_TABLE.c.status)
        ).all()
    return {str(status): int(count) for status, count in rows}


def unfinished(store: Store, campaign_id: str, wave: int) -> int:
    """Rows of the wave not yet in a final state (pending, deferred or claimed)."""
    with store.engine.connect() as connection:
        return int(
            connection.scalar(
                select(func.count())
                .select_from(_TABLE)
                .where(
                    _TABLE.c.campaign_id == campaign_id,
                    _TABLE.c.wave == wave,
                    _TABLE.c.status.in_(("pending", "claimed")),
                    _TABLE.c.channel.in_(SENDABLE_CHANNELS),
                )
            )
            or 0
        )
