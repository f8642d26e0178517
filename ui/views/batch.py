"""批量任务 page: upload a table, map its columns, run it in a worker process, download the result."""

from pathlib import Path

import streamlit as st

from contentgen import batch
from contentgen.errors import UserFacingError
from contentgen.inputs import read_table
from contentgen.templates import LENGTHS, PLATFORMS
from db.batches import BatchStore
from ui.state import allowed_tasks, current_user, plain, settings, store
from ui.state import guard

guard("batch")

TASK_NAMES = {"copy": "营销文案", "reply": "客服回复", "sentiment": "情感标签"}
STATUS_NAMES = {"pending": "等待中", "running": "运行中", "done": "已完成", "failed": "已中断"}
NOT_MAPPED = "（不使用）"

st.header("批量任务")
st.caption("上传 CSV（UTF-8 或 GBK）或 Excel，每行一个商品、一条消息或一条评论。任务在后台进程中运行，"
           "关闭页面不影响；结果逐行保存，中断后可继续，已完成的行不会重做。")

batches = BatchStore(store())
config = settings()
uploads_dir = Path(config.model.cache_dir) / "batch-uploads"

task = st.selectbox("任务", allowed_tasks(tuple(TASK_NAMES)), format_func=TASK_NAMES.get, key="batch_task")
upload = st.file_uploader("输入文件", type=["csv", "xlsx"], key="batch_upload")
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
        fields = batch.FIELDS[task]
        picks = st.columns(len(fields))
        for pick, (field, (label, _)) in zip(picks, fields.items()):
            options = [NOT_MAPPED, *columns]
            default = options.index(guessed[field]) if field in guessed else 0
            chosen = pick.selectbox(label, options, index=default, key=f"batch_map_{task}_{field}")
            if chosen != NOT_MAPPED:
                mapping[field] = chosen
        options: dict[str, str] = {}
        if task == "copy":
            left, middle, right = st.columns(3)
            options["platform"] = left.selectbox("平台（表中无平台列时）", list(PLATFORMS), key="batch_platform")
            options["length"] = middle.selectbox("篇幅", list(LENGTHS), index=1, key="batch_length")
            brands = ["", *(b.name for b in store().brands())]
            options["brand"] = right.selectbox("品牌档案", brands, key="batch_brand",
                                               format_func=lambda b: b or "不使用")
        elif task == "sentiment":
            options["channel"] = st.text_input("来源（表中无来源列时，如 淘宝评论）", key="batch_channel")
        out_kind = st.radio("结果格式", ["xlsx", "csv"], horizontal=True, key="batch_out_kind",
                            format_func=lambda k: "Excel（.xlsx）" if k == "xlsx" else "CSV（UTF-8 BOM，Excel 可直接打开）")
        if st.button("开始批量任务", type="primary"):
            try:
                created = batch.create_job(
                    batches, upload.getvalue(), upload.name, task, user_name=current_user(),
                    columns=mapping, options={k: v for k, v in options.items() if v},
                )
                job_dir = uploads_dir / created.job_id
                job_dir.mkdir(parents=True, exist_ok=True)
                (job_dir / upload.name).write_bytes(upload.getvalue())  # the upload is kept as given
                output = job_dir / f"{Path(upload.name).stem}_结果.{out_kind}"
                batches.set_output_path(created.job_id, str(output))
                batch.start_worker(created.job_id, model=config.model.name_or_path,
                                   db_url=config.database.resolved_url(), log_path=job_dir / "worker.log")
                st.session_state.batch_job = created.job_id
                st.success(f"任务 {created.job_id} 已在后台开始：共 {created.total} 行，"
                           f"跳过 {len(created.problems)} 行。")
            except UserFacingError as exc:
                st.error(str(exc))
    except UserFacingError as exc:
        st.error(str(exc))


def show_job(job_id: str) -> None:
    job = batches.job(job_id)
    if job is None:
        return
    progress = batches.progress(job_id)
    alive = batch.worker_alive(job)
    status = STATUS_NAMES.get(job.status, job.status)
    if job.status == "running" and not alive:
        status = "已中断"
    title = f"{job.input_name} · {TASK_NAMES[job.task]} · {status} · {progress.finished}/{progress.total}"
    with st.expander(title, expanded=job.id == st.session_state.get("batch_job")):
        st.progress(progress.finished / max(progress.total, 1),
                    text=f"完成 {progress.done} 行，跳过 {progress.skipped} 行，失败 {progress.failed} 行，"
                         f"待处理 {progress.pending} 行")
        if alive and progress.rate:
            st.caption(f"速度 {progress.rate * 60:.1f} 行/分钟 · 预计剩余 {batch.describe_eta(progress.eta_s)}")
        if job.error and not alive and job.status != "done":
            st.warning(f"任务中断：{plain(job.error)}")
        if progress.pending and not alive:
            if st.button("继续任务", key=f"resume_{job.id}"):
                batch.start_worker(job.id, model=config.model.name_or_path,
                                   db_url=config.database.resolved_url(),
                                   log_path=uploads_dir / job.id / "worker.log")
                st.rerun()
        if progress.skipped or progress.failed:
            problems = [i for i in batches.items(job.id) if i.status in {"skipped", "failed"}]
            st.dataframe([{"行号": batch.row_number(i.row_index), "原因": i.error} for i in problems[:200]],
                         hide_index=True)
        left, right = st.columns(2)
        stem = Path(job.input_name).stem
        left.download_button("下载结果 Excel", batch.output_bytes(batches, job, "xlsx"), f"{stem}_结果.xlsx",
                             key=f"dl_xlsx_{job.id}")
        right.download_button("下载结果 CSV", batch.output_bytes(batches, job, "csv"), f"{stem}_结果.csv",
                              key=f"dl_csv_{job.id}", mime="text/csv")


jobs = batches.jobs(user_name=current_user(), limit=10)
if jobs:
    st.subheader("我的批量任务")
    # Poll while a job waits for its worker or runs.
    active = any(j.status == "pending" or (j.status == "running" and batch.worker_alive(j)) for j in jobs)

    @st.fragment(run_every=2.0 if active else None)
    def job_list() -> None:
        for job in batches.jobs(user_name=current_user(), limit=10):
            show_job(job.id)

    job_list()
