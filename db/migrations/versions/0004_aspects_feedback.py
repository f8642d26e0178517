"""aspect sentiment, channels, feedback on results

Revision ID: 0004_aspects_feedback
Revises: 0003_faq
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_aspects_feedback"
down_revision = "0003_faq"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("channel", sa.String(100), nullable=False, server_default=""))
        batch.create_index("ix_requests_channel", ["channel"])
    with op.batch_alter_table("results") as batch:
        batch.add_column(sa.Column("aspects", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("rating", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("edited_text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("results") as batch:
        for column in ("edited_at", "edited_text", "rating", "aspects"):
            batch.drop_column(column)
    with op.batch_alter_table("requests") as batch:
        batch.drop_index("ix_requests_channel")
        batch.drop_column("channel")
