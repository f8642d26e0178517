"""情感看板 page: polarity and aspect trends from the history, with a negative-share alert."""

from datetime import date, datetime, time, timedelta, timezone

import streamlit as st

from db.trends import aspect_table, negative_alert, polarity_trend, sentiment_rows
from ui.state import keep_inputs, store, visible_user
from ui.state import guard

guard("dashboard")

LABEL_NAMES = {"positive": "正面", "neutral": "中性", "negative": "负面"}

keep_inputs("dash_dates", "dash_channel", "dash_threshold", "dash_window")

st.header("情感看板")
left, middle = st.columns(2)
dates = left.date_input("日期范围", value=(date.today() - timedelta(days=29), date.today()), key="dash_dates")
owner = visible_user()  # None for an admin: everyone's records
channels = sorted({c for c in sentiment_rows(store(), user_name=owner)["channel"].unique() if c})
channel = middle.selectbox("来源", ["", *channels], key="dash_channel", format_func=lambda c: c or "全部")
left, right = st.columns(2)
threshold = left.slider("负面占比告警阈值", 0.05, 0.95, 0.3, 0.05, key="dash_threshold")
window_hours = right.number_input("告警窗口（小时）", 1, 24 * 30, 24, key="dash_window")

alert = negative_alert(store(), window=timedelta(hours=int(window_hours)), threshold=threshold,
                       channel=channel or None, user_name=owner)
(st.error if alert.triggered else st.info)(("⚠️ " if alert.triggered else "") + alert.message)

if len(dates) == 2:
    since = datetime.combine(dates[0], time.min, tzinfo=timezone.utc)
    until = datetime.combine(dates[1], time.max, tzinfo=timezone.utc)
    rows = sentiment_rows(store(), since=since, until=until, channel=channel or None, user_name=owner)
    if rows.empty:
        st.info("所选范围内没有情感标签记录。先在“情感标签”页面分析评论。")
    else:
        trend = polarity_trend(rows).rename(columns=LABEL_NAMES)
        st.subheader("情感走势（每日条数）")
        st.line_chart(trend[list(LABEL_NAMES.values())])
        st.subheader("负面占比")
        st.line_chart(trend["negative_share"])
        aspects = aspect_table(rows).rename(columns=LABEL_NAMES)
        if not aspects.empty:
            st.subheader("各方面的情感")
            st.bar_chart(aspects)
        st.caption(f"共 {len(rows)} 条记录。")
