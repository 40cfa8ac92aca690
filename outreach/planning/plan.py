"""What a follow-up plan is: per-group choices with their reasons, and the ledger rows.

`FollowUpPlan.to_json()` is what the wave's `Wave.plan` column stores (ids, counts and
reasons; no personal data). Delivery reads `plan["barrier_answers"]` (group -> barrier ids)
to add the campaign's answers to the emails of contacts in those groups; see
`outreach.planning.barriers.barrier_texts_for`.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from outreach.planning.beta import Posterior
from outreach.problems import InvalidInput, Problem

TARGETS_MET = "every group meets its target"
MAX_WAVES = "maximum number of waves reached"


class WaveNotSent(InvalidInput):
    """The latest wave is planned but not sent: send it before planning another."""

    def __init__(self, campaign_id: str, wave: int) -> None:
        self.wave = wave
        super().__init__(
            [
                Problem(
                    f"campaign {campaign_id}",
                    None,
                    "waves",
                    f"wave {wave} is planned but not sent yet; send it (or let its scheduled "
                    "run send it) before planning the next wave",
                )
            ]
        )


@dataclass(frozen=True)
class ChannelEstimate:
    """What the evidence says about one channel for one group."""

    channel: str
    successes: float
    trials: float
    mean: float
    low: float
    high: float

    @property
    def tried(self) -> bool:
        return self.trials > 0

    @classmethod
    def of(cls, channel: str, posterior: Posterior) -> ChannelEstimate:
        low, high = posterior.interval()
        return cls(channel, posterior.successes, posterior.trials, posterior.mean, low, high)

    def sentence(self, *, exploring: bool = False) -> str:
        """E.g. `radio: 6.1% (2.0–14%) from 3 of 49` or `flyer: untried, exploring`."""
        if not self.tried:
            return f"{self.channel}: untried" + (", exploring" if exploring else "")
        approx = "" if self.channel == "email" else "~"
        return (
            f"{self.channel}: {_pct(self.mean)} ({_pct(self.low, unit=False)}–{_pct(self.high)}) "
            f"from {self.successes:.0f} of {approx}{self.trials:.0f}"
        )


def _pct(value: float, *, unit: bool = True) -> str:
    """Percent with sensible precision: 14%, 6.1%, 0.58%, 0.0071% (two significant digits)."""
    pct = value * 100
    if pct >= 10:
        text = f"{pct:.0f}"
    elif pct >= 1:
        text = f"{pct:.1f}"
    elif pct <= 0:
        text = "0"
    else:
        text = f"{pct:.2g}" if pct >= 1e-4 else "<0.0001"
    return text + ("%" if unit else "")


@dataclass
class ChannelChoice:
    """One channel chosen for a group: how much, at what cost, expecting what."""

    channel: str
    people: float  # messages, or estimated people reached through partners/flyers
    cost: float
    expected_responses: float
    explore: bool
    partners: list[str] = field(default_factory=list)
    flyer_points: list[str] = field(default_factory=list)
    recipients: int = 0  # email ledger rows actually created for this group


@dataclass
class GroupPlan:
    """The plan for one group, with the numbers behind it."""

    group: str
    label: str
    respondents: int
    ratio: float
    ratio_low: float
    ratio_high: float
    target: float
    underreached: bool
    need: float = 0.0
    channels: list[ChannelChoice] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    partners: list[str] = field(default_factory=list)
    flyer_points: list[str] = field(default_factory=list)
    estimates: dict[str, ChannelEstimate] = field(default_factory=dict)
    barriers: dict[str, int] = field(default_factory=dict)  # barrier id -> times named
    barrier_answers: list[str] = field(default_factory=list)  # barrier ids answered
    reasons: list[str] = field(default_factory=list)
    limited_by: str | None = None  # "budget" or "reach" when the need is not covered

    @property
    def expected_responses(self) -> float:
        return sum(choice.expected_responses for choice in self.channels)

    @property
    def cost(self) -> float:
        return sum(choice.cost for choice in self.channels)


@dataclass
class FollowUpPlan:
    """Wave N+1 as decided: per-group plans, ledger rows to write, or why the campaign stops.

    `rows` (A's `LedgerRow`s) name contacts by key only; `to_json()` is what the `Wave` row
    stores: ids, counts and reasons, no personal data.
    """

    campaign_id: str
    next_wave: int
    planned_at: datetime
    send_at: datetime
    window_open_until: datetime | None
    budget: float
    seed: int
    groups: list[GroupPlan] = field(default_factory=list)
    stop_reason: str | None = None
    rows: list[Any] = field(default_factory=list)
    excluded: dict[str, int] = field(default_factory=dict)
    partner_channels: dict[str, str] = field(default_factory=dict)
    flyer_points: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    total_respondents: int = 0

    @property
    def cost(self) -> float:
        return sum(group.cost for group in self.groups)

    @property
    def underreached(self) -> list[GroupPlan]:
        return [group for group in self.groups if group.underreached]

    @property
    def channels(self) -> list[str]:
        seen = {c.channel for g in self.groups for c in g.channels}
        return [c for c in ("email", "radio", "flyer", "partner_pack") if c in seen]

    def counts(self) -> dict[str, int]:
        return dict(Counter(row.channel for row in self.rows))

    def barrier_answers(self) -> dict[str, list[str]]:
        return {g.group: list(g.barrier_answers) for g in self.groups if g.barrier_answers}

    def to_json(self) -> dict[str, Any]:
        return {
            "planned_by": "outreach.planning",
            "seed": self.seed,
            "planned_at": self.planned_at.isoformat(),
            "send_at": self.send_at.isoformat(),
            "budget": self.budget,
            "cost": round(self.cost, 2),
            "stop_reason": self.stop_reason,
            "channels": self.channels,
            "languages": self.languages,
            "partner_ids": sorted(self.partner_channels),
            "partner_channels": dict(sorted(self.partner_channels.items())),
            "flyer_points": list(self.flyer_points),
            "counts": self.counts(),
            "excluded": dict(self.excluded),
            "barrier_answers": self.barrier_answers(),
            "groups": {
                g.group: {
                    "ratio": _num(g.ratio),
                    "ratio_low": _num(g.ratio_low),
                    "ratio_high": _num(g.ratio_high),
                    "target": g.target,
                    "respondents": g.respondents,
                    "need": round(g.need, 2),
                    "channels": [c.channel for c in g.channels],
                    "languages": g.languages,
                    "partners": g.partners,
                    "flyer_points": g.flyer_points,
                    "email_recipients": sum(c.recipients for c in g.channels),
                    "expected_responses": round(g.expected_responses, 2),
                    "cost": round(g.cost, 2),
                    "barrier_answers": g.barrier_answers,
                    "reasons": g.reasons,
                }
                for g in self.groups
                if g.underreached
            },
        }


def _num(value: float) -> float | None:
    return None if value is None or math.isnan(value) else round(float(value), 4)
