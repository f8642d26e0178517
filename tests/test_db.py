import pytest
from datetime import datetime, timedelta, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from db.database import Database
from db.history import ResultRecord
from db.models import Base
from db.session import MIGRATIONS_DIR, alembic_config


@pytest.fixture
def db_url(any_db_url) -> str:
    """Every test in this module runs on SQLite and on PostgreSQL."""
    return any_db_url


def add(store, task="copy", user="小王", text="轻薄羽绒服", output="保暖又轻盈"):
    return store.history.record(task=task, inputs={"product": text}, input_text=text,
                        results=[ResultRecord(text=output)], model_id="m", params={}, user_name=user)


def test_migration_matches_the_models_and_is_idempotent(db_url):
    store = Database(db_url)
    Database(db_url)  # second start: upgrade is a no-op
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert diff == []
        head = ScriptDirectory.from_config(alembic_config(store.engine)).get_current_head()
        assert head == sorted(p.stem for p in (MIGRATIONS_DIR / "versions").glob("0*.py"))[-1]
        assert connection.execute(text("select version_num from alembic_version")).scalar() == head
    assert {"requests", "results"} <= set(inspect(store.engine).get_table_names())


def test_in_memory_and_percent_urls_migrate_and_keep_their_rows(tmp_path):
    import threading

    memory = Database("sqlite:///:memory:")
    add(memory)
    found = []
    reader = threading.Thread(target=lambda: found.extend(memory.history.search("羽绒服")))
    reader.start()
    reader.join()
    assert len(found) == 1  # another thread sees the same in-memory database
    # A "%" in the URL (a password's percent-escape, or here a folder's name) is not configparser syntax.
    percent = Database(f"sqlite:///{tmp_path}/50%off/history.db")
    add(percent)
    assert len(Database(f"sqlite:///{tmp_path}/50%off/history.db").history.search("羽绒服")) == 1


def test_sqlite_runs_in_wal_mode(store):
    if store.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar().lower() == "wal"


def test_search_matches_input_or_output_and_filters(store):
    first = add(store)
    second = add(store, task="reply", user="小李", text="快递没到", output="抱歉让您久等")
    add(store, task="sentiment", user="小王", text="质量很差", output="negative")
    assert [r.id for r in store.history.search("羽绒服")] == [first]
    assert [r.id for r in store.history.search("久等")] == [second]  # found through the output
    assert [r.id for r in store.history.search("", user_name="小李")] == [second]
    assert {r.task for r in store.history.search("", task="sentiment")} == {"sentiment"}
    assert len(store.history.search("")) == 3
    assert store.history.search("羽绒服 久等") == []  # every term must match


def test_search_by_time_window_newest_first(store):
    ids = [add(store, text=f"商品{i}") for i in range(3)]
    now = datetime.now(timezone.utc)
    assert [r.id for r in store.history.search("", since=now - timedelta(minutes=1))] == ids[::-1]
    assert store.history.search("", until=now - timedelta(minutes=1)) == []


def test_inputs_are_stored_verbatim(store):
    hostile = "<script>alert(1)</script>'; DROP TABLE requests; -- 😀\x07"
    request_id = store.history.record(task="copy", inputs={"product": hostile}, input_text=hostile,
                              results=[ResultRecord(text=hostile)], model_id="m", params={}, user_name="u")
    row = store.history.get(request_id)
    assert row.inputs["product"] == hostile and row.results[0].text == hostile
    assert store.history.search("DROP TABLE")[0].id == request_id


def test_search_is_by_jieba_words_in_any_order(store):
    target = add(store, text="便携榨汁杯 USB充电", output="随时随地喝上鲜榨果汁")
    add(store, text="保温杯", output="长效保温")
    assert [r.id for r in store.history.search("榨汁杯充电")] == [target]  # no such substring, both words present
    assert [r.id for r in store.history.search("果汁")] == [target]
    assert store.history.search("榨汁杯保温") == []
    assert [r.id for r in store.history.search("100%_")] == []  # LIKE wildcards are literal


def test_upgrade_from_0001_backfills_search_text(db_url):
    from alembic import command

    from db.session import alembic_config, create_db_engine

    engine = create_db_engine(db_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001_history")
        connection.execute(text(
            "insert into requests (created_at, user_name, task, source, inputs, input_text, model_id, params, status)"
            " values ('2026-01-01 00:00:00', 'u', 'copy', 'cli', '{}', '便携榨汁杯', 'm', '{}', 'ok')"))
    store = Database(db_url)  # upgrades to head
    row = store.history.search("榨汁杯")[0]
    assert " 榨汁杯 " in row.search_text or " 榨汁 " in row.search_text


def test_brand_profiles_and_brand_filter(store):
    brand_id = store.brands.save("第一坊", tone="亲切", banned_words=["全网"], required_keywords=["手作"])
    assert store.brands.save("第一坊", tone="专业") == brand_id  # updated, not duplicated
    assert store.brands.get("第一坊").tone == "专业" and store.brands.get(brand_id).name == "第一坊"
    branded = store.history.record(task="copy", inputs={}, input_text="手作点心", results=[ResultRecord(text="好吃")],
                           model_id="m", params={}, user_name="u", brand_id=brand_id)
    add(store, text="手作点心")
    assert [r.id for r in store.history.search("点心", brand_id=brand_id)] == [branded]


def test_export_opens_in_excel_readers_with_chinese_intact(store, tmp_path):
    import pandas as pd

    from contentgen.usecases.history import export_history

    add(store, text="便携榨汁杯", output="鲜榨果汁，随时随地")
    rows = store.history.search()
    csv_bytes = export_history(rows)
    assert csv_bytes.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    (tmp_path / "h.csv").write_bytes(csv_bytes)
    (tmp_path / "h.xlsx").write_bytes(export_history(rows, "xlsx"))
    for frame in (pd.read_csv(tmp_path / "h.csv", encoding="utf-8-sig"), pd.read_excel(tmp_path / "h.xlsx")):
        assert frame.loc[0, "输入"] == "便携榨汁杯" and frame.loc[0, "输出"] == "鲜榨果汁，随时随地"
        assert frame.loc[0, "任务"] == "营销文案"
