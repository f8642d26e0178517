"""品牌档案 page: tone, audience, required keywords, banned words, example copy."""

import streamlit as st

from contentgen.compliance import GENERAL, INDUSTRIES, industry_pack
from contentgen.inputs import split_points
from ui.state import keep_inputs, plain, store
from ui.state import guard

guard("brands")

keep_inputs("brand_name", "brand_tone", "brand_audience", "brand_keywords", "brand_banned", "brand_examples",
            "brand_industry")

st.header("品牌档案")
st.caption("选择品牌后，文案会按品牌语气和人群生成，并按品牌禁用词检查；品牌名不会被拆分误判。")

with st.form("brand_form"):
    st.text_input("品牌名称", key="brand_name")
    st.text_input("品牌语气", key="brand_tone", placeholder="专业可信、温暖")
    st.text_input("目标人群", key="brand_audience", placeholder="25-35 岁的上班族")
    st.text_input("必须出现的关键词（逗号分隔）", key="brand_keywords")
    st.text_input("禁用词（逗号分隔）", key="brand_banned")
    st.selectbox("行业（文案按该行业的广告法规则检查）", [GENERAL, *INDUSTRIES], key="brand_industry")
    st.text_area("品牌过往文案（每段之间空一行）", key="brand_examples", height=120)
    saved = st.form_submit_button("保存品牌档案", type="primary")

if saved:
    name = (st.session_state.brand_name or "").strip()
    if not name:
        st.error("请填写品牌名称。")
    elif len(name) > 100:
        st.error("品牌名称不能超过 100 字。")
    else:
        examples = [e.strip() for e in (st.session_state.brand_examples or "").split("\n\n") if e.strip()]
        store().brands.save(name, tone=st.session_state.brand_tone or "", audience=st.session_state.brand_audience or "",
                           required_keywords=split_points(st.session_state.brand_keywords or ""),
                           banned_words=split_points(st.session_state.brand_banned or ""), example_copy=examples,
                           industry=industry_pack(st.session_state.brand_industry))
        st.success(f"已保存品牌档案：{plain(name)}")

brands = store().brands.list()
if not brands:
    st.info("还没有品牌档案。")
for brand in brands:
    with st.expander(plain(brand.name)):
        st.write(f"语气：{plain(brand.tone or '—')} · 人群：{plain(brand.audience or '—')}")
        st.write(f"行业：{plain(brand.industry or GENERAL)}")
        st.write(f"关键词：{plain('、'.join(brand.required_keywords) or '—')} · 禁用词：{plain('、'.join(brand.banned_words) or '—')}")
        for example in brand.example_copy:
            st.caption(plain(example))
