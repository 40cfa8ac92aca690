"""deliveries: index in the order rows are claimed

Sending claims the due pending rows of a wave `ORDER BY language, id`. With an index on
(campaign_id, wave, status) only, every claim sorted all pending rows of the wave: a
million-row wave paid for a sort of up to a million rows per batch of 2,000. With the
order in the index the database walks it and stops after `limit` rows. The new index
also serves everything the old one did (same leading columns), which is dropped.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 03:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deliveries_campaign_id_wave_status_language_id"),
            ["campaign_id", "wave", "status", "language", "id"],
            unique=False,
        )
        batch_op.drop_index(batch_op.f("ix_deliveries_campaign_id_wave_status"))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deliveries_campaign_id_wave_status"),
            ["campaign_id", "wave", "status"],
            unique=False,
        )
        batch_op.drop_index(batch_op.f("ix_deliveries_campaign_id_wave_status_language_id"))
