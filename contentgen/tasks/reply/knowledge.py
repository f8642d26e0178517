"""Support-desk knowledge base: import a company's FAQ/policy file, retrieve entries.

BM25 over jieba words (rank-bm25): FAQ entries are short and full of exact domain words
(退货, 发票, 七天无理由), where lexical matching is strong, needs no embedding model (none can
be downloaded here) and is explainable to an agent: the matching words are the reason.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jieba
from rank_bm25 import BM25Plus

from contentgen.errors import UserFacingError
from contentgen.inputs import read_table

jieba.setLogLevel(logging.WARNING)

QUESTION_COLUMNS = ("question", "问题", "标准问题", "q")
ANSWER_COLUMNS = ("answer", "答案", "回答", "标准答案", "a")
CATEGORY_COLUMNS = ("category", "分类", "类别")
# Function words that would otherwise make every entry match a little.
STOP_WORDS = set("的 了 吗 呢 吧 啊 那 我 你 您 是 在 有 和 就 都 也 还 要 能 会 怎么 什么 这个 那个 请问 一下 可以 ， 。 ？ ！ ? !".split())
# How a question is asked, not what about: “赠品什么时候发？” must not outrank “付款后多久发货？” for
# “今天下单什么时候能发货？” because both say 什么时候. Left out of words and of character pairs.
QUESTION_WORDS = ("什么时候", "时候", "多久", "多长时间", "怎么办", "怎么样", "怎么回事", "如何", "为什么",
                  "能不能", "可不可以", "是不是", "有没有", "哪里", "哪儿")
# Character pairs count half: at full weight a pair shared by chance (充电 in 充电线) outranks the
# entry the words found (on the dev set the right entry was in the top three for 61 of 66 messages
# at 1.0 and for all 66 at 0.5).
PAIRS_WEIGHT = 0.5
# What the customer said earlier in the conversation, against the latest message's 1.0.
EARLIER_WEIGHT = 0.5
SYNONYMS_FILE = Path(__file__).with_name("support_synonyms.txt")


@dataclass(frozen=True)
class FaqHit:
    id: int
    question: str
    answer: str
    score: float
    direct: bool = False  # 直接回答: the entry's answer is returned as it is when it answers the message


def tokens(text: str) -> list[str]:
    return [w for w in jieba.cut_for_search(text.lower())
            if w.strip() and w not in STOP_WORDS and w not in QUESTION_WORDS]


@cache
def synonym_groups(path: Path = SYNONYMS_FILE) -> tuple[tuple[str, ...], ...]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return tuple(tuple(line.split()) for line in lines if line.strip() and not line.startswith("#"))


def expanded(message: str) -> str:
    """The message with the words an FAQ would use for what the customer says (退钱 → 退款)."""
    extra = [word for group in synonym_groups() if any(w in message for w in group)
             for word in group if word not in message]
    return " ".join([message, *extra])


def parse_faq_file(data: bytes, filename: str) -> list[tuple[str, str, str]]:
    frame = read_table(data, filename)
    columns = {str(c).strip().lower(): c for c in frame.columns}

    def pick(names: tuple[str, ...]) -> str | None:
        return next((columns[n] for n in names if n in columns), None)

    question, answer, category = pick(QUESTION_COLUMNS), pick(ANSWER_COLUMNS), pick(CATEGORY_COLUMNS)
    if question is None or answer is None:
        raise UserFacingError("FAQ 文件需要“问题”和“答案”两列（或 question、answer）。请检查表头后重新上传。")
    entries = []
    for _, row in frame.iterrows():
        q, a = str(row[question] or "").strip(), str(row[answer] or "").strip()
        if q and a and q != "nan" and a != "nan":
            entries.append((q, a, str(row[category]).strip() if category is not None else ""))
    if not entries:
        raise UserFacingError("FAQ 文件中没有同时填写了问题和答案的行。")
    return entries


def bigrams(text: str) -> list[str]:
    """Character pairs: “换个新的” and “换货” share 换, which no word cut finds."""
    plain = re.sub("|".join(QUESTION_WORDS), " ", text.lower())
    plain = re.sub(r"[^\u4e00-\u9fff0-9a-z]", "", plain)
    return [plain[i:i + 2] for i in range(len(plain) - 1)]


class FaqIndex:
    """BM25+ over jieba words and over character pairs, each scaled by its best entry and added:
    words rank exact domain terms, pairs catch the customer's own phrasing."""

    def __init__(self, entries) -> None:  # noqa: ANN001  (db.models.FaqEntry rows)
        self.entries = list(entries)
        # The question counts twice: it is phrased the way customers ask.
        texts = [f"{e.question} {e.question} {e.answer}" for e in self.entries]
        corpus = [tokens(text) for text in texts]
        self.vocabularies = [set(doc) for doc in corpus]
        # BM25+ keeps every IDF positive; Okapi's goes negative for a word in over half the
        # entries, which in a small FAQ hides the only entry that matches.
        self.bm25 = BM25Plus(corpus) if corpus else None
        self.pairs = BM25Plus([bigrams(text) for text in texts]) if corpus else None

    def scores(self, message: str) -> list[float]:
        """Words and pairs, each scaled by its best entry: words rank exact domain terms, pairs the
        customer's own phrasing. Empty when the message shares no word with the FAQ."""
        query = tokens(expanded(message))
        if self.bm25 is None or self.pairs is None or not query:
            return []
        words, pairs = self.bm25.get_scores(query), self.pairs.get_scores(bigrams(message))
        top_words, top_pairs = max(words) or 1.0, max(pairs) or 1.0
        return [w / top_words + PAIRS_WEIGHT * p / top_pairs for w, p in zip(words, pairs)]

    def search(self, message: str, k: int = 3, earlier: str = "") -> list[FaqHit]:
        """Entries for the latest message; what the customer said before counts at EARLIER_WEIGHT, so a
        follow-up (“那运费呢？”) is found by the conversation but a new question (“那能发顺丰吗”) by itself."""
        scores = self.scores(message)
        before = self.scores(earlier) if earlier.strip() else []
        # A bare follow-up (“怎么查”, “要几天”: one word of its own) leans on the conversation fully.
        weight = EARLIER_WEIGHT if len(set(tokens(message))) > 1 else 1.0
        if before:
            scores = [s + weight * b for s, b in zip(scores, before)] if scores else before
        if not scores:
            return []
        # Only entries sharing at least one word: BM25+ gives every entry a small score.
        query = set(tokens(expanded(f"{earlier} {message}")))
        ranked = [i for i in sorted(range(len(scores)), key=lambda i: scores[i], reverse=True)
                  if query & self.vocabularies[i]][:k]
        return [FaqHit(self.entries[i].id, self.entries[i].question, self.entries[i].answer, round(float(scores[i]), 3),
                       bool(getattr(self.entries[i], "direct_answer", False))) for i in ranked]
