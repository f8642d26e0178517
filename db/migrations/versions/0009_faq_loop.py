"""knowledge loop: FAQ entries enabled / 直接回答 / hits; questions no entry answered

Revision ID: 0009_faq_loop
Revises: 0008_compliance_rules
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_faq_loop"
down_revision = "0008_compliance_rules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("faq_entries") as batch:
        batch.add_column(sa.Column("enabled", sa.Boolean(), nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("direct_answer", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("hits", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "unanswered_questions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("faq_entries.id", ondelete="SET NULL"), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("unanswered_questions")
    with op.batch_alter_table("faq_entries") as batch:
        for column in ("updated_at", "hits", "direct_answer", "enabled"):
            batch.drop_column(column)
