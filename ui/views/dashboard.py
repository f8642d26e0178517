"""情感看板 page: polarity and aspect trends from the history, a negative-share alert, and the alerts and
digests sent to people. An alert's evidence link opens it with its window and filters
(?from=&to=&channel=&brand=&aspect=)."""

from datetime import date, datetime, time, timedelta, timezone

import altair as alt
import pandas as pd
import streamlit as st

from contentgen.tasks.sentiment.trends import aspect_table, labels_in, polarity_trend, trend_frequency
from contentgen.usecases import dashboard
from contentgen.tasks.sentiment.insight import OTHER, insight_workbook
from ui.state import (current_user, guard, keep_inputs, plain, poll_interval, records_service, service, settings,
                      shared_jobs, store, visible_user)

guard("dashboard")

LABEL_NAMES = {"positive": "正面", "neutral": "中性", "negative": "负面"}
COLOURS = {"正面": "#2e7d32", "中性": "#9e9e9e", "负面": "#c62828"}


def from_link() -> None:
    """An alert's link fills the filters once (the query string is then left to the user)."""
    query = st.query_params
    if query.get("from") and "dash_dates" not in st.session_state:
        try:
            st.session_state["dash_dates"] = (date.fromisoformat(query["from"]),
                                              date.fromisoformat(query.get("to", query["from"])))
        except ValueError:
            st.warning("链接里的日期格式不对，已显示最近 30 天。")
    for name, key in (("channel", "dash_channel"), ("brand", "dash_brand"), ("aspect", "dash_aspect")):
        if query.get(name) and key not in st.session_state:
            st.session_state[key] = query[name]


def trend_chart(trend: pd.DataFrame, freq: str) -> alt.Chart:
    """Counts per label as stacked bars: a single busy hour or day shows, which a line never does."""
    data = (trend[list(LABEL_NAMES.values())].reset_index()
            .melt(id_vars="period", var_name="情感", value_name="条数"))
    return alt.Chart(data).mark_bar().encode(
        x=alt.X("period:T", title="时间（UTC）", timeUnit="yearmonthdatehours" if freq == "h" else "yearmonthdate"),
        y=alt.Y("条数:Q", stack=True),
        color=alt.Color("情感:N", scale=alt.Scale(domain=list(COLOURS), range=list(COLOURS.values()))),
        tooltip=["period:T", "情感:N", "条数:Q"],
    )


def insight_section(since: datetime, until: datetime, channel: str, brand: str, owner: str | None) -> None:
    """Praise and complaints per aspect, complaint topics against the period before, the report."""
    st.subheader("评论洞察（与上一同长时段对比）")
    scope = (since, until, channel, brand, owner)
    job = shared_jobs().get(st.session_state.get("dash_summary_job"))
    summarised = job.result if job is not None and job.status == "done" and job.result[0] == scope else None
    insight, reviews = summarised[1] if summarised else records_service().sentiment.review_insight(
        since, until, channel=channel or None, brand=brand or None, user_name=owner)
    left, right = st.columns(2)
    left.metric("负面占比", f"{insight.negative_share:.0%}",
                delta=f"{(insight.negative_share - insight.previous_negative_share) * 100:+.0f} 个百分点",
                delta_color="inverse", help=f"上期 {insight.previous_total} 条，负面占比 {insight.previous_negative_share:.0%}")
    right.metric("评论条数", insight.total, delta=insight.total - insight.previous_total)
    if insight.topics:
        st.markdown("**差评主题**")
        st.dataframe(pd.DataFrame([{"主题": t.topic, "差评": t.reviews, "上期": t.previous, "变化": t.reviews - t.previous,
                                    "模型归纳": t.summary, "代表评论": " / ".join(t.examples)} for t in insight.topics]),
                     hide_index=True)
        if st.button("让模型归纳每个差评主题", help="每个主题写一句话，只依据代表评论；在 2 核 CPU 上每个主题约几秒"):
            svc = service()
            if svc is not None:
                def work(job, svc=svc, scope=scope):  # noqa: ANN001
                    job.result = (scope, svc.sentiment.review_insight(scope[0], scope[1], channel=scope[2] or None,
                                                            brand=scope[3] or None, user_name=scope[4],
                                                            summaries=True))
                st.session_state.dash_summary_job = shared_jobs().submit("insight", current_user(), work).id
                st.rerun()
        if job is not None and job.active:
            @st.fragment(run_every=poll_interval(job))
            def waiting() -> None:
                current = shared_jobs().get(job.id)
                if current is not None and not current.active:
                    st.rerun()
                st.caption("模型归纳中…")
            waiting()
        elif job is not None and job.status == "error":
            st.error(job.error)
    left, right = st.columns(2)
    for column, title, phrases in ((left, "差评说法", insight.complaints), (right, "好评说法", insight.praise)):
        column.markdown(f"**{title}**")
        if phrases:
            column.dataframe(pd.DataFrame([{"方面": p.aspect, "说法": p.phrase, "评论数": p.reviews, "例句": p.example}
                                           for p in phrases[:15]]), hide_index=True)
        else:
            column.caption("无")
    st.download_button("下载洞察报告（XLSX）", insight_workbook(insight, reviews),
                       file_name=f"评论洞察_{since:%Y%m%d}-{until:%Y%m%d}.xlsx",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    if any(t.topic == OTHER for t in insight.topics):
        st.caption(f"“{OTHER}”：差评中没有提到任何方面关键词的评论。方面关键词可在规则文件 aspects.csv 中按行业配置。")


keep_inputs("dash_dates", "dash_channel", "dash_brand", "dash_aspect", "dash_threshold", "dash_window")
from_link()

st.header("情感看板")
left, middle, brand_column, right = st.columns(4)
dates = left.date_input("日期范围", value=(date.today() - timedelta(days=29), date.today()), key="dash_dates")
owner = visible_user()  # None for an admin: everyone's records
channels = dashboard.channels(store(), user_name=owner)
if st.session_state.get("dash_channel") and st.session_state["dash_channel"] not in channels:
    channels.append(st.session_state["dash_channel"])
channel = middle.selectbox("来源", ["", *channels], key="dash_channel", format_func=lambda c: c or "全部")
profiles = dashboard.brand_ids(store())
brands = list(profiles)
if st.session_state.get("dash_brand") and st.session_state["dash_brand"] not in brands:
    st.warning(f"没有名为“{plain(st.session_state['dash_brand'])}”的品牌档案（可能已删除），已显示全部品牌。")
    st.session_state["dash_brand"] = ""
brand = brand_column.selectbox("品牌", ["", *brands], key="dash_brand", format_func=lambda b: b or "全部",
                               help="按生成或分析时选择的品牌档案筛选")
brand_id = profiles.get(brand) if brand else None
rows = None
if len(dates) == 2:  # while a range is being picked, only its first day is set
    since = datetime.combine(dates[0], time.min, tzinfo=timezone.utc)
    until = datetime.combine(dates[1], time.max, tzinfo=timezone.utc)
    rows = dashboard.reviews(store(), since=since, until=until, channel=channel or None, user_name=owner,
                             brand_id=brand_id)
# The aspects the range's reviews mention (read once, with the range).
aspects_seen = sorted({a["aspect"] for found in (rows["aspects"] if rows is not None else []) if found for a in found})
if st.session_state.get("dash_aspect") and st.session_state["dash_aspect"] not in aspects_seen:
    aspects_seen.append(st.session_state["dash_aspect"])
aspect = right.selectbox("方面", ["", *aspects_seen], key="dash_aspect", format_func=lambda a: a or "整条评论")
left, right = st.columns(2)
threshold = left.slider("负面占比告警阈值", 0.05, 0.95, 0.3, 0.05, key="dash_threshold")
window_hours = right.number_input("告警窗口（小时）", 1, 24 * 30, 24, key="dash_window")

alert = dashboard.alert(store(), window=timedelta(hours=int(window_hours)), threshold=threshold,
                        channel=channel or None, user_name=owner, brand_id=brand_id)
(st.error if alert.triggered else st.info)(("⚠️ " if alert.triggered else "") + alert.message)

if rows is not None:
    if aspect:  # the aspect's own labels: a positive review can complain about 物流
        rows = rows[[any(a.get("aspect") == aspect for a in (found or [])) for found in rows["aspects"]]]
        rows = rows.assign(label=[next(a["label"] for a in found if a.get("aspect") == aspect)
                                  for found in rows["aspects"]])
    if rows.empty:
        st.info("所选范围内没有情感标签记录。先在“情感标签”页面分析评论，或放宽日期、来源、品牌和方面。")
    else:
        freq = trend_frequency(since, until)
        trend = polarity_trend(rows, freq, since=since, until=until).rename(columns=LABEL_NAMES)
        st.subheader("情感走势（每小时条数）" if freq == "h" else "情感走势（每日条数）")
        st.altair_chart(trend_chart(trend, freq), width="stretch")
        labels = labels_in(rows)
        share = labels.count("negative") / len(labels)
        st.metric("负面占比", f"{share:.0%}", help=f"所选范围内 {len(labels)} 条中负面 {labels.count('negative')} 条")
        aspects = aspect_table(rows).rename(columns=LABEL_NAMES)
        if not aspects.empty and not aspect:
            st.subheader("各方面的情感")
            st.bar_chart(aspects)
        st.caption(f"共 {len(rows)} 条记录。")
        insight_section(since, until, channel, brand, owner)

config = settings().alerts
with st.expander("告警与摘要（发给群机器人或邮箱）", expanded=bool(st.query_params.get("from"))):
    if not (config.rules or config.digest):
        st.caption("未配置告警规则。在 contentgen.toml 的 [alerts] 中添加 webhook（企业微信、钉钉群机器人）或 email_to，"
                   "以及 [[alerts.rules]]；`contentgen alerts test` 发送测试消息。")
    else:
        st.dataframe(pd.DataFrame([{"规则": r.name, "指标": "负面占比" if r.metric == "negative_share" else "负面条数",
                                    "阈值": r.threshold, "窗口（小时）": r.window_hours, "来源": r.channel,
                                    "品牌": r.brand, "方面": r.aspect} for r in config.rules]), hide_index=True)
        if config.digest:
            st.caption(f"摘要：{config.digest}（UTC）")
    sent = dashboard.notices(store(), 20) if owner is None else []  # company-wide figures: admins only
    if sent:
        st.dataframe(pd.DataFrame([{"时间": n.created_at, "标题": plain(n.title),
                                    "送达": "、".join(f"{k}{'✓' if v else '✗'}" for k, v in n.delivered.items()) or "无通道"}
                                   for n in sent]), hide_index=True)
