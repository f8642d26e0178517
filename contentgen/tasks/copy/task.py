"""营销文案: marketing copy from product facts, for six platforms, in a brand's tone."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from contentgen.compliance import GENERAL, INDUSTRIES, industry_pack
from contentgen.config import GenerationParams
from contentgen.errors import UserFacingError
from contentgen.facts import visible_length
from contentgen.inputs import split_points
from contentgen.tasks.base import (
    CHOICE,
    INTEGER,
    LINES,
    MAX_FIELD_CHARS,
    InputField,
    Prepared,
    Task,
    TaskContext,
)
from contentgen.tasks.copy import checks as copy_checks
from contentgen.tasks.copy import repair as copy_repair
from contentgen.tasks.copy.brief import LENGTHS, TITLE_MAX_CHARS, Brief, length_bounds

# Product-page copy: also what AdvertiseGen rows and rows without a platform column are.
DEFAULT_PLATFORM = "电商详情"

PLATFORMS: dict[str, str] = {
    "电商详情": "电商商品详情页文案：开头一句点明核心卖点，再分几小段逐个介绍卖点和适用场景，语言具体可信。",
    "小红书": "小红书种草笔记：第一人称分享真实体验，口语化、分段短句，可适量使用表情符号。",
    "抖音": "抖音短视频口播稿：开头一句话抓住注意力，节奏快、句子短，结尾引导点击购物车。",
    "朋友圈": "微信朋友圈文案：简短亲切，像朋友推荐，两三句话，可带一个表情符号。",
    "微博": "微博文案：一段话，语气轻松有互动感，带话题（#话题#）。",
    "新闻稿": "企业新闻稿：客观正式，有标题、导语和正文，不使用夸张语气和表情符号。",
}

# How the answer is laid out, so each part can be found and checked (copy_checks, copy_repair).
FORMATS: dict[str, str] = {
    "电商详情": "格式：不写标题，不写话题标签，不分点编号。",
    "小红书": "格式：第一行是 20 字以内的标题；空一行写正文；最后一行写 2-4 个话题标签，如 #好物分享。"
             "不要写“标题：”“正文：”这类字样。",
    "抖音": "格式：只写要念出来的话，不写镜头、画面和“开头：”之类的标签；第一句不超过 20 字；最后一句引导点击购物车下单。",
    "朋友圈": "格式：两三句话，不写标题，不用话题标签。",
    "微博": "格式：一段话，结尾带 1-2 个话题，写成 #话题# 的样子。",
    "新闻稿": "格式：第一行是 30 字以内的新闻标题（不加句号）；空一行写导语，写明时间、地点、发布方和发布内容；"
             "再写两段正文。不写署名、联系方式和落款，不用表情符号和话题标签。",
}

TONES: tuple[str, ...] = ("专业可信", "亲切温暖", "活泼俏皮", "高端精致", "简洁直接")

# Target length in Chinese characters, and the bounds each platform allows: copy_checks.
LENGTHS = LENGTHS

SYSTEM_PROMPT = (
    "你是一名资深的中文电商营销文案策划。你根据商品信息写出流畅、具体、有感染力的中文营销文案，"
    "贴合指定平台的风格和语气。只使用给出的商品信息，不编造参数、价格、销量或功效；"
    "遵守《广告法》，不使用“最”“第一”“国家级”“顶级”等绝对化用语；每句话都有新信息，不重复。"
    "只输出文案本身，不和用户说话，不留待填写的空位。"
)


@dataclass(frozen=True)
class CopyRequest:
    product: str = ""
    points: tuple[str, ...] = ()
    # AdvertiseGen-style attributes: "类型#上衣*颜色#绿色*风格#清新"
    attributes: str = ""
    platform: str = DEFAULT_PLATFORM
    tone: str = "亲切温暖"
    length: str = "中"
    n: int = 1
    # Brand profile name; the service fills audience, keywords and examples from the profile.
    brand: str = ""
    audience: str = ""
    required_keywords: tuple[str, ...] = ()
    brand_examples: tuple[str, ...] = ()
    # 更多类似: a version to write new ones like (its shape and tone, not its sentences).
    like: str = ""
    # The 广告法 rule pack (化妆品, 保健食品…); 通用: the brand profile's, or none.
    industry: str = GENERAL
    # Second round only (not a field users fill): the start of the answer, with the given facts in it.
    opening: str = ""

    def validate(self) -> None:
        if not (self.product.strip() or self.points or self.attributes.strip()):
            raise UserFacingError("请至少填写商品名称、卖点或商品属性中的一项。")
        if self.platform not in PLATFORMS:
            raise UserFacingError(f"不支持的平台“{self.platform}”，可选：{'、'.join(PLATFORMS)}。")
        industry_pack(self.industry)
        if self.length not in LENGTHS:
            raise UserFacingError(f"篇幅只能是：{'、'.join(LENGTHS)}。")
        if not 1 <= self.n <= 8:
            raise UserFacingError("一次可生成 1 到 8 个版本，请调整数量。")
        total = len(self.product) + sum(map(len, self.points)) + len(self.attributes) + len(self.tone) + len(self.like)
        if total > MAX_FIELD_CHARS:
            raise UserFacingError(
                f"输入共 {total} 字，超过上限 {MAX_FIELD_CHARS} 字。请精简卖点后重试（已填写的内容不会丢失）。"
            )


def format_attributes(attributes: str) -> str:
    """'类型#上衣*颜色#绿色' -> '类型：上衣；颜色：绿色' (repeated keys merged)."""
    merged: dict[str, list[str]] = {}
    for pair in attributes.split("*"):
        key, sep, value = pair.partition("#")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            continue
        merged.setdefault(key, [])
        if value not in merged[key]:
            merged[key].append(value)
    return "；".join(f"{k}：{'、'.join(v)}" for k, v in merged.items())


def copy_user_prompt(request: CopyRequest) -> str:
    # Platform, format and length first: requests for one platform share this prompt start,
    # which the engine keeps cached.
    low, high = length_bounds(request.platform, request.length)
    lines = [f"平台：{request.platform}。{PLATFORMS[request.platform]}", FORMATS[request.platform],
             f"字数：全文 {low}-{high} 字，写完最后一句就结束。"]
    lines.append("要求：商品名原样写出；每条卖点都写进文案，数字和单位原样保留；不添加没有给出的参数、数字、认证、"
                 "产地、价格、优惠、销量和售后承诺；不夹杂英文单词。")
    if request.product.strip():
        lines.append(f"商品：{request.product.strip()}（商品名“{request.product.strip()}”原样写出，不换别的叫法）")
    if request.attributes.strip():
        lines.append(f"商品属性：{format_attributes(request.attributes) or request.attributes.strip()}")
    if request.points:
        lines.append("卖点：" + "；".join(p.strip() for p in request.points if p.strip()))
    if request.brand.strip():
        lines.append(f"品牌：{request.brand.strip()}（品牌名原样写出）")
    if request.audience.strip():
        lines.append(f"目标人群：{request.audience.strip()}")
    if request.required_keywords:
        lines.append("必须自然地用到这些词：" + "、".join(request.required_keywords))
    lines.append(f"语气：{request.tone}")
    for example in request.brand_examples[:2]:
        lines.append(f"品牌过往文案（学习其风格，不要照抄）：{example.strip()[:200]}")
    if request.like.strip():
        lines.append(f"参考这一版的结构和语气，写一个不同的新版本，不要照抄句子：{request.like.strip()[:400]}")
    lines.append("请直接写出文案。")
    return "\n".join(lines)


DEFAULT_PARAMS = GenerationParams(max_new_tokens=300, temperature=0.7, top_p=0.9, repetition_penalty=1.1,
                                  no_repeat_ngram_size=6, max_phrase_repeats=2, block_new_latin=True)
# Qwen2.5 writes about 0.75 tokens per Chinese character: room for the longest allowed text, no more.
TOKENS_PER_CHAR = 0.8


def copy_params(request: CopyRequest) -> GenerationParams:
    low, high = length_bounds(request.platform, request.length)
    return replace(DEFAULT_PARAMS, max_new_tokens=int(high * TOKENS_PER_CHAR) + 24, min_chars=low)


def brief_of(request: CopyRequest) -> Brief:
    attributes = tuple(v for pair in format_attributes(request.attributes).split("；") if pair
                       for v in [pair.partition("：")[2]] if v)
    return Brief(
        product=request.product, brand=request.brand,
        facts=tuple(p.strip() for p in request.points if p.strip()) + attributes,
        platform=request.platform, length=request.length,
        context=" ".join([request.audience, *request.required_keywords, *request.brand_examples, request.attributes]),
    )


def with_brand(request: CopyRequest, brand) -> CopyRequest:  # noqa: ANN001
    """The request steered by a brand profile (db.models.Brand or any object with its fields)."""
    return replace(
        request,
        brand=brand.name,
        tone=brand.tone or request.tone,
        audience=brand.audience or request.audience,
        required_keywords=tuple(brand.required_keywords or ()),
        brand_examples=tuple(brand.example_copy or ()),
    )


def prepare(context: TaskContext, request: CopyRequest) -> Prepared:
    profile = context.brand(request.brand, required=True) if request.brand else None
    if profile is not None:
        request = with_brand(request, profile)
    checker = context.checker(profile, (request.product,), industry=request.industry, platform=request.platform)
    # A given fact such as 北美白橡木 holds 美白 only across its words: it is protected as the name is.
    if hiding := checker.names_hiding_terms(brief_of(request).facts):
        checker = context.checker(profile, (request.product, *hiding), industry=request.industry,
                                  platform=request.platform)
    return Prepared(request, profile.id if profile else None, checker)


# Findings of the 广告法 checker carry this kind: the rule-based or model rewrite can fix them
# (the verifier's others need a new version).
AD_LAW = "ad_law"


def copy_findings(prepared: Prepared, text: str) -> list[dict[str, Any]]:
    """The verifier's findings and the 广告法 ones, in text order: none means publishable."""
    found = copy_checks.verify(brief_of(prepared.request), text) + [
        {**f.as_dict(), "kind": AD_LAW} for f in prepared.checker.check(text)]
    return sorted(found, key=lambda f: (f["start"], f["end"]))


def revise(prepared: Prepared, text: str) -> str:
    """The draft in the platform's frame, unsupported claims dropped, 广告法 terms rewritten by rule."""
    text = copy_repair.repair(brief_of(prepared.request), text)
    if prepared.checker.check(text):
        text = prepared.checker.rewrite(text)
    return text


def best_versions(request: CopyRequest, texts: list[str], findings: list[list[dict[str, Any]]]) -> list[int]:
    """The versions with the fewest findings; among equals the one nearest the target length."""
    low, high = length_bounds(request.platform, request.length)
    middle = (low + high) / 2

    def rank(index: int) -> tuple[int, float]:
        return len(findings[index]), abs(visible_length(texts[index]) - middle)

    return sorted(range(len(texts)), key=rank)[:request.n]


_DATE = re.compile(r"^\d{1,2}月\d{1,2}日$")
_OPENS = ("店", "中心", "馆", "工厂", "基地", "仓", "站")
_HELD = ("会", "赛", "活动", "节", "展", "论坛", "直播", "课堂")


def opening(request: CopyRequest) -> str:
    """The start of an answer that already names the product and every given fact, in the
    platform's shape; the model writes on from it. Empty when nothing is given."""
    facts = [f for f in brief_of(request).facts if f.strip()]
    product, brand = request.product.strip(), request.brand.strip()
    name = product if not brand or brand in product else brand + product
    if not facts or not product:
        return ""
    if request.platform == "新闻稿":
        dates = [f for f in facts if _DATE.match(f)]
        # A short fact with no number beside a date is where it happens (上海, 黑龙江五常).
        places = [f for f in facts if f not in dates and len(f) <= 6 and not re.search(r"\d", f)][:1] if dates else []
        rest = [f for f in facts if f not in dates and f not in places]
        where = f"在{places[0]}" if places else ""
        # A shop opens, an event is held, a product is launched. Without a brand the product is the subject
        # (“X正式发布”): “发布X” is no headline, and “X在成都发布X” loops the name.
        if product.endswith(_OPENS):
            headline, lead = f"{name}开业", f"{name}{where}开业"
        elif product.endswith(_HELD):
            headline, lead = (f"{brand}举办{product}", f"{brand}{where}举办{product}") if brand else \
                (f"{product}举行", f"{product}{where}举行")
        else:
            headline, lead = (f"{brand}发布{product}", f"{brand}{where}发布{product}") if brand else \
                (f"{product}正式发布", f"{product}{where}正式发布")
        lead = f"{dates[0]}，{lead}" if dates else lead
        return f"{headline}\n\n{lead}" + ("，" + "，".join(rest) if rest else "") + "。"
    if request.platform == "小红书":  # a title of its own, then the facts open the body
        title = f"{name}｜{facts[0]}" if len(name) + len(facts[0]) < TITLE_MAX_CHARS["小红书"] else name
        return f"{title}\n\n{'，'.join(facts)}，"
    if request.platform == "抖音":
        return f"{name}来了！{'，'.join(facts)}，"
    if request.platform in ("朋友圈", "微博", "电商详情"):
        return f"{name}，{'，'.join(facts)}。"
    return ""


def retry(request: CopyRequest) -> CopyRequest | None:
    """A second round starting from the facts (`opening`) when the best version still has a
    finding: new samples for what is random (a stray mark, an outline), the facts already written
    for what the model leaves out. Told the problems in words instead, the 1.5B model rewrote the
    names wrong more often than not (session 17)."""
    start = opening(request)
    return replace(request, opening=start) if start else None


def describe_findings(findings: list[dict[str, Any]]) -> str:
    return "；".join(f"“{f['text']}”{f['category']}，建议：{f['suggestion']}" for f in findings)


def batch_output(result) -> dict[str, Any]:  # noqa: ANN001
    parts = result.parts[0] if result.parts else {}
    return {"文案": result.outputs[0], "可直接发布": "否" if result.compliance[0] else "是",
            "检查提示": describe_findings(result.compliance[0]), "标题": parts.get("title", ""),
            "正文": parts.get("body", ""), "话题": " ".join(f"#{t}" for t in parts.get("tags", ())),
            "开头": parts.get("hook", ""), "结尾引导": parts.get("call_to_action", "")}


def length_for(text: str) -> str:
    """The 篇幅 whose bounds hold a text of this size (中 when none does)."""
    size = visible_length(text)
    return next((name for name in LENGTHS if length_bounds(DEFAULT_PLATFORM, name)[0] <= size
                 <= length_bounds(DEFAULT_PLATFORM, name)[1]), "中")


def training_pair(row: dict[str, Any]) -> tuple[CopyRequest, str] | None:
    """AdvertiseGen {content, summary}, TaoDescribe {title, description}, or our own columns (a brief with
    brand, audience and industry, and its copy: the gold set, feedback exports)."""
    target = str(row.get("summary") or row.get("copy") or row.get("description") or row.get("output") or "").strip()
    # AdvertiseGen's <UNK> placeholders must never be learned.
    if not target or "<UNK>" in target:
        return None
    # A TaoDescribe row's product is its listing title; its copy is short (45-140 characters).
    described = "description" in row and not row.get("copy")
    points = row.get("points", "")
    request = CopyRequest(
        product=str(row.get("product") or row.get("title") or ""),
        points=tuple(str(p).strip() for p in points if str(p).strip()) if isinstance(points, list)
        else split_points(str(points)),
        attributes=str(row.get("content") or row.get("attributes") or ""),
        platform=str(row.get("platform") or DEFAULT_PLATFORM), tone=str(row.get("tone") or "亲切温暖"),
        length=str(row.get("length") or (length_for(target) if described else "中")),
        # The prompt names the brand and audience when the user gives them: so does the training prompt,
        # or the adapter learns to write a brand nobody gave.
        brand=str(row.get("brand") or ""), audience=str(row.get("audience") or ""),
    )
    return request, target


def feedback_row(inputs: dict[str, Any], text: str) -> dict[str, Any]:
    return {"product": inputs.get("product", ""), "points": ",".join(inputs.get("points", [])),
            "content": inputs.get("attributes", ""), "platform": inputs.get("platform", ""),
            "tone": inputs.get("tone", ""), "length": inputs.get("length", ""), "copy": text}


TASK = Task(
    name="copy",
    title="营销文案",
    command="copy",
    summary="生成营销文案",
    request_type=CopyRequest,
    system_prompt=SYSTEM_PROMPT,
    build_user_prompt=copy_user_prompt,
    default_params=DEFAULT_PARAMS,
    params_for=copy_params,
    fields=(
        InputField("product", "商品名称", help="商品名称", placeholder="例如：轻薄羽绒服",
                   columns=("商品名称", "商品名", "商品", "产品名称", "产品", "名称", "product", "name", "title")),
        InputField("points", "卖点", LINES, help="卖点，逗号分隔", default=(),
                   form_label="卖点（每行一个，或用逗号分隔）", placeholder="90% 白鸭绒\n可收纳进口袋\n防泼水面料",
                   columns=("卖点", "商品卖点", "亮点", "points", "selling_points", "features")),
        InputField("attributes", "商品属性", help="商品属性，如 类型#上衣*颜色#绿色", form_label="属性",
                   placeholder="类型#上衣*颜色#白色*风格#简约", columns=("商品属性", "属性", "参数", "attributes", "content")),
        InputField("platform", "平台", CHOICE, choices=tuple(PLATFORMS), default=DEFAULT_PLATFORM,
                   columns=("平台", "渠道", "platform"), job_option=True),
        InputField("tone", "语气", default="亲切温暖", max_chars=50, help="语气，如 " + "、".join(TONES),
                   columns=("语气", "tone"), job_option=True, suggestions=TONES),
        InputField("length", "篇幅", CHOICE, choices=tuple(LENGTHS), default="中",
                   columns=("篇幅", "length"), job_option=True, widget="radio"),
        InputField("n", "版本数", INTEGER, default=1, minimum=1, maximum=8, help="生成几个版本（1-8）",
                   form_label="生成几个版本"),
        InputField("brand", "品牌档案", help="品牌档案名称（语气、人群、关键词、禁用词）", max_chars=100,
                   job_option=True, choices_from="brands"),
        InputField("industry", "行业", CHOICE, choices=(GENERAL, *INDUSTRIES), default=GENERAL,
                   help="按行业加查广告法规则（化妆品、保健食品、金融等）；通用：用品牌档案的行业",
                   columns=("行业", "industry"), job_option=True, form_label="行业（加查该行业的广告法规则）"),
        InputField("like", "参考版本", help="更多类似：以这一版文案为样子再写新版本", max_chars=1000),
    ),
    required_any=("product", "points", "attributes"),
    result_columns=("文案", "可直接发布", "检查提示", "标题", "正文", "话题", "开头", "结尾引导"),
    roles=("marketing",),
    page="copy",
    icon="✍️",
    prepare=prepare,
    check=copy_findings,
    revise=revise,
    structure=lambda request, text: copy_repair.parts(request.platform, text).as_dict(),
    candidates=lambda request: min(request.n * 2 + 1, 8),
    select=best_versions,
    retry=retry,
    build_answer_prefix=lambda request: request.opening,
    batch_output=batch_output,
    training_pair=training_pair,
    feedback_row=feedback_row,
    input_text=lambda r: " ".join([r.product, *r.points, r.attributes]).strip(),
)
