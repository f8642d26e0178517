"""批量任务 page: upload a table, map its columns, run it in a worker process, download the result."""

from pathlib import Path

import streamlit as st

from contentgen.usecases import batch
from contentgen.errors import UserFacingError
from contentgen.inputs import read_table
from contentgen.tasks import batch_tasks, get_task
from contentgen.tasks.base import CHOICE, INTEGER
from ui.state import allowed_tasks, current_user, guard, plain, settings, store

guard("batch")

STATUS_NAMES = {"pending": "等待中", "queued": "排队中", "starting": "启动中", "running": "运行中", "done": "已完成",
                "failed": "已中断"}
NOT_MAPPED = "（不使用）"

st.header("批量任务")
st.caption("上传 CSV（UTF-8 或 GBK）或 Excel，每行一个商品、一条消息或一条评论。任务在后台进程中运行，"
           "关闭页面不影响；结果逐行保存，中断后可继续，已完成的行不会重做。")

jobs = batch.BatchJobs(settings(), store())
task_names = {t.name: t.title for t in batch_tasks()}

task = st.selectbox("任务", allowed_tasks(tuple(task_names)), format_func=task_names.get, key="batch_task")
upload = st.file_uploader("输入文件", type=["csv", "xlsx"], key="batch_upload")


def option_widgets(spec) -> dict:  # noqa: ANN001
    """One widget per job-wide option of the task (used when the table has no such column)."""
    options = {}
    fields = [f for f in spec.fields if f.job_option]
    for column, field in zip(st.columns(max(len(fields), 1)), fields):
        key = f"batch_opt_{spec.name}_{field.name}"
        label = f"{field.label}（表中无此列时）"
        if field.choices_from == "brands":
            options[field.name] = column.selectbox(field.label, ["", *(b.name for b in store().brands.list())], key=key,
                                                   format_func=lambda b: b or "不使用")
        elif field.kind == CHOICE:
            options[field.name] = column.selectbox(label, list(field.choices), key=key,
                                                   index=list(field.choices).index(field.default))
        elif field.kind == INTEGER:
            options[field.name] = column.number_input(label, min_value=field.minimum, max_value=field.maximum,
                                                      value=field.default, key=key)
        else:
            options[field.name] = column.text_input(label, key=key)
    return {k: v for k, v in options.items() if v not in (None, "")}


if upload is not None:
    try:
        frame = read_table(upload.getvalue(), upload.name)
        columns = [str(c) for c in frame.columns]
        st.dataframe(frame.head(5), hide_index=True)
        try:
            guessed = batch.resolve_mapping(task, columns)
        except UserFacingError:
            guessed = {}
        st.markdown("**列对应**（自动识别常见列名，可修改）")
        mapping: dict[str, str] = {}
        fields = batch.column_fields(get_task(task))
        picks = st.columns(len(fields))
        for pick, (field, (label, _)) in zip(picks, fields.items()):
            choices = [NOT_MAPPED, *columns]
            default = choices.index(guessed[field]) if field in guessed else 0
            chosen = pick.selectbox(label, choices, index=default, key=f"batch_map_{task}_{field}")
            if chosen != NOT_MAPPED:
                mapping[field] = chosen
        options = option_widgets(get_task(task))
        out_kind = st.radio("结果格式", ["xlsx", "csv"], horizontal=True, key="batch_out_kind",
                            format_func=lambda k: "Excel（.xlsx）" if k == "xlsx" else "CSV（UTF-8 BOM，Excel 可直接打开）")
        if st.button("开始批量任务", type="primary"):
            try:
                created = jobs.create(upload.getvalue(), upload.name, task, user_name=current_user(),
                                      columns=mapping, options=options, output_kind=out_kind)
                state = jobs.start(created.job_id)
                st.session_state.batch_job = created.job_id
                started = "已排队，前面的任务完成后自动开始" if state == "queued" else "已在后台开始"
                st.success(f"任务 {created.job_id} {started}：共 {created.total} 行，跳过 {len(created.problems)} 行。")
            except UserFacingError as exc:
                st.error(str(exc))
    except UserFacingError as exc:
        st.error(str(exc))


def show_job(job_id: str) -> None:
    job = jobs.job(job_id)
    if job is None:
        return
    status = jobs.status(job)
    alive = status["running"]
    shown = STATUS_NAMES.get(job.status, job.status)
    if job.status in batch.LIVE and not alive:
        shown = "已中断"
    finished = status["done"] + status["skipped"] + status["failed"]
    title = f"{plain(job.input_name)} · {status['task_title']} · {shown} · {finished}/{status['total']}"
    with st.expander(title, expanded=job.id == st.session_state.get("batch_job")):
        st.progress(finished / max(status["total"], 1),
                    text=f"完成 {status['done']} 行，跳过 {status['skipped']} 行，失败 {status['failed']} 行，"
                         f"待处理 {status['pending']} 行")
        if alive and status["rate"]:
            st.caption(f"速度 {status['rate'] * 60:.1f} 行/分钟 · 预计剩余 {batch.describe_eta(status['eta_s'])}")
        if job.error and not alive and job.status != "done":
            st.warning(f"任务中断：{plain(job.error)}")
        if status["pending"] and not alive and job.status != "queued":
            if st.button("继续任务", key=f"resume_{job.id}"):
                jobs.resume(job.id)
                st.rerun()
        if status["skipped"] or status["failed"]:
            st.dataframe([{"行号": p["row"], "原因": p["reason"]} for p in jobs.problems(job.id)], hide_index=True)
        left, right = st.columns(2)
        stem = Path(job.input_name).stem
        # Built when clicked, not on every rerun (a 100k-row job's XLSX takes seconds).
        left.download_button("下载结果 Excel", lambda job=job: jobs.download(job, "xlsx"), f"{stem}_结果.xlsx",
                             key=f"dl_xlsx_{job.id}", on_click="ignore")
        right.download_button("下载结果 CSV", lambda job=job: jobs.download(job, "csv"), f"{stem}_结果.csv",
                              key=f"dl_csv_{job.id}", mime="text/csv", on_click="ignore")


my_jobs = jobs.jobs(user_name=current_user(), limit=10)
if my_jobs:
    st.subheader("我的批量任务")
    # Poll while a job waits for its worker or runs.
    active = any(j.status in {"pending", "queued"} or batch.worker_alive(j) for j in my_jobs)

    @st.fragment(run_every=2.0 if active else None)
    def job_list() -> None:
        for job in jobs.jobs(user_name=current_user(), limit=10):
            show_job(job.id)

    job_list()
