"""Who may be emailed in the next wave, and why the others may not.

A contact of the campaign's audience is eligible for a follow-up email only when all hold:
not erased; has not answered this campaign (yes, no or maybe: we never chase people who
answered); not suppressed (unsubscribe, bounce, complaint, erasure — by contact or by
address hash, from any campaign); has an email address and consented to email; and has
not been sent anything, by any campaign, within the spec's minimum gap before the send
time (nor has a message still queued). Delivery checks consent and suppressions again at
send time; planning checks them so the plan's counts are honest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import or_, select

from outreach.planning.adapters import email_hash
from outreach.planning.observations import contact_groups, respondents_frame
from outreach.store import Store
from outreach.store.models import CampaignContact, Contact, Delivery, Suppression

EXCLUSION_ORDER = ("erased", "answered", "suppressed", "no_email", "no_consent", "min_gap")


@dataclass(frozen=True)
class Candidate:
    contact_pk: int
    language: str
    groups: frozenset[str]
    emailed_before: bool  # this campaign already emailed them (a repeat contact)


@dataclass
class Audience:
    """The campaign's audience split into eligible candidates and counted exclusions."""

    eligible: dict[int, Candidate] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)
    languages: dict[str, dict[str, int]] = field(default_factory=dict)  # group -> lang -> n
    members: dict[str, int] = field(default_factory=dict)  # group -> audience members


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        from datetime import UTC

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
    with store.session() as session:
        people = session.execute(
            select(
                Contact.id,
                Contact.email,
                Contact.language,
                Contact.consent_email,
                Contact.erased_at,
            )
            .join(CampaignContact, CampaignContact.contact_pk == Contact.id)
            .where(CampaignContact.campaign_id == campaign_id)
        ).all()
        pks = [row[0] for row in people]
        suppressed_pks: set[int] = set()
        hashes: set[str] = set()
        for pk, digest in session.execute(select(Suppression.contact_pk, Suppression.email_hash)):
            if pk is not None:
                suppressed_pks.add(pk)
            hashes.add(digest)
        recent: set[int] = set()
        emailed: set[int] = set()
        threshold = send_at.timestamp() - min_gap_seconds
        for pk, status, sent_at, campaign, wave, channel in session.execute(
            select(
                Delivery.contact_pk,
                Delivery.status,
                Delivery.sent_at,
                Delivery.campaign_id,
                Delivery.wave,
                Delivery.channel,
            ).where(
                Delivery.contact_pk.is_not(None),
                or_(Delivery.status.in_(("pending", "claimed")), Delivery.sent_at.is_not(None)),
            )
        ):
            if campaign == campaign_id and wave == next_wave:
                continue  # this very wave, being re-planned
            sent = _aware(sent_at)
            if status in ("pending", "claimed") or (sent and sent.timestamp() > threshold):
                recent.add(pk)
            if campaign == campaign_id and channel == "email" and status == "sent":
                emailed.add(pk)
    if answers is None:
        answers = respondents_frame(store, [campaign_id])
    answered = {int(pk) for pk in answers["contact_pk"].dropna()}
    groups_of = contact_groups(store, pks) if pks else {}
    audience = Audience(excluded=dict.fromkeys(EXCLUSION_ORDER, 0))
    for pk, email, language, consent, erased_at in people:
        groups = frozenset(groups_of.get(pk, set()))
        for group in groups:
            audience.members[group] = audience.members.get(group, 0) + 1
            by_language = audience.languages.setdefault(group, {})
            by_language[language] = by_language.get(language, 0) + 1
        if erased_at is not None:
            reason = "erased"
        elif pk in answered:
            reason = "answered"
        elif pk in suppressed_pks or (email and email_hash(email) in hashes):
            reason = "suppressed"
        elif not email:
            reason = "no_email"
        elif not consent:
            reason = "no_consent"
        elif pk in recent:
            reason = "min_gap"
        else:
            audience.eligible[pk] = Candidate(pk, language, groups, pk in emailed)
            continue
        audience.excluded[reason] += 1
    return audience
