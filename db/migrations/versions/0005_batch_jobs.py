"""batch jobs and their rows

Revision ID: 0005_batch_jobs
Revises: 0004_aspects_feedback
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_batch_jobs"
down_revision = "0004_aspects_feedback"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "batch_jobs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_name", sa.String(100), nullable=False),
        sa.Column("task", sa.String(32), nullable=False),
        sa.Column("input_name", sa.String(500), nullable=False),
        sa.Column("output_path", sa.String(1000), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("worker_pid", sa.Integer(), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_batch_jobs_created_at", "batch_jobs", ["created_at"])
    op.create_index("ix_batch_jobs_user_name", "batch_jobs", ["user_name"])
    op.create_table(
        "batch_items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("job_id", sa.String(32), sa.ForeignKey("batch_jobs.id", ondelete="CASCADE"), nullable=False),
        sa.Column("row_index", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("request_id", sa.Integer(), sa.ForeignKey("requests.id", ondelete="SET NULL"), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("job_id", "row_index", name="uq_batch_items_job_row"),
    )
    op.create_index("ix_batch_items_job_id", "batch_items", ["job_id"])
    op.create_index("ix_batch_items_status", "batch_items", ["status"])
    op.create_index("ix_batch_items_completed_at", "batch_items", ["completed_at"])


def downgrade() -> None:
    op.drop_table("batch_items")
    op.drop_table("batch_jobs")
