"""Turning a raw model draft into copy in the platform's shape, and its parts as fields.

What the model adds around the copy (assistant talk, field labels, Markdown, placeholders,
signatures) is removed; the platform's frame is completed where the model left it out (a
小红书 title and 2-4 tags, a 微博 topic, an 抖音 call to action, a 新闻稿 headline); clauses
that carry a claim the input does not give are dropped; the body is cut at a sentence end
within the length the platform allows. The verifier (copy_checks) then judges the result,
so nothing here can hide a problem it does not fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from contentgen.compliance import clause_around, simplified
from contentgen.tasks.copy.checks import (
    ASSISTANT_TALK,
    BRACKET_LABEL,
    BRACKET_RUN,
    BRACKET_SLOGAN,
    EMOJI,
    FIELD_LABELS,
    GLUED_LABEL,
    INLINE_LABEL,
    LIST_MARKER,
    MARKDOWN,
    NOTE_LINE,
    OUTLINE_LINE,
    PLACEHOLDERS,
    QUOTED_LINE,
    STAGE_NOTE,
    TITLE_MAX_CHARS,
    Brief,
    check_invented,
    check_restated,
    cut_or_stretched,
    distorted_facts,
    distorted_names,
    fact_kept,
    good_tag,
    last_word,
    length_bounds,
    visible_length,
)

_TAG = re.compile(r"#([^\s#，。！？,.!?：:]{1,20})#?")
_SIGNATURE = re.compile(r"^\s*(?:联系人|联系电话|电话|邮箱|记者|编辑|发布日期|日期|来源|媒体联系|关于\S{0,8}：?$)")
_CALL_TO_ACTION = ("购物车", "小黄车", "下单", "点击", "链接", "抢", "入手", "拍下", "冲", "囤", "戳")
SENTENCE_END = "。！？!?…"


@dataclass(frozen=True)
class CopyParts:
    """A version's parts, for pasting each where it goes (empty where a platform has none)."""

    title: str = ""
    body: str = ""
    tags: tuple[str, ...] = ()
    hook: str = ""
    call_to_action: str = ""

    def as_dict(self) -> dict:
        return {"title": self.title, "body": self.body, "tags": list(self.tags), "hook": self.hook,
                "call_to_action": self.call_to_action}


def fix_characters(brief: Brief, text: str) -> str:
    """Traditional characters the input does not use in simplified form; a name written with one
    character wrong (玻尿酸保湿面奶) as given."""
    source = brief.source
    text = "".join(c if c in source else simplified(c) for c in text)
    product, brand = brief.product.strip(), brief.brand.strip()
    wrong_names = [(f["text"], product) for f in distorted_names(product, text)]
    if product:
        head = last_word(product)
        wrong_names += [(f["text"], brand + head if f["text"].endswith(head) else brand)
                        for f in distorted_names(brand, text, head) if f["text"] not in product]
    for wrong, right in sorted(set(wrong_names), key=lambda pair: len(pair[0]), reverse=True):
        text = text.replace(wrong, right)
    for fact in brief.facts:
        fact = fact.strip()
        # From the end, so the spans found before each edit still hold.
        for found, right in sorted(distorted_facts(fact, text), key=lambda pair: pair[0]["start"], reverse=True):
            start, end = found["start"], found["end"]
            if text[end:end + 1] == fact[-1] and found["text"][:-1] == fact[:-1]:
                end += 1  # 250ml小瓶子装 is 250ml小瓶装 with 子 put in, not 子 for 装
            text = text[:start] + right + text[end:]
        for found in sorted(cut_or_stretched(fact, text), key=lambda f: f["start"], reverse=True):
            right = fact if "截断" in found["rule"] else re.sub(r"^(?:超过|多于|逾)|以上$", "", found["text"])
            text = text[:found["start"]] + right + text[found["end"]:]
    return text


# A clause mark after a sentence end with only spaces between: what is left of a dropped clause.
_EMPTY_CLAUSE = re.compile(r"([。！？!?，,；;])[ \t　]*[。，,；;]+")


def clean_lines(text: str) -> list[str]:
    """The draft's lines without quotes around them, Markdown, labels, stage notes, assistant talk,
    placeholders or signatures."""
    text = QUOTED_LINE.sub(lambda m: m.group(0).strip().strip('"“”「」'), text)
    text = NOTE_LINE.sub("", STAGE_NOTE.sub("", MARKDOWN.sub("", text.replace("\r", ""))))
    text = LIST_MARKER.sub("", GLUED_LABEL.sub("", text))
    if len(OUTLINE_LINE.findall(text)) >= 2:  # 免打孔安装：我们的… -> 免打孔安装，我们的…
        text = OUTLINE_LINE.sub(lambda m: m.group(1) + "，", text)
    text = BRACKET_SLOGAN.sub(lambda m: m.group(1), BRACKET_RUN.sub("", text))  # 【加入我们，享受好咖啡】 -> the slogan
    lines = []
    for line in text.split("\n"):
        line = line.strip()
        if not line or BRACKET_LABEL.match(line) or _SIGNATURE.match(line):
            continue
        if PLACEHOLDERS.search(line) and visible_length(PLACEHOLDERS.sub("", line)) < 12:
            continue  # a signature line such as “[你的名字] [你的职位]”
        line = PLACEHOLDERS.sub("", line)
        line = INLINE_LABEL.sub("", FIELD_LABELS.sub("", line)).strip()
        line = _without_assistant_talk(line).lstrip("，,。；;、：:）)」』 ")
        line = _EMPTY_CLAUSE.sub(r"\1", line)  # “更畅快！  。支持双耳” -> “更畅快！支持双耳”
        if line.count("【") != line.count("】"):
            line = line.replace("【", "").replace("】", "")
        if line:
            lines.append(line)
    # A last line pointing at something that is not there (点击下方链接查看详情：) goes.
    while lines and lines[-1][-1:] in "：:":
        lines.pop()
    return lines


def _without_assistant_talk(line: str) -> str:
    """Sentences addressed to the user (以下是…文案：, 希望对你有帮助) go; the copy stays."""
    kept = [s for s in re.split(r"(?<=[。！？!?：:])", line) if s.strip() and not ASSISTANT_TALK.search(s)]
    return "".join(kept).strip()


def trim_to(text: str, limit: int) -> str:
    """At most `limit` visible characters, cut after the last sentence end that fits."""
    if visible_length(text) <= limit:
        return text
    count, cut = 0, 0
    for index, char in enumerate(text):
        if not char.isspace():
            count += 1
        if count > limit:
            break
        if char in SENTENCE_END or char == "\n":
            cut = index + 1
    return text[:cut].rstrip() if cut else text[:index].rstrip()


def finish_sentence(text: str) -> str:
    """A draft cut off by the token limit ends at its last full sentence."""
    text = text.rstrip()
    if not text or text[-1] in SENTENCE_END or text[-1] in "#）)」』":
        return text
    last = max(text.rfind(m) for m in SENTENCE_END)
    return text[:last + 1] if last > len(text) // 2 else text


def drop_invented(brief: Brief, text: str) -> str:
    """Clauses carrying a number, certification, origin, promise or sales claim nobody gave."""
    spans = [(f["start"], f["end"]) for f in check_invented(brief, text)]
    if not spans:
        return text
    keep = [w for w in (brief.product.strip(), brief.brand.strip(), *brief.facts) if w.strip()]
    cuts = set()
    for s, e in spans:
        clause = clause_around(text, s, e)
        if any(w in text[clause[0]:clause[1]] for w in keep):  # 采用了声悦自主研发的技术 -> 采用了声悦技术
            cuts.add((s, e + (text[e:e + 1] == "的")))  # 作为领先的制造商 -> 作为制造商
        else:
            cuts.add(clause)
    out, cursor = [], 0
    for start, end in sorted(cuts):
        if start < cursor:
            continue
        out.append(text[cursor:start])
        cursor = end
    out.append(text[cursor:])
    joined = "".join(out)
    return re.sub(r"[，,；;]\s*(?=[。！？\n]|$)", "。", joined).strip()


def collect_tags(text: str) -> tuple[str, list[str]]:
    """The text without its #topics, and the topics in order (each once)."""
    tags = list(dict.fromkeys(t for t in _TAG.findall(text)))
    return _TAG.sub("", text), tags


def default_tags(brief: Brief) -> list[str]:
    return [t for t in (brief.product.strip()[:12], brief.brand.strip()) if t]


def _join_body(lines: list[str]) -> str:
    return "\n".join(line for line in lines if line.strip())


# Punctuation a line cannot start with (left where a label or a dropped clause was).
_LEADING_MARKS = re.compile(r"(?m)^[，,。；;、：:）)」』！!？?　 ]+")
# A line left ending on a comma (a clause dropped or cut after it) ends its sentence instead.
_TRAILING_COMMA = re.compile(r"[，,、；;]+[ \t]*(?=\n|$)")


def repair(brief: Brief, raw: str) -> str:
    """The draft in the platform's frame, invented claims dropped, within the length bounds."""
    framed = _LEADING_MARKS.sub("", _framed(brief, drop_restated(brief, raw)))
    return _TRAILING_COMMA.sub("。", framed)


def drop_restated(brief: Brief, text: str) -> str:
    """Sentences that say again what an earlier one said, unless a given fact is only there."""
    for found in reversed(check_restated(brief, text)):
        shorter = text[:found["start"]] + text[found["end"]:]
        if all(fact_kept(f, shorter, brief.product.strip()) for f in brief.facts if fact_kept(f, text, brief.product.strip())):
            text = shorter
    return text


def _framed(brief: Brief, raw: str) -> str:
    low, high = length_bounds(brief.platform, brief.length)
    lines = clean_lines(fix_characters(brief, finish_sentence(raw)))
    platform = brief.platform
    if platform == "小红书":
        return _xiaohongshu(brief, lines, high)
    if platform == "微博":
        body, tags = collect_tags(_join_body(lines))
        body = re.sub(r"#\s*", "", body)  # a lone # is shown as it is
        tags = tags[:2] or default_tags(brief)[:1]
        topics = "".join(f"#{t}#" for t in tags)
        body = trim_to(drop_invented(brief, re.sub(r"\n+", "", body).strip()), high - len(topics) - 1)
        return f"{body}{topics}" if body else topics
    if platform == "抖音":
        body, _ = collect_tags(_join_body(lines))
        body = drop_invented(brief, body)
        sentences = [s for s in re.split(r"(?<=[。！？!?])", body) if s.strip()]
        if not any(w in "".join(sentences[-2:]) for w in _CALL_TO_ACTION):
            action = f"喜欢就点击下方购物车，把{brief.product.strip() or '它'}带回家！"
            return trim_to(body, high - len(action)).rstrip() + "\n" + action
        return trim_to(body, high)
    if platform == "新闻稿":
        return _press_release(brief, lines, high)
    body, _ = collect_tags(_join_body(lines))
    body = trim_to(drop_invented(brief, body.strip()), high)
    if platform == "电商详情":
        return with_spec_line(brief, body, high)
    return body


def with_spec_line(brief: Brief, body: str, high: int) -> str:
    """A product page lists the specifications its prose left out on a line of their own."""
    left_out = [fact for fact in brief.facts if not fact_kept(fact, body, brief.product.strip())]
    if not left_out:
        return body
    line = "规格：" + "｜".join(left_out)
    return trim_to(body, high - visible_length(line)).rstrip() + "\n" + line


def _xiaohongshu(brief: Brief, lines: list[str], high: int) -> str:
    text, tags = collect_tags(_join_body(lines))
    tags = [t for t in tags if good_tag(t)]
    body_lines = [line for line in text.split("\n") if line.strip()]
    title = ""
    if body_lines and visible_length(body_lines[0]) <= TITLE_MAX_CHARS["小红书"] and \
            body_lines[0][-1:] not in "。，,":
        title = re.sub(r"[【】]", "", body_lines.pop(0)).strip()
    if not title:
        title = (f"{brief.brand.strip()}{brief.product.strip()}" if brief.brand else brief.product.strip())[:18]
        title = title + "真的爱了" if visible_length(title) <= 14 else title
    for tag in default_tags(brief) + ["好物分享"]:
        if len(tags) >= 2:
            break
        if tag not in tags:
            tags.append(tag)
    tag_line = " ".join(f"#{t}" for t in tags[:4])
    body = drop_invented(brief, "\n".join(body_lines))
    body = trim_to(body, high - visible_length(title) - visible_length(tag_line))
    return f"{title}\n\n{body}\n\n{tag_line}"


def _press_release(brief: Brief, lines: list[str], high: int) -> str:
    lines = [EMOJI.sub("", collect_tags(line)[0]).strip() for line in lines]
    lines = [line for line in lines if line]
    headline = ""
    if lines and visible_length(lines[0]) <= TITLE_MAX_CHARS["新闻稿"] and lines[0][-1:] not in "。！？":
        headline = re.sub(r"[【】《》]", "", lines.pop(0)).strip()
    if not headline:
        headline = f"{brief.brand.strip()}发布{brief.product.strip()}"
    body = drop_invented(brief, "\n".join(lines))
    body = trim_to(body, high - visible_length(headline))
    return f"{headline}\n\n{body}"


def parts(platform: str, text: str) -> CopyParts:
    """The fields of a finished version (repair's output, or a user's edit of it)."""
    lines = [line.strip() for line in text.strip().split("\n") if line.strip()]
    if platform == "小红书":
        body, tags = collect_tags("\n".join(lines[1:]))
        return CopyParts(title=lines[0] if lines else "", body=body.strip(), tags=tuple(tags))
    if platform == "新闻稿":
        return CopyParts(title=lines[0] if lines else "", body="\n".join(lines[1:]))
    if platform == "抖音":
        sentences = [s for s in re.split(r"(?<=[。！？!?\n])", text.strip()) if s.strip()]
        hook = sentences[0].strip() if sentences else ""
        action = sentences[-1].strip() if len(sentences) > 1 else ""
        return CopyParts(hook=hook, body="".join(sentences[1:-1]).strip(), call_to_action=action)
    if platform == "微博":
        body, tags = collect_tags(text)
        return CopyParts(body=body.strip(), tags=tuple(tags))
    return CopyParts(body=text.strip())
