"""SQLAlchemy 2 models: the store's schema.

Personal data (names, emails, phone numbers) lives only in `contacts`. Every other table
refers to people by the contact's internal integer key, so erasing a person means clearing
one row and keeping a hash in `suppressions`.

The Alembic chain in `outreach/store/migrations` must produce exactly this schema; a test
compares them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, datetime: DateTime(timezone=True)}


class Campaign(Base):
    """A campaign: the validated spec as loaded, and where it stands."""

    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    spec_path: Mapped[str] = mapped_column(Text, default="")
    source_language: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active|finished
    stop_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Wave(Base):
    """One wave of a campaign: wave 1 is the launch, later waves are follow-ups."""

    __tablename__ = "waves"
    __table_args__ = (UniqueConstraint("campaign_id", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    # planned -> scheduled -> sending -> sent ; cancelled
    status: Mapped[str] = mapped_column(String(20), default="planned")
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # ids and counts only
    scheduled_for: Mapped[datetime | None] = mapped_column()
    response_window_ends: Mapped[datetime | None] = mapped_column()
    flow_run_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()


class Contact(Base):
    """A person. The only table with personal data."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_id: Mapped[str] = mapped_column(String(100), unique=True)  # the organisation's id
    name: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))  # E.164
    language: Mapped[str] = mapped_column(String(20))
    groups: Mapped[str] = mapped_column(Text, default="")  # "age:18-24;birth:outside-uk"
    consent_email: Mapped[bool] = mapped_column(Boolean, default=False)
    partner_id: Mapped[str | None] = mapped_column(String(100))
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # unknown CSV columns
    erased_at: Mapped[datetime | None] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ContactGroup(Base):
    """Membership of a contact in a group, one row per dimension:value (for SQL grouping)."""

    __tablename__ = "contact_groups"
    __table_args__ = (Index(None, "dimension", "value"),)

    contact_pk: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)


class Group(Base):
    """A group the campaign aims to hear from, with the population share it should mirror."""

    __tablename__ = "groups"

    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(String(100), primary_key=True)
    label: Mapped[str] = mapped_column(String(300), default="")
    population_share: Mapped[float] = mapped_column(Float)


class Partner(Base):
    """A partner organisation: radio station, venue, community or faith group."""

    __tablename__ = "partners"

    partner_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(50))
    languages: Mapped[str] = mapped_column(String(300), default="")  # "bn;en"
    email: Mapped[str | None] = mapped_column(String(320))
    reach: Mapped[int] = mapped_column(Integer, default=0)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CampaignContact(Base):
    """The campaign's audience: who was selected, and through which groups."""

    __tablename__ = "campaign_contacts"

    campaign_id: Mapped[str] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    contact_pk: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True
    )
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The recording run that last selected them: members an earlier run stamped leave
    # the audience when the current file no longer selects them (see `recording`).
    recorded_at: Mapped[datetime | None] = mapped_column()


class Delivery(Base):
    """The send ledger: one row per (campaign, wave, recipient, channel).

    `recipient` is `c:<contact pk>` for a person or `p:<partner_id>` for a partner, so the
    uniqueness holds for both (NULLs would not be unique in PostgreSQL or SQLite).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("campaign_id", "wave", "recipient", "channel"),
        # In the order sending claims rows (see migration 0002): no sort per batch.
        Index(None, "campaign_id", "wave", "status", "language", "id"),
        Index(None, "contact_pk"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    wave: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(String(120))
    contact_pk: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    partner_id: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(20))
    fallback_from: Mapped[str | None] = mapped_column(String(20))  # wanted language, if fell back
    # pending -> claimed -> sent | failed ; suppressed | skipped (never sent, with reason)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    provider_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    claim_id: Mapped[str | None] = mapped_column(String(64))
    claimed_at: Mapped[datetime | None] = mapped_column()
    not_before: Mapped[datetime | None] = mapped_column()  # quiet hours / minimum gap
    sent_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Material(Base):
    """A rendered artefact: flyer PDF, radio script, partner pack, email preview."""

    __tablename__ = "materials"
    __table_args__ = (
        UniqueConstraint("campaign_id", "wave", "channel", "language", "kind", "placement"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    wave: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(50))  # flyer-a4, radio-30s, pack, ...
    placement: Mapped[str] = mapped_column(String(100), default="")  # partner or point id
    path: Mapped[str] = mapped_column(Text)  # relative to the work directory
    sha256: Mapped[str] = mapped_column(String(64))
    short_code: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrackingCode(Base):
    """A short human-typable code (say "RADIO-7") standing for a signed token's payload."""

    __tablename__ = "tracking_codes"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    wave: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(30))
    language: Mapped[str] = mapped_column(String(20))
    partner_id: Mapped[str | None] = mapped_column(String(100))
    point: Mapped[str | None] = mapped_column(String(100))  # distribution point
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ResponseEvent(Base):
    """Anything a campaign hears back: delivery, open, click, scan, RSVP, attendance, bounce.

    `external_id` makes every source idempotent (SendGrid's sg_event_id, a hash of an
    imported row, the RSVP form's submission id).
    """

    __tablename__ = "response_events"
    __table_args__ = (Index(None, "campaign_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    wave: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(30))
    language: Mapped[str | None] = mapped_column(String(20))
    # delivered|open|click|scan|rsvp|attended|bounce|dropped|spamreport|unsubscribe|...
    kind: Mapped[str] = mapped_column(String(30))
    answer: Mapped[str | None] = mapped_column(String(10))  # yes|no|maybe for rsvp
    party_size: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(30))  # web|sendgrid|import|simulated|smtp
    delivery_id: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL")
    )
    contact_pk: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    partner_id: Mapped[str | None] = mapped_column(String(100))
    point: Mapped[str | None] = mapped_column(String(100))
    self_groups: Mapped[str | None] = mapped_column(Text)  # self-described "dim:value;..."
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # barriers, free text...
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class Suppression(Base):
    """Unsubscribes, bounces, complaints and erasures. Checked at send time, everywhere.

    `email_hash` (sha256 of the normalised address) keeps an erased person suppressed
    without keeping their address.
    """

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("email_hash", "reason"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    contact_pk: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    email_hash: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(30))  # unsubscribe|bounce|spamreport|erasure
    source: Mapped[str] = mapped_column(String(30))
    campaign_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TranslationCacheEntry(Base):
    """Machine translation cache: the same string is never sent to an engine twice."""

    __tablename__ = "translation_cache"

    engine: Mapped[str] = mapped_column(String(40), primary_key=True)
    source_language: Mapped[str] = mapped_column(String(20), primary_key=True)
    target_language: Mapped[str] = mapped_column(String(20), primary_key=True)
    source_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_text: Mapped[str] = mapped_column(Text)
    translated_text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
