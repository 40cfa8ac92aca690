"""Small-number suppression for every shared output (HTML, CSV, Prefect artifacts).

Rules:

1. **Primary**: a count from 1 to `threshold - 1` (default 1–4) is shown as `<5`.
   Zero is shown: "nobody" is information an evaluator needs, and it identifies no one.
2. **Complementary**: wherever counts add up to a total that is shown (the groups of a
   dimension add up to "Everyone"; yes + maybe add up to "yes or maybe"), a line with
   exactly one hidden cell would give it away by subtraction. So the next-smallest shown
   cell of that line is hidden too (a non-zero one if there is one), or else the total
   (representation tables hide the total first: the groups are what matters there).
   Repeated until no line has exactly one hidden cell.
   Cells hidden only to protect another show `hidden` (they are not small).
3. **Derived values**: a rate, share or ratio computed from a hidden count is hidden.

Each table is protected with the lines it shows. Tables at different levels of detail
(the full funnel CSV and the report's summaries) are protected one by one; combining
several of them can narrow a hidden count down, which is why the report only shows
"yes or maybe" (never yes and maybe apart) in its summaries. The store keeps exact
counts; only outputs are suppressed.

```python
lines = group_lines(table, ["responded_yes"], by=["wave", "channel", "language"])
mask = protect(table, ["responded_yes"], threshold=5, lines=lines)
shown = display(table, mask, threshold=5)   # strings: "<5" small, "hidden" complement
```
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from outreach.analysis.membership import ALL


@dataclass(frozen=True)
class Line:
    """Cells (row position, column name) that add up to `total` (a cell, or None when the
    total is not a cell of the table but can be worked out, e.g. from shares)."""

    members: tuple[tuple[int, str], ...]
    total: tuple[int, str] | None = None


def primary_mask(table: pd.DataFrame, columns: Sequence[str], threshold: int) -> pd.DataFrame:
    """True where a count is from 1 to threshold - 1."""
    mask = pd.DataFrame(False, index=table.index, columns=list(columns))
    for column in columns:
        values = pd.to_numeric(table[column], errors="coerce").astype(float)
        mask[column] = ((values > 0) & (values < threshold)).fillna(False).to_numpy()
    return mask


def protect(
    table: pd.DataFrame,
    columns: Sequence[str],
    threshold: int,
    lines: Sequence[Line] = (),
    *,
    prefer_total: bool = False,
    exempt: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Boolean mask (same index as `table`, one column per count column): hide these.

    `prefer_total=True` hides a line's total (when it is a cell) before another member,
    for tables where the members matter more than the total (representation).
    `exempt` (column -> bool per row) marks counts that are not about people (radio spots,
    flyers issued): never hidden for being small.
    """
    table = table.reset_index(drop=True)
    mask = primary_mask(table, columns, threshold)
    for column, rows in (exempt or {}).items():
        mask[column] = mask[column].to_numpy() & ~np.asarray(rows, dtype=bool)
    values = {c: pd.to_numeric(table[c], errors="coerce").astype(float).to_numpy() for c in columns}
    hidden = {c: mask[c].to_numpy().copy() for c in columns}

    def is_hidden(cell: tuple[int, str]) -> bool:
        return bool(hidden[cell[1]][cell[0]])

    changed = True
    while changed:
        changed = False
        for line in lines:
            cells = list(line.members) + ([line.total] if line.total is not None else [])
            if sum(is_hidden(c) for c in cells) != 1:
                continue
            candidates = [
                c for c in line.members if not is_hidden(c) and not np.isnan(values[c[1]][c[0]])
            ]
            if prefer_total and line.total is not None and not is_hidden(line.total):
                pick = line.total
            elif candidates:
                # The smallest non-zero cell first: hiding a zero protects little.
                pick = min(candidates, key=lambda c: (values[c[1]][c[0]] == 0, values[c[1]][c[0]]))
            elif line.total is not None and not is_hidden(line.total):
                pick = line.total
            else:
                continue
            hidden[pick[1]][pick[0]] = True
            changed = True
    return pd.DataFrame(hidden, index=table.index)


def group_lines(
    table: pd.DataFrame,
    columns: Sequence[str],
    by: Sequence[str],
    *,
    dimension: str = "dimension",
    total_value: str = ALL,
) -> list[Line]:
    """Lines "the groups of one dimension add up to the `all` row", within each `by` cell.

    `table` must have a default RangeIndex (row positions are used).
    """
    table = table.reset_index(drop=True)
    lines: list[Line] = []
    keys = list(by)
    grouped = table.groupby(keys, sort=False, dropna=False) if keys else [((), table)]
    for _, part in grouped:
        totals = part.index[part[dimension] == total_value]
        total_row = int(totals[0]) if len(totals) else None
        for _, members in part[part[dimension] != total_value].groupby(dimension, sort=False):
            rows = [int(i) for i in members.index]
            for column in columns:
                lines.append(
                    Line(
                        tuple((r, column) for r in rows),
                        (total_row, column) if total_row is not None else None,
                    )
                )
    return lines


def row_lines(table: pd.DataFrame, parts: Sequence[str], total: str | None) -> list[Line]:
    """Lines "these columns add up to column `total`" in every row."""
    return [
        Line(tuple((i, c) for c in parts), (i, total) if total else None) for i in range(len(table))
    ]


def column_lines(table: pd.DataFrame, columns: Sequence[str], total_row: int | None) -> list[Line]:
    """Lines "all other rows add up to row `total_row`" for each column."""
    rows = [i for i in range(len(table)) if i != total_row]
    return [
        Line(tuple((r, c) for r in rows), (total_row, c) if total_row is not None else None)
        for c in columns
    ]


def hide_derived(
    table: pd.DataFrame, mask: pd.DataFrame, derived: dict[str, Sequence[str]]
) -> pd.DataFrame:
    """Set derived columns to NaN where any count they come from is hidden.

    `derived`: derived column -> the count columns it is computed from.
    """
    out = table.reset_index(drop=True).copy()
    for column, sources in derived.items():
        if column not in out:
            continue
        hit = np.zeros(len(out), dtype=bool)
        for source in sources:
            hit |= mask[source].to_numpy()
        out[column] = out[column].astype(float).where(~hit)
    return out


HIDDEN = "hidden"


def label(threshold: int) -> str:
    return f"<{threshold}"


def display(table: pd.DataFrame, mask: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """Counts as strings: `<threshold` for small counts, `hidden` for the cells hidden to
    protect them (complements), the number otherwise. Other columns are unchanged."""
    out = table.reset_index(drop=True).copy()
    for column in mask.columns:
        values = pd.to_numeric(out[column], errors="coerce").astype(float).to_numpy()
        text = []
        for v, hidden in zip(values, mask[column].to_numpy(), strict=True):
            if hidden:
                text.append(label(threshold) if 0 < v < threshold else HIDDEN)
            else:
                text.append("" if np.isnan(v) else str(int(v)))
        out[column] = pd.Series(text, dtype=object)
    return out


@dataclass
class Protected:
    """A table ready to share: `shown` (strings/floats) and the `mask` that made it."""

    shown: pd.DataFrame
    mask: pd.DataFrame
    exact: pd.DataFrame

    def hidden(self, row: int, column: str) -> bool:
        return bool(self.mask[column].iloc[row]) if column in self.mask else False


def share_safely(
    table: pd.DataFrame,
    counts: Sequence[str],
    threshold: int,
    *,
    lines: Sequence[Line] = (),
    derived: dict[str, Sequence[str]] | None = None,
    unsuppressed: bool = False,
    prefer_total: bool = False,
    exempt: dict[str, np.ndarray] | None = None,
) -> Protected:
    """Protect `table`: hide small counts, their complements and what derives from them.

    `unsuppressed=True` (officer's internal view, never for sharing) masks nothing.
    """
    exact = table.reset_index(drop=True)
    if unsuppressed:
        mask = pd.DataFrame(False, index=exact.index, columns=list(counts))
    else:
        mask = protect(exact, counts, threshold, lines, prefer_total=prefer_total, exempt=exempt)
    hidden = hide_derived(exact, mask, derived or {})
    return Protected(shown=display(hidden, mask, threshold), mask=mask, exact=exact)
