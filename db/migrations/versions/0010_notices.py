"""notices: alerts and digests that were sent

Revision ID: 0010_notices
Revises: 0009_faq_loop
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_notices"
down_revision = "0009_faq_loop"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False, index=True),
        sa.Column("rule", sa.String(100), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("figures", sa.JSON(), nullable=False),
        sa.Column("delivered", sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notices")
