"""Claiming a wave's rows: in language order, and without sorting the whole wave per batch."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text
from test_delivery_support import make_spec, seed

from outreach.delivery import ledger
from outreach.store import Store

NOON = datetime(2027, 4, 14, 11, 0, tzinfo=UTC)


def test_batches_come_one_language_after_another(store: Store) -> None:
    spec = make_spec()
    seed(store, spec, 30, languages=("es", "en", "bn"))
    batches = [
        ledger.claim_rows(store, spec.id, 1, limit=10, now=NOON, claim_id=f"test:{i}")
        for i in range(3)
    ]
    with store.engine.connect() as connection:
        language = dict(connection.execute(text("SELECT id, language FROM deliveries")).all())
    assert [{language[i] for i in batch} for batch in batches] == [{"bn"}, {"en"}, {"es"}]


def test_a_claim_walks_the_index_instead_of_sorting_the_wave(sqlite_store: Store) -> None:
    # A million-row wave is sent in 500 batches: a sort of every pending row per batch
    # would make sending quadratic. SQLite says when it sorts ("USE TEMP B-TREE").
    spec = make_spec()
    seed(sqlite_store, spec, 50, languages=("es", "en"))
    query = ledger.due_rows(spec.id, 1, limit=10, now=NOON)
    compiled = query.compile(sqlite_store.engine, compile_kwargs={"literal_binds": True})
    with sqlite_store.engine.connect() as connection:
        plan = " ".join(
            str(row[-1]) for row in connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}"))
        )
    assert "ix_deliveries_campaign_id_wave_status_language_id" in plan
    assert "TEMP B-TREE" not in plan
