"""brand profiles; jieba search text on requests

Revision ID: 0002_brands_search
Revises: 0001_history
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_brands_search"
down_revision = "0001_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "brands",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("tone", sa.String(200), nullable=False),
        sa.Column("audience", sa.String(200), nullable=False),
        sa.Column("required_keywords", sa.JSON(), nullable=False),
        sa.Column("banned_words", sa.JSON(), nullable=False),
        sa.Column("example_copy", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("brand_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("search_text", sa.Text(), nullable=False, server_default=""))
        batch.create_foreign_key("fk_requests_brand_id", "brands", ["brand_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_requests_brand_id", ["brand_id"])
    # Backfill: rows written before this revision become searchable by word too.
    from db.search import search_text

    connection = op.get_bind()
    requests = sa.table("requests", sa.column("id", sa.Integer), sa.column("input_text", sa.Text),
                        sa.column("search_text", sa.Text))
    results = sa.table("results", sa.column("request_id", sa.Integer), sa.column("text", sa.Text))
    outputs: dict[int, list[str]] = {}
    for request_id, text in connection.execute(sa.select(results.c.request_id, results.c.text)):
        outputs.setdefault(request_id, []).append(text)
    for request_id, input_text in connection.execute(sa.select(requests.c.id, requests.c.input_text)).all():
        connection.execute(requests.update().where(requests.c.id == request_id).values(
            search_text=search_text([input_text, *outputs.get(request_id, [])])))


def downgrade() -> None:
    with op.batch_alter_table("requests") as batch:
        batch.drop_index("ix_requests_brand_id")
        batch.drop_constraint("fk_requests_brand_id", type_="foreignkey")
        batch.drop_column("search_text")
        batch.drop_column("brand_id")
    op.drop_table("brands")
