"""Batch jobs on the tiny model: files in, every row once, resumable after kill -9."""

from __future__ import annotations

import dataclasses
import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime

import pandas as pd
import pytest
from sqlalchemy import func, select

from contentgen.usecases.batch import create_job, parse_columns, resolve_mapping, run_job
from contentgen.cli import main
from contentgen.config import load_settings
from contentgen.runtime import build_engine
from contentgen.usecases.service import ContentService
from contentgen.errors import UserFacingError
from db.batches import BatchItemRef, BatchStore, ItemAlreadyDone
from db.database import Database
from db.history import ResultRecord
from db.models import Request

PRODUCTS = pd.DataFrame({
    "编号": ["A001", "A002", "A003", "A004", "A005"],
    "商品名": ["便携榨汁杯", "", "真丝睡衣", "儿童保温杯", "蓝牙耳机"],
    "卖点": ["USB充电，一键清洗", "", "桑蚕丝，透气亲肤", "316不锈钢，12小时保温", "降噪" * 1500],
    "属性": ["类型#榨汁杯", "", "材质#真丝", "容量#500ml", "类型#耳机"],
})


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def requests_in(store, source="batch"):
    with store.sessions() as session:
        return session.scalar(select(func.count()).select_from(Request).where(Request.source == source))


def test_gbk_csv_of_products_end_to_end(app_env, capsys, tmp_path, store):
    source = tmp_path / "商品.csv"
    source.write_bytes(PRODUCTS.to_csv(index=False).encode("gbk"))
    out = tmp_path / "文案.csv"
    code, stdout, err = run(capsys, "batch", str(source), "--task", "copy", "--out", str(out),
                            "--length", "短", "--columns", "product=商品名,points=卖点,attributes=属性",
                            "--no-progress")
    assert code == 0, err
    job_id = stdout.splitlines()[0].strip()
    assert len(job_id) == 12
    # Bad rows are reported with their spreadsheet row numbers (header = row 1) and skipped.
    assert "第 3 行已跳过" in err and "请至少填写" in err
    assert "第 6 行已跳过" in err and "超过上限" in err

    result = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(result.columns[:4]) == ["编号", "商品名", "卖点", "属性"]
    assert {"文案", "可直接发布", "检查提示", "标题", "正文", "处理状态", "历史记录编号"} <= set(result.columns)
    assert result["编号"].tolist() == ["A001", "A002", "A003", "A004", "A005"]  # input order
    assert result["商品名"].tolist()[0] == "便携榨汁杯"
    done = result[result["处理状态"] == "完成"]
    assert done["编号"].tolist() == ["A001", "A003", "A004"]
    assert all(text.strip() for text in done["文案"])
    assert result.loc[1, "处理状态"].startswith("已跳过")
    assert requests_in(store) == 3
    history = store.history.get(int(done["历史记录编号"].iloc[0]))
    assert history.task == "copy" and history.inputs["product"] == "便携榨汁杯"


def test_xlsx_reviews_keep_types_and_report_a_date_cell(app_env, capsys, tmp_path, store):
    frame = pd.DataFrame({
        "评论": ["物流很快，包装完好", "质量太差了，用一次就坏", datetime(2024, 5, 1), "价格实惠，客服态度好"],
        "来源": ["淘宝", "京东", "淘宝", "京东"],
        "评分": [5, 1, 3, 4],
    })
    source = tmp_path / "评论.xlsx"
    frame.to_excel(source, index=False)
    out = tmp_path / "评论_结果.xlsx"
    code, stdout, err = run(capsys, "batch", str(source), "--task", "sentiment", "--out", str(out), "--no-progress")
    assert code == 0, err
    assert "第 4 行已跳过" in err and "应为文字" in err
    result = pd.read_excel(out, dtype=object)
    assert result.columns.tolist()[:3] == ["评论", "来源", "评分"]
    assert result["评论"].tolist()[0] == "物流很快，包装完好"
    assert result["评分"].tolist() == [5, 1, 3, 4]
    labels = result["情感"].tolist()
    assert all(label in {"正面", "中性", "负面"} for i, label in enumerate(labels) if i != 2)
    assert requests_in(store) == 3
    with store.sessions() as session:
        channels = Counter(session.scalars(select(Request.channel).where(Request.source == "batch")))
    assert channels == {"淘宝": 1, "京东": 2}


def test_missing_column_is_a_clear_error(app_env, capsys, tmp_path):
    source = tmp_path / "x.csv"
    source.write_text("货号,价格\n1,2\n", encoding="utf-8")
    code, _, err = run(capsys, "batch", str(source), "--task", "copy", "--no-progress")
    assert code == 2 and "找不到" in err and "--columns" in err
    with pytest.raises(UserFacingError, match="格式不对"):
        parse_columns("product")
    with pytest.raises(UserFacingError, match="没有“名字”列"):
        resolve_mapping("copy", ["货号"], {"product": "名字"})


def test_a_row_is_recorded_once_even_if_two_workers_finish_it(any_store):
    store = any_store
    batches = BatchStore(store)
    job = create_job(batches, "评论\n不错\n".encode(), "r.csv", "sentiment", user_name="u")
    ref = BatchItemRef(job.job_id, 0, {"情感": "正面"})
    record = dict(task="sentiment", inputs={"text": "不错"}, input_text="不错", model_id="m", params={},
                  user_name="u", results=[ResultRecord(text="positive")])
    store.history.record(**record, also=ref.mark_done)
    with pytest.raises(ItemAlreadyDone):
        store.history.record(**record, also=ref.mark_done)
    with store.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Request)) == 1


def test_killed_worker_resumes_without_lost_or_duplicated_rows(app_env, tmp_path, store, tiny_model_dir):
    rows = pd.DataFrame({"编号": [f"S{i:03d}" for i in range(24)],
                         "商品名": [f"测试商品{i}号" for i in range(24)],
                         "卖点": ["轻便，耐用"] * 24})
    source = tmp_path / "products.csv"
    rows.to_csv(source, index=False, encoding="utf-8-sig")
    out = tmp_path / "out.csv"
    worker = subprocess.Popen(
        [sys.executable, "-m", "contentgen.cli", "batch", str(source), "--task", "copy", "--out", str(out),
         "--length", "短", "--chunk-size", "2", "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=dict(os.environ),
    )
    job_id = worker.stdout.readline().decode().strip()
    batches = BatchStore(store)
    deadline = time.monotonic() + 240
    while batches.progress(job_id).done < 4:
        assert worker.poll() is None, "worker ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    killed_at = batches.progress(job_id)
    assert 4 <= killed_at.done < 24, killed_at
    assert batches.job(job_id).status == "running"  # as the dead worker left it

    service = ContentService(build_engine(load_settings().model), store, user_name="u", source="batch")
    job = run_job(service, batches, job_id, progress=False)
    assert job.status == "done"
    items = batches.items(job_id)
    assert [i.row_index for i in items] == list(range(24))
    assert all(i.status == "done" for i in items)
    request_ids = [i.request_id for i in items]
    assert len(set(request_ids)) == 24
    assert requests_in(store) == 24  # no duplicate history rows from the killed chunk
    result = pd.read_csv(out, encoding="utf-8-sig", dtype=str)
    assert result["编号"].tolist() == rows["编号"].tolist()
    assert (result["处理状态"] == "完成").all()


def test_resume_of_unknown_job_is_a_clear_error(app_env, capsys):
    code, _, err = run(capsys, "batch", "--resume", "nosuchjob")
    assert code == 2 and "找不到批量任务" in err


def test_bad_rows_do_not_stop_a_job_from_bytes(service, store):
    batches = BatchStore(store)
    data = io.BytesIO()
    pd.DataFrame({"顾客消息": ["快递什么时候到？", None, "我要退货"]}).to_excel(data, index=False)
    job = create_job(batches, data.getvalue(), "msgs.xlsx", "reply", user_name="测试员")
    assert job.problems.keys() == {1}
    run_job(service, batches, job.job_id, progress=False)
    statuses = {i.row_index: i.status for i in batches.items(job.job_id)}
    assert statuses == {0: "done", 1: "skipped", 2: "done"}
    replies = [i.output["回复"] for i in batches.items(job.job_id, status="done")]
    assert all(isinstance(r, str) for r in replies)


def test_xlsx_of_products_end_to_end(app_env, capsys, tmp_path, store):
    source = tmp_path / "商品.xlsx"
    PRODUCTS.to_excel(source, index=False)
    out = tmp_path / "文案.xlsx"
    code, stdout, err = run(capsys, "batch", str(source), "--task", "copy", "--out", str(out), "--length", "短",
                            "--platform", "小红书", "--no-progress")
    assert code == 0, err
    result = pd.read_excel(out, dtype=str, keep_default_na=False)
    assert result["编号"].tolist() == PRODUCTS["编号"].tolist()
    assert (result["处理状态"] == "完成").sum() == 3 and "第 3 行已跳过" in err
    record = store.history.get(int(result["历史记录编号"].iloc[0]))
    assert record.inputs["platform"] == "小红书" and record.source == "batch"


def _jobs_with_fake_workers(store, tmp_path, monkeypatch, **caps):
    """BatchJobs whose worker processes are this test process (alive, counted, never run)."""
    from contentgen import processes
    from contentgen.usecases.batch import BatchJobs
    from contentgen.config import ModelConfig, Settings, BatchConfig

    started = []

    class FakeProcess:
        pid = os.getpid()

    def fake_start(settings, job, *, log_path=None):  # noqa: ANN001, ANN202
        started.append(job["job_id"])
        return FakeProcess()

    monkeypatch.setattr(processes, "start_worker", fake_start)
    settings = Settings(model=ModelConfig(cache_dir=tmp_path), batch=BatchConfig(**caps))
    return BatchJobs(settings, store), started


def test_one_worker_per_job_however_often_it_is_started(store, tmp_path, monkeypatch):
    import threading

    jobs, started = _jobs_with_fake_workers(store, tmp_path, monkeypatch, max_workers=4, per_user=4)
    job = jobs.create("评论\n不错\n很差\n".encode(), "r.csv", "sentiment", user_name="u")
    threads = [threading.Thread(target=jobs.resume, args=(job.job_id,)) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert started == [job.job_id]
    assert jobs.start(job.job_id) == "starting" and started == [job.job_id]  # still held: no second worker
    assert jobs.batches.job(job.job_id).worker_pid == os.getpid()


def test_jobs_past_the_caps_wait_in_the_queue(store, tmp_path, monkeypatch):
    jobs, started = _jobs_with_fake_workers(store, tmp_path, monkeypatch, max_workers=2, per_user=1)
    data = "评论\n不错\n".encode()
    first, second = (jobs.create(data, "r.csv", "sentiment", user_name="小王").job_id for _ in range(2))
    other = jobs.create(data, "r.csv", "sentiment", user_name="小李").job_id
    third = jobs.create(data, "r.csv", "sentiment", user_name="小张").job_id
    assert [jobs.start(j) for j in (first, second, other, third)] == ["starting", "queued", "starting", "queued"]
    assert started == [first, other]
    assert jobs.status(jobs.job(second))["status"] == "queued"
    # The worker finishing 小王's first job takes the queue's oldest job it may run.
    assert jobs.claim_next(os.getpid(), finishing=first) == second
    assert jobs.batches.job(second).status == "running"


def test_rows_past_the_cap_and_xlsx_bombs_are_refused_in_chinese(store, monkeypatch):
    from contentgen import inputs

    batches = BatchStore(store)
    data = "评论\n" + "不错\n" * 4
    with pytest.raises(UserFacingError, match="超过每个批量任务 3 行的上限"):
        create_job(batches, data.encode(), "r.csv", "sentiment", user_name="u", max_rows=3)
    sheet = io.BytesIO()
    pd.DataFrame({"评论": ["不错"] * 50}).to_excel(sheet, index=False)
    monkeypatch.setattr(inputs, "MAX_XLSX_EXPANDED", 2_000)  # the real cap is 200 MB
    with pytest.raises(UserFacingError, match="解压后"):
        create_job(batches, sheet.getvalue(), "r.xlsx", "sentiment", user_name="u")
    assert batches.jobs() == []  # nothing stored for a refused upload


def test_a_large_job_is_stored_in_short_transactions(store, monkeypatch):
    import db.batches

    monkeypatch.setattr(db.batches, "INSERT_CHUNK", 2)
    batches = BatchStore(store)
    job = create_job(batches, ("评论\n" + "不错\n" * 5).encode(), "r.csv", "sentiment", user_name="u")
    assert [i.row_index for i in batches.items(job.job_id)] == [0, 1, 2, 3, 4]
    assert batches.job(job.job_id).status == "pending"


def test_a_busy_database_is_retried_and_the_text_kept(store, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import db.history

    real, calls = store.history._write, []

    def busy_twice(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls.append(1)
        if len(calls) <= 2:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return real(*args, **kwargs)

    monkeypatch.setattr(store.history, "_write", busy_twice)
    monkeypatch.setattr(db.history.time, "sleep", lambda _s: None)
    request_id = store.history.record(task="copy", inputs={}, input_text="x", results=[ResultRecord(text="文案")],
                                      model_id="m", params={}, user_name="u")
    assert len(calls) == 3 and store.history.get(request_id).results[0].text == "文案"


def test_a_real_worker_drains_the_queue_with_the_model_loaded_once(app_env, tmp_path):
    """Past the cap a job waits as queued; the one worker process, done with the first job, takes the
    queued one over (no second process), and both tables are complete."""
    from contentgen.config import BatchConfig, load_settings
    from contentgen.usecases.batch import BatchJobs, wait_for

    settings = dataclasses.replace(load_settings(), batch=BatchConfig(max_workers=1, per_user=1))
    store = Database(app_env)
    jobs = BatchJobs(settings, store)
    data = "评论\n物流很快\n包装破了\n".encode()
    first = jobs.create(data, "a.csv", "sentiment", user_name="小王").job_id
    second = jobs.create(data, "b.csv", "sentiment", user_name="小王").job_id
    assert [jobs.start(first), jobs.start(second)] == ["starting", "queued"]
    worker = jobs.job(first).worker_pid
    for job_id in (first, second):
        assert wait_for(jobs.batches, job_id, timeout=240).status == "done"
    assert jobs.job(second).worker_pid == worker  # taken over, not a new process
    assert all(jobs.batches.progress(j).done == 2 for j in (first, second))
