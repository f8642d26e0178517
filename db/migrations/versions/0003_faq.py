"""support desk knowledge base

Revision ID: 0003_faq
Revises: 0002_brands_search
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_faq"
down_revision = "0002_brands_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "faq_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("category", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("faq_entries")
