"""历史记录 page."""

import pandas as pd
import streamlit as st

from ui.state import keep_inputs, store

TASK_NAMES = {"": "全部", "copy": "营销文案", "reply": "客服回复", "sentiment": "情感标签"}

keep_inputs("history_query", "history_task", "history_user")

st.header("历史记录")
left, middle, right = st.columns([3, 1, 1])
query = left.text_input("搜索（输入或输出中的关键词）", key="history_query")
task = middle.selectbox("任务", list(TASK_NAMES), format_func=TASK_NAMES.get, key="history_task")
user = right.text_input("用户", key="history_user")

rows = store().search(query or "", task=task or None, user_name=user or None, limit=200)
if not rows:
    st.info("没有找到记录。")
else:
    table = pd.DataFrame(
        [
            {
                "记录号": r.id,
                "时间": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
                "用户": r.user_name,
                "任务": TASK_NAMES.get(r.task, r.task),
                "输入": r.input_text[:80],
                "输出": (r.results[0].text if r.results else "")[:80],
                "状态": r.status,
                "模型": r.model_id,
                "适配器": r.adapter_id or "",
                "耗时(秒)": round((r.latency_ms or 0) / 1000, 2),
            }
            for r in rows
        ]
    )
    st.dataframe(table, hide_index=True, use_container_width=True)
    chosen = st.selectbox("查看详情", [r.id for r in rows], format_func=lambda i: f"#{i}")
    record = next(r for r in rows if r.id == chosen)
    st.json({"inputs": record.inputs, "params": record.params, "error": record.error})
    for result in record.results:
        st.code(result.text, language=None, wrap_lines=True)
