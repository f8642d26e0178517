"""广告法 compliance check for marketing copy.

Rules are data (contentgen/rules/ad_law.csv, or a company's own file via
Settings.rules.compliance_rules: CONTENTGEN_COMPLIANCE_RULES or [rules] in the settings file),
overlaid by the rules an admin edits in the UI (db compliance_rules). Each has a term, how it
matches (exact, prefix, regex, or required: a statement that must appear), the statute, a
suggestion, the industries and platforms it applies to, and an example it must find.

Text is matched in a normalised view, so evasions are caught: full-width letters and digits,
traditional characters, characters split by spaces or symbols (“最 好”, “微-信”), and listed
谐音 variants (rules/variants.csv: 薇信, vx, 蕞佳…). Brand and product names are kept whole,
so a brand such as “第一坊” is not flagged for 第一, and “最近” is not 最.
"""

from __future__ import annotations

import csv
import functools
import itertools
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import jieba

from contentgen.errors import UserFacingError
from contentgen.facts import UNIT_ALIASES

RULES_DIR = Path(__file__).with_name("rules")
jieba.setLogLevel(logging.WARNING)


MATCHES = {"exact": "词语", "prefix": "以此开头的词", "regex": "正则表达式", "required": "必须出现的声明"}
# The industries packs are written for; a rule's `industries` is empty (all), "A|B" (only those)
# or "!A|B" (all but those: a 医疗器械 ad may speak of 治疗).
INDUSTRIES = ("化妆品", "普通食品", "保健食品", "医疗器械", "教育培训", "金融")
GENERAL = "通用"  # what screens offer for "no industry pack"


def industry_pack(industry: str | None) -> str:
    """The pack an industry names: "" for none (empty or 通用); a Chinese error for an unknown one."""

    industry = (industry or "").strip()
    if industry in ("", GENERAL):
        return ""
    if industry not in INDUSTRIES:
        raise UserFacingError(f"不支持的行业“{industry}”，可选：{GENERAL}、{'、'.join(INDUSTRIES)}。")
    return industry


@dataclass(frozen=True)
class Rule:
    term: str
    match: str  # "exact": the term anywhere; "prefix": a word that starts with it (最好, 最低…)
    category: str
    rule: str
    suggestion: str
    industries: str = ""
    platforms: str = ""  # "" all, "小红书|抖音": only copy for those platforms
    example: str = ""  # a sentence the rule must find (tests check every one)

    @property
    def key(self) -> tuple[str, str]:
        """What an admin's edit overrides: the same term for the same industries."""
        return self.term, self.industries

    def applies(self, industry: str = "", platform: str = "") -> bool:
        if self.industries:
            listed = set(self.industries.lstrip("!").split("|"))
            if (industry in listed) == self.industries.startswith("!"):
                return False
        return not (self.platforms and platform and platform not in self.platforms.split("|"))


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
    """The rules in a CSV file (Settings.rules.compliance_rules); the shipped ones by default.
    A company's older file with only term, match, category, rule, suggestion still loads."""
    path = Path(path or RULES_DIR / "ad_law.csv")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return [Rule(r["term"].strip(), r["match"].strip() or "exact", r["category"].strip(),
                     r["rule"].strip(), r["suggestion"].strip(), (r.get("industries") or "").strip(),
                     (r.get("platforms") or "").strip(), (r.get("example") or "").strip())
                for r in csv.DictReader(fh) if r.get("term", "").strip()]


def effective_rules(shipped: Sequence[Rule], edited: Iterable[tuple[Rule, bool]]) -> list[Rule]:
    """The shipped rules overlaid by an admin's: an edited rule replaces the shipped one with the
    same key, a disabled one removes it, a new one is added."""
    overrides = {rule.key: (rule, enabled) for rule, enabled in edited}
    rules = [overrides.get(r.key, (r, True)) for r in shipped]
    shipped_keys = {r.key for r in shipped}
    rules += [pair for key, pair in overrides.items() if key not in shipped_keys]
    return [rule for rule, enabled in rules if enabled]


def validate_rule(rule: Rule) -> None:
    """A Chinese error for a rule that cannot work; a rule must find its own example."""

    if not rule.term.strip() or not rule.category.strip() or not rule.rule.strip():
        raise UserFacingError("规则的词语、类别和依据都必须填写。")
    if rule.match not in MATCHES:
        raise UserFacingError(f"匹配方式只能是：{'、'.join(MATCHES)}。")
    if rule.match == "regex":
        try:
            re.compile(rule.term)
        except re.error as error:
            raise UserFacingError(f"正则表达式写法有误（{error}），请修改后再保存。") from None
    unknown = [i for i in rule.industries.lstrip("!").split("|") if i and i not in INDUSTRIES]
    if unknown:
        raise UserFacingError(f"未知行业“{'、'.join(unknown)}”，可选：{'、'.join(INDUSTRIES)}。")
    if not rule.example.strip():
        raise UserFacingError("请填写一句示例：这条规则应当查出的文案，保存时会用它检验规则。")
    industry = "" if rule.industries.startswith("!") else rule.industries.split("|")[0]
    platform = rule.platforms.split("|")[0]
    checker = ComplianceChecker([rule], allowed_words=set(), variants={}, industry=industry, platform=platform)
    if not checker.check(rule.example):
        raise UserFacingError("示例句没有被这条规则查出来，请检查词语、匹配方式或示例后再保存。")


@functools.lru_cache(maxsize=1)
def cached_variants() -> dict[str, str]:
    """The shipped variants, read once per process (a checker is built for every request)."""
    return load_variants()


def load_variants(path: Path | None = None) -> dict[str, str]:
    """谐音 and look-alike spellings of rule terms (variant -> term), matched like the term."""
    path = Path(path or RULES_DIR / "variants.csv")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return {r["variant"].strip(): r["term"].strip() for r in csv.DictReader(fh) if r.get("variant", "").strip()}


# Characters dropped between two word characters when matching: “最 好”, “微-信”, “最*佳”.
SEPARATORS = frozenset(" \t\u3000*·•._-|/\\~^'\"`\u200b\u200c\u200d\ufeff")


@functools.lru_cache(maxsize=None)
def _plain(char: str) -> str:
    """Full-width to half-width, lower case, traditional to simplified (one character at a time,
    so every normalised character still points at its original)."""
    folded = unicodedata.normalize("NFKC", char).lower()
    return simplified(folded) if len(folded) == 1 else folded


def simplified(char: str) -> str:
    """One Chinese character in its simplified form (貝 -> 贝); other characters as they are."""
    if len(char) == 1 and "\u4e00" <= char <= "\u9fff":
        converted = _t2s().convert(char)
        return converted if len(converted) == 1 else char
    return char


@functools.lru_cache(maxsize=1)
def _t2s():  # noqa: ANN202
    from opencc import OpenCC

    return OpenCC("t2s")


def normalized(text: str) -> tuple[str, list[int]]:
    """The text as rules see it, and for each of its characters the index it came from."""
    chars: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        if char in SEPARATORS and chars and chars[-1].isalnum():
            following = next((c for c in text[index + 1:] if c not in SEPARATORS), "")
            decimal = char == "." and chars[-1].isdigit() and following.isdigit()
            if following and following.isalnum() and not decimal:
                continue
        for plain in _plain(char):
            chars.append(plain)
            origin.append(index)
    return "".join(chars), origin


def with_variants(rules: Sequence[Rule], variants: dict[str, str]) -> list[Rule]:
    """Each rule, plus a copy of it for every listed spelling of its term."""
    by_term: dict[str, list[Rule]] = {}
    for rule in rules:
        by_term.setdefault(rule.term, []).append(rule)
    extra = [replace(rule, term=variant) for variant, term in variants.items()
             for rule in by_term.get(term, ()) if rule.match in ("exact", "prefix")]
    return [*rules, *extra]


@functools.lru_cache(maxsize=8)
def cached_rules(path: str = "") -> tuple[Rule, ...]:
    """The rules of a file, read once per process (an edited file: restart the server)."""
    return tuple(load_rules(path or None))


# A price, a discount or a ranking stays an absolute claim even with a number (全场最低价99元, 最高优惠50元).
_NOT_A_PARAMETER = "价惠折销售排名的"
_MONEY_UNITS = {"元", "块"}


@functools.cache
def specification_pattern(path: Path | None = None) -> re.Pattern[str]:
    """“最大65W”“最高承重150kg”: a 最X of rules/specifications.txt, at most 6 characters of the parameter's
    name, then a number and its unit — a specification, not an absolute claim (the file cites SAMR's 2023
    guide). Prices, discounts and rankings are left to the rules."""
    path = Path(path or RULES_DIR / "specifications.txt")
    heads = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
             if line.strip() and not line.startswith("#")]
    units = "|".join(sorted((re.escape(u) for u in UNIT_ALIASES if u not in _MONEY_UNITS), key=len, reverse=True))
    name = rf"(?:(?![{_NOT_A_PARAMETER}])[\u4e00-\u9fff]){{0,6}}?"
    return re.compile(rf"(?:{'|'.join(map(re.escape, heads))}){name}\d+(?:\.\d+)?\s*(?:{units})(?![\u4e00-\u9fff]*价)",
                      re.IGNORECASE)


def load_allowed(path: Path | None = None) -> set[str]:
    path = Path(path or RULES_DIR / "allowed.txt")
    return {line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")}


@functools.lru_cache(maxsize=1)
def cached_allowed() -> frozenset[str]:
    """The shipped everyday 最-words, read once per process."""
    return frozenset(load_allowed())


MAX_REWRITE_PASSES = 5


@functools.lru_cache(maxsize=8)
def _tokenizer(rule_terms: tuple[str, ...], allowed: tuple[str, ...] = ()) -> jieba.Tokenizer:
    """A private tokenizer (no user's words leak into the global jieba) knowing the rule terms and
    the everyday words that start like one (第一次 stays whole, not 第一 + 次); built and
    initialised once per rule set (~0.5 s), not per request."""
    tokenizer = jieba.Tokenizer()
    for term in rule_terms:
        tokenizer.add_word(term, freq=10**5)
    for word in allowed:
        tokenizer.add_word(word, freq=10**6)
    tokenizer.initialize()
    return tokenizer


class ComplianceChecker:
    """The rules that apply to one industry and platform ("" for either: every rule that is not
    limited to another industry, and the platform-limited ones too)."""

    def __init__(self, rules: list[Rule] | None = None, *, protected_words: Iterable[str] = (),
                 banned_words: Iterable[str] = (), allowed_words: set[str] | None = None,
                 variants: dict[str, str] | None = None, industry: str = "", platform: str = "") -> None:
        rules = rules if rules is not None else load_rules()
        industry = industry_pack(industry)
        applying = [r for r in rules if r.applies(industry, platform)]
        self.rules = with_variants(applying, cached_variants() if variants is None else variants)
        self.allowed = {normalized(w)[0] for w in (allowed_words if allowed_words is not None else cached_allowed())}
        self.protected = sorted({normalized(w.strip())[0] for w in protected_words if w.strip()}, key=len, reverse=True)
        self.banned = [w.strip() for w in banned_words if w.strip()]
        # Terms as the normalised text spells them (半角, lower case, simplified).
        self._terms = [normalized(r.term)[0] if r.match != "regex" else r.term for r in self.rules]
        # One tokenizer per rule set, shared by every checker: brand and product words are kept
        # whole by cutting the text at them (below), not by adding them to a dictionary.
        # Words are needed only for prefix rules (最… but not 最近): without one, no tokenizer.
        self.tokenizer = _tokenizer(tuple(sorted({t for r, t in zip(self.rules, self._terms)
                                                  if r.match in ("exact", "prefix") and len(t) > 1})),
                                    tuple(sorted(self.allowed)))\
            if any(r.match == "prefix" for r in self.rules) else None

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
        """Findings with spans in the text as given. Linear in the text: each rule is one scan of
        the normalised text, and whether a span lies inside a protected word is one look-up."""
        plain, origin = normalized(text)
        # A required statement that is there is not itself a finding (本品不能代替药物 holds 代替药物).
        statements = [t for r, t in zip(self.rules, self._terms) if r.match == "required" and t in plain]
        protected = sorted(self._protected_spans(plain) + [(plain.find(t), plain.find(t) + len(t)) for t in statements]
                           + [m.span() for m in specification_pattern().finditer(plain)])
        # reach[i]: the furthest end of a protected span starting at or before i.
        reach, best, spans = [0] * (len(plain) + 1), 0, iter(protected)
        current = next(spans, None)
        for index in range(len(plain) + 1):
            while current is not None and current[0] <= index:
                best, current = max(best, current[1]), next(spans, None)
            reach[index] = best

        def shielded(start: int, end: int) -> bool:
            return reach[start] >= end

        found: dict[tuple[int, int], Rule] = {}
        required: list[Rule] = []
        by_first: dict[str, list[tuple[str, int, int]]] = {}
        for token in self._tokens(plain, protected) if self.tokenizer is not None else ():
            if token[0]:
                by_first.setdefault(token[0][0], []).append(token)
        for rule, term in zip(self.rules, self._terms):
            if rule.match == "required":
                if term not in plain:
                    required.append(rule)
            elif rule.match == "prefix":
                for word, start, end in by_first.get(term[:1], ()):
                    if word.startswith(term) and word not in self.allowed and not shielded(start, end):
                        found.setdefault((start, end), rule)
            elif rule.match == "regex":
                for match in _pattern(term).finditer(plain):
                    if match.end() > match.start() and not shielded(match.start(), match.end()):
                        found[(match.start(), match.end())] = rule
            else:
                position = plain.find(term)
                while position != -1:
                    end = position + len(term)
                    if not shielded(position, end):
                        found[(position, end)] = rule  # a longer finding on the same span wins (最佳 over 最)
                    position = plain.find(term, position + 1)
        findings = []
        for (start, end), rule in found.items():
            first, last = origin[start], origin[end - 1] + 1
            findings.append(Finding(first, last, text[first:last], rule.category, rule.rule, rule.suggestion))
        for word in self.banned:
            position = text.find(word)
            while position != -1:
                findings.append(Finding(position, position + len(word), word, "品牌禁用词",
                                        "品牌规范：不得使用该词", "删除或换用品牌认可的表述"))
                position = text.find(word, position + 1)
        kept = _drop_overlapping(_join_same_kind(sorted(findings, key=lambda f: (f.start, -f.end)), text))
        # A statement that must appear has no span: it is reported at the start, like a missing fact.
        return [Finding(0, 0, rule.term, rule.category, rule.rule, rule.suggestion) for rule in required] + kept

    def names_hiding_terms(self, phrases: Iterable[str]) -> list[str]:
        """The phrases whose every finding runs across a word boundary (美白 in 北美|白橡木): a
        given name that merely contains a term, to be protected like the product name."""
        hiding = []
        for phrase in phrases:
            found = [f for f in self.check(phrase) if f.start < f.end]
            bounds = set(itertools.accumulate(len(w) for w in jieba.lcut(phrase))) | {0}
            if found and all(f.start not in bounds or f.end not in bounds for f in found):
                hiding.append(phrase)
        return hiding

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
        substitutions: list[tuple[int, int, str]] = []
        statements = [f.text for f in findings if f.start == f.end]
        for finding in (f for f in findings if f.start < f.end):
            plain = not any(m in finding.suggestion for m in ("删除", "改为", "须", "（"))
            if finding.category in CLAIM_CATEGORIES:
                drop.append(clause_around(text, finding.start, finding.end))
            elif finding.text.startswith("最") and len(finding.text) > 1 and "改为“很”" in finding.suggestion:
                # 最大的一款 -> 很大的一款: deleting the word would leave “这是的一款”.
                substitutions.append((finding.start, finding.end, "很" + finding.text[1:]))
            else:
                substitutions.append((finding.start, finding.end, finding.suggestion if plain else ""))
        out, cursor = [], 0
        edits = sorted([(s, e, "") for s, e in _merge(drop)] +
                       [r for r in substitutions if not any(s <= r[0] < e for s, e in drop)])
        for start, end, replacement in edits:
            if start < cursor:
                continue
            out.append(text[cursor:start])
            out.append(replacement)
            cursor = end
        out.append(text[cursor:])
        rewritten = "".join(out)
        if drop and rewritten.rstrip().endswith(("，", ",", "、", "；")):  # a dropped last clause
            rewritten = rewritten.rstrip()[:-1] + "。"
        # Required statements go on a line of their own at the end.
        return "\n".join([rewritten.rstrip(), *(s + "。" for s in statements)]) if statements else rewritten


@functools.lru_cache(maxsize=256)
def _pattern(term: str) -> re.Pattern[str]:
    return re.compile(term, re.IGNORECASE)


# Categories whose whole clause goes in a rule-based rewrite (deleting just the word would leave “可失眠”).
CLAIM_CATEGORIES = {"医疗用语", "功效宣称", "普通食品", "保健食品", "医疗器械", "化妆品", "教育培训", "金融",
                    "迷信内容", "歧视用语", "贬低同行", "站外引流"}
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


def _join_same_kind(findings: list[Finding], text: str) -> list[Finding]:
    """Overlapping findings of one category become one span (加薇 and 薇信 in 加薇信)."""
    joined: list[Finding] = []
    for finding in findings:
        last = joined[-1] if joined else None
        if last is not None and finding.start < last.end and finding.category == last.category and finding.end > last.end:
            joined[-1] = replace(last, end=finding.end, text=text[last.start:finding.end])
        else:
            joined.append(finding)
    return joined


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
