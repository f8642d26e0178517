"""营销文案: marketing copy from product facts, for six platforms, in a brand's tone."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from contentgen.config import GenerationParams
from contentgen.errors import UserFacingError
from contentgen.tasks.base import CHOICE, INTEGER, LINES, MAX_FIELD_CHARS, InputField, Prepared, Task

# Product-page copy: also what AdvertiseGen rows and rows without a platform column are.
DEFAULT_PLATFORM = "电商详情"

PLATFORMS: dict[str, str] = {
    "电商详情": "电商商品详情页文案：开头一句点明核心卖点，再分点介绍材质、设计、功能和适用场景，语言具体可信。",
    "小红书": "小红书种草笔记：第一人称分享真实体验，口语化、分段短句，可适量使用表情符号，结尾附 2-4 个话题标签（#话题）。",
    "抖音": "抖音短视频口播脚本：开头三秒一句话抓住注意力，节奏快、句子短，结尾引导点击购物车。",
    "朋友圈": "微信朋友圈文案：简短亲切，像朋友推荐，两三句话，可带一个表情符号。",
    "微博": "微博文案：140 字以内，有话题标签（#话题#），语气轻松有互动感。",
    "新闻稿": "企业新闻稿：客观正式，先给标题，再写导语和正文，不使用夸张语气和表情符号。",
}

TONES: tuple[str, ...] = ("专业可信", "亲切温暖", "活泼俏皮", "高端精致", "简洁直接")

# Target length in Chinese characters.
LENGTHS: dict[str, int] = {"短": 80, "中": 200, "长": 400}

SYSTEM_PROMPT = (
    "你是一名资深的中文电商营销文案策划。你根据商品信息写出流畅、具体、有感染力的中文营销文案，"
    "贴合指定平台的风格和语气。只使用给出的商品信息，不编造参数、价格、销量或功效；"
    "遵守《广告法》，不使用“最”“第一”“国家级”“顶级”等绝对化用语；每句话都有新信息，不重复。"
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

    def validate(self) -> None:
        if not (self.product.strip() or self.points or self.attributes.strip()):
            raise UserFacingError("请至少填写商品名称、卖点或商品属性中的一项。")
        if self.platform not in PLATFORMS:
            raise UserFacingError(f"不支持的平台“{self.platform}”，可选：{'、'.join(PLATFORMS)}。")
        if self.length not in LENGTHS:
            raise UserFacingError(f"篇幅只能是：{'、'.join(LENGTHS)}。")
        if not 1 <= self.n <= 8:
            raise UserFacingError("一次可生成 1 到 8 个版本，请调整数量。")
        total = len(self.product) + sum(map(len, self.points)) + len(self.attributes) + len(self.tone)
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
    lines = [f"平台：{request.platform}。{PLATFORMS[request.platform]}"]
    if request.product.strip():
        lines.append(f"商品：{request.product.strip()}")
    if request.attributes.strip():
        lines.append(f"商品属性：{format_attributes(request.attributes) or request.attributes.strip()}")
    if request.points:
        lines.append("卖点：" + "；".join(p.strip() for p in request.points if p.strip()))
    if request.brand.strip():
        lines.append(f"品牌：{request.brand.strip()}")
    if request.audience.strip():
        lines.append(f"目标人群：{request.audience.strip()}")
    if request.required_keywords:
        lines.append("必须自然地用到这些词：" + "、".join(request.required_keywords))
    lines.append(f"语气：{request.tone}")
    lines.append(f"篇幅：约 {LENGTHS[request.length]} 字")
    for example in request.brand_examples[:2]:
        lines.append(f"品牌过往文案（学习其风格，不要照抄）：{example.strip()[:200]}")
    lines.append("请直接写出文案正文，不要复述要求，不要重复同一句话。")
    return "\n".join(lines)


DEFAULT_PARAMS = GenerationParams(max_new_tokens=300, temperature=0.7, top_p=0.9, repetition_penalty=1.1,
                                  no_repeat_ngram_size=6, max_phrase_repeats=2)


def copy_params(request: CopyRequest) -> GenerationParams:
    # ~1.3 tokens per Chinese character, plus room for a title or hashtags.
    return replace(DEFAULT_PARAMS, max_new_tokens=int(LENGTHS[request.length] * 1.3) + 48)


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


def prepare(service, request: CopyRequest) -> Prepared:  # noqa: ANN001
    profile = service.brand_profile(request.brand, required=True) if request.brand else None
    if profile is not None:
        request = with_brand(request, profile)
    return Prepared(request, profile.id if profile else None,
                    service.compliance_checker(profile, (request.product,)))


def compliance_findings(prepared: Prepared, text: str) -> list[dict[str, Any]]:
    return [f.as_dict() for f in prepared.checker.check(text)]


def describe_findings(findings: list[dict[str, Any]]) -> str:
    return "；".join(f"“{f['text']}”{f['category']}，建议：{f['suggestion']}" for f in findings)


def batch_output(result) -> dict[str, Any]:  # noqa: ANN001
    return {"文案": result.outputs[0], "广告法提示": describe_findings(result.compliance[0])}


def training_pair(row: dict[str, Any]) -> tuple[CopyRequest, str] | None:
    target = str(row.get("summary") or row.get("copy") or row.get("output") or "").strip()
    # AdvertiseGen's <UNK> placeholders must never be learned.
    if not target or "<UNK>" in target:
        return None
    from contentgen.inputs import split_points

    request = CopyRequest(
        product=str(row.get("product", "")), points=split_points(str(row.get("points", ""))),
        attributes=str(row.get("content") or row.get("attributes") or ""),
        platform=str(row.get("platform") or DEFAULT_PLATFORM), tone=str(row.get("tone") or "亲切温暖"),
        length=str(row.get("length") or "中"),
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
        InputField("product", "商品名称", help="商品名称",
                   columns=("商品名称", "商品名", "商品", "产品名称", "产品", "名称", "product", "name", "title")),
        InputField("points", "卖点", LINES, help="卖点，逗号分隔", default=(),
                   columns=("卖点", "商品卖点", "亮点", "points", "selling_points", "features")),
        InputField("attributes", "商品属性", help="商品属性，如 类型#上衣*颜色#绿色",
                   columns=("商品属性", "属性", "参数", "attributes", "content")),
        InputField("platform", "平台", CHOICE, choices=tuple(PLATFORMS), default=DEFAULT_PLATFORM,
                   columns=("平台", "渠道", "platform"), job_option=True),
        InputField("tone", "语气", default="亲切温暖", max_chars=50, help="语气，如 " + "、".join(TONES),
                   columns=("语气", "tone"), job_option=True),
        InputField("length", "篇幅", CHOICE, choices=tuple(LENGTHS), default="中",
                   columns=("篇幅", "length"), job_option=True),
        InputField("n", "版本数", INTEGER, default=1, minimum=1, maximum=8, help="生成几个版本（1-8）"),
        InputField("brand", "品牌档案", help="品牌档案名称（语气、人群、关键词、禁用词）", max_chars=100,
                   job_option=True, choices_from="brands"),
    ),
    required_any=("product", "points", "attributes"),
    result_columns=("文案", "广告法提示"),
    roles=("marketing",),
    page="copy",
    icon="✍️",
    prepare=prepare,
    check=compliance_findings,
    batch_output=batch_output,
    training_pair=training_pair,
    feedback_row=feedback_row,
    input_text=lambda r: " ".join([r.product, *r.points, r.attributes]).strip(),
)
