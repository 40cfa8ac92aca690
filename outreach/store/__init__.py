"""The store: SQLAlchemy models, sessions and the Alembic migration chain."""

from __future__ import annotations

from outreach.store.db import Store, normalise_url
from outreach.store.models import (
    Base,
    Campaign,
    CampaignContact,
    Contact,
    ContactGroup,
    Delivery,
    Group,
    Material,
    Partner,
    ResponseEvent,
    Suppression,
    TrackingCode,
    TranslationCacheEntry,
    Wave,
)

__all__ = [
    "Base",
    "Campaign",
    "CampaignContact",
    "Contact",
    "ContactGroup",
    "Delivery",
    "Group",
    "Material",
    "Partner",
    "ResponseEvent",
    "Store",
    "Suppression",
    "TrackingCode",
    "TranslationCacheEntry",
    "Wave",
    "normalise_url",
]
