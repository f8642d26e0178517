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
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import jieba
import jieba.posseg

from contentgen.compliance import simplified

UNCHECKED = ("无法自动核实：形容词和主观描述（如“口感软糯”“音质出色”）是否属实、没有数字的功效说法是否成立、"
             "不在“含有/采用/搭载”等说法后面的成分或配置、不带品牌名的其他商品、文案与图片是否一致，请发布前人工确认。")

# Target length in Chinese characters (篇幅) and the share it may miss by.
LENGTHS: dict[str, int] = {"短": 80, "中": 200, "长": 400}
# Shorter is tolerated more than longer: a platform cuts what is too long, a reader skims.
LENGTH_TOLERANCE = (0.4, 0.3)
# Platforms whose own limit wins over 篇幅: (fewest, most) characters.
PLATFORM_LIMITS: dict[str, tuple[int, int]] = {"微博": (40, 140), "朋友圈": (20, 100)}
# Platforms that must keep every given fact; the others keep those with a number or unit.
ALL_FACTS_PLATFORMS = ("电商详情", "新闻稿")
TITLE_MAX_CHARS = {"小红书": 20, "新闻稿": 40}

SENTENCE_END = "。！？!?…\n"
EMOJI = re.compile("[\U0001F300-\U0001FAFF\U00002600-\U000027BF\U0001F000-\U0001F2FF\u2B50\u2B55\u203C\u2049]")
_XHS_TAG = re.compile(r"#([^\s#，。！？,.!?]{1,20})")
_WEIBO_TOPIC = re.compile(r"#[^#\n]{1,30}#")

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
_ARABIC = re.compile(rf"(\d+(?:\.\d+)?)\s*({_UNIT_PATTERN})?", re.IGNORECASE)
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
    for match in _ARABIC.finditer(text):
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


# ---------------------------------------------------------------- claims the input must give
# (category, rule, terms): a term in the output that the input does not contain is a finding.
CLAIMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("编造认证或奖项", "输入未提供该认证、标准或奖项，《广告法》第二十八条：虚构的认证属虚假广告",
     ("3c", "ccc", "cqc", "iso", "fda", "ce认证", "gmp", "sgs", "有机认证", "绿色食品", "无公害", "地理标志",
      "专利", "质检", "检测报告", "认证", "获奖", "金奖", "大奖", "红点", "设计奖", "荣获", "驰名商标", "老字号",
      "非遗", "新国标", "国标", "欧盟标准", "母婴级", "食品级", "医用级", "军工级", "航空级", "权威", "推荐品牌")),
    ("编造产地或来源", "输入未提供该产地或来源",
     ("进口", "原装", "国外", "海外", "外国", "德国", "日本", "美国", "法国", "意大利", "瑞士", "英国", "韩国",
      "澳洲", "澳大利亚", "新西兰", "丹麦", "瑞典", "荷兰", "比利时", "西班牙", "泰国", "欧洲", "北欧", "欧美",
      "日韩", "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽",
      "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃",
      "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门", "东北", "五常", "杭州", "深圳",
      "广州", "成都", "武汉", "南京", "苏州", "宁波", "厦门", "丹东", "和田", "景德镇", "义乌")),
    ("编造承诺或优惠", "输入未提供该售后承诺、价格或优惠，不能替商家许诺",
     ("承诺", "包退", "包换", "包邮", "无理由", "退换", "退货", "退款", "质保", "保修", "终身", "售后",
      "技术支持", "赔付", "假一赔", "正品保障", "运费险", "顺丰", "次日达", "送货上门", "免费安装", "赠品",
      "赠送", "限时", "优惠", "折扣", "打折", "秒杀", "优惠券", "满减", "原价", "特价", "低至", "免费试用",
      "买一送一", "到手价", "直降", "免费体验", "免费领", "免费配送", "免运费", "免邮", "会员")),
    ("编造销量或口碑", "输入未提供销量、排名或口碑数据，不能虚构",
     ("销量", "热销", "爆款", "好评率", "回购", "万人", "网红同款", "明星同款", "断货", "售罄", "抢购一空",
      "口碑", "好评", "深受", "排行榜", "榜单", "国内领先", "行业领先", "领导品牌", "知名品牌", "值得信赖",
      "信赖的品牌")),
    ("编造研发或工艺来源", "输入未提供研发、专利或独家工艺的信息，不能虚构",
     ("自主研发", "独家", "研发团队", "科研团队", "专利技术", "黑科技")),
    ("编造公司信息", "输入未提供公司全称或背景，不能虚构（新闻稿里的公司名须与营业执照一致）",
     ("有限公司", "股份公司", "集团", "科技公司", "成立于", "创立于", "旗下品牌")),
)

PLACEHOLDERS = re.compile(
    r"\[[^\]\n]{1,20}\]|【[^】\n]{0,12}(?:名字|姓名|日期|时间|职位|电话|地址|链接|公司|品牌名|产品名|价格|联系方式|此处|xx)[^】\n]{0,12}】"
    r"|[xX×]{2,}|某某|（此处[^）\n]*）|\(此处[^)\n]*\)|<[^>\n]{1,20}>|\{[^}\n]{1,20}\}|_{3,}"
    r"|[（(](?:链接|网址|图片|视频|二维码|地址)[)）]",
)
ASSISTANT_TALK = re.compile(
    r"以上(?:内容|文案)|仅为示例|仅供参考|希望(?:对你|对您|能)[^。！\n]{0,6}帮助|以下是|下面是|这篇文案|这段文案|"
    r"文案如下|根据(?:您|你)(?:提供|给出)|如有需要|如需(?:调整|修改)|可以根据(?:具体|实际)|请注意[,，:：]|"
    r"作为(?:一个|一名)?(?:AI|人工智能|语言模型|文案|助手)|当然可以|好的[，,！!]|为(?:您|你)(?:撰写|写了|创作)|"
    r"字数[:：约]|(?:共|约)\d+字|请随时告诉我|有任何问题|需要(?:任何)?帮助|祝你生活愉快",
    re.IGNORECASE,
)
FIELD_LABELS = re.compile(
    r"(?m)^\s*[*#【\[]*\s*(标题|正文|文案|平台|语气|篇幅|(?:主要|核心|产品)?卖点|话题标签|尾部|(?:发布|活动)?(?:时间|地点)|发布方|发布内容|商品|商品名称|品牌|话题|标签|导语|开头|结尾|口播|"
    r"脚本|镜头|画面|字数|注意事项|商品属性|目标人群|结语|引导|钩子|行动号召|CTA|新闻标题|副标题)\s*[0-9一二三四五六]*\s*[\]】*]*\s*[:：]",
    re.IGNORECASE,
)
MARKDOWN = re.compile(r"\*\*|__|^\s*#{1,6}\s+|^\s*[-*]{3,}\s*$|^\s*[-•·*]\s*(?=\S)", re.MULTILINE)
# A label glued to its line (标题醇享…, 【正文一】…), a note line (注意：…), a list marker (1. 2、 ①).
GLUED_LABEL = re.compile(r"(?m)^\s*(?:标题|正文|导语)(?=[\u4e00-\u9fff，,])|"
                         r"【(?:正文|标题|导语|结尾|尾部|开头|结语|引言|段落)[^】\n]{0,3}】")
# “免打孔安装：我们的晾衣架……” lines: a heading and its explanation (an outline when two or more).
OUTLINE_LINE = re.compile(r"(?m)^\s*([^\n：:，。！？]{2,10})[:：][ \t　]*(?=\S)")
QUOTED_LINE = re.compile(r'(?m)^[ \t]*["“「][^"“”「」\n]*["”」][ \t]*$')
NOTE_LINE = re.compile(r"(?m)^\s*(?:注意|备注|说明|注)[:：].*$")
LIST_MARKER = re.compile(r"(?m)^\s*(?:\d{1,2}[.、)）](?!\d)|[（(]\d{1,2}[)）]|[①-⑩])\s*")
# A note to the user in brackets: “（结尾引导点击购物车下单）”, “(注意：最后一句…)”.
STAGE_NOTE = re.compile(r"[（(【\[][^）)】\]\n]{0,30}(?:注意|结尾|开头|引导|此处|备注|提示|镜头|画面|字数|说明|配乐|背景音乐|"
                        r"旁白|音效|停顿|字幕)[^）)】\]\n]{0,40}[）)】\]]")
# A line that is only a short bracketed heading (【开场白】【推荐理由】) is an outline, not copy.
BRACKET_LABEL = re.compile(r"(?m)^\s*(?:[【\[][^】\]\n]{1,6}[】\]]|标题|正文|导语|开头|结尾|话题|标签|新闻标题)\s*$")
# 【亮点】：… inside a line, or a bracketed slogan (【加入我们，享受更好的体验】): an outline's heading.
INLINE_LABEL = re.compile(r"【[^】\n]{1,6}】\s*[:：]|//[^/\n]{0,10}//")
BRACKET_SLOGAN = re.compile(r"【([^】\n]{0,20}[，,！!][^】\n]{0,20}|[^】\n]{11,})】")
# 【生活品质】【科技引领】【超长续航】: bracketed keywords in a row are a list of slogans, not copy.
BRACKET_RUN = re.compile(r"(?:【[^】\n]{1,10}】\s*){2,}")
# A line that stops on a comma (“50g装，” before the tags): the sentence was cut off.
_UNFINISHED = re.compile(r"[，,、；;]+[ \t]*(?=\n|$)")
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z'-]+")
CALL_TO_ACTION = ("购物车", "小黄车", "下单", "点击", "链接", "抢", "入手", "拍下", "冲", "买", "囤", "戳", "关注",
                  "评论区", "直播间")
# A span this long seen twice (punctuation aside) is a repeated phrase, unless the input has it.
REPEAT_SPAN = 10
LOOP_SPAN = 6


@dataclass(frozen=True)
class Brief:
    """What the user gave, as the verifier reads it."""

    product: str = ""
    brand: str = ""
    facts: tuple[str, ...] = ()
    platform: str = "电商详情"
    length: str = "中"
    # Text the output may draw on besides the facts (audience, keywords, brand examples).
    context: str = ""

    @property
    def source(self) -> str:
        return normalize(" ".join([self.product, self.brand, *self.facts, self.context]))


def finding(start: int, end: int, text: str, category: str, rule: str, suggestion: str) -> dict:
    return {"start": start, "end": end, "text": text, "category": category, "rule": rule, "suggestion": suggestion}


def missing(text: str, category: str, rule: str, suggestion: str) -> dict:
    return finding(0, 0, text, category, rule, suggestion)


def visible_length(text: str) -> int:
    """Characters a reader counts: everything but whitespace."""
    return sum(1 for c in text if not c.isspace())


def length_bounds(platform: str, length: str) -> tuple[int, int]:
    if platform in PLATFORM_LIMITS:
        return PLATFORM_LIMITS[platform]
    target = LENGTHS.get(length, 200)
    return round(target * (1 - LENGTH_TOLERANCE[0])), round(target * (1 + LENGTH_TOLERANCE[1]))


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


def last_word(title: str) -> str:
    words = [w for w in jieba.lcut(title) if len(w) > 1]
    return words[-1] if words else title[-4:]


def _content_words(fact: str) -> list[str]:
    words = []
    for word in jieba.lcut(normalize(fact)):
        unit = next((u for u in sorted(UNIT_ALIASES, key=len, reverse=True) if word.startswith(u)), "")
        if unit and words == [] and _ARABIC.match(normalize(fact)):
            word = word[len(unit):]  # 12节课 is cut 12 / 节课: the unit goes with the number
        if len(word) > 1 and not _ARABIC.fullmatch(word) and word not in _FUNCTION_WORDS and word not in UNIT_ALIASES:
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


def check_invented(brief: Brief, text: str) -> list[dict]:
    source = brief.source
    given = quantities(source)
    given_values = {q.value for q in given}
    given_pairs = {(q.value, q.unit) for q in given}
    given_texts = {_number_text(q) for q in given}
    found = []
    folded = normalize(text)
    for q in quantities(folded):
        if _is_list_marker(folded, q):
            continue
        # A bare number counts as given only written as given: 蓝牙5.0 is not IPX5's 5.
        if q.value in given_values and ((not q.unit and _number_text(q) in given_texts)
                                        or (q.unit and ((q.value, q.unit) in given_pairs
                                                        or all(g.unit == "" for g in given if g.value == q.value)))):
            continue
        found.append(finding(q.start, q.end, text[q.start:q.end], "编造数字或参数",
                             f"输入中没有“{q.text}”，《广告法》第二十八条：虚构参数属虚假广告",
                             "删除，或在卖点里补充真实参数后重新生成"))
    claims = []
    for category, rule, terms in CLAIMS:
        for term in terms:
            if term in source:
                continue
            for match in re.finditer(re.escape(term), folded):
                claims.append(finding(match.start(), match.end(), text[match.start():match.end()], category, rule,
                                      "删除，或在卖点里补充后重新生成"))
    claims += invented_endorsements(brief, text) + other_products(brief, text) + invented_functions(brief, text)
    claims += invented_makeup(brief, text) + comparisons(brief, text)
    # 优惠券 over 优惠, 有机认证 over 认证: one finding per span.
    return found + [c for c in claims if not any(o is not c and o["start"] <= c["start"] and c["end"] <= o["end"]
                                                 and o["end"] - o["start"] > c["end"] - c["start"] for o in claims)]


# Who is said to recommend the product, and how: “口腔专业人士倾情推荐”, “众多宝妈都在用”.
ENDORSERS = ("专家", "专业人士", "医生", "医师", "营养师", "皮肤科", "牙医", "药师", "教授", "博士", "科学家",
             "研究员", "达人", "博主", "明星", "网红", "主播", "大v", "kol", "名人", "宝妈", "妈妈们", "用户们",
             "消费者", "权威机构", "机构", "协会", "医院", "实验室", "老师们", "大咖", "美妆师", "健身教练")
_ENDORSEMENT = re.compile(
    "(" + "|".join(sorted(map(re.escape, ENDORSERS), key=len, reverse=True)) + ")"
    r"[^，。！？,.!?；;\n]{0,8}?(?:倾情|一致|强烈|争相)?(?:力荐|推荐|认可|首选|好评|点赞|青睐|信赖|背书|都在用|亲测|鉴定|证实|验证)")
# Words that may follow a brand without naming another product: the brand's shop, team or launch.
_BRAND_FOLLOWERS = ("品牌", "官方", "旗舰店", "旗舰", "出品", "新品", "全新", "家", "团队", "科技", "公司", "集团",
                    "门店", "店", "系列", "推出", "新款", "这款", "此款", "本次", "今年", "始终", "一直", "产品", "用户",
                    "会员", "粉丝", "体验", "旗下")
_PLACE_ENDINGS = ("店", "馆", "厅", "部", "中心", "团队", "公司", "工厂", "基地", "总部")
_NOUN_TAGS = {"n", "nz", "ns", "nt", "ng", "nrt"}


_FUNCTION = re.compile(r"([\u4e00-\u9fff]{2,8}?)(?:的)?功能")
_FEATURE_LEAD = re.compile(r"^(?:.*?(?:具有|具备|拥有|支持|带有|还有|配备|搭载|加入|内置|采用|设有|自带|注重|重视|关注|提升|优化|有了|有|的|和|与|及|等|还))+")
# What a function is called without claiming one: 多种功能, 强大的功能.
_GENERIC_FEATURES = ("多种", "各种", "多项", "强大", "实用", "全新", "更多", "基本", "主要", "核心", "特色", "独特", "多样",
                     "丰富", "这些", "这个", "这一", "各项", "贴心", "人性化", "便捷", "完善", "全面", "一些", "很多",
                     "许多", "所有", "其他", "其它", "出色", "不同", "基础", "日常", "神奇", "新", "产品", "使用")


def invented_functions(brief: Brief, text: str) -> list[dict]:
    """A named function the input does not give (“防倾倒功能”, “自动停止功能” in copy for a car seat)."""
    source, folded, found = brief.source, normalize(text), []
    for match in _FUNCTION.finditer(folded):
        feature = _FEATURE_LEAD.sub("", match.group(1))
        words = [w for w in jieba.lcut(feature) if len(w) > 1]
        if len(feature) < 2 or feature in source or any(w in source or w in _GENERIC_FEATURES for w in words) \
                or feature in _GENERIC_FEATURES:
            continue
        start = match.start(1) + match.group(1).rfind(feature)
        found.append(finding(start, match.end(), text[start:match.end()], "编造功能",
                             f"输入中没有“{feature}”这项功能，《广告法》第二十八条：虚构功能属虚假广告",
                             "删除，或在卖点里补充真实功能后重新生成"))
    return found


# What the product is said to contain, be made of or be fitted with (加入了丰富的水杨酸, 搭载了高通的蓝牙5.3):
# a thing named there that the input does not give is an invented ingredient, material or part.
_MAKEUP = re.compile(r"(?:加入了|添加|含有|富含|蕴含|萃取|提取|精选|选用|甄选|采用|搭载|配备|内置|配有|融入)"
                     r"(?:了|的是|的|着)?([^，。！？,.!?；;、\n]{1,14})")
# Nouns that name a kind of thing, not a particular one (采用了全新的设计, 富含营养).
_GENERIC_MAKEUP = frozenset(
    "设计 技术 工艺 材料 材质 面料 原料 原材料 用料 食材 配方 成分 品质 质量 结构 科技 方式 理念 造型 款式 版型 包装 系统 "
    "模式 功能 性能 体验 效果 营养 营养成分 口感 风味 味道 香气 香味 颜色 色彩 外观 细节 元素 方法 产品 商品 东西 物品 做工 "
    "工序 流程 标准 规格 尺寸 容量 大小 重量 形状 线条 图案 花纹 纹理 质地 手感 触感 部件 零件 配件 组件 装置 设备 机器 机身 "
    "外壳 内部 表面 底部 顶部 边缘 整体 部分 方面 特点 特色 优势 亮点 卖点 精华 天然 自然 环保 健康 安全 舒适 时尚 经典 简约 "
    "人体 身体 皮肤 肌肤 头发 生活 日常 家庭 家居 空间 环境 场景 场合 时间 时候 季节 温度 水分 水 空气 阳光 能量 力量 动力 "
    "心思 心意 用心 匠心 品味 格调 风格 气质 美感 质感 高级感 优质 上等 精心 精致 独特 专业 科学 现代 传统 创新 先进 新型 "
    "新鲜 新品 原汁原味 配料 用途 作用 功效 优点 好处 方案 理想 选择 需求 要求 习惯 感觉 心情 享受 乐趣 味蕾 多种 各种 丰富 "
    "国际 智能 高品质 品种 级别 等级 袋装 盒装 瓶装 罐装 木材 板材 木料 行业 行列 队伍 社区 购物车 水果 画质 高画质 "
    "大面积 装饰 效率 手段 技术手段 国家 规定 填充物 密封 高压 茶叶 主材 大量 上市 高精度 精度".split())


def invented_makeup(brief: Brief, text: str) -> list[dict]:
    """An ingredient, material or part the input does not give, named where the copy says the
    product has it (“加入了丰富的水杨酸” in a 玻尿酸 cream, “搭载了高通的蓝牙5.3”)."""
    source, folded, found = brief.source, normalize(text), []
    # 音频技术 for a 蓝牙音箱, 茶树 for a tea: what the product's own word names is not an addition.
    head = set(normalize(last_word(brief.product.strip()))) if brief.product.strip() else set()
    for match in _MAKEUP.finditer(folded):
        offset = match.start(1)
        for word in jieba.posseg.lcut(match.group(1)):
            start, offset = offset, offset + len(word.word)
            if word.flag not in _NOUN_TAGS or len(word.word) < 2 or word.word in _GENERIC_MAKEUP \
                    or head & set(word.word) or _ARABIC.search(word.word) or _given_start(word.word, folded, start, source):
                continue
            found.append(finding(start, offset, text[start:offset], "编造成分或配置",
                                 f"输入中没有“{word.word}”，虚构成分、材料或配置属虚假广告（《广告法》第二十八条）",
                                 "删除，或在卖点里补充真实成分后重新生成"))
    return found


def _given_start(word: str, folded: str, start: int, source: str) -> bool:
    """激光导航系统 for the given 激光导航, 全麦粉 for 全麦, 高功率 for 1500W功率: the word's first characters
    (or the one before it) are given. Its last ones are not enough: 胶原蛋白 is not the given 植物蛋白."""
    return any(folded[i:i + 2] in source for i in range(max(start - 1, 0), start + 1)) \
        or (word[0] in "高大超强低小" and word[1:] in source)


# A claim to beat others nobody measured (比市面上同价位的产品吸力要高上许多, 远超同类产品).
_COMPARISON = re.compile(
    r"比(?:市面上|市场上|同类|同价位|同级|同款|其他|其它|别的|别家|普通|传统|一般|常规|竞品|以往|市售)[^，。！？,.!?；;\n]{0,16}"
    r"|(?:远超|超越|优于|胜过|碾压|吊打|秒杀|完胜|领先于?|不输)(?:市面上|市场上|同类|同价位|同级|其他|其它|普通|传统|一般|竞品|大牌|同行)"
    r"[^，。！？,.!?；;\n]{0,10}"
    r"|(?:同类|同价位|同级别?)(?:产品|商品)?中(?:的)?[^，。！？,.!?；;\n]{0,10}"
    r"|(?:其他|其它|别的|普通|同类|一般)[\u4e00-\u9fff]{0,4}?(?:无法|难以|不能|无可)(?:比拟|相比|媲美|企及|替代)")


def comparisons(brief: Brief, text: str) -> list[dict]:
    """A comparison with other products the input does not give (《广告法》第十三条、第二十八条)."""
    source, folded = brief.source, normalize(text)
    return [finding(m.start(), m.end(), text[m.start():m.end()], "无依据的比较",
                    "输入没有给出与其他商品比较的依据，这样写可能贬低同行或引人误解（《广告法》第十三条、第二十八条）",
                    "删除比较，只写这件商品本身")
            for m in _COMPARISON.finditer(folded) if m.group(0) not in source]


def invented_endorsements(brief: Brief, text: str) -> list[dict]:
    """A recommender the input does not name: 《广告法》第二十八条 (and 第十六、十八条 for health products)."""
    source, folded = brief.source, normalize(text)
    return [finding(m.start(), m.end(), text[m.start():m.end()], "编造代言或推荐",
                    f"输入中没有“{m.group(1)}”的推荐或证明，虚构推荐属虚假广告（《广告法》第二十八条）",
                    "删除这句，或在卖点里写明真实的推荐来源")
            for m in _ENDORSEMENT.finditer(folded) if m.group(1) not in source]


def other_products(brief: Brief, text: str) -> list[dict]:
    """The brand's name on a product nobody gave (“声悦智能手环！” in copy for 声悦 earphones), or a
    given name with another product in it (“丹东99香蕉” beside the given 丹东99草莓)."""
    product = normalize(brief.product.strip())
    # What stands before the product in a given fact (丹东99 in 丹东99草莓) names it like a brand.
    prefixes = {normalize(brief.brand.strip())} | {
        normalize(fact)[:normalize(fact).index(product)] for fact in brief.facts if product and product in normalize(fact)}
    found = []
    for prefix in sorted(p for p in prefixes if len(p) >= 2):
        found += _named_with(brief, text, prefix)
    return found


def _named_with(brief: Brief, text: str, brand: str) -> list[dict]:
    source, folded, found = brief.source, normalize(text), []
    for match in re.finditer(re.escape(brand) + r"([\u4e00-\u9fff]{2,8})(?=[！!。，,？?\s】]|$)", folded):
        # A product's name is nouns (智能/手环); it ends at the first other word (声悦的…, 声悦精心挑选…).
        tagged = jieba.posseg.lcut(match.group(1))
        words = [w.word for w in itertools.takewhile(lambda w: len(w.word) > 1 and w.flag in _NOUN_TAGS, tagged)]
        after = tagged[len(words)].word if len(words) < len(tagged) else ""
        if not words or len(after) > 1 or words[-1] in source \
                or {words[0], words[-1]} & set(_BRAND_FOLLOWERS) or words[-1].endswith(_PLACE_ENDINGS):
            continue  # 稻香源精心挑选: a clause about the brand, not a name
        end = match.start(1) + len("".join(words))
        name = text[match.start():end]
        found.append(finding(match.start(), end, name, "编造其他商品",
                             f"输入只给了“{brief.product.strip() or '这件商品'}”，“{name}”是另一件没有给出的商品",
                             "删除这句，只写给出的商品"))
    return found


def _number_text(q: Quantity) -> str:
    match = re.match(r"\d+(?:\.\d+)?", q.text)
    return match.group(0) if match else str(q.value)  # Chinese numerals: by value


def _is_list_marker(text: str, q: Quantity) -> bool:
    """“1.” “2、” at a line start number a list; they are not claims."""
    line_start = text.rfind("\n", 0, q.start) + 1
    return not q.unit and text[line_start:q.start].strip(" *-") == "" and text[q.end:q.end + 1] in (".", "、", ")", "）")


# (pattern, category, rule, suggestion, strip): each match is a finding; `strip` trims the
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
    for match in _UNFINISHED.finditer(text):
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
    for match in _LATIN_WORD.finditer(text):
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
        tags = set(_XHS_TAG.findall(text))
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
        if not _WEIBO_TOPIC.search(text):
            found.append(missing("话题", "格式不符", "微博需要至少一个 #话题#", "加一个 #话题#"))
        in_topics = {i for m in _WEIBO_TOPIC.finditer(text) for i in (m.start(), m.end() - 1)}
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
