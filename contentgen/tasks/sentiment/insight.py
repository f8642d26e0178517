"""Review insight for a period: what people praise and complain about per aspect, the negative reviews
grouped by topic (with a summary the model writes for each, when asked), and the change against the
period before; exported as an XLSX report a manager can forward.

Reads the history through `db.trends`; the summaries go through the service (the `complaint_summary`
task), so faces call `ContentService.review_insight`, never this module's model parts directly.
"""

from __future__ import annotations

import io
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import jieba
import pandas as pd

from contentgen.tasks.sentiment.trends import labels_in

LEADING = {"但是", "但", "而且", "就是", "不过", "还有", "然后", "感觉", "觉得", "总体", "整体", "的", "也", "还", "都", "就"}
TRAILING = re.compile(r"[了啊呢的吧呀哦哈啦~～!！。，,]+$")
PHRASE_CHARS = 10
EXAMPLES = 3
OTHER = "其他"


@dataclass
class Phrase:
    aspect: str
    label: str
    phrase: str
    reviews: int
    example: str


@dataclass
class Topic:
    """Negative reviews about one aspect (or 其他: none named), with the change against the period before."""

    topic: str
    reviews: int
    previous: int
    examples: list[str]
    summary: str = ""


@dataclass
class Insight:
    since: datetime
    until: datetime
    total: int
    negative: int
    negative_share: float
    previous_total: int
    previous_negative_share: float
    aspects: list[dict[str, Any]] = field(default_factory=list)
    praise: list[Phrase] = field(default_factory=list)
    complaints: list[Phrase] = field(default_factory=list)
    topics: list[Topic] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["since"], data["until"] = self.since.isoformat(), self.until.isoformat()
        return data


def opinion_phrase(clause: str, keywords: set[str]) -> str:
    """What the clause says of its aspect: 客服态度很差 -> 很差, 包装有点破损 -> 有点破损, 送货速度太慢了 -> 太慢.
    Leading connectives and the aspect's own words go; what follows is the opinion."""
    words = [w for w in jieba.lcut(clause) if w.strip()]
    while words and (words[0] in LEADING or words[0] in keywords):
        words.pop(0)
    phrase = TRAILING.sub("", "".join(words))[:PHRASE_CHARS]
    return phrase or clause.strip()[:PHRASE_CHARS]


def top_phrases(rows: pd.DataFrame, aspects: dict[str, set[str]], label: str, per_aspect: int = 5) -> list[Phrase]:
    counts: dict[tuple[str, str], Counter] = defaultdict(Counter)
    examples: dict[tuple[str, str], str] = {}
    for text, found in zip(rows["text"], rows["aspects"]):
        for mention in found or []:
            if mention.get("label") != label:
                continue
            phrase = opinion_phrase(mention.get("evidence", ""), aspects.get(mention["aspect"], set()))
            key = (mention["aspect"], phrase)
            counts[mention["aspect"]][phrase] += 1
            if key not in examples or len(text) < len(examples[key]):
                examples[key] = text  # the shortest review says it most plainly
    phrases = [Phrase(aspect, label, phrase, n, examples[(aspect, phrase)])
               for aspect, counter in counts.items() for phrase, n in counter.most_common(per_aspect)]
    return sorted(phrases, key=lambda p: -p.reviews)


def aspect_summary(rows: pd.DataFrame, previous: pd.DataFrame, names: list[str]) -> list[dict[str, Any]]:
    table = []
    for aspect in names:
        now, before = labels_in(rows, aspect), labels_in(previous, aspect)
        if not now and not before:
            continue
        share = now.count("negative") / len(now) if now else 0.0
        before_share = before.count("negative") / len(before) if before else None
        table.append({"aspect": aspect, "mentions": len(now), "positive": now.count("positive"),
                      "neutral": now.count("neutral"), "negative": now.count("negative"),
                      "negative_share": round(share, 4),
                      "previous_negative_share": None if before_share is None else round(before_share, 4)})
    return sorted(table, key=lambda a: -a["negative"])


def negative_topics(rows: pd.DataFrame, previous: pd.DataFrame) -> list[Topic]:
    """Negative reviews grouped by each aspect they complain about; those naming none go to 其他."""
    def grouped(frame: pd.DataFrame) -> dict[str, list[tuple[float, str]]]:
        groups: dict[str, list[tuple[float, str]]] = defaultdict(list)
        for text, label, confidence, found in zip(frame["text"], frame["label"], frame["confidence"], frame["aspects"]):
            if label != "negative":
                continue
            complained = [m["aspect"] for m in (found or []) if m.get("label") == "negative"] or [OTHER]
            for topic in dict.fromkeys(complained):
                groups[topic].append((confidence or 0.0, text))
        return groups

    now, before = grouped(rows), grouped(previous)
    topics = []
    for topic, reviews in now.items():
        # Surest first, then shortest: plain examples a manager can read at a glance.
        ranked = sorted(reviews, key=lambda r: (-round(r[0], 2), len(r[1])))
        topics.append(Topic(topic, len(reviews), len(before.get(topic, [])),
                            list(dict.fromkeys(text for _, text in ranked))[:EXAMPLES]))
    return sorted(topics, key=lambda t: (t.topic == OTHER, -t.reviews))


def build_insight(rows: pd.DataFrame, previous: pd.DataFrame, aspects: dict[str, set[str]],
                  since: datetime, until: datetime) -> Insight:
    labels, before = list(rows["label"]), list(previous["label"])
    return Insight(
        since, until, len(labels), labels.count("negative"),
        round(labels.count("negative") / len(labels), 4) if labels else 0.0,
        len(before), round(before.count("negative") / len(before), 4) if before else 0.0,
        aspect_summary(rows, previous, list(aspects)),
        top_phrases(rows, aspects, "positive"), top_phrases(rows, aspects, "negative"),
        negative_topics(rows, previous),
    )


def insight_workbook(insight: Insight, reviews: pd.DataFrame) -> bytes:
    """The report: 概览, 方面, 差评主题, 好评与差评短语, 明细 (one sheet each)."""
    overview = pd.DataFrame([
        ("时间范围（UTC）", f"{insight.since:%Y-%m-%d %H:%M} 至 {insight.until:%Y-%m-%d %H:%M}"),
        ("评论条数", insight.total), ("负面条数", insight.negative), ("负面占比", f"{insight.negative_share:.1%}"),
        ("上一同长时段评论条数", insight.previous_total),
        ("上一同长时段负面占比", f"{insight.previous_negative_share:.1%}"),
    ], columns=["项目", "数值"])
    aspects = pd.DataFrame(insight.aspects).rename(columns={
        "aspect": "方面", "mentions": "提及", "positive": "正面", "neutral": "中性", "negative": "负面",
        "negative_share": "负面占比", "previous_negative_share": "上期负面占比"})
    topics = pd.DataFrame([{"主题": t.topic, "差评条数": t.reviews, "上期条数": t.previous, "变化": t.reviews - t.previous,
                            "模型归纳": t.summary, **{f"例{i + 1}": e for i, e in enumerate(t.examples)}}
                           for t in insight.topics])
    phrases = pd.DataFrame([{"情感": "正面" if p.label == "positive" else "负面", "方面": p.aspect, "说法": p.phrase,
                             "评论数": p.reviews, "例句": p.example} for p in [*insight.complaints, *insight.praise]])
    detail = reviews.assign(
        时间=reviews["created_at"].dt.tz_convert(None), 情感=reviews["label"].map(
            {"positive": "正面", "neutral": "中性", "negative": "负面"}),
        方面=["；".join(f"{a['aspect']}:{a['label']}" for a in (found or [])) for found in reviews["aspects"]],
    )[["时间", "channel", "情感", "confidence", "方面", "text"]].rename(
        columns={"channel": "来源", "confidence": "置信度", "text": "评论"})
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in (("概览", overview), ("方面", aspects), ("差评主题", topics), ("好评与差评短语", phrases),
                            ("明细", detail)):
            frame.to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()
