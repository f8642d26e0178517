"""客服回复 page."""

import streamlit as st

from contentgen.errors import UserFacingError
from contentgen.tasks.reply.knowledge import parse_faq_file
from contentgen.usecases.faq import add_faq_entry, answer_unanswered, delete_faq_entry, edit_faq_entry, faq_row, unanswered_rows
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
from contentgen.tasks import get_task
from ui.forms import field_input, form_keys, request_from_form
from ui.state import guard

guard("reply")

TASK = get_task("reply")
keep_inputs(*form_keys(TASK, "reply"), "reply_adapter")

st.header("客服回复")
st.caption("粘贴顾客消息（可附上之前的对话和订单信息），生成一条礼貌、具体的回复建议。")

with st.form("reply_form"):
    field_input(TASK, "message", "reply", height=100)
    field_input(TASK, "context", "reply", height=100)
    field_input(TASK, "order", "reply")
    adapter_picker("reply", "reply_adapter")
    submitted = st.form_submit_button("生成回复", type="primary")

if submitted:
    submit_stream("reply_job", "reply", request_from_form(TASK, "reply"),
                  adapter=st.session_state.get("reply_adapter", "auto"))


def show_sources_and_continue(index: int, text: str) -> None:
    job = shared_jobs().get(st.session_state.get("reply_job"))
    feedback_controls(job.request_id if job else None, index, text)
    result = job.result if job is not None else None
    parts = result.parts[index] if result is not None and len(result.parts) > index else {}
    if parts.get("handoff"):
        st.warning(f"建议转人工：{plain(parts.get('handoff_reason', ''))}")
    if result is not None and result.sources:
        st.caption("参考知识库：" + "；".join(f"#{s['id']} {plain(s['question'])}" for s in result.sources))
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
    st.caption(f"当前共 {len(entries)} 条。回复会自动检索最相关的条目并据此作答；“直接回答”的条目问到时原样返回答案。")
    upload = st.file_uploader("导入 FAQ / 政策文件（CSV / XLSX，需含“问题”“答案”列，可选“分类”）",
                              type=["csv", "xlsx"], key="faq_upload")
    if upload is not None and st.button("导入", key="faq_import"):
        try:
            added = store().faq.add(parse_faq_file(upload.getvalue(), upload.name))
            st.success(f"已导入 {added} 条。")
        except UserFacingError as exc:
            st.error(str(exc))
    if entries:
        st.dataframe([{"编号": r["id"], "问题": r["question"], "答案": r["answer"], "分类": r["category"],
                       "状态": "启用" if r["enabled"] else "停用", "直接回答": "是" if r["direct_answer"] else "",
                       "命中次数": r["hits"]} for r in map(faq_row, entries)], hide_index=True)

    st.markdown("**新增或修改一条**（选“新增”或一个已有条目）")
    by_label = {f"#{e.id} {e.question[:30]}": e for e in entries}
    picked = st.selectbox("条目", ["新增", *by_label], key="faq_pick")
    entry = by_label.get(picked)
    editing = entry.id if entry else "new"  # each entry's widgets keep their own values
    with st.form("faq_entry_form"):
        question = st.text_input("问题", value=entry.question if entry else "", key=f"faq_question_{editing}")
        answer = st.text_area("答案（写清步骤、时限和条件）", value=entry.answer if entry else "", height=100,
                              key=f"faq_answer_{editing}")
        left, middle, right = st.columns(3)
        category = left.text_input("分类", value=entry.category if entry else "", key=f"faq_category_{editing}")
        enabled = middle.checkbox("启用", value=entry.enabled if entry else True, key=f"faq_enabled_{editing}")
        direct = right.checkbox("直接回答", value=entry.direct_answer if entry else False, key=f"faq_direct_{editing}")
        if st.form_submit_button("保存"):
            try:
                if entry is None:
                    entry_id = add_faq_entry(store(), question, answer, category, direct_answer=direct)
                    edit_faq_entry(store(), entry_id, enabled=enabled)
                    st.success(f"已新增条目 #{entry_id}。")
                else:
                    edit_faq_entry(store(), entry.id, question=question, answer=answer, category=category,
                                   enabled=enabled, direct_answer=direct)
                    st.success(f"已更新条目 #{entry.id}。")
            except UserFacingError as exc:
                st.error(str(exc))
    if entry is not None and st.button(f"删除条目 #{entry.id}", key="faq_delete"):
        try:
            delete_faq_entry(store(), entry.id)
            st.success(f"已删除条目 #{entry.id}。")
        except UserFacingError as exc:
            st.error(str(exc))

with st.expander("知识库答不上的问题"):
    waiting = unanswered_rows(store())
    st.caption("回复时没有找到能回答的条目的问题，按被问次数排列。补一个答案就成为知识库条目，下次直接用上。")
    if not waiting:
        st.info("暂时没有待补充的问题。")
    else:
        st.dataframe([{"编号": r["id"], "问题": r["question"], "次数": r["count"]} for r in waiting], hide_index=True)
        questions = {f"#{r['id']}（{r['count']} 次）{r['question'][:30]}": r for r in waiting}
        with st.form("faq_answer_form", clear_on_submit=True):
            chosen = st.selectbox("问题", list(questions))
            question = st.text_input("整理后的问题（可选，不填则用原问题）")
            answer = st.text_area("答案", height=100)
            left, right = st.columns(2)
            category = left.text_input("分类")
            direct = right.checkbox("直接回答")
            if st.form_submit_button("补成知识条目"):
                try:
                    entry_id = answer_unanswered(store(), questions[chosen]["id"], answer, category,
                                                 question=question, direct_answer=direct)
                    st.success(f"已补成条目 #{entry_id}。")
                except UserFacingError as exc:
                    st.error(str(exc))
