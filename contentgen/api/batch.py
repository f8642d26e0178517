"""Batch jobs: upload a table, follow its progress, resume it, download the results."""


import inspect
from typing import Any, Literal

from fastapi import Depends, FastAPI, File, Form, UploadFile
from fastapi.responses import Response

from contentgen.api.context import ApiContext
from contentgen.api.guard import MAX_UPLOAD_BYTES, ApiError
from contentgen.tasks import TASKS, batch_tasks
from contentgen.usecases import batch as batches_module
from contentgen.usecases.accounts import Account


def register(app: FastAPI, api: ApiContext) -> None:
    # -------------------------------------------------------------- batch jobs
    def own_job(job_id: str, account: Account):  # noqa: ANN202
        job = api.jobs.job(job_id, user_name=None if account.is_admin else account.name)
        if job is None:
            raise ApiError(404, "not_found", f"没有批量任务 {job_id}。")
        return job

    option_names = list(dict.fromkeys(f.name for t in batch_tasks() for f in t.fields if f.job_option))

    def create_batch(file: UploadFile, task: str, columns: str, run: bool, account: Account,
                     **options: str) -> dict[str, Any]:
        api.allowed(account, task)
        data = file.file.read(MAX_UPLOAD_BYTES + 1)
        if len(data) > MAX_UPLOAD_BYTES:
            raise ApiError(413, "too_large", f"文件超过上限 {MAX_UPLOAD_BYTES // 1_000_000} MB，请拆分后上传。")
        spec = TASKS[task]
        own_options = {f.name for f in spec.fields if f.job_option}
        created = api.jobs.create(data, file.filename or "upload.csv", task, user_name=account.name,
                              columns=batches_module.parse_columns(columns),
                              options={k: v for k, v in options.items() if v and k in own_options})
        if run:
            api.jobs.start(created.job_id)
        problems = [{"row": batches_module.row_number(i), "reason": r} for i, r in sorted(created.problems.items())]
        return {**api.jobs.status(api.jobs.job(created.job_id)), "skipped_rows": problems}

    # Form fields: the upload, the task, and every batch task's job options (from the registry).
    parameters = [
        inspect.Parameter("file", inspect.Parameter.KEYWORD_ONLY, annotation=UploadFile, default=File(...)),
        inspect.Parameter("task", inspect.Parameter.KEYWORD_ONLY,
                          annotation=Literal[tuple(t.name for t in batch_tasks())], default=Form(...)),
        inspect.Parameter("columns", inspect.Parameter.KEYWORD_ONLY, annotation=str, default=Form("")),
        inspect.Parameter("run", inspect.Parameter.KEYWORD_ONLY, annotation=bool, default=Form(True)),
        inspect.Parameter("account", inspect.Parameter.KEYWORD_ONLY, annotation=Account, default=Depends(api.caller)),
        *(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=str,
                            default=Form("", max_length=100)) for name in option_names),
    ]
    create_batch.__signature__ = inspect.Signature(parameters, return_annotation=dict[str, Any])
    app.post("/v1/batch", summary="上传 CSV/XLSX 创建批量任务（后台运行）")(create_batch)

    @app.get("/v1/batch/{job_id}", summary="批量任务进度")
    def batch_status(job_id: str, account: Account = Depends(api.caller)) -> dict[str, Any]:
        return api.jobs.status(own_job(job_id, account))

    @app.post("/v1/batch/{job_id}/resume", summary="继续中断的批量任务")
    def batch_resume(job_id: str, account: Account = Depends(api.caller)) -> dict[str, Any]:
        api.jobs.resume(own_job(job_id, account).id)
        return api.jobs.status(api.jobs.job(job_id))

    @app.get("/v1/batch/{job_id}/download", summary="下载结果（未完成的行标为待处理）")
    def batch_download(job_id: str, format: Literal["csv", "xlsx"] = "csv",  # noqa: A002
                       account: Account = Depends(api.caller)) -> Response:
        job = own_job(job_id, account)
        media = "text/csv; charset=utf-8" if format == "csv" else \
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(api.jobs.download(job, format), media_type=media,
                        headers={"Content-Disposition": f'attachment; filename="{job.id}.{format}"'})
