"""Who is in which group: contacts by `contact_groups`, everyone else by what they told us.

Every person key (a contact's primary key, or a negative code for a self-description; see
`frames`) gets a row per tracked dimension and value; a person with no value in a
dimension gets the value `not-stated` there, so counts per dimension always add up to the
total — nobody is silently dropped.

```python
mapping = group_mapping([1, -1, -2], members, ["age", "birth"], {-1: "age:18-24", -2: ""})
expand(units, mapping)   # one row per unit and dimension, with `value`
```
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

NOT_STATED = "not-stated"
NOT_STATED_LABEL = "Not stated"
ALL = "all"
ALL_LABEL = "Everyone"
# What a self-description may say instead of leaving a dimension out.
_UNSTATED = {"", "prefer-not-to-say", "prefer_not_to_say", "not-stated", "unknown", "none"}


def parse_self_groups(text: str, dimensions: Sequence[str]) -> list[tuple[str, str]]:
    """`"age:18-24;birth:outside-uk"` -> pairs in tracked dimensions ("prefer not" dropped)."""
    pairs = []
    for part in (text or "").split(";"):
        dimension, sep, value = part.strip().partition(":")
        dimension, value = dimension.strip(), value.strip()
        if sep and dimension in dimensions and value.lower() not in _UNSTATED:
            pairs.append((dimension, value))
    return pairs


def group_mapping(
    whos: Iterable[int],
    members: pd.DataFrame,
    dimensions: Sequence[str],
    self_codes: dict[int, str] | None = None,
) -> pd.DataFrame:
    """`who, dimension, value` for every person key (see `frames`) and tracked dimension.

    Positive keys are contacts (groups from `members`: `contact_pk, dimension, value`);
    negative keys are self-descriptions (`self_codes`). No value -> `not-stated`.
    """
    keys = np.unique(
        np.asarray(pd.Series(list(whos) if not hasattr(whos, "__array__") else whos), dtype="int64")
    )
    columns = ["who", "dimension", "value"]
    if keys.size == 0 or not dimensions:
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if c == "who" else object) for c in columns}
        )
    contacts = members[members["contact_pk"].isin(keys[keys > 0])]
    stated = contacts.rename(columns={"contact_pk": "who"})[columns].astype({"who": "int64"})
    described = [
        (code, dimension, value)
        for code in keys[keys < 0]
        for dimension, value in parse_self_groups((self_codes or {}).get(int(code), ""), dimensions)
    ]
    stated = pd.concat(
        [stated, pd.DataFrame(described, columns=columns).astype({"who": "int64"})],
        ignore_index=True,
    ).drop_duplicates()
    parts = [stated[stated["dimension"].isin(list(dimensions))]]
    for dimension in dimensions:
        have = stated.loc[stated["dimension"] == dimension, "who"].to_numpy()
        missing = keys[~np.isin(keys, have)]
        parts.append(pd.DataFrame({"who": missing, "dimension": dimension, "value": NOT_STATED}))
    return pd.concat(parts, ignore_index=True)


def expand(units: pd.DataFrame, mapping: pd.DataFrame) -> pd.DataFrame:
    """Repeat each unit (a row with `who`) once per dimension, adding `dimension, value`."""
    return units.merge(mapping, on="who", how="inner")


def group_key(dimension: str, value: str) -> str:
    return ALL if dimension == ALL else f"{dimension}:{value}"


def labels_for(groups: pd.DataFrame) -> dict[str, str]:
    """`"dim:value" -> label` from the groups table, plus "not stated" and "everyone"."""
    labels = {
        f"{d}:{v}": (str(label) if isinstance(label, str) and label else f"{d}: {v}")
        for d, v, label in zip(groups["dimension"], groups["value"], groups["label"], strict=True)
    }
    labels[ALL] = ALL_LABEL
    return labels


def label_of(labels: dict[str, str], dimension: str, value: str) -> str:
    if dimension == ALL:
        return ALL_LABEL
    if value == NOT_STATED:
        return f"{dimension.capitalize()} not stated"
    return labels.get(f"{dimension}:{value}", f"{dimension}: {value}")
