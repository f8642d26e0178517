"""商品标题 page: N titles within the platform's limit, brand and product words kept verbatim."""

import streamlit as st

from contentgen.tasks import get_task
from contentgen.tasks.title.task import TITLE_LIMITS, title_width
from ui.forms import field_input, form_keys, request_from_form
from ui.state import adapter_picker, feedback_controls, guard, keep_inputs, plain, render_generation, shared_jobs, submit_stream

guard("title")

TASK = get_task("title")
keep_inputs(*form_keys(TASK, "title"), "title_adapter")

st.header("商品标题")
st.caption("填写品牌词、商品词和卖点，按平台字数上限生成多个商品标题；品牌词和商品词原样保留，并做广告法检查。")

with st.form("title_form"):
    left, right = st.columns(2)
    field_input(TASK, "brand", "title", left)
    field_input(TASK, "product", "title", right)
    field_input(TASK, "points", "title", height=100)
    left, middle, right = st.columns(3)
    field_input(TASK, "platform", "title", left, format_func=lambda p: f"{p}（{TITLE_LIMITS[p]} 字）")
    field_input(TASK, "n", "title", middle)
    field_input(TASK, "max_chars", "title", right)
    adapter_picker("title", "title_adapter")
    submitted = st.form_submit_button("生成标题", type="primary")

if submitted:
    submit_stream("title_job", "title", request_from_form(TASK, "title"),
                  adapter=st.session_state.get("title_adapter", "auto"))


def show_checks(index: int, text: str) -> None:
    job = shared_jobs().get(st.session_state.get("title_job"))
    feedback_controls(job.request_id if job else None, index, text)
    findings = job.result.compliance[index] if job is not None and job.result is not None else []
    st.caption(f"{title_width(text):g} 字")
    if findings:
        st.warning("检查发现：" + "；".join(f"“{plain(f['text'])}”{plain(f['category'])}：{plain(f['rule'])}"
                                       for f in findings))
    else:
        st.success("检查通过：字数、品牌词、商品词、广告法。")


render_generation("title_job", "标题", after_each=show_checks)
