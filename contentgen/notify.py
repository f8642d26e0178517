"""Notifications to other systems: a JSON POST to a configured URL (a helpdesk, 企业微信 or 钉钉
robot behind a relay). Failures are logged, never raised: a receiver that is down must not fail
the request that caused the notification."""

from __future__ import annotations

import json
import logging
import urllib.request
from typing import Any

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 5


def post_json(url: str, payload: dict[str, Any], timeout: float = TIMEOUT_SECONDS) -> bool:
    """True when the receiver answered 2xx."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310  (an admin-set URL)
            return 200 <= response.status < 300
    except Exception as exc:  # noqa: BLE001  (any failure: log and go on)
        log.warning("通知 %s 发送失败：%s", url, exc)
        return False
