"""The follow-up planner: after a wave's response window, who to reach next, and how.

```python
from outreach.planning.planner import plan_follow_up, record_follow_up

plan = plan_follow_up(store, spec, settings, seed=0)   # reads the store, decides, writes nothing
if plan.stop_reason:                                     # "every group meets its target" or
    ...                                                  # "maximum number of waves reached"
record_follow_up(store, spec, settings, plan)            # wave N+1: Wave row + ledger rows
```

For every underreached group (F's definition, `is_underreached`) the planner estimates
how many more responses would lift the group to the campaign's target ratio, reads the
evidence (a Beta posterior per group and channel, `evidence.py`), lists what it could buy
(emails to eligible contacts — `eligibility.py`; partner packs to partners who work in the
group's languages; flyer batches at distribution points), and lets the shared allocation
core (`allocation.py`) choose within the wave budget. Costs come from the spec: per
message for email, per pack for radio stations and other partners, per flyer batch for
venues and distribution points.

When respondents of a group named barriers (F's `barriers_table`), the follow-up to that
group carries the campaign's answer to each (`spec.barrier_answers`); the wave's plan
records which answers go to which group in `Wave.plan["barrier_answers"]`.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from outreach.campaign import CampaignSpec
from outreach.planning import adapters
from outreach.planning.allocation import Allocation, Option, allocate, response_needs
from outreach.planning.eligibility import Audience, email_audience
from outreach.planning.evidence import (
    FLYER_BATCH_PEOPLE,
    PartnerInfo,
    audience_shares,
    gather_evidence,
    partners,
)
from outreach.planning.observations import POSITIVE, respondents_frame
from outreach.planning.plan import (
    MAX_WAVES,
    TARGETS_MET,
    ChannelChoice,
    ChannelEstimate,
    FollowUpPlan,
    GroupPlan,
    WaveNotSent,
)
from outreach.planning.record import finish_campaign, record_follow_up
from outreach.problems import InvalidInput, Problem
from outreach.settings import Settings
from outreach.store import Store
from outreach.store.models import Campaign, Delivery, Wave

__all__ = [
    "MAX_WAVES",
    "TARGETS_MET",
    "ChannelChoice",
    "ChannelEstimate",
    "FollowUpPlan",
    "GroupPlan",
    "WaveNotSent",
    "finish_campaign",
    "plan_follow_up",
    "record_follow_up",
]

REPEAT_FACTOR = 0.7  # assumed: a repeat contact answers 70% as often as a first one
MAX_BARRIERS = 3  # a group's main barriers: the most named, up to this many


# --- reading the store ----------------------------------------------------------------------


def _latest_wave(store: Store, campaign_id: str) -> Wave:
    with store.session() as session:
        if session.get(Campaign, campaign_id) is None:
            raise InvalidInput(
                [Problem("campaign", None, "id", f"no campaign {campaign_id!r} in the store")]
            )
        wave = session.scalar(
            select(Wave).where(Wave.campaign_id == campaign_id).order_by(Wave.number.desc())
        )
        if wave is None:
            raise InvalidInput(
                [
                    Problem(
                        f"campaign {campaign_id}",
                        None,
                        "waves",
                        "has no wave yet; launch it first (outreach launch CAMPAIGN.yaml)",
                    )
                ]
            )
        statuses = dict(
            session.execute(
                select(Delivery.status, func.count())
                .where(Delivery.campaign_id == campaign_id, Delivery.wave == wave.number)
                .group_by(Delivery.status)
            ).all()
        )
    untouched = sum(n for s, n in statuses.items() if s in ("pending", "claimed"))
    if wave.sent_at is None and statuses and untouched == sum(statuses.values()):
        raise WaveNotSent(campaign_id, wave.number)
    return wave


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _representation(
    store: Store, spec: CampaignSpec, people: pd.DataFrame
) -> tuple[pd.DataFrame, int]:
    """F's representation table (audience groups only) and the number of respondents.

    Adds `denominator`: the respondents a group's share is taken of (F's `stated`, the
    respondents whose group in that dimension is known), used to compute needs.
    """
    table = adapters.representation_table(store, spec.id)
    if spec.audience.groups and not table.empty:
        table = table[table["group"].isin(spec.audience.groups)]
    table = table.reset_index(drop=True)
    total = int(people["answer"].isin(POSITIVE).sum())
    if "total_respondents" in table and len(table):
        total = max(total, int(table["total_respondents"].max()))
    if "stated" in table:
        table["denominator"] = table["stated"].astype(int)
    else:
        table["denominator"] = [
            round(r / s) if s and s > 0 and not math.isnan(s) else total
            for r, s in zip(table["respondents"], table["share"], strict=True)
        ]
    return table, total


def _group_barriers(store: Store, campaign_id: str) -> dict[str, dict[str, int]]:
    table = adapters.barriers_table(store, campaign_id)
    found: dict[str, dict[str, int]] = {}
    if table is None or table.empty:
        return found
    for group, barrier, count in zip(table["group"], table["barrier"], table["count"], strict=True):
        if count is None or (isinstance(count, float) and math.isnan(count)):
            continue
        by_group = found.setdefault(str(group), {})
        by_group[str(barrier)] = by_group.get(str(barrier), 0) + int(count)
    return found


def _send_language_rule(spec: CampaignSpec, language: str) -> tuple[str, str | None]:
    try:
        from outreach.i18n.fallback import effective_language
    except ImportError:
        effective_language = None
    if effective_language is not None:
        try:
            return effective_language(spec, language, allow_fallback=spec.allow_fallback)
        except InvalidInput:
            pass  # validation reports missing translations; planning keeps the language
    if language in spec.target_languages:
        return language, None
    return (spec.allow_fallback or spec.source_language), language


# --- the plan -------------------------------------------------------------------------------


def plan_follow_up(
    store: Store,
    spec: CampaignSpec,
    settings: Settings,
    *,
    now: datetime | None = None,
    seed: int = 0,
    send_at: datetime | None = None,
) -> FollowUpPlan:
    """Decide wave N+1 for `spec.id` (reads the store, writes nothing).

    `now` defaults to the current time; `send_at` (when wave N+1 will go out) defaults to
    the end of the latest wave's response window, or `now` if that has passed. Raises
    `WaveNotSent` when the latest wave has not gone out yet.
    """
    del settings  # part of the contract; planning needs nothing from it today
    now = _aware(now) or datetime.now(UTC)
    latest = _latest_wave(store, spec.id)
    window_end = _aware(latest.response_window_ends)
    send_at = _aware(send_at) or (window_end if window_end and window_end > now else now)
    target = spec.audience.target_ratio
    plan = FollowUpPlan(
        campaign_id=spec.id,
        next_wave=latest.number + 1,
        planned_at=now,
        send_at=send_at,
        window_open_until=window_end if window_end and window_end > now else None,
        budget=spec.waves.budget_per_wave,
        seed=seed,
    )
    everyone = respondents_frame(store)  # all campaigns: the evidence is pooled
    mine = everyone[everyone["campaign_id"] == spec.id]
    table, total = _representation(store, spec, mine)
    plan.total_respondents = total
    if table.empty:
        raise InvalidInput(
            [Problem(f"campaign {spec.id}", None, "groups", "has no groups recorded to plan for")]
        )
    population: dict[str, float] = {}
    for row in table.to_dict("records"):
        group = str(row["group"])
        population[group] = float(row["population_share"])
        if total == 0 or int(row["denominator"]) == 0:
            under = True  # nobody (in this dimension) has answered: the group is missing
        elif "underreached" in row and row["underreached"] is not None:
            under = bool(row["underreached"])
        else:
            under = adapters.is_underreached(float(row["ratio_high"]), target)
        plan.groups.append(
            GroupPlan(
                group=group,
                label=str(row.get("label") or group),
                respondents=int(row.get("respondents") or 0),
                ratio=float(row["ratio"]) if row.get("ratio") is not None else math.nan,
                ratio_low=float(row["ratio_low"]) if row.get("ratio_low") is not None else math.nan,
                ratio_high=float(row["ratio_high"])
                if row.get("ratio_high") is not None
                else math.nan,
                target=float(row.get("target") or target),
                underreached=under,
            )
        )
    if not plan.underreached:
        plan.stop_reason = TARGETS_MET
        return plan
    if plan.next_wave > spec.waves.max_waves:
        plan.stop_reason = MAX_WAVES
        return plan
    denominators = {
        str(g): int(d) for g, d in zip(table["group"], table["denominator"], strict=True)
    }
    _decide(store, spec, plan, population, denominators, everyone)
    return plan


def _decide(
    store: Store,
    spec: CampaignSpec,
    plan: FollowUpPlan,
    population: dict[str, float],
    denominators: dict[str, int],
    everyone: pd.DataFrame,
) -> None:
    wanted = {g.group: g for g in plan.underreached}
    channels = spec.channels.enabled()
    # Shares are per dimension (age groups add up to all respondents who stated an age),
    # so needs are solved dimension by dimension.
    needs: dict[str, float] = {}
    for dimension in sorted({g.split(":", 1)[0] for g in population}):
        members = [g for g in plan.groups if g.group.split(":", 1)[0] == dimension]
        needs.update(
            response_needs(
                {g.group: g.respondents for g in members},
                {g.group: population[g.group] for g in members},
                spec.audience.target_ratio,
                [g.group for g in members if g.group in wanted],
                total=max(denominators.get(g.group, 0) for g in members),
            )
        )
    evidence = gather_evidence(store, population, channels, people=everyone)
    audience = email_audience(
        store,
        spec.id,
        send_at=plan.send_at,
        min_gap_seconds=spec.waves.min_gap.total_seconds(),
        next_wave=plan.next_wave,
        answers=everyone[everyone["campaign_id"] == spec.id],
    )
    plan.excluded = audience.excluded
    known = {pid: info for pid, info in partners(store).items() if info.has_email}
    shares = audience_shares(store, population, known)
    barriers = _group_barriers(store, spec.id)
    options: list[Option] = []
    for group, group_plan in wanted.items():
        group_plan.languages = _group_languages(spec, group, audience)
        group_plan.estimates = {c: ChannelEstimate.of(c, evidence[(group, c)]) for c in channels}
        options += _options_for(
            spec, group, group_plan.languages, audience, known, shares, population[group], channels
        )
        named = barriers.get(group, {})
        group_plan.barriers = dict(sorted(named.items(), key=lambda kv: (-kv[1], kv[0])))
        main = [b for b, n in group_plan.barriers.items() if n > 0][:MAX_BARRIERS]
        group_plan.barrier_answers = [b for b in main if b in spec.barrier_answers]
    for group in wanted:
        needs.setdefault(group, 0.0)
    bought = allocate(options, evidence, needs, spec.waves.budget_per_wave, seed=plan.seed)
    fallbacks = _previous_fallbacks(store, spec.id)
    _materialise(spec, plan, wanted, bought, audience, known, needs, fallbacks)
    _why_short(plan, wanted, options, bought, spec.waves.budget_per_wave)
    for group_plan in wanted.values():
        group_plan.reasons = _reasons(spec, group_plan)


def _why_short(
    plan: FollowUpPlan,
    wanted: dict[str, GroupPlan],
    options: list[Option],
    bought: list[Allocation],
    budget: float,
) -> None:
    """For groups whose gap is not covered: was it the budget, or nobody left to reach?"""
    left = budget - sum(a.cost for a in bought)
    taken: dict[tuple[str, str], int] = {}
    paid_shared = {a.key for a in bought if a.shared}
    for a in bought:
        taken[(a.group, a.key)] = taken.get((a.group, a.key), 0) + a.units
    for group, group_plan in wanted.items():
        if group_plan.expected_responses >= group_plan.need:
            continue
        unaffordable = any(
            o.group == group
            and o.units > taken.get((group, o.key), 0)
            and not (o.shared and o.key in paid_shared)
            and o.unit_cost > left
            for o in options
        )
        group_plan.limited_by = "budget" if unaffordable else "reach"


def _group_languages(spec: CampaignSpec, group: str, audience: Audience) -> list[str]:
    if group.startswith("language:"):
        language = group.split(":", 1)[1]
        if language in spec.target_languages:
            return [language]
        return [spec.allow_fallback or spec.source_language]
    counts = audience.languages.get(group, {})
    ordered = sorted(counts, key=lambda lang: (-counts[lang], lang))
    return [lang for lang in ordered if lang in spec.target_languages] or [spec.source_language]


def _options_for(
    spec: CampaignSpec,
    group: str,
    languages: list[str],
    audience: Audience,
    known: dict[str, PartnerInfo],
    shares: dict[str, dict[str, float]],
    population_share: float,
    channels: list[str],
) -> list[Option]:
    options: list[Option] = []
    if "email" in channels:
        fresh = audience.pool(group, repeat=False)
        repeat = audience.pool(group, repeat=True)
        cost = spec.channels.cost("email")
        options.append(Option(group, "email", "email:fresh", fresh, cost))
        options.append(
            Option(group, "email", "email:repeat", repeat, cost, rate_factor=REPEAT_FACTOR)
        )
    wanted_languages = set(languages)
    for pid, info in sorted(known.items()):
        if info.channel not in channels or not wanted_languages & set(info.languages):
            continue
        exposure = info.reach * shares.get(pid, {}).get(group, 0.0)
        if exposure <= 0:
            continue
        options.append(
            Option(
                group,
                info.channel,
                f"p:{pid}",
                1,
                spec.channels.cost(info.channel),
                exposure=exposure,
                shared=True,
            )
        )
    if "flyer" in channels:
        for point in spec.channels.flyer.distribution_points:
            if point.languages and not wanted_languages & set(point.languages):
                continue
            options.append(
                Option(
                    group,
                    "flyer",
                    f"point:{point.id}",
                    1,
                    spec.channels.cost("flyer"),
                    exposure=FLYER_BATCH_PEOPLE * population_share,
                    shared=True,
                )
            )
    return options


def _previous_fallbacks(store: Store, campaign_id: str) -> dict[str, str]:
    """{wanted language: language sent instead} as earlier waves of this campaign decided."""
    with store.session() as session:
        rows = session.execute(
            select(Delivery.fallback_from, Delivery.language)
            .where(Delivery.campaign_id == campaign_id, Delivery.fallback_from.is_not(None))
            .distinct()
        ).all()
    return {wanted: sent for wanted, sent in rows}


def _materialise(
    spec: CampaignSpec,
    plan: FollowUpPlan,
    wanted: dict[str, GroupPlan],
    bought: list[Allocation],
    audience: Audience,
    known: dict[str, PartnerInfo],
    needs: dict[str, float],
    fallbacks: dict[str, str],
) -> None:
    order = audience.shuffled(plan.seed)  # a fair, reproducible draw among eligible people
    chosen = np.zeros(audience.size, dtype=bool)
    languages: set[str] = set()
    # Languages the launch already had to fall back from keep the same fallback.
    language_of: dict[str, tuple[str, str | None]] = {
        wanted_language: (sent, wanted_language) for wanted_language, sent in fallbacks.items()
    }
    by_group: dict[str, dict[str, ChannelChoice]] = {g: {} for g in wanted}
    for allocation in bought:
        choice = by_group[allocation.group].setdefault(
            allocation.channel,
            ChannelChoice(allocation.channel, 0.0, 0.0, 0.0, allocation.explore),
        )
        choice.cost += allocation.cost
        choice.expected_responses += allocation.expected_responses
        choice.explore = choice.explore and allocation.explore
        if allocation.key.startswith("p:"):
            pid = allocation.key[2:]
            choice.partners.append(pid)
            choice.people += allocation.exposure
            plan.partner_channels[pid] = known[pid].channel
        elif allocation.key.startswith("point:"):
            choice.flyer_points.append(allocation.key[6:])
            choice.people += allocation.exposure
            if allocation.key[6:] not in plan.flyer_points:
                plan.flyer_points.append(allocation.key[6:])
        else:
            picked_people = audience.draw(
                order,
                allocation.group,
                repeat=allocation.key == "email:repeat",
                units=allocation.units,
                chosen=chosen,
            )
            picked = len(picked_people)
            for pk, wanted_language in picked_people:
                if wanted_language not in language_of:
                    language_of[wanted_language] = _send_language_rule(spec, wanted_language)
                language, fallback_from = language_of[wanted_language]
                languages.add(language)
                plan.rows.append(
                    adapters.ledger_row(
                        recipient=f"c:{pk}",
                        channel="email",
                        language=language,
                        contact_pk=pk,
                        fallback_from=fallback_from,
                    )
                )
            choice.recipients += picked
            choice.people += picked
            share = picked / allocation.units if allocation.units else 0.0
            choice.expected_responses -= allocation.expected_responses * (1 - share)
            # The allocation priced units that turned out to be someone already chosen for
            # another group; the plan's cost is what is actually sent.
            choice.cost -= allocation.cost * (1 - share)
    for pid in sorted(plan.partner_channels):
        info = known[pid]
        language = next(
            (lang for lang in info.languages if lang in spec.target_languages), spec.source_language
        )
        languages.add(language)
        plan.rows.append(
            adapters.ledger_row(
                recipient=f"p:{pid}", channel="partner_pack", language=language, partner_id=pid
            )
        )
    for group, group_plan in wanted.items():
        group_plan.need = needs.get(group, 0.0)
        group_plan.channels = sorted(
            (c for c in by_group[group].values() if c.people > 0 or c.cost > 0),
            key=lambda c: -c.expected_responses,
        )
        group_plan.partners = sorted({p for c in group_plan.channels for p in c.partners})
        group_plan.flyer_points = sorted({p for c in group_plan.channels for p in c.flyer_points})
        languages.update(
            group_plan.languages if any(c.channel != "email" for c in group_plan.channels) else []
        )
    plan.languages = sorted(languages)


def _reasons(spec: CampaignSpec, group: GroupPlan) -> list[str]:
    from outreach.planning.explain import group_sentences

    return group_sentences(spec, group)
