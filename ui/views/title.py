"""商品标题 page: N titles within the platform's limit, brand and product words kept verbatim."""

import streamlit as st

from contentgen.inputs import split_points
from contentgen.tasks import get_task
from contentgen.tasks.title.task import TITLE_LIMITS, TitleRequest, title_width
from ui.state import adapter_picker, feedback_controls, guard, keep_inputs, plain, render_generation, shared_jobs, submit_stream

guard("title")

TASK = get_task("title")
keep_inputs("title_brand", "title_product", "title_points", "title_platform", "title_n", "title_max", "title_adapter")

st.header("商品标题")
st.caption("填写品牌词、商品词和卖点，按平台字数上限生成多个商品标题；品牌词和商品词原样保留，并做广告法检查。")

with st.form("title_form"):
    left, right = st.columns(2)
    left.text_input("品牌词", key="title_brand", placeholder="例如：膳魔师")
    right.text_input("商品词", key="title_product", placeholder="例如：保温杯")
    st.text_area("卖点和属性（每行一个，或用逗号分隔）", key="title_points", height=100,
                 placeholder="316不锈钢\n12小时保温\n500ml")
    left, middle, right = st.columns(3)
    left.selectbox("平台", list(TITLE_LIMITS), key="title_platform",
                   format_func=lambda p: f"{p}（{TITLE_LIMITS[p]} 字）")
    count = TASK.field("n")
    middle.number_input("标题数", min_value=count.minimum, max_value=count.maximum, value=count.default,
                        key="title_n")
    right.number_input("字数上限（0：按平台规则）", min_value=0, max_value=100, value=0, key="title_max")
    adapter_picker("title", "title_adapter")
    submitted = st.form_submit_button("生成标题", type="primary")

if submitted:
    request = TitleRequest(
        brand=(st.session_state.title_brand or "").strip(),
        product=(st.session_state.title_product or "").strip(),
        points=split_points(st.session_state.title_points or ""),
        platform=st.session_state.title_platform,
        n=int(st.session_state.title_n),
        max_chars=int(st.session_state.title_max),
    )
    submit_stream("title_job", "title", request, adapter=st.session_state.get("title_adapter", "auto"))


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
