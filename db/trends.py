"""Sentiment trends from the history: polarity and aspects over time, and alerts."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import select

from db.history import HistoryStore
from db.models import Request, Result

LABELS = ["positive", "neutral", "negative"]


def sentiment_channels(store: HistoryStore, *, user_name: str | None = None) -> list[str]:
    """The channels sentiment was tagged under (one user's, when given): a filter's choices, without reading
    every record."""
    statement = (select(Request.channel).distinct()
                 .where(Request.task == "sentiment", Request.status == "ok", Request.channel != ""))
    if user_name:
        statement = statement.where(Request.user_name == user_name)
    with store.sessions() as session:
        return sorted(session.scalars(statement))


def sentiment_rows(store: HistoryStore, *, since: datetime | None = None, until: datetime | None = None,
                   channel: str | None = None, user_name: str | None = None,
                   brand_id: int | None = None) -> pd.DataFrame:
    """One row per tagged text: time, channel, label, aspects, text, confidence (one user's, when given)."""
    statement = (select(Request.created_at, Request.channel, Result.label, Result.aspects, Request.input_text,
                        Result.confidence, Request.id)
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
    if brand_id is not None:
        statement = statement.where(Request.brand_id == brand_id)
    with store.sessions() as session:
        rows = session.execute(statement.order_by(Request.created_at)).all()
    frame = pd.DataFrame(rows, columns=["created_at", "channel", "label", "aspects", "text", "confidence", "request_id"])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return frame
