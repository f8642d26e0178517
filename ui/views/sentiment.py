"""情感标签 page."""

import pandas as pd
import streamlit as st

from contentgen.errors import UserFacingError
from contentgen.inputs import read_table, texts_from_table
from contentgen.tasks import TagRequest, get_task
from contentgen.tasks.sentiment.task import INDUSTRIES
from ui.forms import field_input
from ui.state import (
    adapter_label,
    adapter_picker,
    current_user,
    keep_inputs,
    poll_interval,
    service,
    shared_jobs,
)
from ui.state import guard

guard("sentiment")

SENTIMENT = get_task("sentiment")
LABEL_NAMES = {label: SENTIMENT.display(label) for label in SENTIMENT.label_words}
MAX_ITEMS = 2000  # larger files belong to batch jobs

keep_inputs("sentiment_text", "sentiment_column", "sentiment_adapter", "sentiment_channel", "sentiment_industry")

st.header("情感标签")
st.caption("判断评论或消息的情感倾向（正面 / 中性 / 负面）并给出置信度。")

st.text_area("评论（每行一条）", key="sentiment_text", height=150,
             placeholder="物流很快，包装完好，好评！\n用了两天就坏了，客服也不回复。")
upload = st.file_uploader("或上传文件（CSV / XLSX / JSONL）", type=["csv", "xlsx", "jsonl"])
texts: list[str] = [line for line in (st.session_state.get("sentiment_text") or "").splitlines() if line.strip()]
if upload is not None:
    try:
        frame = read_table(upload.getvalue(), upload.name)
        column = st.selectbox("文本所在的列", [str(c) for c in frame.columns], key="sentiment_column")
        texts = [t for t in texts_from_table(frame, column) if t.strip()]
    except UserFacingError as exc:
        st.error(str(exc))
        texts = []

left, right = st.columns(2)
field_input(SENTIMENT, "channel", "sentiment", left)
field_input(SENTIMENT, "industry", "sentiment", right)
adapter_picker("sentiment", "sentiment_adapter")
if st.button("分析情感", type="primary"):
    if not texts:
        st.error("请先输入评论或上传文件。")
    elif len(texts) > MAX_ITEMS:
        st.error(f"一次最多分析 {MAX_ITEMS} 条（当前 {len(texts)} 条）。更多数据请使用“批量任务”页面或 contentgen batch。")
    else:
        svc = service()
        if svc is not None:
            def work(job, svc=svc, texts=tuple(texts), adapter=st.session_state.sentiment_adapter,
                     channel=(st.session_state.get("sentiment_channel") or "").strip(),
                     industry=st.session_state.get("sentiment_industry") or INDUSTRIES[0]):
                job.result = svc.sentiment.tag([TagRequest(text=t, industry=industry) for t in texts], adapter=adapter,
                                     channel=channel)

            st.session_state.sentiment_job = shared_jobs().submit("sentiment", current_user(), work).id

job = shared_jobs().get(st.session_state.get("sentiment_job"))
if job is not None:
    @st.fragment(run_every=poll_interval(job))
    def results() -> None:
        current = shared_jobs().get(job.id)
        if current is None:
            return
        if current.active:
            st.caption("分析中…")
        elif current.status == "error":
            st.error(current.error)
        else:
            table = pd.DataFrame(
                [{"文本": r.text, "情感": LABEL_NAMES[r.label], "置信度": round(r.confidence, 3),
                  "方面": "、".join(f"{a['aspect']}{LABEL_NAMES[a['label']]}" for a in r.aspects),
                  "记录号": r.request_id} for r in current.result]
            )
            counts = table["情感"].value_counts().reindex(list(LABEL_NAMES.values()), fill_value=0)
            cols = st.columns(3)
            for col, (name, count) in zip(cols, counts.items()):
                col.metric(name, int(count))
            st.dataframe(table, hide_index=True, use_container_width=True)
            st.caption(adapter_label(current.result[0].adapter_id) if current.result else "")

    results()
