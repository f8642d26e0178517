"""compliance rules edited by an admin; brand industry

Revision ID: 0008_compliance_rules
Revises: 0007_api_keys
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_compliance_rules"
down_revision = "0007_api_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compliance_rules",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("term", sa.String(200), nullable=False),
        sa.Column("match", sa.String(16), nullable=False),
        sa.Column("category", sa.String(50), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("suggestion", sa.String(200), nullable=False),
        sa.Column("industries", sa.String(200), nullable=False),
        sa.Column("platforms", sa.String(200), nullable=False),
        sa.Column("example", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("term", "industries"),
    )
    with op.batch_alter_table("brands") as batch:
        batch.add_column(sa.Column("industry", sa.String(20), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("brands") as batch:
        batch.drop_column("industry")
    op.drop_table("compliance_rules")
