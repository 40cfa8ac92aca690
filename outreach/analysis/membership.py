"""Who is in which group: contacts by `contact_groups`, everyone else by what they told us.

Every person key (`c:<pk>` or `s:<self-description>`, see `frames`) gets exactly one row per
tracked dimension and value; a person with no value in a dimension gets the value
`not-stated` there, so counts per dimension always add up to the total — nobody is
silently dropped.

```python
mapping = group_mapping(["c:1", "s:age:18-24", "s:"], members, ["age", "birth"])
expand(units, mapping)   # one row per unit and dimension, with `value`
```
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

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
    whos: Iterable[str], members: pd.DataFrame, dimensions: Sequence[str]
) -> pd.DataFrame:
    """`who, dimension, value` for every person key and tracked dimension."""
    keys = pd.Series(pd.unique(pd.Series(list(whos), dtype=object)), dtype=object)
    columns = ["who", "dimension", "value"]
    if keys.empty or not dimensions:
        return pd.DataFrame(columns=columns)
    contact = members.assign(who="c:" + members["contact_pk"].astype("int64").astype(str))
    contact = contact[contact["who"].isin(set(keys))][columns]
    described = [
        (who, dimension, value)
        for who in keys[keys.str.startswith("s:")]
        for dimension, value in parse_self_groups(who[2:], dimensions)
    ]
    stated = pd.concat(
        [contact, pd.DataFrame(described, columns=columns)], ignore_index=True
    ).drop_duplicates()
    grid = pd.MultiIndex.from_product([keys, list(dimensions)], names=["who", "dimension"])
    grid = grid.to_frame(index=False)
    mapped = grid.merge(stated, on=["who", "dimension"], how="left")
    mapped["value"] = mapped["value"].fillna(NOT_STATED)
    return mapped


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
