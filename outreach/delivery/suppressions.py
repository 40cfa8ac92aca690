"""Suppressions: unsubscribes, hard bounces, spam reports and erasures.

A suppression is keyed by the sha256 of the normalised address (`email_hash`), so it keeps
working after a person is erased, and optionally by the contact's key. It takes effect for
every campaign at once, and delivery checks it at send time, not only at planning time.

```python
from outreach.delivery.suppressions import suppress, is_suppressed

suppress(store, reason="unsubscribe", source="web", contact_pk=42)   # True: new
suppress(store, reason="unsubscribe", source="web", contact_pk=42)   # False: already there
is_suppressed(store, contact_pk=42)                                   # True
```
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outreach.store import Store
from outreach.store.models import Contact, Suppression

REASONS = ("unsubscribe", "bounce", "spamreport", "erasure", "manual")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def email_hash(email: str) -> str:
    """sha256 hex of the trimmed, lower-cased address (what `Suppression.email_hash` holds)."""
    return hashlib.sha256(normalise_email(email).encode("utf-8")).hexdigest()


def _contact_email(session: Session, contact_pk: int) -> str | None:
    return session.scalar(select(Contact.email).where(Contact.id == contact_pk))


def suppress(
    store: Store,
    *,
    reason: str,
    source: str,
    contact_pk: int | None = None,
    email: str | None = None,
    campaign_id: str | None = None,
) -> bool:
    """Stop all email to a person, in every campaign, from now on.

    Give `contact_pk`, `email` or both. Returns True when a new suppression was recorded,
    False when the same (address, reason) was already suppressed (idempotent: webhooks and
    double clicks repeat themselves). Raises `ValueError` when neither identifies anyone.
    """
    # The usual reasons are REASONS; others (a provider's new event name) are kept as
    # given rather than lost: a person who asked to stop must never be emailed again.
    if not reason or len(reason) > 30:
        raise ValueError(f"suppression reason must be 1-30 characters, e.g. one of {REASONS}")
    with store.session() as session:
        if email is None and contact_pk is not None:
            email = _contact_email(session, contact_pk)
        if email:
            digest = email_hash(email)
        elif contact_pk is not None:
            # No address known (erased, or never had one): key on the contact instead, so
            # the unique (email_hash, reason) still makes this idempotent.
            digest = f"contact:{contact_pk}"
        else:
            raise ValueError("suppress() needs contact_pk or email")
        if contact_pk is None and email:
            contact_pk = session.scalar(
                select(Contact.id).where(Contact.email == normalise_email(email)).limit(1)
            )
        existing = session.scalar(
            select(Suppression.id).where(
                Suppression.email_hash == digest, Suppression.reason == reason
            )
        )
        if existing is not None:
            return False
    try:
        with store.session() as session:
            session.add(
                Suppression(
                    contact_pk=contact_pk,
                    email_hash=digest,
                    reason=reason,
                    source=source,
                    campaign_id=campaign_id,
                )
            )
    except IntegrityError:
        return False  # a concurrent call recorded the same suppression first
    return True


def is_suppressed(store: Store, *, contact_pk: int | None = None, email: str | None = None) -> bool:
    """True when this person (by key or address) must not receive email."""
    with store.session() as session:
        if email is None and contact_pk is not None:
            email = _contact_email(session, contact_pk)
        hashes = [email_hash(email)] if email else []
        return bool(
            suppressed_reasons(
                session, contact_pks=[contact_pk] if contact_pk else [], hashes=hashes
            )
        )


def suppressed_reasons(
    session: Session, *, contact_pks: Iterable[int] = (), hashes: Iterable[str] = ()
) -> dict[str, str]:
    """Batch lookup for the send path: `{"c:<pk>" or <hash>: reason}` for suppressed ones."""
    pks = list(contact_pks)
    digests = list(hashes) + [f"contact:{pk}" for pk in pks]
    conditions = []
    if pks:
        conditions.append(Suppression.contact_pk.in_(pks))
    if digests:
        conditions.append(Suppression.email_hash.in_(digests))
    if not conditions:
        return {}
    found: dict[str, str] = {}
    rows = session.execute(
        select(Suppression.contact_pk, Suppression.email_hash, Suppression.reason).where(
            or_(*conditions)
        )
    )
    for contact_pk, digest, reason in rows:
        if contact_pk is not None:
            found.setdefault(f"c:{contact_pk}", reason)
        found.setdefault(digest, reason)
    return found
