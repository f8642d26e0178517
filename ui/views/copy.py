"""营销文案 page."""

import streamlit as st

from contentgen.usecases.rules import check_text
from contentgen.tasks import get_task
from contentgen.tasks.copy.brief import UNCHECKED
from contentgen.compliance import GENERAL
from contentgen.tasks.copy.task import AD_LAW
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
from ui.forms import field_input, form_keys, request_from_form
from ui.state import guard
from contentgen.usecases.rewrite import compliant_rewrite

guard("copy")

TASK = get_task("copy")
keep_inputs(*form_keys(TASK, "copy"), "copy_adapter")

st.header("营销文案")
st.caption("填写商品信息，选择平台和语气，生成可直接使用的中文营销文案。")

with st.form("copy_form"):
    field_input(TASK, "product", "copy")
    field_input(TASK, "points", "copy", height=120)
    with st.expander("商品属性（可选，AdvertiseGen 格式）"):
        field_input(TASK, "attributes", "copy")
    left, middle, right = st.columns(3)
    field_input(TASK, "platform", "copy", left)
    field_input(TASK, "tone", "copy", middle)
    field_input(TASK, "length", "copy", right)
    field_input(TASK, "n", "copy")
    brand_column, industry_column = st.columns(2)
    field_input(TASK, "brand", "copy", brand_column, options=["", *(b.name for b in store().brands.list())],
                format_func=lambda b: b or "不使用品牌档案")
    field_input(TASK, "industry", "copy", industry_column)
    adapter_picker("copy", "copy_adapter")
    submitted = st.form_submit_button("生成文案", type="primary")


def submit_copy(like: str = "") -> None:
    """The form's request; with `like`, more versions shaped like that one (更多类似)."""
    submit_stream("copy_job", "copy", request_from_form(TASK, "copy", like=like),
                  adapter=st.session_state.get("copy_adapter", "auto"))


if submitted:
    submit_copy()


def show_compliance(index: int, text: str) -> None:
    """Every version is verified (facts, names, length, format, 广告法) before the marketer uses it."""
    job = shared_jobs().get(st.session_state.get("copy_job"))
    feedback_controls(job.request_id if job else None, index, text)
    result = job.result if job is not None else None
    findings = result.compliance[index] if result is not None else []
    parts = result.parts[index] if result is not None and len(result.parts) > index else {}
    show_parts(parts)
    if st.button("更多类似", key=f"more_like_{index}", help="以这一版为样子，再写几个不同的版本"):
        submit_copy(like=text)
        st.rerun()
    if not findings:
        st.success("核对通过：商品名、卖点、数字、篇幅、格式和广告法均未发现问题。")
        st.caption(UNCHECKED)
        return
    st.warning("核对发现 {} 处问题，发布前请修改：\n\n".format(len(findings)) + "\n".join(
        f"- {plain(describe(f))}{plain(f['category'])}：{plain(f['rule'])}。建议：{plain(f['suggestion'])}"
        for f in findings))
    st.caption(UNCHECKED)
    if not any(f.get("kind") == AD_LAW for f in findings):
        return
    brand = st.session_state.get("copy_brand") or None
    protected = (st.session_state.get("copy_product") or "",)
    where = {"industry": st.session_state.get("copy_industry") or GENERAL, "platform": st.session_state.copy_platform}
    with st.expander("按规则修改后的文案"):
        suggested = check_text(store(), text, brand=brand, protected=protected, rules=settings().rules, **where)
        st.code(suggested["suggested_text"], language=None, wrap_lines=True)
    if st.button("让模型改写为合规文案", key=f"rewrite_{index}"):
        svc = service()
        if svc is not None:
            def work(job, svc=svc, text=text, brand=brand, protected=protected, where=where):
                job.texts = [""]
                job.result = compliant_rewrite(svc, text, brand=brand, protected=protected, **where)
                job.request_id, job.texts = job.result.request_id, job.result.outputs

            st.session_state.rewrite_job = shared_jobs().submit("rewrite", current_user(), work).id
            st.rerun()  # leave the fragment: the rewrite shows below the copy


def describe(finding: dict) -> str:
    if finding["end"] > finding["start"]:
        return f"“{finding['text']}”（第 {finding['start'] + 1} 字起）"
    return f"“{finding['text']}”"


PART_LABELS = {"title": "标题", "hook": "开头", "body": "正文", "call_to_action": "结尾引导", "tags": "话题"}


def show_parts(parts: dict) -> None:
    """Each part in its own box, for pasting where it goes (小红书 title and tags, 抖音 hook…)."""
    filled = {k: (" ".join(f"#{t}" for t in v) if k == "tags" else v) for k, v in parts.items() if v}
    if len(filled) < 2:
        return
    with st.expander("分栏复制"):
        for key, label in PART_LABELS.items():
            if filled.get(key):
                st.caption(label)
                st.code(filled[key], language=None, wrap_lines=True)


render_generation("copy_job", "文案", after_each=show_compliance)
render_generation("rewrite_job", "合规改写")
