"""广告法 compliance check for marketing copy.

Rules are data (contentgen/rules/ad_law.csv, or a company's own file via
Settings.rules.compliance_rules: CONTENTGEN_COMPLIANCE_RULES or [rules] in the settings file): each has a term, how it matches, the rule it breaks and
a suggested replacement. jieba with a user dictionary keeps brand and product names
whole, so a brand such as “第一坊” is not flagged for 第一, and “最近” is not 最.
"""

from __future__ import annotations

import csv
import functools
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import jieba

RULES_DIR = Path(__file__).with_name("rules")
jieba.setLogLevel(logging.WARNING)


@dataclass(frozen=True)
class Rule:
    term: str
    match: str  # "exact": the term anywhere; "prefix": a word that starts with it (最好, 最低…)
    category: str
    rule: str
    suggestion: str


@dataclass(frozen=True)
class Finding:
    start: int
    end: int
    text: str
    category: str
    rule: str
    suggestion: str

    def as_dict(self) -> dict:
        return asdict(self)


def load_rules(path: Path | str | None = None) -> list[Rule]:
    """The rules in a CSV file (Settings.rules.compliance_rules); the shipped ones by default."""
    path = Path(path or RULES_DIR / "ad_law.csv")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [Rule(r["term"].strip(), r["match"].strip() or "exact", r["category"].strip(),
                     r["rule"].strip(), r["suggestion"].strip())
                for r in csv.DictReader(fh) if r.get("term", "").strip()]


@functools.lru_cache(maxsize=8)
def cached_rules(path: str = "") -> tuple[Rule, ...]:
    """The rules of a file, read once per process (an edited file: restart the server)."""
    return tuple(load_rules(path or None))


def load_allowed(path: Path | None = None) -> set[str]:
    path = Path(path or RULES_DIR / "allowed.txt")
    return {line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")}


MAX_REWRITE_PASSES = 5


@functools.lru_cache(maxsize=8)
def _tokenizer(rule_terms: tuple[str, ...]) -> jieba.Tokenizer:
    """A private tokenizer (no user's words leak into the global jieba) knowing the rule terms;
    built and initialised once per rule set (~0.5 s), not per request."""
    tokenizer = jieba.Tokenizer()
    for term in rule_terms:
        tokenizer.add_word(term, freq=10**5)
    tokenizer.initialize()
    return tokenizer


class ComplianceChecker:
    def __init__(self, rules: list[Rule] | None = None, *, protected_words: Iterable[str] = (),
                 banned_words: Iterable[str] = (), allowed_words: set[str] | None = None) -> None:
        self.rules = rules if rules is not None else load_rules()
        self.allowed = allowed_words if allowed_words is not None else load_allowed()
        self.protected = sorted({w.strip() for w in protected_words if w.strip()}, key=len, reverse=True)
        self.banned = [w.strip() for w in banned_words if w.strip()]
        # One tokenizer per rule set, shared by every checker: brand and product words are kept
        # whole by cutting the text at them (below), not by adding them to a dictionary.
        self.tokenizer = _tokenizer(tuple(sorted({r.term for r in self.rules if len(r.term) > 1})))

    def _protected_spans(self, text: str) -> list[tuple[int, int]]:
        spans = []
        for word in self.protected:
            start = text.find(word)
            while start != -1:
                spans.append((start, start + len(word)))
                start = text.find(word, start + 1)
        return sorted(spans)

    def _tokens(self, text: str, protected: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
        """jieba words of the text, each protected word one token of its own."""
        tokens, position = [], 0
        for start, end in _merge(protected):
            tokens += [(w, position + a, position + b) for w, a, b in self.tokenizer.tokenize(text[position:start])]
            tokens.append((text[start:end], start, end))
            position = end
        return tokens + [(w, position + a, position + b) for w, a, b in self.tokenizer.tokenize(text[position:])]

    def check(self, text: str) -> list[Finding]:
        """Linear in the text: each rule is one scan, and whether a span lies inside a protected
        word is one array look-up."""
        protected = self._protected_spans(text)
        # reach[i]: the furthest end of a protected span starting at or before i.
        reach, best, spans = [0] * (len(text) + 1), 0, iter(protected)
        current = next(spans, None)
        for index in range(len(text) + 1):
            while current is not None and current[0] <= index:
                best, current = max(best, current[1]), next(spans, None)
            reach[index] = best

        def shielded(start: int, end: int) -> bool:
            return reach[start] >= end

        findings: dict[tuple[int, int], Finding] = {}
        by_first: dict[str, list[tuple[str, int, int]]] = {}
        for token in self._tokens(text, protected):
            if token[0]:
                by_first.setdefault(token[0][0], []).append(token)
        for rule in self.rules:
            if rule.match == "prefix":
                for word, start, end in by_first.get(rule.term[:1], ()):
                    if word.startswith(rule.term) and word not in self.allowed and not shielded(start, end):
                        findings.setdefault((start, end), Finding(start, end, word, rule.category, rule.rule,
                                                                  rule.suggestion))
                continue
            position = text.find(rule.term)
            while position != -1:
                end = position + len(rule.term)
                if not shielded(position, end):
                    # A longer finding on the same span wins (最佳 over 最).
                    findings[(position, end)] = Finding(position, end, rule.term, rule.category, rule.rule,
                                                        rule.suggestion)
                position = text.find(rule.term, position + 1)
        for word in self.banned:
            position = text.find(word)
            while position != -1:
                findings[(position, position + len(word))] = Finding(
                    position, position + len(word), word, "品牌禁用词", "品牌规范：不得使用该词", "删除或换用品牌认可的表述")
                position = text.find(word, position + 1)
        return _drop_overlapping(sorted(findings.values(), key=lambda f: (f.start, -f.end)))

    def rewrite(self, text: str, findings: list[Finding] | None = None) -> str:
        """A rule-based compliant version: absolute terms give way to their suggestion;
        a clause carrying a medical or efficacy claim is dropped whole (deleting just the
        word would leave “可失眠”). The model-based rewrite in the service does better prose.

        Repeated until nothing is found: removing a term can join its neighbours into another
        one (deleting 最 from “唯最一” leaves 唯一)."""
        rewritten = self._rewrite_once(text, self.check(text) if findings is None else findings)
        for _ in range(MAX_REWRITE_PASSES):
            again = self.check(rewritten)
            if not again:
                break
            rewritten = self._rewrite_once(rewritten, again)
        return rewritten

    def _rewrite_once(self, text: str, findings: list[Finding]) -> str:
        drop: list[tuple[int, int]] = []
        replace: list[tuple[int, int, str]] = []
        for finding in findings:
            plain = not any(m in finding.suggestion for m in ("删除", "改为", "须", "（"))
            if finding.category in CLAIM_CATEGORIES:
                drop.append(clause_around(text, finding.start, finding.end))
            else:
                replace.append((finding.start, finding.end, finding.suggestion if plain else ""))
        out, cursor = [], 0
        edits = sorted([(s, e, "") for s, e in _merge(drop)] +
                       [r for r in replace if not any(s <= r[0] < e for s, e in drop)])
        for start, end, replacement in edits:
            if start < cursor:
                continue
            out.append(text[cursor:start])
            out.append(replacement)
            cursor = end
        out.append(text[cursor:])
        return "".join(out)


CLAIM_CATEGORIES = {"医疗用语", "功效宣称"}
CLAUSE_MARKS = "，。！？；,.!?;\n"


def clause_around(text: str, start: int, end: int) -> tuple[int, int]:
    """From after the previous clause mark through the next one."""
    left = max((text.rfind(m, 0, start) for m in CLAUSE_MARKS), default=-1) + 1
    rights = [i for i in (text.find(m, end) for m in CLAUSE_MARKS) if i != -1]
    right = min(rights) + 1 if rights else len(text)
    return left, right


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def _drop_overlapping(findings: list[Finding]) -> list[Finding]:
    """One finding per character, for highlighting: the outermost where spans nest (最高级
    contains 最), the earlier where they overlap (根治 and 治疗 in 根治疗). Input sorted by
    (start, -end)."""
    kept: list[Finding] = []
    for finding in findings:
        if kept and finding.start < kept[-1].end:
            continue
        kept.append(finding)
    return kept
