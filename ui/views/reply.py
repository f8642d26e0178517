"""客服回复 page."""

import streamlit as st

from contentgen.inputs import parse_context_lines
from contentgen.errors import UserFacingError
from contentgen.templates import ReplyRequest
from ui.state import adapter_picker, current_user, keep_inputs, render_generation, service, shared_jobs

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
    try:
        request.validate()
    except UserFacingError as exc:
        st.error(str(exc))
    else:
        svc = service()
        if svc is not None:
            def work(job, svc=svc, request=request, adapter=st.session_state.get("reply_adapter", "auto")):
                job.texts = [""]
                stream = svc.stream("reply", request, adapter=adapter)
                for _, piece in stream:
                    job.texts[0] += piece
                job.request_id, job.result = stream.request_id, stream.result()
                job.texts = job.result.outputs  # the exact text saved to the history

            st.session_state.reply_job = shared_jobs().submit("reply", current_user(), work).id

render_generation("reply_job", "回复建议")
