"""Sentiment trends from the history: polarity and aspects over time, and alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pandas as pd
from sqlalchemy import select

from db.history import HistoryStore
from db.models import Request, Result

LABELS = ["positive", "neutral", "negative"]


def sentiment_rows(store: HistoryStore, *, since: datetime | None = None, until: datetime | None = None,
                   channel: str | None = None, user_name: str | None = None) -> pd.DataFrame:
    """One row per tagged text: time, channel, label, aspects (one user's, when given)."""
    statement = (select(Request.created_at, Request.channel, Result.label, Result.aspects)
                 .join(Result, Result.request_id == Request.id)
                 .where(Request.task == "sentiment", Request.status == "ok"))
    if since:
        statement = statement.where(Request.created_at >= since)
    if until:
        statement = statement.where(Request.created_at < until)
    if channel:
        statement = statement.where(Request.channel == channel)
    if user_name:
        statement = statement.where(Request.user_name == user_name)
    with store.sessions() as session:
        rows = session.execute(statement).all()
    frame = pd.DataFrame(rows, columns=["created_at", "channel", "label", "aspects"])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame


def polarity_trend(rows: pd.DataFrame, freq: str = "D") -> pd.DataFrame:
    """Counts per label per period, plus the negative share."""
    if rows.empty:
        return pd.DataFrame(columns=[*LABELS, "total", "negative_share"])
    counts = (rows.assign(period=rows["created_at"].dt.floor(freq))
              .pivot_table(index="period", columns="label", aggfunc="size", fill_value=0)
              .reindex(columns=LABELS, fill_value=0))
    counts["total"] = counts[LABELS].sum(axis=1)
    counts["negative_share"] = (counts["negative"] / counts["total"]).round(4)
    return counts


def aspect_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Mentions per aspect and label."""
    records = [{"aspect": a["aspect"], "label": a["label"]} for aspects in rows["aspects"] if aspects
               for a in aspects]
    if not records:
        return pd.DataFrame(columns=LABELS)
    return (pd.DataFrame(records).pivot_table(index="aspect", columns="label", aggfunc="size", fill_value=0)
            .reindex(columns=LABELS, fill_value=0))


@dataclass(frozen=True)
class Alert:
    triggered: bool
    negative_share: float
    count: int
    window_start: datetime
    threshold: float
    message: str


def negative_alert(store: HistoryStore, *, window: timedelta = timedelta(hours=24), threshold: float = 0.3,
                   min_count: int = 5, channel: str | None = None, now: datetime | None = None,
                   user_name: str | None = None) -> Alert:
    """Alert when the negative share of the last `window` exceeds `threshold` (with enough items)."""
    now = now or datetime.now(timezone.utc)
    rows = sentiment_rows(store, since=now - window, until=now + timedelta(seconds=1), channel=channel,
                        user_name=user_name)
    count = len(rows)
    share = float((rows["label"] == "negative").mean()) if count else 0.0
    triggered = count >= min_count and share > threshold
    message = (f"近 {window.total_seconds() / 3600:.0f} 小时负面占比 {share:.0%}（{count} 条），超过阈值 {threshold:.0%}。"
               if triggered else f"近 {window.total_seconds() / 3600:.0f} 小时负面占比 {share:.0%}（{count} 条）。")
    return Alert(triggered, round(share, 4), count, now - window, threshold, message)
