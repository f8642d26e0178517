"""客服回复 page."""

import streamlit as st

from contentgen.errors import UserFacingError
from contentgen.inputs import parse_context_lines
from contentgen.knowledge import parse_faq_file
from contentgen.tasks.reply import ReplyRequest
from ui.state import (
    adapter_picker,
    feedback_controls,
    keep_inputs,
    plain,
    render_generation,
    shared_jobs,
    store,
    submit_stream,
)
from ui.state import guard

guard("reply")

keep_inputs("reply_message", "reply_context", "reply_order", "reply_adapter")

st.header("客服回复")
st.caption("粘贴顾客消息（可附上之前的对话和订单信息），生成一条礼貌、具体的回复建议。")

with st.form("reply_form"):
    st.text_area("顾客最新消息", key="reply_message", height=100,
                 placeholder="我的快递三天了还没到，怎么回事？")
    st.text_area("之前的对话（可选，每行以“顾客：”或“客服：”开头）", key="reply_context", height=100)
    st.text_input("订单信息（可选）", key="reply_order", placeholder="订单号 123，已发货，圆通快递")
    adapter_picker("reply", "reply_adapter")
    submitted = st.form_submit_button("生成回复", type="primary")

if submitted:
    request = ReplyRequest(
        message=st.session_state.reply_message or "",
        context=tuple(parse_context_lines(st.session_state.reply_context or "")),
        order=st.session_state.reply_order or "",
    )
    submit_stream("reply_job", "reply", request, adapter=st.session_state.get("reply_adapter", "auto"))


def show_sources_and_continue(index: int, text: str) -> None:
    job = shared_jobs().get(st.session_state.get("reply_job"))
    feedback_controls(job.request_id if job else None, index, text)
    if job is not None and job.result is not None and job.result.sources:
        st.caption("参考知识库：" + "；".join(f"#{s['id']} {plain(s['question'])}" for s in job.result.sources))
    st.button("采用这条回复，继续对话", key=f"continue_{job.id if job else ''}", on_click=adopt, args=(text,))


def adopt(text: str) -> None:
    """Multi-turn: the exchange joins the conversation so far; the next message builds on it.
    (A button callback: widget values may only change before the page runs.)"""
    history = (st.session_state.get("reply_context") or "").rstrip()
    turn = f"顾客：{(st.session_state.get('reply_message') or '').strip()}\n客服：{text}"
    st.session_state.reply_context = f"{history}\n{turn}".strip()
    st.session_state.reply_message = ""
    st.session_state.reply_job = None


render_generation("reply_job", "回复建议", after_each=show_sources_and_continue)

with st.expander("客服知识库（FAQ）"):
    entries = store().faq.list()
    st.caption(f"当前共 {len(entries)} 条。回复会自动检索最相关的条目并据此作答。")
    upload = st.file_uploader("导入 FAQ / 政策文件（CSV / XLSX，需含“问题”“答案”列，可选“分类”）",
                              type=["csv", "xlsx"], key="faq_upload")
    if upload is not None and st.button("导入", key="faq_import"):
        try:
            added = store().faq.add(parse_faq_file(upload.getvalue(), upload.name))
            st.success(f"已导入 {added} 条。")
        except UserFacingError as exc:
            st.error(str(exc))
    if entries:
        st.dataframe([{"编号": e.id, "问题": e.question, "答案": e.answer, "分类": e.category} for e in entries],
                     hide_index=True)
