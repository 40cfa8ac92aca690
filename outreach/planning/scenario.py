"""Simulation scenarios: a YAML description of a population and its channels.

```yaml
waves: 4                  # maximum waves
budget_per_wave: 2000     # cost units per wave
target_ratio: 0.8
channels: {email: {cost: 1}, flyer: {cost: 3}, radio: {cost: 0.2}, partner: {cost: 5}}
groups:
  - id: "birth:outside-uk"
    population_share: 0.37
    size: 1200            # people in the group who could be reached at all
    reachable: {email: 0.5, flyer: 0.6, radio: 0.3, partner: 0.2}   # share reachable by each
    response_rate: {email: 0.02, flyer: 0.03, radio: 0.06, partner: 0.12}
    fatigue: 0.7          # each repeat contact multiplies the rate by this
```

Extra keys are allowed anywhere (notes, sources). Every simulated person belongs to exactly
one group, so the groups' population shares must add up to 1 (±0.02). A channel missing
from a group's `reachable` or `response_rate` cannot reach / gets no answers there.
Costs are per person contacted (a simplification of per message, per pack, per batch).

```python
scenario = load_scenario("bench/scenarios/london-consultation.yaml")  # InvalidInput if bad
```
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from outreach.problems import InvalidInput, Problem

SHARE_TOLERANCE = 0.02


class _Model(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class ChannelCost(_Model):
    cost: float = Field(..., ge=0, description="Cost units per person contacted.")


class ScenarioGroup(_Model):
    id: str = Field(..., description="dimension:value, e.g. age:65-plus")
    population_share: float = Field(..., gt=0, le=1)
    size: int = Field(..., ge=1)
    reachable: dict[str, float] = Field(default_factory=dict)
    response_rate: dict[str, float] = Field(default_factory=dict)
    fatigue: float = Field(1.0, gt=0, le=1)

    @field_validator("id")
    @classmethod
    def _group_id(cls, value: str) -> str:
        if not re.fullmatch(r"[^:\s]+:[^:\s]+", value):
            raise ValueError(f"{value!r} is not a group id like age:65-plus (dimension:value)")
        return value

    @field_validator("reachable", "response_rate")
    @classmethod
    def _probabilities(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [f"{k}={v}" for k, v in value.items() if not 0 <= float(v) <= 1]
        if bad:
            raise ValueError(f"must be shares between 0 and 1, got {', '.join(bad)}")
        return value


class Scenario(_Model):
    waves: int = Field(..., ge=1, le=50)
    budget_per_wave: float = Field(..., gt=0)
    target_ratio: float = Field(0.8, gt=0, le=2)
    channels: dict[str, ChannelCost] = Field(..., min_length=1)
    groups: list[ScenarioGroup] = Field(..., min_length=2)
    name: str = ""

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        problems: list[str] = []
        ids = [g.id for g in self.groups]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            problems.append(f"groups: duplicate id {', '.join(duplicates)}")
        for index, group in enumerate(self.groups):
            for field_name in ("reachable", "response_rate"):
                unknown = sorted(set(getattr(group, field_name)) - set(self.channels))
                if unknown:
                    problems.append(
                        f"groups[{index}].{field_name}: unknown channel {', '.join(unknown)} "
                        f"(channels are {', '.join(self.channels)})"
                    )
        total = sum(g.population_share for g in self.groups)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            problems.append(
                f"groups[*].population_share: add up to {total:.3f}; every simulated person is "
                "in exactly one group, so they must add up to 1"
            )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def channel_names(self) -> list[str]:
        return list(self.channels)


def _location(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def parse_scenario(data: Any, source: str = "scenario") -> Scenario:
    if not isinstance(data, dict):
        raise InvalidInput([Problem(source, None, "", "must be a YAML mapping of settings")])
    try:
        return Scenario.model_validate(data)
    except ValidationError as error:
        problems: list[Problem] = []
        for err in error.errors():
            message = err["msg"].removeprefix("Value error, ")
            location = _location(tuple(err["loc"]))
            if not location and ": " in message:
                # Cross-field checks name their fields themselves: one problem each.
                for part in message.split("\n"):
                    field_name, _, text = part.partition(": ")
                    problems.append(Problem(source, None, field_name, text))
                continue
            problems.append(Problem(source, None, location, message))
        raise InvalidInput(problems) from None


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; `InvalidInput` names every bad field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidInput([Problem(str(path), None, "", "file not found")]) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise InvalidInput([Problem(str(path), row, "", f"is not valid YAML: {error}")]) from None
    scenario = parse_scenario(data, str(path))
    return scenario if scenario.name else scenario.model_copy(update={"name": path.stem})
