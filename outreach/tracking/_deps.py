"""Thin adapters over the other areas tracking relies on (built in parallel).

- C's `outreach.channels.codes.resolve_code` (short codes such as `RADIO-7K`);
- D's `outreach.delivery.suppressions.suppress` (unsubscribes, bounces, complaints);
- B's `outreach.i18n.catalog.get_translations` and `outreach.i18n.languages.language_info`.

When the real module is importable it is the only source; the fallbacks below exist so
tracking keeps working (and its tests keep running) while a neighbour's module is not
there yet. They follow the published interfaces exactly.
"""

from __future__ import annotations

import gettext
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from outreach.store import Store
from outreach.store.models import Contact, Suppression
from outreach.tracking.tokens import TokenPayload


@dataclass(frozen=True)
class _LanguageFallback:
    code: str
    name: str
    native_name: str
    direction: str
    font_family: str
    espeak_voice: str | None = None
    spaced: bool = True


# Scripts written right to left, for the fallback only (B's languages.csv is the truth).
_RTL = {"ar", "ur", "fa", "he", "ps", "yi", "dv", "sd", "ug", "ckb"}


def resolve_code(store: Store, code: str) -> TokenPayload | None:
    """C's `resolve_code`: what a short code stands for, or None."""
    from outreach.channels.codes import resolve_code as _resolve

    return _resolve(store, code)


_PASSTHROUGH = gettext.NullTranslations()  # one object: the web app caches by identity


def get_translations(lang: str, campaign_id: str | None = None) -> gettext.NullTranslations:
    """B's translations (template messages + campaign strings); English passthrough until then."""
    try:
        from outreach.i18n.catalog import get_translations as _get
    except ImportError:  # pragma: no cover - only while i18n is being built
        return _PASSTHROUGH
    try:
        return _get(lang, campaign_id)
    except (FileNotFoundError, KeyError, LookupError):
        return _PASSTHROUGH


def language_info(code: str) -> Any:
    """B's `LanguageInfo`; an unknown code gets a left-to-right default instead of an error."""
    try:
        from outreach.i18n.languages import language_info as _info
    except ImportError:  # pragma: no cover - only while i18n is being built
        _info = None
    if _info is not None:
        try:
            return _info(code)
        except KeyError:
            pass
    direction = "rtl" if code.split("-")[0] in _RTL else "ltr"
    return _LanguageFallback(code, code, code, direction, "Noto Sans")


def _email_hash(email: str) -> str:
    try:
        from outreach.delivery.suppressions import email_hash
    except ImportError:  # pragma: no cover - only while delivery is being built
        return hashlib.sha256(email.strip().lower().encode()).hexdigest()
    return email_hash(email)


def suppress(
    store: Store,
    *,
    reason: str,
    source: str,
    contact_pk: int | None = None,
    email: str | None = None,
    campaign_id: str | None = None,
) -> bool:
    """D's `suppress` (idempotent, for every campaign at once); True if it was new."""
    try:
        from outreach.delivery.suppressions import suppress as _suppress
    except ImportError:  # pragma: no cover - only while delivery is being built
        _suppress = None
    if _suppress is not None:
        return bool(
            _suppress(
                store,
                reason=reason,
                source=source,
                contact_pk=contact_pk,
                email=email,
                campaign_id=campaign_id,
            )
        )
    with store.session() as session:
        if email is None and contact_pk is not None:
            email = session.scalar(select(Contact.email).where(Contact.id == contact_pk))
        if not email:
            return False
        digest = _email_hash(email)
        exists = session.scalar(
            select(Suppression.id).where(
                Suppression.email_hash == digest, Suppression.reason == reason
            )
        )
        if exists:
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
        return False
    return True
