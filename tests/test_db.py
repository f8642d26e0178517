from datetime import datetime, timedelta, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from db.history import HistoryStore, ResultRecord
from db.models import Base


def add(store, task="copy", user="小王", text="轻薄羽绒服", output="保暖又轻盈"):
    return store.record(task=task, inputs={"product": text}, input_text=text,
                        results=[ResultRecord(text=output)], model_id="m", params={}, user_name=user)


def test_migration_matches_the_models_and_is_idempotent(db_url):
    store = HistoryStore(db_url)
    HistoryStore(db_url)  # second start: upgrade is a no-op
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
        assert connection.execute(text("select version_num from alembic_version")).scalar() == "0001_history"
    assert {"requests", "results"} <= set(inspect(store.engine).get_table_names())


def test_sqlite_runs_in_wal_mode(store):
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar().lower() == "wal"


def test_search_matches_input_or_output_and_filters(store):
    first = add(store)
    second = add(store, task="reply", user="小李", text="快递没到", output="抱歉让您久等")
    add(store, task="sentiment", user="小王", text="质量很差", output="negative")
    assert [r.id for r in store.search("羽绒服")] == [first]
    assert [r.id for r in store.search("久等")] == [second]  # found through the output
    assert [r.id for r in store.search("", user_name="小李")] == [second]
    assert {r.task for r in store.search("", task="sentiment")} == {"sentiment"}
    assert len(store.search("")) == 3
    assert store.search("羽绒服 久等") == []  # every term must match


def test_search_by_time_window_newest_first(store):
    ids = [add(store, text=f"商品{i}") for i in range(3)]
    now = datetime.now(timezone.utc)
    assert [r.id for r in store.search("", since=now - timedelta(minutes=1))] == ids[::-1]
    assert store.search("", until=now - timedelta(minutes=1)) == []


def test_inputs_are_stored_verbatim(store):
    hostile = "<script>alert(1)</script>'; DROP TABLE requests; -- 😀\x07"
    request_id = store.record(task="copy", inputs={"product": hostile}, input_text=hostile,
                              results=[ResultRecord(text=hostile)], model_id="m", params={}, user_name="u")
    row = store.get(request_id)
    assert row.inputs["product"] == hostile and row.results[0].text == hostile
    assert store.search("DROP TABLE")[0].id == request_id
