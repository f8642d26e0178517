"""The copy verifier: what makes a version unpublishable, besides 广告法 terms.

Each check compares the output with what the user gave (product, brand, selling points,
attributes) and returns findings shaped like the compliance ones (start, end, text, category,
rule, suggestion); a fact that is missing has an empty span (start == end == 0).

What it checks: the product and brand names kept verbatim; each given fact kept (all of them
on 电商详情 and 新闻稿) and not weakened; no number, unit, certification, award, origin,
promise, sales claim, ingredient or part (where the copy says the product has it), comparison
with other products or company detail the input does not give; no placeholder, assistant talk,
field label or English word the input lacks; the platform's length and format; repeated
phrases and sentences that restate an earlier one.
What it cannot check is in `UNCHECKED`.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence

import jieba
import jieba.posseg

from contentgen.compliance import simplified
from contentgen.facts import (
    fact_kept,
    finding,
    missing,
    normalize,
    quantities,
    visible_length,
)
from contentgen.tasks.copy.brief import (
    ALL_FACTS_PLATFORMS,
    ASSISTANT_TALK,
    BRACKET_LABEL,
    BRACKET_RUN,
    BRACKET_SLOGAN,
    CALL_TO_ACTION,
    EMOJI,
    FIELD_LABELS,
    GLUED_LABEL,
    INLINE_LABEL,
    LATIN_WORD,
    LIST_MARKER,
    LOOP_SPAN,
    MARKDOWN,
    MISSING_WORD,
    NEWS_READER_TALK,
    NOTE_LINE,
    OUTLINE_LINE,
    PLACEHOLDERS,
    PLATFORM_LIMITS,
    QUOTED_LINE,
    REPEAT_SPAN,
    STAGE_NOTE,
    TITLE_MAX_CHARS,
    UNFINISHED,
    WEIBO_TOPIC,
    XHS_TAG,
    Brief,
    last_word,
    length_bounds,
)
from contentgen.tasks.copy.claims import check_invented


# ---------------------------------------------------------------- checks
def check_names(brief: Brief, text: str) -> list[dict]:
    found = []
    folded = normalize(text)
    product = brief.product.strip()
    if product:
        # A long listing title is not repeated whole; its last word (the product itself) must be.
        required = product if len(product) <= 16 else last_word(product)
        if normalize(required) not in folded:
            found.append(missing(required, "商品名缺失或被改写", f"文案中没有原样出现商品名“{required}”",
                                 f"在开头写出“{required}”，不要改写成近义词"))
    found += distorted_names(product, text)
    if product:  # not inside the product's own name (安全座椅 is not 安途座椅 misspelt)
        inside = {i for m in re.finditer(re.escape(product), text) for i in range(m.start(), m.end())}
        found += [f for f in distorted_names(brief.brand.strip(), text, last_word(product))
                  if not inside & set(range(f["start"], f["end"]))]
    brand = brief.brand.strip()
    if brand and normalize(brand) not in folded:
        found.append(missing(brand, "品牌名缺失", f"文案中没有出现品牌名“{brand}”", f"写出品牌名“{brand}”"))
    return found


def distorted_names(name: str, text: str, followed_by: str = "") -> list[dict]:
    """The name with one character changed (玻尿酸保湿面奶 for 玻尿酸保湿面霜, 便装咖啡机 for 便携咖啡机)
    or put inside it (稻香气源 for 稻香源). A name of 2-3 characters (a brand) only counts as changed
    when `followed_by` (the product's last word) comes right after it: 醇品咖啡机 for 醇享 咖啡机,
    not every word that shares a character."""
    if len(name) > 16 or len(name) < 2:
        return []
    found = _inserted(name, text) if len(name) >= 3 else []
    if len(name) >= 4:
        return found + _substituted(name, text)
    if followed_by:  # the brand's own characters changed, the product's word kept
        found += [f for f in _substituted(name + followed_by, text) if f["text"].endswith(followed_by)
                  and f["text"][:len(name)] != name]
    return found


def _exact_positions(name: str, text: str) -> set[int]:
    return {i for m in re.finditer(re.escape(name), text) for i in range(m.start(), m.end())}


def _substituted(name: str, text: str) -> list[dict]:
    exact, found = _exact_positions(name, text), []
    for start in range(len(text) - len(name) + 1):
        window = text[start:start + len(name)]
        changed = [i for i, (a, b) in enumerate(zip(window, name)) if a != b]
        if len(changed) == 1 and "\u4e00" <= window[changed[0]] <= "\u9fff" and 0 < changed[0] \
                and not exact & set(range(start, start + len(name))):
            found.append(finding(start, start + len(name), window, "商品名缺失或被改写",
                                 f"“{window}”把名称“{name}”写错了一个字", f"改为“{name}”"))
    return found


# Characters that join words rather than change a name (有机的大米 is still 有机大米).
_JOINERS = set("的之和与及或、")


def _inserted(name: str, text: str) -> list[dict]:
    exact, found = _exact_positions(name, text), []
    for start in range(len(text) - len(name)):
        window = text[start:start + len(name) + 1]
        if window[0] != name[0] or window[-1] != name[-1] or exact & set(range(start, start + len(window))):
            continue
        if any("\u4e00" <= window[i] <= "\u9fff" and window[i] not in _JOINERS and window[:i] + window[i + 1:] == name
               for i in range(1, len(name))):
            found.append(finding(start, start + len(window), window, "商品名缺失或被改写",
                                 f"“{window}”在名称“{name}”里多写了一个字", f"改为“{name}”"))
    return found




def check_facts(brief: Brief, text: str) -> list[dict]:
    found = []
    for fact in brief.facts:
        fact = fact.strip()
        if not fact:
            continue
        needed = brief.platform in ALL_FACTS_PLATFORMS or bool(quantities(normalize(fact)))
        if needed and not fact_kept(fact, text, brief.product.strip()):
            found.append(missing(fact, "遗漏或改写了给定卖点", f"给定的“{fact}”没有原样写进文案（数字和单位须一致）",
                                 f"写出“{fact}”"))
        for q in quantities(normalize(fact)):
            if re.search("只|仅|才", fact):
                continue  # the user's own wording
            for weak in re.finditer(rf"(?<!不)(?:只|仅|才)(?:含有?|有|含)?\s*{re.escape(q.text)}", normalize(text)):
                found.append(finding(weak.start(), weak.end(), text[weak.start():weak.end()], "削弱了卖点",
                                     f"“{weak.group(0)}”把卖点“{fact}”写成了不足",
                                     f"写成“{fact}”，不加“只”“仅”"))
        found += _moved_per(fact, text)
        found += [{**f, "suggestion": f"改为“{right}”"} for f, right in distorted_facts(fact, text)]
        found += cut_or_stretched(fact, text)
    return found


_MORE_THAN = re.compile(r"以上|多|超过|超|逾")


def cut_or_stretched(fact: str, text: str) -> list[dict]:
    """A fact cut short before a mark (“含3%玻尿，” for 含3%玻尿酸), or an amount stretched into a
    bound the input does not give (“300公里以上” for 续航300公里: a promise of more)."""
    found = []
    if len(fact) >= 5 and _is_cjk(fact[-1]):
        for match in re.finditer(re.escape(fact[:-1]) + r"(?=[，。！？、,.!?；;\s]|$)", text):
            found.append(finding(match.start(), match.end(), match.group(0), "遗漏或改写了给定卖点",
                                 f"“{match.group(0)}”把给定的“{fact}”截断了", f"写全“{fact}”"))
    if _MORE_THAN.search(fact):
        return found
    for q in quantities(normalize(fact)):
        if not q.unit:
            continue
        for match in re.finditer(rf"(?:超过|多于|逾){re.escape(q.text)}|{re.escape(q.text)}以上",
                                 normalize(text)):
            found.append(finding(match.start(), match.end(), text[match.start():match.end()], "遗漏或改写了给定卖点",
                                 f"给定的是“{fact}”，“{match.group(0)}”把数量说成了更多", f"写成“{fact}”"))
    return found


def _is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def distorted_facts(fact: str, text: str) -> list[tuple[dict, str]]:
    """A given fact written with one character changed (40dB主动降音 for 40dB主动降噪), or glued to
    the next characters into another word (40dB主动降噪声: 降/噪声): each finding with the words it
    should read (降/噪声 splits the fact's last word; 蛋白质 only lengthens 植物蛋白's and passes). The
    fact written correctly elsewhere does not excuse it: a reader sees both."""
    if len(fact) < 4 or not _is_cjk(fact[-1]):
        return []
    found = []
    text_bounds = {0, *itertools.accumulate(len(w) for w in jieba.lcut(text))}
    for f in _substituted(fact, text):
        changed = next(c for c, r in zip(f["text"], fact) if c != r)
        # Whole words only: 12节健身课 is not 12节课 misspelt, nor 800ml清水的清水箱 800ml清水箱.
        if changed in _JOINERS or not {f["start"], f["end"]} <= text_bounds:
            continue
        f.update(category="遗漏或改写了给定卖点", rule=f"“{f['text']}”把给定的“{fact}”写错了一个字")
        found.append((f, fact))
    if len(jieba.lcut(fact)[-1]) < 2:
        return found  # 6mm厚天然橡胶: a one-character last word joins anything
    for match in re.finditer(re.escape(fact), text):
        tail = re.match(r"[\u4e00-\u9fff]{1,6}", text[match.end():])
        if not tail:
            continue
        words = jieba.lcut(fact + tail.group(0))
        bounds = list(itertools.accumulate(len(w) for w in words))
        if len(fact) in bounds:
            continue
        crossing = next(i for i, b in enumerate(bounds) if b > len(fact))
        if len(fact) - (bounds[crossing] - len(words[crossing])) >= 2:
            continue  # the fact's last word made longer (植物蛋白质 for 植物蛋白) says the same
        extra = bounds[crossing] - len(fact)
        glued = text[match.start():match.end() + extra]
        found.append((finding(match.start(), match.end() + extra, glued, "遗漏或改写了给定卖点",
                              f"“{glued}”把给定的“{fact}”连成了另一个词", f"改为“{fact}”"),
                      glued[:len(fact)] + glued[len(fact) + extra:]))
    return found


def _moved_per(fact: str, text: str) -> list[dict]:
    """每袋1kg written as 每只1kg: the amount put on another unit is a false specification."""
    per = re.search(r"每([\u4e00-\u9fff])", fact)
    amounts = quantities(normalize(fact))
    if not per or not amounts:
        return []
    found = []
    for q in amounts:
        pattern = rf"每一?([\u4e00-\u9fff])[\u4e00-\u9fff]{{0,4}}?{re.escape(q.text)}"  # 每一袋 is 每袋
        for match in re.finditer(pattern, normalize(text)):
            if match.group(1) != per.group(1):
                found.append(finding(match.start(), match.end(), text[match.start():match.end()], "遗漏或改写了给定卖点",
                                     f"给定的是“{fact}”，“{match.group(0)}”把数量算到了别的单位上", f"写成“{fact}”"))
    return found


# shown text of a match that takes in the spaces around it.
WORDING = (
    (PLACEHOLDERS, "占位符", "文案里留有待填写的占位符，不能直接发布", "删除或填入真实内容", False),
    (ASSISTANT_TALK, "助手口吻", "这是写给使用者的话，不是文案", "删除这句", False),
    (MARKDOWN, "排版符号", "Markdown 符号在这些平台上会原样显示", "删除这些符号", False),
    (INLINE_LABEL, "多余的字段标签", "这是提纲式的小标题，不是文案", "删除小标题，写成连贯的句子", False),
    (BRACKET_SLOGAN, "多余的字段标签", "这是提纲式的小标题，不是文案", "删除小标题，写成连贯的句子", False),
    (BRACKET_RUN, "多余的字段标签", "这是提纲式的小标题，不是文案", "删除小标题，写成连贯的句子", False),
    (BRACKET_LABEL, "多余的字段标签", "这是写作提纲的小标题，不是文案", "删除这一行", True),
    (GLUED_LABEL, "多余的字段标签", "这是提示里的字段名或提纲小标题，不应出现在文案里", "删除标签，只留内容", True),
    (LIST_MARKER, "排版符号", "分点编号读起来像提纲，不像文案", "去掉编号，写成连贯的句子", True),
    (QUOTED_LINE, "排版符号", "整行文案被引号包住", "去掉首尾引号", True),
    (STAGE_NOTE, "助手口吻", "这是写给使用者的说明，不是文案", "删除这句说明", False),
    (NOTE_LINE, "助手口吻", "这是写给使用者的说明，不是文案", "删除这句说明", False),
    (MISSING_WORD, "残句", "这里缺了一个词（采用什么设计？），读起来不通", "补上给定的说法，或删去这半句", False),
)


def check_wording(brief: Brief, text: str) -> list[dict]:
    found = []
    # First: where another pattern finds the same label, this message (it names the label) is kept.
    for match in FIELD_LABELS.finditer(text):
        found.append(finding(match.start(1), match.end(1), match.group(1), "多余的字段标签",
                             f"“{match.group(1)}：”是提示里的字段名，不应出现在文案里", "删除标签，只留内容"))
    for pattern, category, rule, suggestion, strip in WORDING:
        for match in pattern.finditer(text):
            shown = match.group(0).strip() if strip else match.group(0)
            found.append(finding(match.start(), match.end(), shown, category, rule, suggestion))
    outline = list(OUTLINE_LINE.finditer(text))
    for match in outline if len(outline) >= 2 else ():
        found.append(finding(match.start(1), match.end(1), match.group(1), "排版符号",
                             "“卖点：说明”式的分行小标题读起来像提纲，不像文案", "写成连贯的句子"))
    for match in UNFINISHED.finditer(text):
        found.append(finding(match.start(), match.end(), match.group(0), "句子没写完", "这一行停在逗号上，句子没写完",
                             "补完这句，或删掉逗号后的半句"))
    offset = 0
    for line in text.split("\n"):
        if line.count("【") != line.count("】"):
            at = offset + max(line.find("【"), line.find("】"))
            found.append(finding(at, at + 1, text[at], "排版符号", "括号没有成对出现", "删除或补全括号"))
        offset += len(line) + 1
    source = brief.source
    for index, char in enumerate(text):
        if simplified(char) != char and char not in source:
            found.append(finding(index, index + 1, char, "繁体字", f"“{char}”是繁体字，简体文案里应写作“{simplified(char)}”",
                                 f"改为“{simplified(char)}”"))
    for match in LATIN_WORD.finditer(text):
        if match.group(0).lower() not in source:
            found.append(finding(match.start(), match.end(), match.group(0), "夹杂英文",
                                 "输入中没有这个英文词，中文文案里夹杂英文不利于发布", "换成中文"))
    return found


def check_length(brief: Brief, text: str) -> list[dict]:
    low, high = length_bounds(brief.platform, brief.length)
    size = visible_length(text)
    if low <= size <= high:
        return []
    where = f"{brief.platform}要求 {low}-{high} 字" if brief.platform in PLATFORM_LIMITS else \
        f"篇幅“{brief.length}”要求 {low}-{high} 字"
    return [missing(f"{size} 字", "篇幅不符", f"全文 {size} 字，{where}", "重新生成，或删减/补充后发布")]


def check_format(brief: Brief, text: str) -> list[dict]:
    found = []
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    platform = brief.platform
    if platform == "小红书":
        tags = set(XHS_TAG.findall(text))
        for tag in sorted(t for t in tags if not good_tag(t)):
            found.append(missing(f"#{tag}", "格式不符", "话题要短（12 字以内），不带数字和括号，读者才会搜",
                                 "换成简短的话题，如 #好物分享"))
        if not 2 <= len(tags) <= 4:
            found.append(missing(f"{len(tags)} 个话题", "格式不符", "小红书笔记结尾需要 2-4 个 #话题 标签",
                                 "在结尾补充 2-4 个 #话题"))
        if not lines or len(lines) < 3 or len(lines[0]) > TITLE_MAX_CHARS["小红书"] or lines[0].startswith("#"):
            found.append(missing("标题", "格式不符", "小红书笔记需要首行标题（20 字以内）、正文和话题",
                                 "首行写一句 20 字以内的标题"))
    elif platform == "抖音":
        sentences = split_sentences(text)
        if not sentences or visible_length(sentences[0]) > 30:
            found.append(missing("开头", "格式不符", "抖音口播的第一句要在 30 字以内抓住注意力", "用一句短句开头"))
        if not any(word in "".join(sentences[-2:]) for word in CALL_TO_ACTION):
            found.append(missing("结尾引导", "格式不符", "抖音口播结尾需要引导行动（如点击购物车下单）",
                                 "结尾加一句引导下单"))
    elif platform == "微博":
        if not WEIBO_TOPIC.search(text):
            found.append(missing("话题", "格式不符", "微博需要至少一个 #话题#", "加一个 #话题#"))
        in_topics = {i for m in WEIBO_TOPIC.finditer(text) for i in (m.start(), m.end() - 1)}
        for index in (i for i, c in enumerate(text) if c == "#" and i not in in_topics):
            found.append(finding(index, index + 1, "#", "格式不符", "微博的话题要写成 #话题#，单个 # 会原样显示",
                                 "删除这个 #"))
    elif platform == "新闻稿":
        if len(lines) < 3 or len(lines[0]) > TITLE_MAX_CHARS["新闻稿"] or lines[0][-1:] in "。！？":
            found.append(missing("标题", "格式不符", "新闻稿需要首行标题（40 字以内），再写导语和正文",
                                 "首行写标题，下面分段写导语和正文"))
        for match in EMOJI.finditer(text):
            found.append(finding(match.start(), match.end(), match.group(0), "格式不符", "新闻稿不使用表情符号",
                                 "删除表情符号"))
        if len(re.findall(r"(?m)^\s*【", text)) >= 2:
            found.append(missing("【】小标题", "格式不符", "新闻稿是连贯的导语和正文，不是【】小标题加口号的列表",
                                 "改写成导语和正文段落"))
        for match in re.finditer(r"#[^#\s]+", text):
            found.append(finding(match.start(), match.end(), match.group(0), "格式不符", "新闻稿不使用话题标签",
                                 "删除话题标签"))
        for match in NEWS_READER_TALK.finditer(text):
            found.append(finding(match.start(), match.end(), match.group(0), "格式不符",
                                 "新闻稿用记者的口吻写给公众，不招呼读者、不催人购买", "删除这句"))
        if lines and re.match(r"^\s*发布", lines[0]):
            found.append(finding(0, len(lines[0]), lines[0], "格式不符",
                                 "新闻标题要写清谁做了什么，不是只有“发布X”", "写成“某公司在某地发布某产品”这样的标题"))
    return found


def good_tag(tag: str) -> bool:
    """A topic readers search for: short, no numbers or brackets (not “麦田记燕麦牛奶（8g植物蛋白）”)."""
    return len(tag) <= 12 and not re.search(r"[\d（()）【】]", tag)


def check_repeats(brief: Brief, text: str) -> list[dict]:
    skipped = {i for m in re.finditer(r"#[^#\s]{1,30}#?", text) for i in range(m.start(), m.end())}
    if brief.platform in TITLE_MAX_CHARS:  # a lead may restate its headline
        skipped |= set(range(len(text.strip().split("\n")[0]) + len(text) - len(text.lstrip())))
    plain = [(i, c) for i, c in enumerate(text)
             if not (c.isspace() or unicodedata.category(c).startswith("P") or i in skipped)]
    chars = "".join(c for _, c in plain)
    source = brief.source.replace(" ", "")
    seen: dict[str, int] = {}
    found, covered_until = [], -1
    for index in range(len(chars) - REPEAT_SPAN + 1):
        span = chars[index:index + REPEAT_SPAN]
        if span in seen and index >= seen[span] + REPEAT_SPAN and index > covered_until and span not in source:
            start, end = plain[index][0], plain[index + REPEAT_SPAN - 1][0] + 1
            found.append(finding(start, end, text[start:end], "重复", "同一句话重复出现", "删除重复的句子"))
            covered_until = index + REPEAT_SPAN
        seen.setdefault(span, index)
    # A loop that rewords itself (厨房里的小秘密… 厨房的小小秘密… 厨房里的小秘密…): a shorter span seen three times.
    counts: dict[str, list[int]] = {}
    for index in range(len(chars) - LOOP_SPAN + 1):
        span = chars[index:index + LOOP_SPAN]
        if span not in source and (not counts.get(span) or index >= counts[span][-1] + LOOP_SPAN):
            counts.setdefault(span, []).append(index)
    for span, at in counts.items():
        if len(at) >= 3 and not any(f["start"] <= plain[at[2]][0] < f["end"] for f in found):
            start, end = plain[at[2]][0], plain[at[2] + LOOP_SPAN - 1][0] + 1
            found.append(finding(start, end, text[start:end], "重复", f"“{span}”出现了 {len(at)} 次，文案在绕圈子",
                                 "删掉重复的句子"))
            break
    return found


# A sentence that says again what an earlier one said in other words (点击购物车，立即购买，让你的身体焕发光彩，
# 告别疲惫 … 立即下单，让你身体焕发光彩，告别累赘): this share of their character pairs in common.
RESTATED_SHARE = 0.6
RESTATED_MIN_PAIRS = 8


# More sentences urging the reader to buy than this reads as a loop (立刻行动吧！马上点击购买！立刻点击购物车！).
MAX_CALLS_TO_ACTION = 2
_URGING = ("购物车", "小黄车", "下单", "点击", "链接", "拍下", "购买", "入手", "抢购", "囤货", "立刻行动", "马上行动",
           "立即行动", "带回家")


def check_restated(brief: Brief, text: str) -> list[dict]:
    """Sentences that restate an earlier one (pairs of characters from the input do not count),
    a short sentence said twice, and calls to action past the third."""
    source = brief.source.replace(" ", "")
    source_pairs = {source[i:i + 2] for i in range(len(source) - 1)}
    earlier: list[tuple[str, str, set[str]]] = []
    found, offset, calls = [], 0, 0
    sentences = re.split(r"(?<=[。！？!?\n])", text)
    last = max((i for i, s in enumerate(sentences) if s.strip()), default=-1)
    for index, sentence in enumerate(sentences):
        start, offset = offset, offset + len(sentence)
        shown = sentence.strip()
        at = start + sentence.find(shown) if shown else start
        plain = "".join(c for c in normalize(sentence) if "\u4e00" <= c <= "\u9fff")
        pairs = {plain[i:i + 2] for i in range(len(plain) - 1)} - source_pairs
        # The closing call to action is the one the platform asks for; it never counts as a loop.
        urges = index != last and any(word in plain and word not in source for word in _URGING)
        calls += urges
        if urges and calls > MAX_CALLS_TO_ACTION:
            found.append(finding(at, at + len(shown), shown, "重复", f"第 {calls} 次引导下单，读起来像在绕圈子",
                                 "只在结尾引导一次"))
            continue
        said = next((s for s, p, ps in earlier if (len(plain) >= 4 and p == plain) or (
            len(pairs) >= RESTATED_MIN_PAIRS and len(ps) >= RESTATED_MIN_PAIRS
            and len(pairs & ps) / min(len(pairs), len(ps)) >= RESTATED_SHARE)), None)
        if said is not None:
            found.append(finding(at, at + len(shown), shown, "重复", f"这句和前面的“{said[:20]}”说的是同一件事",
                                 "删掉这句，或换成新的内容"))
        earlier.append((shown, plain, pairs))
    return found


CHECKS = (check_names, check_facts, check_invented, check_wording, check_length, check_format, check_repeats,
          check_restated)


def verify(brief: Brief, text: str) -> list[dict]:
    """Every finding for one version, spans sorted; an empty list means publishable (with 广告法)."""
    found = [f for check in CHECKS for f in check(brief, text)]
    return sorted(_dedupe(found), key=lambda f: (f["start"], f["end"], f["category"]))


def _dedupe(found: Iterable[dict]) -> list[dict]:
    unique: dict[tuple, dict] = {}
    for f in found:
        unique.setdefault((f["start"], f["end"], f["category"], f["text"]), f)
    return list(unique.values())


def split_sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。！？!?…\n])", text) if s.strip()]


def categories(findings: Sequence[dict]) -> list[str]:
    return sorted({f["category"] for f in findings})
