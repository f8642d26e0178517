"""The support knowledge base: entries, and the questions it could not answer."""


from typing import Any

from fastapi import Depends, FastAPI

from contentgen.api.bodies import FaqBody, RowId
from contentgen.api.context import ApiContext
from contentgen.usecases.accounts import Account
from contentgen.usecases.faq import (
    add_faq_entry,
    answer_unanswered,
    delete_faq_entry,
    edit_faq_entry,
    faq_row,
    unanswered_rows,
)


def register(app: FastAPI, api: ApiContext) -> None:
    # -------------------------------------------------------------- knowledge base (support desk)
    def support(account: Account) -> None:
        api.allowed(account, "reply")

    @app.get("/v1/faq", summary="知识库条目（含命中次数）")
    def faq_list(account: Account = Depends(api.caller)) -> list[dict[str, Any]]:
        support(account)
        return [faq_row(e) for e in api.store.faq.list()]

    @app.post("/v1/faq", summary="新增一条知识")
    def faq_add(body: FaqBody, account: Account = Depends(api.caller)) -> dict[str, Any]:
        support(account)
        entry_id = add_faq_entry(api.store, body.question or "", body.answer or "", body.category or "",
                                 direct_answer=bool(body.direct_answer))
        return faq_row(api.store.faq.get(entry_id))

    @app.patch("/v1/faq/{entry_id}", summary="修改、停用/启用或设为直接回答")
    def faq_edit(entry_id: RowId, body: FaqBody, account: Account = Depends(api.caller)) -> dict[str, Any]:
        support(account)
        edit_faq_entry(api.store, entry_id, question=body.question, answer=body.answer, category=body.category,
                       enabled=body.enabled, direct_answer=body.direct_answer)
        return faq_row(api.store.faq.get(entry_id))

    @app.delete("/v1/faq/{entry_id}", summary="删除一条知识")
    def faq_delete(entry_id: RowId, account: Account = Depends(api.caller)) -> dict[str, Any]:
        support(account)
        delete_faq_entry(api.store, entry_id)
        return {"id": entry_id, "deleted": True}

    @app.get("/v1/faq/unanswered", summary="知识库答不上的问题（按次数）")
    def faq_unanswered(account: Account = Depends(api.caller)) -> list[dict[str, Any]]:
        support(account)
        return unanswered_rows(api.store)

    @app.post("/v1/faq/unanswered/{question_id}", summary="把一个答不上的问题补成知识条目")
    def faq_answer(question_id: RowId, body: FaqBody, account: Account = Depends(api.caller)) -> dict[str, Any]:
        support(account)
        entry_id = answer_unanswered(api.store, question_id, body.answer or "", body.category or "",
                                     question=body.question or "", direct_answer=bool(body.direct_answer))
        return faq_row(api.store.faq.get(entry_id))

