"""Review insight: opinion phrases per aspect, complaint topics against the period before, the XLSX report, the API."""

import io
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from contentgen.errors import UserFacingError
from contentgen.tasks.sentiment.insight import OTHER, opinion_phrase
from db.history import ResultRecord
from db.models import Request
from tests.test_api import api, client  # noqa: F401  (the module's server fixture)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=timezone.utc)


def seed(store, when, text, label, aspects=(), user="u", confidence=0.9):
    request_id = store.history.record(
        task="sentiment", inputs={"text": text}, input_text=text, model_id="m", params={}, user_name=user,
        results=[ResultRecord(text=label, label=label, confidence=confidence,
                              aspects=[{"aspect": a, "label": lab, "confidence": 0.9, "evidence": ev} for a, lab, ev in aspects])])
    with store.sessions.begin() as session:
        session.get(Request, request_id).created_at = when


def week(store):
    """This week: 物流 complaints (3) and praise (2), a 包装 complaint, a complaint naming no aspect.
    The week before: one 物流 complaint."""
    day = timedelta(days=1)
    seed(store, NOW - day, "物流太慢了，等了一周", "negative", [("物流", "negative", "物流太慢了")])
    seed(store, NOW - 2 * day, "快递太慢了，包装也破了", "negative",
         [("物流", "negative", "快递太慢了"), ("包装", "negative", "包装也破了")], confidence=0.99)
    seed(store, NOW - 3 * day, "发货太慢", "negative", [("物流", "negative", "发货太慢")])
    seed(store, NOW - 2 * day, "物流很快，质量不错", "positive", [("物流", "positive", "物流很快")])
    seed(store, NOW - 4 * day, "但是物流很快", "positive", [("物流", "positive", "但是物流很快")])
    seed(store, NOW - 5 * day, "再也不买了", "negative")
    seed(store, NOW - 9 * day, "物流慢", "negative", [("物流", "negative", "物流慢")])


@pytest.mark.parametrize("clause, keywords, phrase", [
    ("客服态度很差", {"客服", "态度"}, "很差"),
    ("包装有点破损", {"包装", "破损"}, "有点破损"),
    ("送货速度太慢了", {"送货", "速度"}, "太慢"),
    ("但是性价比很高", {"性价比"}, "很高"),
    ("电池不耐用", {"耐用"}, "电池不耐用"),
])
def test_the_opinion_is_what_the_clause_says_after_its_aspect(clause, keywords, phrase):
    assert opinion_phrase(clause, keywords) == phrase


def test_insight_of_a_week_against_the_week_before(tiny_engine, any_store):
    from contentgen.usecases.service import ContentService

    store = any_store  # SQLite and PostgreSQL
    service = ContentService(tiny_engine, store)
    week(store)
    insight, rows = service.sentiment.review_insight(NOW - timedelta(days=7), NOW)
    assert (insight.total, insight.negative, insight.previous_total) == (6, 4, 1)
    assert insight.previous_negative_share == 1.0
    complaints = {(p.aspect, p.phrase): p for p in insight.complaints}
    assert complaints[("物流", "太慢")].reviews == 3 and complaints[("物流", "太慢")].example == "发货太慢"
    assert {(p.aspect, p.phrase) for p in insight.praise} == {("物流", "很快")}
    topics = {t.topic: t for t in insight.topics}
    assert [t.topic for t in insight.topics] == ["物流", "包装", OTHER]  # biggest first, 其他 last
    assert (topics["物流"].reviews, topics["物流"].previous) == (3, 1)
    assert topics["物流"].examples[0] == "快递太慢了，包装也破了"  # the surest first
    assert topics[OTHER].examples == ["再也不买了"]
    logistics = next(a for a in insight.aspects if a["aspect"] == "物流")
    assert logistics["mentions"] == 5 and logistics["negative_share"] == 0.6 and logistics["previous_negative_share"] == 1.0
    assert len(rows) == 6


def test_the_model_sums_up_each_topic_and_the_report_has_every_sheet(service, store):
    from contentgen.tasks.sentiment.insight import insight_workbook

    week(store)
    insight, rows = service.sentiment.review_insight(NOW - timedelta(days=7), NOW, summaries=True)
    assert all(0 < len(t.summary) <= 60 and not {"\n", "\r"} & set(t.summary) for t in insight.topics)
    sheets = pd.read_excel(io.BytesIO(insight_workbook(insight, rows)), sheet_name=None)
    assert list(sheets) == ["概览", "方面", "差评主题", "好评与差评短语", "明细"]
    assert len(sheets["明细"]) == 6 and sheets["差评主题"]["主题"].tolist() == ["物流", "包装", OTHER]
    assert sheets["差评主题"]["模型归纳"].tolist() == [t.summary for t in insight.topics]


def test_one_user_sees_only_their_reviews_and_bad_ranges_are_chinese_errors(service, store):
    week(store)
    seed(store, NOW - timedelta(days=1), "别人的差评", "negative", user="other")
    assert service.sentiment.review_insight(NOW - timedelta(days=7), NOW, user_name="u")[0].total == 6
    assert service.sentiment.review_insight(NOW - timedelta(days=7), NOW)[0].total == 7
    with pytest.raises(UserFacingError, match="晚于"):
        service.sentiment.review_insight(NOW, NOW - timedelta(days=1))
    with pytest.raises(UserFacingError, match="最长"):
        service.sentiment.review_insight(NOW - timedelta(days=800), NOW)
    with pytest.raises(UserFacingError, match="品牌"):
        service.sentiment.review_insight(NOW - timedelta(days=7), NOW, brand="没有这个牌子")


def test_insight_and_report_over_http(api):  # noqa: F811
    with client(api, "小李") as http:
        http.post("/v1/tag", json={"texts": ["物流太慢了，差评", "物流很快，好评"], "channel": "淘宝"})
        span = {"since": (datetime.now(timezone.utc) - timedelta(days=1)).isoformat(),
                "until": (datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat()}
        insight = http.get("/v1/sentiment/insight", params=span).json()
        assert insight["total"] >= 2 and {"aspects", "praise", "complaints", "topics"} <= set(insight)
        report = http.get("/v1/sentiment/insight.xlsx", params=span)
        assert report.status_code == 200 and "attachment" in report.headers["content-disposition"]
        assert "明细" in pd.read_excel(io.BytesIO(report.content), sheet_name=None)
        backwards = http.get("/v1/sentiment/insight", params={"since": span["until"], "until": span["since"]})
        assert backwards.status_code == 400 and "晚于" in backwards.json()["message"]
        assert http.get("/v1/alerts").status_code == 403  # company-wide: admins only
    with client(api, "小王") as http:  # marketing may read sentiment too, but only their own reviews
        assert http.get("/v1/sentiment/insight", params=span).json()["total"] == 0
    with client(api, "boss") as http:
        assert http.get("/v1/alerts").status_code == 200
