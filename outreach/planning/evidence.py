"""Evidence: a Beta-Binomial posterior of the response rate per (group, channel).

Pooled across every wave of every campaign in the store (groups are compared by their
`dimension:value` id, so an earlier campaign's evidence about `age:65-plus` counts).

- **successes** — respondents who said yes or maybe, attributed to the channel they first
  answered through, counted in each of their groups (contact's groups, or the groups a
  radio/flyer respondent described themselves in; "not stated" counts nowhere).
- **trials** — people reached by that channel in that group:
  - *email*: email deliveries marked `sent` to contacts in the group;
  - *radio / flyer / partner_pack*: nobody knows who heard a radio spot or picked up a
    flyer, so trials are an **exposure estimate**: for every partner pack sent, the
    partner's `reach` (from partners.csv) times the group's share of that partner's
    audience. A partner's channel is its kind: `radio` stations air the radio script,
    `venue`s display the flyers, every other kind (faith, community groups) passes the
    pack on (`partner_pack`). The group's share of a partner's audience is its share among
    the contacts linked to that partner (when at least `MIN_LINKED` are), else: for a
    `language:X` group, 1/(number of the partner's languages) if the partner works in X
    and 0 if not; for other groups, the group's population share. Flyer batches left at
    a distribution point (no reach figure) count `FLYER_BATCH_PEOPLE` people each, times
    the group's population share.
  These estimates are rough; they only need to rank channels, and the posterior
  interval shows how little is known.

The prior for (group, channel) is weakly informative and partially pooled: centred on the
channel's rate over all groups, worth ten people (`pooled_prior`). Exposure estimates are
discounted to at most `EXPOSURE_EVIDENCE_CAP` people of evidence (`exposure_weight`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import pandas as pd
from sqlalchemy import func, select

from outreach.planning.beta import PRIOR_A, PRIOR_B, Posterior
from outreach.planning.observations import (
    POSITIVE,
    keyset_pages,
    recorded_groups,
    respondents_frame,
)
from outreach.store import Store
from outreach.store.models import Contact, ContactGroup, Delivery, Material, Partner

FLYER_BATCH_PEOPLE = 100.0
EXPOSURE_EVIDENCE_CAP = 500.0  # an exposure estimate counts as at most this many people
PRIOR_STRENGTH = PRIOR_A + PRIOR_B  # people's worth of evidence in a prior
MIN_LINKED = 5
PARTNER_CHANNELS = ("radio", "flyer", "partner_pack")


def partner_channel(kind: str) -> str:
    """The channel a partner of this kind carries (see module doc)."""
    kind = (kind or "").strip().lower()
    if kind == "radio":
        return "radio"
    if kind == "venue":
        return "flyer"
    return "partner_pack"


@dataclass(frozen=True)
class PartnerInfo:
    partner_id: str
    kind: str
    channel: str
    languages: tuple[str, ...]
    reach: int
    has_email: bool


def partners(store: Store) -> dict[str, PartnerInfo]:
    with store.session() as session:
        rows = session.execute(
            select(
                Partner.partner_id, Partner.kind, Partner.languages, Partner.reach, Partner.email
            )
        ).all()
    return {
        pid: PartnerInfo(
            partner_id=pid,
            kind=kind,
            channel=partner_channel(kind),
            languages=tuple(part.strip() for part in (languages or "").split(";") if part.strip()),
            reach=int(reach or 0),
            has_email=bool(email),
        )
        for pid, kind, languages, reach, email in rows
    }


def audience_shares(
    store: Store,
    population_share: Mapping[str, float],
    known_partners: Mapping[str, PartnerInfo],
) -> dict[str, dict[str, float]]:
    """`{partner_id: {group: share of the partner's audience}}` (see module doc)."""
    # Linked contacts are read a page at a time and only counted: per partner, how many
    # are linked and how many of them are in each group (memory grows with partners and
    # groups, not contacts).
    linked_to = Contact.partner_id.is_not(None)
    linked = select(Contact.id, Contact.partner_id, Contact.language).where(linked_to)
    counted: dict[str, int] = {}
    in_group: dict[str, dict[str, int]] = {}
    with store.session() as session:
        for page in keyset_pages(session, linked, Contact.id):
            groups_of = recorded_groups(
                session.connection()
                .execute(
                    select(ContactGroup.contact_pk, ContactGroup.dimension, ContactGroup.value)
                    .join(Contact, Contact.id == ContactGroup.contact_pk)
                    .where(linked_to, ContactGroup.contact_pk.between(page[0][0], page[-1][0]))
                )
                .all()
            )
            for pk, pid, language in page:
                counted[pid] = counted.get(pid, 0) + 1
                groups = groups_of.get(pk, set())
                if language:
                    groups.add(f"language:{language}")
                by_group = in_group.setdefault(pid, {})
                for group in groups:
                    by_group[group] = by_group.get(group, 0) + 1
    shares: dict[str, dict[str, float]] = {}
    for pid, info in known_partners.items():
        members = counted.get(pid, 0)
        row: dict[str, float] = {}
        for group, share in population_share.items():
            if members >= MIN_LINKED:
                row[group] = in_group[pid].get(group, 0) / members
            elif group.startswith("language:"):
                language = group.split(":", 1)[1]
                langs = info.languages
                row[group] = (1.0 / len(langs)) if language in langs else 0.0
            else:
                row[group] = share
        shares[pid] = row
    return shares


def _email_trials(store: Store, groups: Iterable[str]) -> dict[str, float]:
    wanted = set(groups)
    counts: dict[str, float] = {}
    with store.session() as session:
        for dimension, value, n in session.execute(
            select(ContactGroup.dimension, ContactGroup.value, func.count())
            .join(Delivery, Delivery.contact_pk == ContactGroup.contact_pk)
            .where(Delivery.channel == "email", Delivery.status == "sent")
            .group_by(ContactGroup.dimension, ContactGroup.value)
        ):
            counts[f"{dimension}:{value}"] = float(n)
        for language, n in session.execute(
            select(Contact.language, func.count())
            .join(Delivery, Delivery.contact_pk == Contact.id)
            .where(Delivery.channel == "email", Delivery.status == "sent")
            .group_by(Contact.language)
        ):
            key = f"language:{language}"
            # Same people whether recorded as a group row or only as the contact's language.
            counts[key] = max(counts.get(key, 0.0), float(n))
    return {g: n for g, n in counts.items() if g in wanted}


def _partner_trials(
    store: Store,
    population_share: Mapping[str, float],
    known_partners: Mapping[str, PartnerInfo],
    shares: Mapping[str, Mapping[str, float]],
) -> dict[tuple[str, str], float]:
    exposure: dict[tuple[str, str], float] = {}
    with store.session() as session:
        packs = session.execute(
            select(Delivery.partner_id, func.count())
            .where(
                Delivery.channel == "partner_pack",
                Delivery.status == "sent",
                Delivery.partner_id.is_not(None),
            )
            .group_by(Delivery.partner_id)
        ).all()
        batches = session.execute(
            select(Material.campaign_id, Material.wave, Material.placement)
            .where(Material.channel == "flyer", Material.placement != "")
            .distinct()
        ).all()
    for pid, n in packs:
        info = known_partners.get(pid)
        if info is None:
            continue
        for group in population_share:
            people = n * info.reach * shares.get(pid, {}).get(group, 0.0)
            key = (group, info.channel)
            exposure[key] = exposure.get(key, 0.0) + people
    point_batches = sum(1 for _c, _w, placement in batches if placement not in known_partners)
    if point_batches:
        for group, share in population_share.items():
            key = (group, "flyer")
            exposure[key] = exposure.get(key, 0.0) + point_batches * FLYER_BATCH_PEOPLE * share
    return exposure


def gather_evidence(
    store: Store,
    population_share: Mapping[str, float],
    channels: Iterable[str],
    *,
    people: pd.DataFrame | None = None,
) -> dict[tuple[str, str], Posterior]:
    """Posterior per (group, channel) for the given groups and channels, all campaigns."""
    channels = list(channels)
    known = partners(store)
    shares = audience_shares(store, population_share, known)
    successes: dict[tuple[str, str], float] = {}
    if people is None:
        people = respondents_frame(store)
    people = people[people["answer"].isin(POSITIVE)]
    for groups, channel in zip(people["groups"], people["channel"], strict=True):
        for group in groups:
            if group in population_share:
                successes[(group, channel)] = successes.get((group, channel), 0.0) + 1
    trials: dict[tuple[str, str], float] = {}
    for group, n in _email_trials(store, population_share).items():
        trials[(group, "email")] = n
    trials.update(_partner_trials(store, population_share, known, shares))
    result: dict[tuple[str, str], Posterior] = {}
    for channel in channels:
        pairs = {
            group: (
                successes.get((group, channel), 0.0),
                # A respondent always counts as reached, even when exposure is estimated low.
                max(trials.get((group, channel), 0.0), successes.get((group, channel), 0.0)),
            )
            for group in population_share
        }
        weights = {
            group: 1.0 if channel == "email" else exposure_weight(t)
            for group, (_s, t) in pairs.items()
        }
        prior_a, prior_b = pooled_prior(
            ((s * weights[g], t * weights[g]) for g, (s, t) in pairs.items()),
            cap=None if channel == "email" else EXPOSURE_EVIDENCE_CAP,
        )
        for group, (s, t) in pairs.items():
            result[(group, channel)] = Posterior(s, t, prior_a, prior_b, weights[group])
    return result


def exposure_weight(trials: float) -> float:
    """How much each estimated person counts: all of them, up to `EXPOSURE_EVIDENCE_CAP`.

    Reach figures are rough (a station's "18,000 listeners"), so an exposure estimate
    keeps its rate (successes / trials) but is worth at most 500 people of evidence:
    zero call-ins from 50,000 estimated listeners does not make radio look hopeless
    forever, while a real signal still moves the estimate.
    """
    return 1.0 if trials <= EXPOSURE_EVIDENCE_CAP else EXPOSURE_EVIDENCE_CAP / trials


def pooled_prior(
    evidence: Iterable[tuple[float, float]], *, cap: float | None = None
) -> tuple[float, float]:
    """A channel's prior for each group: centred on the channel's rate over all groups.

    Partial pooling: a group that never got a channel starts from what that channel did
    for everyone else (worth `PRIOR_STRENGTH` people), not from a generic guess; a
    channel nobody has tried starts from the default `Beta(0.5, 9.5)` (mean 5%). `cap`
    limits the pooled evidence to that many people (for exposure estimates).
    """
    s_total = t_total = 0.0
    for s, t in evidence:
        s_total += s
        t_total += t
    if cap is not None and t_total > cap:
        s_total, t_total = s_total * cap / t_total, cap
    mean = (PRIOR_A + s_total) / (PRIOR_A + PRIOR_B + t_total)
    return mean * PRIOR_STRENGTH, (1.0 - mean) * PRIOR_STRENGTH
