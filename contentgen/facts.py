"""Facts in Chinese text, shared by the copy and reply verifiers: numbers with their units
(阿拉伯 and 中文 numerals), folding for comparison, whether a given fact is kept, and the shape
of a finding (start, end, text, category, rule, suggestion)."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

import jieba

# ---------------------------------------------------------------- numbers and units
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "双": 2, "三": 3, "四": 4, "五": 5, "六": 6,
              "七": 7, "八": 8, "九": 9}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
UNIT_ALIASES: dict[str, str] = {
    "公斤": "kg", "千克": "kg", "kg": "kg", "克": "g", "g": "g", "斤": "斤", "毫升": "ml", "ml": "ml",
    "升": "l", "l": "l", "厘米": "cm", "cm": "cm", "毫米": "mm", "mm": "mm", "米": "m", "m": "m",
    "小时": "h", "h": "h", "分钟": "min", "min": "min", "秒": "s", "天": "天", "日": "天", "周": "周",
    "个月": "月", "月": "月", "年": "年", "岁": "岁", "元": "元", "块": "元", "瓦": "w", "w": "w",
    "伏": "v", "v": "v", "%": "%", "倍": "倍", "db": "db", "分贝": "db", "pa": "pa", "mah": "mah",
    "英寸": "英寸", "寸": "英寸", "bar": "bar", "档": "档", "层": "层", "种": "种", "款": "款", "人": "人",
    "只": "只", "枚": "枚", "支": "支", "瓶": "瓶", "袋": "袋", "盒": "盒", "片": "片", "颗": "颗", "粒": "粒",
    "册": "册", "节": "节", "家": "家", "台": "台", "个": "个", "件": "件", "次": "次", "公里": "km",
    "km": "km", "平方米": "㎡", "平米": "㎡", "㎡": "㎡", "吨": "吨", "万": "万", "亿": "亿", "姆米": "姆米",
    "mm水柱": "mm", "键": "键", "寸屏": "英寸", "p": "p", "k": "k", "gb": "gb", "tb": "tb", "hz": "hz",
}
_UNIT_PATTERN = "|".join(sorted(map(re.escape, UNIT_ALIASES), key=len, reverse=True))
ARABIC_NUMBER = re.compile(rf"(\d+(?:\.\d+)?)\s*({_UNIT_PATTERN})?", re.IGNORECASE)
# Chinese numerals count only with a unit after them: 十分 (very), 一起, 万一 are words.
_CHINESE = re.compile(rf"([零〇一二两双三四五六七八九十百千万]+)({_UNIT_PATTERN})")
# A value of 1 or 2 in words is usually prose (一款, 两种心情); with these units it is a claim.
_STRICT_SMALL_UNITS = {"倍", "元", "层", "%", "kg", "g", "ml", "l"}


@dataclass(frozen=True)
class Quantity:
    value: float
    unit: str      # normalised, "" when none follows
    start: int
    end: int
    text: str


def chinese_number(text: str) -> float | None:
    """三十 -> 30, 一百五十 -> 150, 两 -> 2; None for what is not a plain numeral."""
    total, current = 0, 0
    for char in text:
        if char in _CN_DIGITS:
            current = _CN_DIGITS[char]
        elif char in _CN_UNITS:
            total += (current or 1) * _CN_UNITS[char]
            current = 0
        else:
            return None
    return float(total + current)


def quantities(text: str) -> list[Quantity]:
    found = []
    for match in ARABIC_NUMBER.finditer(text):
        unit = UNIT_ALIASES.get((match.group(2) or "").lower(), "")
        found.append(Quantity(float(match.group(1)), unit, match.start(), match.end(), match.group(0)))
    for match in _CHINESE.finditer(text):
        value = chinese_number(match.group(1))
        unit = UNIT_ALIASES.get(match.group(2).lower(), "")
        if value is None or (value <= 2 and unit not in _STRICT_SMALL_UNITS):
            continue
        found.append(Quantity(value, unit, match.start(), match.end(), match.group(0)))
    return sorted(found, key=lambda q: q.start)


def normalize(text: str) -> str:
    """Full-width to half-width, lower case: “５ＫＧ” is “5kg”."""
    return unicodedata.normalize("NFKC", text).lower()


def finding(start: int, end: int, text: str, category: str, rule: str, suggestion: str) -> dict:
    return {"start": start, "end": end, "text": text, "category": category, "rule": rule, "suggestion": suggestion}


def missing(text: str, category: str, rule: str, suggestion: str) -> dict:
    return finding(0, 0, text, category, rule, suggestion)


def visible_length(text: str) -> int:
    """Characters a reader counts: everything but whitespace."""
    return sum(1 for c in text if not c.isspace())


def _content_words(fact: str) -> list[str]:
    words = []
    for word in jieba.lcut(normalize(fact)):
        unit = next((u for u in sorted(UNIT_ALIASES, key=len, reverse=True) if word.startswith(u)), "")
        if unit and words == [] and ARABIC_NUMBER.match(normalize(fact)):
            word = word[len(unit):]  # 12节课 is cut 12 / 节课: the unit goes with the number
        if len(word) > 1 and not ARABIC_NUMBER.fullmatch(word) and word not in _FUNCTION_WORDS and word not in UNIT_ALIASES:
            words.append(word)
    return words


_FUNCTION_WORDS = {"通过", "适合", "适用", "含有", "支持", "可以", "采用", "每个", "每袋", "每瓶", "每盒", "每支",
                   "以内", "以上", "左右", "约为", "仅有", "首批", "面向", "获得", "同步", "开放"}


def fact_kept(fact: str, text: str, product: str = "") -> bool:
    """A fact is kept when its numbers keep their units and most of its words are there."""
    folded_fact, folded = normalize(fact).replace(" ", ""), normalize(text).replace(" ", "")
    if folded_fact in folded:
        return True
    if product:  # 降噪 in “无线降噪耳机” does not keep “40dB主动降噪”
        folded = folded.replace(normalize(product).replace(" ", ""), "|")
    given = quantities(folded_fact)
    said = {(q.value, q.unit) for q in quantities(folded)}
    if any((q.value, q.unit) not in said for q in given):
        return False
    words = _content_words(fact)
    if not words:
        return bool(given)
    return sum(w in folded for w in words) >= math.ceil(len(words) * 2 / 3)

