"""历史记录 page."""

from datetime import datetime, time, timezone

import pandas as pd
import streamlit as st

from contentgen.usecases.history import export_history, history_row
from contentgen.tasks import titles
from ui.state import guard, keep_inputs, store, visible_user

guard("history")

TASK_NAMES = {"": "全部", **titles()}
STATUS_NAMES = {"ok": "完成", "error": "出错", "cancelled": "已取消"}

keep_inputs("history_query", "history_task", "history_user", "history_brand", "history_dates")

st.header("历史记录")
owner = visible_user()  # None for an admin, who may look at anyone's history
left, middle, right = st.columns([3, 1, 1])
query = left.text_input("搜索（输入或输出中的关键词）", key="history_query")
task = middle.selectbox("任务", list(TASK_NAMES), format_func=TASK_NAMES.get, key="history_task")
user = right.text_input("用户", key="history_user") if owner is None else owner

brands = {b.name: b.id for b in store().brands.list()}
left, right = st.columns(2)
brand = left.selectbox("品牌", ["", *brands], key="history_brand", format_func=lambda b: b or "全部")
dates = right.date_input("日期范围", value=(), key="history_dates")
since = until = None
if len(dates) == 2:
    since = datetime.combine(dates[0], time.min, tzinfo=timezone.utc)
    until = datetime.combine(dates[1], time.max, tzinfo=timezone.utc)
rows = store().history.search(query or "", task=task or None, user_name=user or None, since=since, until=until,
                      brand_id=brands.get(brand) if brand else None, limit=500)
if not rows:
    st.info("没有找到记录。")
else:
    shown = [history_row(r) for r in rows]
    table = pd.DataFrame(
        [
            {
                "记录号": r["id"],
                "时间": r["created_at"][:19].replace("T", " "),
                "用户": r["user"],
                "任务": r["task_title"],
                "输入": r["input"][:80],
                "输出": (r["shown"][0] if r["shown"] else "")[:80],
                "状态": STATUS_NAMES.get(r["status"], r["status"]),
                "模型": r["model"],
                "适配器": r["adapter"] or "",
                "耗时(秒)": round((r["latency_ms"] or 0) / 1000, 2),
            }
            for r in shown
        ]
    )
    st.dataframe(table, hide_index=True, use_container_width=True)
    left, right = st.columns(2)
    left.download_button("导出 CSV（Excel 可直接打开）", export_history(rows, "csv"), "contentgen-history.csv", "text/csv")
    right.download_button("导出 XLSX", export_history(rows, "xlsx"), "contentgen-history.xlsx",
                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    chosen = st.selectbox("查看详情", [r.id for r in rows], format_func=lambda i: f"#{i}")
    record = next(r for r in shown if r["id"] == chosen)
    st.json({"inputs": record["inputs"], "params": record["params"], "error": record["error"]})
    for text in record["shown"]:
        st.code(text, language=None, wrap_lines=True)
