"""营销文案 page."""

import streamlit as st

from contentgen.inputs import split_points
from contentgen.service import check_text
from contentgen.tasks import get_task
from contentgen.tasks.copy import LENGTHS, PLATFORMS, TONES, CopyRequest
from ui.state import (
    settings,
    adapter_picker,
    current_user,
    feedback_controls,
    keep_inputs,
    plain,
    render_generation,
    service,
    shared_jobs,
    store,
    submit_stream,
)
from ui.state import guard

guard("copy")

FIELDS = ("copy_product", "copy_points", "copy_attributes", "copy_platform", "copy_tone",
          "copy_length", "copy_n", "copy_adapter", "copy_brand")
keep_inputs(*FIELDS)

st.header("营销文案")
st.caption("填写商品信息，选择平台和语气，生成可直接使用的中文营销文案。")

with st.form("copy_form"):
    st.text_input("商品名称", key="copy_product", placeholder="例如：轻薄羽绒服")
    st.text_area("卖点（每行一个，或用逗号分隔）", key="copy_points", height=120,
                 placeholder="90% 白鸭绒\n可收纳进口袋\n防泼水面料")
    with st.expander("商品属性（可选，AdvertiseGen 格式）"):
        st.text_input("属性", key="copy_attributes", placeholder="类型#上衣*颜色#白色*风格#简约")
    left, middle, right = st.columns(3)
    left.selectbox("平台", list(PLATFORMS), key="copy_platform")
    middle.selectbox("语气", list(TONES), key="copy_tone")
    right.radio("篇幅", list(LENGTHS), key="copy_length", horizontal=True, index=1)
    versions = get_task("copy").field("n")
    st.number_input("生成几个版本", min_value=versions.minimum, max_value=versions.maximum, value=1, key="copy_n")
    brand_names = [b.name for b in store().brands.list()]
    st.selectbox("品牌档案", ["", *brand_names], key="copy_brand",
                 format_func=lambda b: b or "不使用品牌档案")
    adapter_picker("copy", "copy_adapter")
    submitted = st.form_submit_button("生成文案", type="primary")

if submitted:
    request = CopyRequest(
        product=st.session_state.copy_product or "",
        points=split_points(st.session_state.copy_points or ""),
        attributes=st.session_state.copy_attributes or "",
        platform=st.session_state.copy_platform,
        tone=st.session_state.copy_tone,
        length=st.session_state.copy_length,
        n=int(st.session_state.copy_n),
        brand=st.session_state.get("copy_brand") or "",
    )
    submit_stream("copy_job", "copy", request, adapter=st.session_state.get("copy_adapter", "auto"))


def show_compliance(index: int, text: str) -> None:
    """Every generated copy is checked against 广告法 before the marketer uses it."""
    job = shared_jobs().get(st.session_state.get("copy_job"))
    feedback_controls(job.request_id if job else None, index, text)
    findings = job.result.compliance[index] if job is not None and job.result is not None else []
    if not findings:
        st.success("合规检查：未发现绝对化用语或功效宣称。")
        return
    st.warning("合规检查发现 {} 处问题：\n\n".format(len(findings)) + "\n".join(
        f"- “{plain(f['text'])}”（第 {f['start'] + 1} 字起）{plain(f['category'])}：{plain(f['rule'])}。"
        f"建议：{plain(f['suggestion'])}" for f in findings))
    brand = st.session_state.get("copy_brand") or None
    protected = (st.session_state.get("copy_product") or "",)
    with st.expander("按规则修改后的文案"):
        suggested = check_text(store(), text, brand=brand, protected=protected, rules=settings().rules)
        st.code(suggested["suggested_text"], language=None, wrap_lines=True)
    if st.button("让模型改写为合规文案", key=f"rewrite_{index}"):
        svc = service()
        if svc is not None:
            def work(job, svc=svc, text=text, brand=brand, protected=protected):
                job.texts = [""]
                job.result = svc.compliant_rewrite(text, brand=brand, protected=protected)
                job.request_id, job.texts = job.result.request_id, job.result.outputs

            st.session_state.rewrite_job = shared_jobs().submit("rewrite", current_user(), work).id
            st.rerun()  # leave the fragment: the rewrite shows below the copy


render_generation("copy_job", "文案", after_each=show_compliance)
render_generation("rewrite_job", "合规改写")
