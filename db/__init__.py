"""The history database: SQLAlchemy 2.0 typed models, one store per concern, Alembic migrations.

Knows no model and no screen: `db.database.Database` is the one object the rest of the code holds.
"""
