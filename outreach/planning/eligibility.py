"""Who may be emailed in the next wave, and why the others may not.

A contact of the campaign's audience is eligible for a follow-up email only when all hold:
not erased; has not answered this campaign (yes, no or maybe: we never chase people who
answered); not suppressed (unsubscribe, bounce, complaint, erasure — by contact or by
address hash, from any campaign); has an email address and consented to email; and has
not been sent anything, by any campaign, within the spec's minimum gap before the send
time (nor has a message still queued). Delivery checks consent and suppressions again at
send time; planning checks them so the plan's counts are honest.

Scale: an audience may hold a million contacts. The audience is read `CHUNK` contacts at a
time in contact-key order (keyset pages), each page's deliveries, groups and suppressions
are looked up by the database (joins and correlated subqueries, or at most `CHUNK` bound
hashes), and an eligible contact is kept as a few array slots, not an object.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from sqlalchemy import and_, exists, func, select

from outreach.planning.adapters import email_hash
from outreach.planning.observations import keyset_pages, recorded_groups, respondents_frame
from outreach.store import Store
from outreach.store.models import CampaignContact, Contact, ContactGroup, Delivery, Suppression

EXCLUSION_ORDER = ("erased", "answered", "suppressed", "no_email", "no_consent", "min_gap")


@dataclass
class Audience:
    """The campaign's audience split into eligible candidates and counted exclusions.

    Eligible contacts are kept column-wise, one slot each, in contact-key order (the order
    the seeded draw in `shuffled` permutes): the pk, an index into `group_sets` (the
    distinct sets of groups: a few, shared by everyone), an index into `language_names`
    and whether this campaign emailed them before (a repeat contact). For a million
    eligible contacts that is about 20 MB, against hundreds for an object each.
    """

    excluded: dict[str, int] = field(default_factory=dict)
    languages: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> lang -> n
    members: dict[str, int] = field(default_factory=dict)  # group -> audience members
    pks: array[int] = field(default_factory=lambda: array("q"))
    group_of: array[int] = field(default_factory=lambda: array("i"))
    language_of: array[int] = field(default_factory=lambda: array("i"))
    repeat_of: bytearray = field(default_factory=bytearray)
    group_sets: list[frozenset[str]] = field(default_factory=list)
    language_names: list[str] = field(default_factory=list)
    _set_index: dict[frozenset[str], int] = field(default_factory=dict, repr=False)
    _language_index: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def size(self) -> int:
        """The number of eligible contacts."""
        return len(self.pks)

    def add(self, pk: int, language: str, groups: frozenset[str], emailed_before: bool) -> None:
        """One more eligible contact (call in contact-key order)."""
        if groups not in self._set_index:
            self._set_index[groups] = len(self.group_sets)
            self.group_sets.append(groups)
        if language not in self._language_index:
            self._language_index[language] = len(self.language_names)
            self.language_names.append(language)
        self.pks.append(pk)
        self.group_of.append(self._set_index[groups])
        self.language_of.append(self._language_index[language])
        self.repeat_of.append(1 if emailed_before else 0)

    def _in_group(self, group: str) -> np.ndarray:
        """Per eligible slot: is the contact in `group`?"""
        sets = np.array([group in s for s in self.group_sets] or [False], dtype=bool)
        return sets[np.frombuffer(self.group_of, dtype=np.int32)] if self.size else sets[:0]

    def _repeat(self) -> np.ndarray:
        return np.frombuffer(self.repeat_of, dtype=np.uint8).astype(bool)

    def pool(self, group: str, *, repeat: bool) -> int:
        """Eligible contacts in `group` emailed before by this campaign (or never)."""
        return int(np.count_nonzero(self._in_group(group) & (self._repeat() == repeat)))

    def shuffled(self, seed: int) -> np.ndarray:
        """A fair, reproducible order of the eligible slots.

        `permutation(n)` draws the same permutation as `shuffle` of an n-item list (the
        draw over a list of contacts that this replaced), so the same seed chooses the
        same people.
        """
        return np.random.default_rng(seed).permutation(self.size)

    def draw(
        self, order: np.ndarray, group: str, *, repeat: bool, units: float, chosen: np.ndarray
    ) -> list[tuple[int, str]]:
        """The first `units` contacts in `order` of `group`, not yet `chosen` (marks them).

        Returns (pk, language) pairs in draw order; `chosen` is a bool per slot.
        """
        wanted = max(0, math.ceil(units))
        if not wanted or not self.size:
            return []
        mask = self._in_group(group)[order]
        mask &= self._repeat()[order] == repeat
        mask &= ~chosen[order]
        slots = order[np.flatnonzero(mask)[:wanted]]
        chosen[slots] = True
        return [
            (self.pks[slot], self.language_names[self.language_of[slot]]) for slot in slots.tolist()
        ]


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def email_audience(
    store: Store,
    campaign_id: str,
    *,
    send_at: datetime,
    min_gap_seconds: float,
    next_wave: int,
    answers: pd.DataFrame | None = None,
) -> Audience:
    """Split the audience (see module doc); exclusions counted under their first reason."""
    if answers is None:
        answers = respondents_frame(store, [campaign_id])
    answered = {int(pk) for pk in answers["contact_pk"].dropna()}
    threshold = send_at.timestamp() - min_gap_seconds
    # Deliveries of this very wave do not count: it is being re-planned.
    not_this_wave = ~and_(Delivery.campaign_id == campaign_id, Delivery.wave == next_wave)
    of_contact = Delivery.contact_pk == Contact.id
    queued = exists().where(of_contact, Delivery.status.in_(("pending", "claimed")), not_this_wave)
    last_sent = (
        select(func.max(Delivery.sent_at))
        .where(of_contact, Delivery.sent_at.is_not(None), not_this_wave)
        .scalar_subquery()
    )
    emailed = exists().where(
        of_contact,
        Delivery.campaign_id == campaign_id,
        Delivery.wave != next_wave,
        Delivery.channel == "email",
        Delivery.status == "sent",
        Delivery.sent_at.is_not(None),
    )
    people = (
        select(
            CampaignContact.contact_pk,
            Contact.email,
            Contact.language,
            Contact.consent_email,
            Contact.erased_at,
            queued,
            last_sent,
            emailed,
        )
        .join(Contact, Contact.id == CampaignContact.contact_pk)
        .where(CampaignContact.campaign_id == campaign_id)
    )
    in_audience = and_(
        CampaignContact.contact_pk == ContactGroup.contact_pk,
        CampaignContact.campaign_id == campaign_id,
    )
    audience = Audience(excluded=dict.fromkeys(EXCLUSION_ORDER, 0))
    tally: dict[tuple[frozenset[str], str], int] = {}
    with store.session() as session:
        # Suppressed by contact: few people, read once (suppressions.contact_pk has no
        # index, so a lookup per page would scan the table each time).
        suppressed_pks = set(
            session.scalars(
                select(Suppression.contact_pk)
                .join(CampaignContact, CampaignContact.contact_pk == Suppression.contact_pk)
                .where(CampaignContact.campaign_id == campaign_id)
                .distinct()
            )
        )
        for page in keyset_pages(session, people, CampaignContact.contact_pk):
            groups_of = recorded_groups(
                session.connection()
                .execute(
                    select(ContactGroup.contact_pk, ContactGroup.dimension, ContactGroup.value)
                    .join(CampaignContact, in_audience)
                    .where(ContactGroup.contact_pk.between(page[0][0], page[-1][0]))
                )
                .all()
            )
            # Only addresses that reach the suppression check are hashed, as before.
            hashes = {
                row[0]: email_hash(row[1])
                for row in page
                if row[4] is None and row[0] not in answered and row[0] not in suppressed_pks
                if row[1]
            }
            suppressed_hashes = (
                set(
                    session.scalars(
                        select(Suppression.email_hash)
                        .where(Suppression.email_hash.in_(sorted(set(hashes.values()))))
                        .distinct()
                    )
                )
                if hashes
                else set()
            )
            for pk, email, language, consent, erased_at, pending, sent_at, before in page:
                groups = frozenset(groups_of.get(pk, ()))
                if language:
                    groups |= {f"language:{language}"}
                # Members are tallied per (group set, language): a few keys, expanded below.
                tally[(groups, language)] = tally.get((groups, language), 0) + 1
                sent = _aware(sent_at)
                if erased_at is not None:
                    reason = "erased"
                elif pk in answered:
                    reason = "answered"
                elif pk in suppressed_pks or (email and hashes[pk] in suppressed_hashes):
                    reason = "suppressed"
                elif not email:
                    reason = "no_email"
                elif not consent:
                    reason = "no_consent"
                elif pending or (sent is not None and sent.timestamp() > threshold):
                    reason = "min_gap"
                else:
                    audience.add(pk, language, groups, bool(before))
                    continue
                audience.excluded[reason] += 1
    for (groups, language), n in tally.items():
        for group in groups:
            audience.members[group] = audience.members.get(group, 0) + n
            by_language = audience.languages.setdefault(group, {})
            by_language[language] = by_language.get(language, 0) + n
    return audience
