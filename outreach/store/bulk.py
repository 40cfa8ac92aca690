"""Small helpers for bulk writes with SQLAlchemy Core, shared by recording and planning.

```python
from outreach.store.bulk import chunked, dialect_insert, table_of

with store.engine.begin() as connection:
    for part in chunked(rows, 5000):
        statement = dialect_insert(connection, table_of(Partner)).on_conflict_do_nothing()
        connection.execute(statement, list(part))
```
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection


def chunked(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """`items` in slices of at most `size` (at least one item each)."""
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]


def dialect_insert(connection: Connection, table: Table) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT."""
    name = connection.dialect.name
    if name == "postgresql":
        return postgresql.insert(table)
    if name == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"the store supports SQLite and PostgreSQL, not {name}")


def table_of(model: type) -> Table:
    """A mapped class's Core table."""
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def none_if_missing(value: Any) -> Any:
    """None for None or NaN (pandas' missing value), else the value."""
    return None if value is None or (isinstance(value, float) and pd.isna(value)) else value
