"""POST /v1/check: the 广告法 check of any text."""


from typing import Any

from fastapi import Depends, FastAPI

from contentgen.api.bodies import CheckBody
from contentgen.api.context import ApiContext
from contentgen.usecases.accounts import Account
from contentgen.usecases.rules import check_text


def register(app: FastAPI, api: ApiContext) -> None:
    @app.post("/v1/check", summary="广告法合规检查")
    def check(body: CheckBody, account: Account = Depends(api.caller)) -> dict[str, Any]:
        checked = check_text(api.store, body.text, brand=body.brand, protected=body.protect, rules=api.settings.rules,
                             industry=body.industry, platform=body.platform)
        return {**checked, "rewritten": checked["suggested_text"]}
