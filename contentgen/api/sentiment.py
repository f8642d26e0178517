"""Review insight (JSON and the XLSX report) and the alerts sent."""


from datetime import datetime
from typing import Any

from fastapi import Depends, FastAPI, Query
from fastapi.responses import Response

from contentgen.api.context import ApiContext
from contentgen.api.guard import ApiError
from contentgen.tasks.sentiment.insight import insight_workbook
from contentgen.usecases.accounts import Account
from contentgen.usecases.alerts import notice_row


def register(app: FastAPI, api: ApiContext) -> None:
    # -------------------------------------------------------------- review insight and alerts
    def insight_for(account: Account, since: datetime, until: datetime, channel: str, brand: str, summaries: bool):
        api.allowed(account, "sentiment")
        return api.service_for(account).sentiment.review_insight(
            since, until, channel=channel or None, brand=brand or None,
            user_name=None if account.is_admin else account.name, summaries=summaries)

    @app.get("/v1/sentiment/insight", summary="评论洞察：各方面的好评/差评说法、差评主题及与上期对比")
    def sentiment_insight(since: datetime, until: datetime, channel: str = Query("", max_length=100),
                          brand: str = Query("", max_length=100), summaries: bool = False,
                          account: Account = Depends(api.caller)) -> dict[str, Any]:
        insight, _ = insight_for(account, since, until, channel, brand, summaries)
        return insight.as_dict()

    @app.get("/v1/sentiment/insight.xlsx", summary="评论洞察报告（XLSX，可转发）")
    def sentiment_report(since: datetime, until: datetime, channel: str = Query("", max_length=100),
                         brand: str = Query("", max_length=100), summaries: bool = False,
                         account: Account = Depends(api.caller)) -> Response:
        insight, rows = insight_for(account, since, until, channel, brand, summaries)
        name = f"insight-{since:%Y%m%d}-{until:%Y%m%d}.xlsx"
        return Response(insight_workbook(insight, rows),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})

    @app.get("/v1/alerts", summary="已发出的负面告警与摘要（管理员）")
    def alerts_sent(limit: int = Query(50, ge=1, le=200), account: Account = Depends(api.caller)) -> list[dict[str, Any]]:
        if not account.is_admin:  # company-wide figures
            raise ApiError(403, "forbidden", "只有管理员可以查看告警记录。")
        return [notice_row(n) for n in api.store.notices.recent(limit)]

