"""The migration chain builds the store on each database and rows round-trip."""

from __future__ import annotations

from sqlalchemy import select

from outreach.store import Campaign, Contact, Store


def test_upgrade_empty_database_and_round_trip(store: Store) -> None:
    with store.session() as session:
        session.add(Campaign(id="c1", title="T", spec={"id": "c1"}, source_language="en"))
        session.add(Contact(contact_id="x1", name="Ana", email="ana@test.invalid", language="es"))
    with store.session() as session:
        contact = session.scalars(select(Contact)).one()
        assert (contact.contact_id, contact.language, contact.consent_email) == ("x1", "es", False)
        assert session.get(Campaign, "c1").spec == {"id": "c1"}
