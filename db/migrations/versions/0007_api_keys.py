"""API keys

Revision ID: 0007_api_keys
Revises: 0006_users
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_api_keys"
down_revision = "0006_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_name", sa.String(100), sa.ForeignKey("users.name", ondelete="CASCADE"), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_api_keys_user_name", "api_keys", ["user_name"])


def downgrade() -> None:
    op.drop_table("api_keys")
