"""The analysis reads a wave's ledger as `pandas.read_sql` would, but keeps each string once."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from test_delivery_support import make_spec, seed

from outreach.analysis.frames import _read
from outreach.store import Store
from outreach.store.models import Delivery


def test_same_frame_as_read_sql_with_strings_shared(store: Store) -> None:
    spec = make_spec()
    seed(store, spec, 120, languages=("en", "es", "bn"), partners=("p1", "p2"))
    query = select(
        Delivery.id, Delivery.wave, Delivery.channel, Delivery.language, Delivery.contact_pk,
        Delivery.fallback_from,
    ).order_by(Delivery.id)  # fmt: skip
    with store.engine.connect() as connection:
        expected = pd.read_sql(query, connection)

    frame = _read(store, query)

    # Partner rows (no contact) come last: dtypes are inferred over the whole column.
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    languages = frame["language"]
    assert languages[0] is languages[3]  # one "en" object for every row, not one per row
    assert _read(store, query.where(Delivery.id < 0)).columns.tolist() == expected.columns.tolist()
