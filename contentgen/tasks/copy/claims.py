"""Claims a version makes that the brief does not give: certifications, origins, promises,
sales, endorsements, functions, ingredients and parts, comparisons, other products."""

from __future__ import annotations

import itertools
import re

import jieba
import jieba.posseg

from contentgen.facts import ARABIC_NUMBER, Quantity, finding, normalize, quantities
from contentgen.tasks.copy.brief import CLAIMS, Brief, last_word


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
                    or head & set(word.word) or ARABIC_NUMBER.search(word.word) or _given_start(word.word, folded, start, source):
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
