"""contentgen alerts: negative-review alerts and digests."""

from __future__ import annotations

import argparse

from contentgen.cli.common import emit, settings_of
from contentgen.errors import UserFacingError
from contentgen.processes import process_alive
from contentgen.runtime import build_store
from contentgen.usecases.alerts import check_config, notice_row, run_due, send_test


def cmd_alerts(args: argparse.Namespace) -> int:
    """Negative-review alerts and digests ([alerts] in contentgen.toml): run once, watch, list, test."""
    import time


    settings = settings_of(args)
    store = build_store(settings)
    config = settings.alerts
    if args.action == "list":
        rows = [notice_row(n) for n in store.notices.recent(args.limit)]
        emit(args, rows, "\n".join(f"{r['created_at'][:16]}\t{r['title']}\t{r['delivered']}" for r in rows)
              or "还没有发出过告警或摘要。")
        return 0
    check_config(config)
    if not (config.webhook or config.email_to):
        raise UserFacingError("没有配置告警的去处：请在 contentgen.toml 的 [alerts] 中填写 webhook 或 email_to。")
    if args.action == "test":
        delivered = send_test(store, config)
        emit(args, delivered, "；".join(f"{k}：{'成功' if v else '失败'}" for k, v in delivered.items()))
        return 0 if all(delivered.values()) else 1
    while True:
        sent = run_due(store, config)
        emit(args, [{"kind": m.kind, "rule": m.rule, "title": m.title} for m in sent],
              "\n".join(m.title for m in sent) or "没有需要发送的告警或摘要。")
        if args.action == "run":
            return 0
        for _ in range(args.every):  # a second at a time: notice soon when the app stops
            if args.parent and not process_alive(args.parent):
                return 0
            time.sleep(1)

def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("alerts", parents=[common], help="负面评论告警与日报/周报：run 检查一次、watch 持续检查、"
                                                         "list 已发送、test 发送测试消息（配置见 contentgen.toml 的 [alerts]）")
    p.add_argument("action", choices=["run", "watch", "list", "test"])
    p.add_argument("--every", type=int, default=300, help="watch：每隔多少秒检查一次")
    p.add_argument("--parent", type=int, help=argparse.SUPPRESS)  # watch: stop when this process ends
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(func=cmd_alerts)

