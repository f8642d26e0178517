"""Sentiment over time from the history's rows (a DataFrame of `db.trends.sentiment_rows`): counts per
period and label, the labels present, and praise and complaints per aspect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pandas as pd

from db.history import HistoryStore
from db.trends import LABELS, sentiment_rows


def trend_frequency(since: datetime, until: datetime) -> str:
    """Hours for a range of up to two days (today alone is 24 points, not one), else days."""
    return "h" if until - since <= timedelta(days=2) else "D"


def polarity_trend(rows: pd.DataFrame, freq: str = "D", *, since: datetime | None = None,
                   until: datetime | None = None) -> pd.DataFrame:
    """Counts per label per period, plus the negative share. With `since`/`until`, every period of the
    range is a row (zero when nothing was tagged), so one busy day still draws as a point among days."""
    if rows.empty and since is None:
        return pd.DataFrame(columns=[*LABELS, "total", "negative_share"])
    counts = (rows.assign(period=rows["created_at"].dt.floor(freq))
              .pivot_table(index="period", columns="label", aggfunc="size", fill_value=0)
              .reindex(columns=LABELS, fill_value=0)) if not rows.empty else pd.DataFrame(columns=LABELS)
    if since is not None and until is not None:
        periods = pd.date_range(pd.Timestamp(since).floor(freq), pd.Timestamp(until).floor(freq), freq=freq)
        counts = counts.reindex(periods, fill_value=0)
        counts.index.name = "period"
    counts = counts.astype(int)
    counts["total"] = counts[LABELS].sum(axis=1)
    counts["negative_share"] = (counts["negative"] / counts["total"].where(counts["total"] > 0)).round(4)
    return counts


def labels_in(rows: pd.DataFrame, aspect: str | None = None) -> list[str]:
    """The review labels, or with an aspect the labels of its mentions (物流 negative in a positive review)."""
    if not aspect:
        return list(rows["label"])
    return [a["label"] for aspects in rows["aspects"] if aspects for a in aspects if a.get("aspect") == aspect]


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


def window_figures(store: HistoryStore, start: datetime, end: datetime, *, channel: str | None = None,
                   brand_id: int | None = None, aspect: str | None = None, user_name: str | None = None) -> dict:
    """How many reviews (or aspect mentions) the window holds, how many negative, and the share."""
    labels = labels_in(sentiment_rows(store, since=start, until=end, channel=channel, brand_id=brand_id,
                                      user_name=user_name), aspect)
    negative = labels.count("negative")
    return {"count": len(labels), "negative": negative,
            "negative_share": round(negative / len(labels), 4) if labels else 0.0}


def negative_alert(store: HistoryStore, *, window: timedelta = timedelta(hours=24), threshold: float = 0.3,
                   min_count: int = 5, channel: str | None = None, now: datetime | None = None,
                   user_name: str | None = None, brand_id: int | None = None) -> Alert:
    """Alert when the negative share of the last `window` exceeds `threshold` (with enough items)."""
    now = now or datetime.now(timezone.utc)
    rows = sentiment_rows(store, since=now - window, until=now + timedelta(seconds=1), channel=channel,
                          user_name=user_name, brand_id=brand_id)
    count = len(rows)
    share = float((rows["label"] == "negative").mean()) if count else 0.0
    triggered = count >= min_count and share > threshold
    message = (f"近 {window.total_seconds() / 3600:.0f} 小时负面占比 {share:.0%}（{count} 条），超过阈值 {threshold:.0%}。"
               if triggered else f"近 {window.total_seconds() / 3600:.0f} 小时负面占比 {share:.0%}（{count} 条）。")
    return Alert(triggered, round(share, 4), count, now - window, threshold, message)
