import json
from datetime import datetime, timedelta, timezone

from contentgen.tasks.sentiment.aspects import aspect_clauses, load_aspects
from db.history import ResultRecord
from db.models import Request
from contentgen.tasks.sentiment.trends import aspect_table, negative_alert, polarity_trend
from db.trends import sentiment_channels, sentiment_rows

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def seed(store, when, label, channel="淘宝", aspects=None):
    request_id = store.history.record(task="sentiment", inputs={"text": label}, input_text=label,
                              results=[ResultRecord(text=label, label=label, confidence=0.9, aspects=aspects)],
                              model_id="m", params={}, user_name="u", channel=channel)
    with store.sessions.begin() as session:
        session.get(Request, request_id).created_at = when
    return request_id


def test_aspect_clauses_use_jieba_words():
    aspects = load_aspects()
    found = aspect_clauses("物流很快，包装有点破损，但是性价比很高。这本书很有价值", aspects)
    assert found == {"物流": "物流很快", "包装": "包装有点破损", "价格": "但是性价比很高"}  # 价值 is not 值


def test_tag_records_aspects_and_channel(service, store):
    result = service.sentiment.tag(["物流很快，但是味道一般"], channel="外卖")[0]
    assert {a["aspect"] for a in result.aspects} == {"物流", "口味"}
    assert all(a["label"] in {"positive", "neutral", "negative"} for a in result.aspects)
    row = store.history.get(result.request_id)
    assert row.channel == "外卖" and row.results[0].aspects == result.aspects


def test_polarity_and_aspect_trends_over_seeded_history(store):
    for day, labels in enumerate([["positive", "positive", "negative"], ["negative", "negative", "neutral"]]):
        for label in labels:
            seed(store, NOW - timedelta(days=1 - day), label,
                 aspects=[{"aspect": "物流", "label": label, "confidence": 0.9, "evidence": "物流"}])
    seed(store, NOW, "positive", channel="京东")
    rows = sentiment_rows(store, since=NOW - timedelta(days=3), channel="淘宝")
    trend = polarity_trend(rows)
    assert list(trend["total"]) == [3, 3]
    assert list(trend["negative"]) == [1, 2] and list(trend["negative_share"]) == [0.3333, 0.6667]
    table = aspect_table(rows)
    assert table.loc["物流", "negative"] == 3 and table.loc["物流", "positive"] == 2
    assert len(sentiment_rows(store, since=NOW - timedelta(days=3))) == 7  # both channels
    assert sentiment_rows(store, since=NOW + timedelta(days=1)).empty
    seed(store, NOW, "neutral", channel="")  # no channel: not a choice
    assert sentiment_channels(store) == ["京东", "淘宝"]
    assert sentiment_channels(store, user_name="someone else") == []


def test_negative_share_alert(store):
    for label in ["negative"] * 4 + ["positive"] * 2:
        seed(store, NOW - timedelta(hours=2), label)
    seed(store, NOW - timedelta(days=3), "negative")  # outside the window
    alert = negative_alert(store, threshold=0.5, now=NOW)
    assert alert.triggered and alert.count == 6 and alert.negative_share == 0.6667
    assert "超过阈值" in alert.message
    assert not negative_alert(store, threshold=0.7, now=NOW).triggered
    assert not negative_alert(store, threshold=0.5, min_count=10, now=NOW).triggered


def test_a_range_gets_every_period_so_one_day_of_reviews_still_draws(store):
    from contentgen.tasks.sentiment.trends import trend_frequency

    for hour in (1, 1, 5):
        seed(store, NOW.replace(hour=hour), "negative" if hour == 5 else "positive")
    day_start, day_end = NOW.replace(hour=0), NOW.replace(hour=23, minute=59)
    assert trend_frequency(day_start, day_end) == "h"
    assert trend_frequency(day_start - timedelta(days=29), day_end) == "D"
    hourly = polarity_trend(sentiment_rows(store, since=day_start, until=day_end), "h", since=day_start, until=day_end)
    assert len(hourly) == 24 and hourly["total"].sum() == 3
    assert hourly.loc[hourly.index[1], "positive"] == 2 and hourly.loc[hourly.index[5], "negative_share"] == 1.0
    assert hourly["negative_share"].isna().sum() == 22  # no reviews: no share, not 0%
    empty = polarity_trend(sentiment_rows(store, since=NOW + timedelta(days=5)), "D",
                           since=NOW + timedelta(days=5), until=NOW + timedelta(days=7))
    assert len(empty) == 3 and empty["total"].sum() == 0


def test_each_industry_reads_its_own_aspects(service, app_env, capsys):
    from contentgen.cli import main
    from contentgen.tasks import TagRequest

    text = "油耗有点高，但是空间很大，物流也快"
    car = service.sentiment.tag([TagRequest(text=text, industry="汽车")])[0]
    shop = service.sentiment.tag([text])[0]
    assert [a["aspect"] for a in car.aspects] == ["油耗", "空间"]
    assert [a["aspect"] for a in shop.aspects] == ["物流"]
    assert main(["tag", "--text", "房间很干净，早餐一般", "--industry", "酒店", "--json"]) == 0
    tagged = json.loads(capsys.readouterr().out)
    assert {a["aspect"] for a in tagged["aspects"]} == {"房间", "卫生", "早餐"}


def test_an_aspect_file_without_industries_serves_every_industry(tmp_path):
    path = tmp_path / "aspects.csv"
    path.write_text("aspect,keywords\n售后,售后 退换\n", encoding="utf-8")
    assert load_aspects(path, "汽车") == {"售后": {"售后", "退换"}}
