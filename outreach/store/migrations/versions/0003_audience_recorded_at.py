"""campaign_contacts: when each member was last selected by a recording

Recording a campaign again used to add new members and keep everyone else: a person taken
out of the contacts file (or out of `audience.groups`) stayed in the audience and got the
follow-ups. Each recording now stamps the members it selects, and removes members with an
older stamp (or none: rows from before this column) at the end of the same transaction.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 08:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaign_contacts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaign_contacts", schema=None) as batch_op:
        batch_op.drop_column("recorded_at")
