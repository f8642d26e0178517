"""What the sentiment dashboard reads: the channels and reviews in the history a user may see, the
negative-share alert, and the alerts and digests sent (the figures themselves: `tasks/sentiment/trends`)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from contentgen.tasks.sentiment.trends import Alert, negative_alert
from db.database import Database
from db.trends import sentiment_channels, sentiment_rows


def channels(store: Database, *, user_name: str | None = None) -> list[str]:
    return sentiment_channels(store, user_name=user_name)


def reviews(store: Database, *, since: datetime, until: datetime, channel: str | None = None,
            user_name: str | None = None, brand_id: int | None = None) -> pd.DataFrame:
    """One row per labelled review (and per aspect it mentions) in the period."""
    return sentiment_rows(store, since=since, until=until, channel=channel, user_name=user_name, brand_id=brand_id)


def alert(store: Database, *, window: timedelta, threshold: float, **scope: object) -> Alert:
    return negative_alert(store, window=window, threshold=threshold, **scope)


def brand_ids(store: Database) -> dict[str, int]:
    return {b.name: b.id for b in store.brands.list()}


def notices(store: Database, limit: int = 20) -> list:
    """The alerts and digests sent, newest first (company-wide: for admins)."""
    return store.notices.recent(limit)
