"""管理 page (admin only): accounts, and the adapters the shared model serves."""

import pandas as pd
import streamlit as st

from contentgen.usecases.accounts import ROLES, ApiKeyStore
from contentgen.adapters import discover, scope_platforms, serves_by_default
from contentgen.compliance import INDUSTRIES, MATCHES
from contentgen.errors import UserFacingError
from contentgen.usecases.rules import restore_rule, rule_table, save_rule, set_rule_enabled
from contentgen.tasks.copy.task import PLATFORMS
from ui.state import accounts, guard, plain, settings, shared_engine, store

account = guard("admin")
if account is not None and not account.is_admin:  # guard lets only admins through; belt and braces
    st.stop()

st.header("管理")
st.subheader("账号")
users = accounts().list()
st.dataframe(pd.DataFrame([{"用户名": u.name, "角色": ROLES[u.role], "状态": "启用" if u.active else "停用",
                            "最近登录": u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else ""}
                           for u in users]), hide_index=True)

with st.form("add_user", clear_on_submit=True):
    st.markdown("**新增账号**")
    left, middle, right = st.columns(3)
    name = left.text_input("用户名", key="admin_new_name")
    role = middle.selectbox("角色", list(ROLES), format_func=ROLES.get, key="admin_new_role")
    password = right.text_input("初始密码（至少 8 位）", type="password", key="admin_new_password")
    if st.form_submit_button("创建"):
        try:
            accounts().add(name, password, role)
            st.success(f"已创建 {plain(name)}（{ROLES[role]}）。")
        except UserFacingError as exc:
            st.error(str(exc))

if users:
    st.markdown("**修改账号**")
    left, middle, right = st.columns(3)
    target = left.selectbox("账号", [u.name for u in users], key="admin_target")
    new_role = middle.selectbox("角色", ["", *ROLES], key="admin_role", format_func=lambda r: ROLES.get(r, "不变"))
    new_password = right.text_input("新密码（留空不变）", type="password", key="admin_password")
    apply, disable, enable = st.columns(3)
    try:
        if apply.button("保存修改"):
            accounts().update(target, role=new_role or None, password=new_password or None)
            st.success(f"已更新 {plain(target)}。")
        if disable.button("停用账号", disabled=account is not None and target == account.name):
            accounts().update(target, active=False)
            st.success(f"已停用 {plain(target)}。")
        if enable.button("启用账号"):
            accounts().update(target, active=True)
            st.success(f"已启用 {plain(target)}。")
    except UserFacingError as exc:
        st.error(str(exc))

st.subheader("API Key")
st.caption("HTTP API 的调用方凭 Key 以对应用户的身份和角色访问；Key 只显示一次，库中只存哈希。")
if users:
    left, right = st.columns([3, 1])
    key_owner = left.selectbox("为用户签发", [u.name for u in users], key="admin_key_owner")
    if right.button("签发 Key"):
        st.code(ApiKeyStore(store()).create(key_owner), language=None)
        st.warning("请立即复制保存：离开页面后无法再次查看。")
    issued = ApiKeyStore(store()).list()
    if issued:
        st.dataframe(pd.DataFrame([{"前缀": k.prefix + "…", "用户": k.user_name, "状态": "已吊销" if k.revoked else "有效",
                                    "创建时间": k.created_at.strftime("%Y-%m-%d %H:%M")} for k in issued]),
                     hide_index=True)
        revoke = st.selectbox("吊销 Key", ["", *(k.prefix for k in issued if not k.revoked)], key="admin_revoke",
                              format_func=lambda prefix: prefix + "…" if prefix else "选择要吊销的 Key")
        if revoke and st.button("吊销"):
            ApiKeyStore(store()).revoke(revoke)
            st.success("已吊销。")

st.subheader("品牌档案")
brands = store().brands.list()
if brands:
    st.dataframe(pd.DataFrame([{"品牌": b.name, "语气": b.tone, "人群": b.audience,
                                "必用关键词": "、".join(b.required_keywords), "禁用词": "、".join(b.banned_words)}
                               for b in brands]), hide_index=True)
else:
    st.info("还没有品牌档案。")
st.caption("在“品牌档案”页面新增或修改品牌。")

st.subheader("广告法规则")
st.caption("内置规则来自 contentgen/rules/ad_law.csv；在这里新增、修改或停用的规则对所有用户立即生效，"
           "修改内置规则会覆盖同词语、同行业的那一条。每条规则须附一句它应查出的示例，保存时会检验。")
rule_rows = rule_table(store(), settings().rules)
editor = account.name if account else ""  # who changed a rule, kept with it
categories = sorted({r["category"] for r in rule_rows})
shown_category = st.selectbox("按类别查看", ["全部", *categories], key="admin_rule_category")
st.dataframe(pd.DataFrame([{"词语": r["term"], "匹配": MATCHES.get(r["match"], r["match"]), "类别": r["category"],
                            "行业": r["industries"] or "全部", "平台": r["platforms"] or "全部", "依据": r["rule"],
                            "建议": r["suggestion"], "示例": r["example"], "来源": r["source"],
                            "状态": "启用" if r["enabled"] else "停用"}
                           for r in rule_rows if shown_category in ("全部", r["category"])]), hide_index=True)

with st.form("rule_form"):
    st.markdown("**新增或修改规则**（词语和行业与已有规则相同即为修改）")
    left, middle, right = st.columns(3)
    term = left.text_input("词语（正则表达式或必备声明也填在这里）", key="admin_rule_term")
    match = middle.selectbox("匹配方式", list(MATCHES), format_func=MATCHES.get, key="admin_rule_match")
    category = right.text_input("类别", key="admin_rule_category_name", placeholder="绝对化用语")
    statute = st.text_input("依据（法条）", key="admin_rule_statute", placeholder="《广告法》第九条第三项：……")
    suggestion = st.text_input("修改建议", key="admin_rule_suggestion")
    left, right = st.columns(2)
    industries = left.multiselect("只用于这些行业（不选：所有行业）", list(INDUSTRIES), key="admin_rule_industries")
    platforms = right.multiselect("只用于这些平台（不选：所有平台）", list(PLATFORMS), key="admin_rule_platforms")
    example = st.text_input("示例句（这条规则应当查出的文案）", key="admin_rule_example")
    if st.form_submit_button("保存规则"):
        try:
            save_rule(store(), {"term": term, "match": match, "category": category, "rule": statute,
                                "suggestion": suggestion, "industries": "|".join(industries),
                                "platforms": "|".join(platforms), "example": example},
                      updated_by=editor)
            st.success(f"已保存规则“{plain(term)}”。")
        except UserFacingError as exc:
            st.error(str(exc))

labels = {f"{r['term']}（{r['industries'] or '全部行业'}）": (r["term"], r["industries"]) for r in rule_rows}
chosen = st.selectbox("选择要停用、启用或恢复的规则", ["", *labels], key="admin_rule_pick")
if chosen:
    picked_term, picked_industries = labels[chosen]
    off, on, restore = st.columns(3)
    try:
        if off.button("停用"):
            set_rule_enabled(store(), picked_term, picked_industries, False, rules=settings().rules,
                             updated_by=editor)
            st.success(f"已停用“{plain(picked_term)}”。")
        if on.button("启用"):
            set_rule_enabled(store(), picked_term, picked_industries, True, rules=settings().rules,
                             updated_by=editor)
            st.success(f"已启用“{plain(picked_term)}”。")
        if restore.button("恢复内置 / 删除新增"):
            restore_rule(store(), picked_term, picked_industries)
            st.success(f"已恢复“{plain(picked_term)}”。")
    except UserFacingError as exc:
        st.error(str(exc))

st.subheader("适配器")
config = settings().model
served = shared_engine(config).adapters
for adapter_name, path in discover(config).items():
    left, right = st.columns([4, 1])
    platforms = scope_platforms(path)
    scope = f" · 适用平台：{'、'.join(platforms)}" if platforms else ""
    if not serves_by_default(path):
        scope += " · 只在指定时使用（评估不如基础模型）"
    left.write(f"**{adapter_name}** · `{path}` · {'已加载' if adapter_name in served else '未加载'}{scope}")
    if right.button("加载", key=f"admin_load_{adapter_name}"):
        try:
            shared_engine(config).load_adapter(adapter_name, str(path))
        except Exception as exc:  # noqa: BLE001 - shown to the admin instead of a traceback
            st.error(f"适配器“{plain(adapter_name)}”无法加载：{plain(exc)}。请检查目录是否完整，或重新训练后再加载。")
        else:
            st.rerun()
st.caption("适配器训练在“模型微调”页面；训练未完成的适配器不会被加载。")
