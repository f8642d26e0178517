"""History search and feedback on outputs."""


from typing import Any, Literal

from fastapi import Depends, FastAPI, Query

from contentgen.api.bodies import FeedbackBody
from contentgen.api.context import ApiContext
from contentgen.tasks import TASKS
from contentgen.usecases.accounts import Account
from contentgen.usecases.feedback import give_feedback
from contentgen.usecases.history import history_row


def register(app: FastAPI, api: ApiContext) -> None:
    # -------------------------------------------------------------- history and feedback
    @app.get("/v1/history", summary="搜索自己的历史（管理员可查所有人）")
    def history(q: str = Query("", max_length=200), task: Literal[tuple(TASKS)] | None = None,  # type: ignore[valid-type]
                limit: int = Query(20, ge=1, le=200), account: Account = Depends(api.caller)) -> list[dict[str, Any]]:
        rows = api.store.history.search(q, task=task, user_name=None if account.is_admin else account.name, limit=limit)
        return [history_row(r) for r in rows]

    @app.post("/v1/feedback", summary="评价或修改一条输出")
    def feedback(body: FeedbackBody, account: Account = Depends(api.caller)) -> dict[str, Any]:
        give_feedback(api.store, body.result_id, rating=body.rating, edited_text=body.edited_text,
                      user_name=None if account.is_admin else account.name)
        return {"result_id": body.result_id, "saved": True}
