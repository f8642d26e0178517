"""商品标题: N product titles within a platform's character limit, brand and product words verbatim.

Taobao counts a title in bytes (60 bytes = 30 Chinese characters), so a Latin letter, digit
or space counts half a character here. Several candidates are sampled in one batch, tidied
(first line, no numbering or quotes), fitted (the brand and product words put back if the
model dropped them, trailing keywords cut at a word boundary past the limit), checked, and
the best N returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from contentgen.config import GenerationParams
from contentgen.errors import UserFacingError
from contentgen.inputs import split_points
from contentgen.tasks.base import (
    CHOICE,
    INTEGER,
    LINES,
    InputField,
    Prepared,
    Task,
    TaskContext,
)

# Characters allowed per platform (Taobao/Tmall 60 bytes, JD 45 characters, Pinduoduo 30).
TITLE_LIMITS: dict[str, int] = {"淘宝": 30, "天猫": 30, "京东": 45, "拼多多": 30}
DEFAULT_TITLE_PLATFORM = "淘宝"
MAX_TITLES = 10

TITLE_PARAMS = GenerationParams(max_new_tokens=64, temperature=0.8, top_p=0.9, repetition_penalty=1.05,
                                no_repeat_ngram_size=0, max_phrase_repeats=1)

SYSTEM_PROMPT = "你是资深电商运营，擅长写清楚、可信、利于搜索的中文商品标题。"


@dataclass(frozen=True)
class TitleRequest:
    product: str = ""
    brand: str = ""
    points: tuple[str, ...] = ()
    platform: str = DEFAULT_TITLE_PLATFORM
    n: int = 5
    # 0: the platform's limit.
    max_chars: int = 0

    @property
    def limit(self) -> int:
        return self.max_chars or TITLE_LIMITS.get(self.platform, 30)

    def validate(self) -> None:
        if not self.product.strip():
            raise UserFacingError("请填写商品词（如“保温杯”），标题必须包含它。")
        if self.platform not in TITLE_LIMITS:
            raise UserFacingError(f"不支持的平台“{self.platform}”，可选：{'、'.join(TITLE_LIMITS)}。")
        if not 1 <= self.n <= MAX_TITLES:
            raise UserFacingError(f"一次可生成 1 到 {MAX_TITLES} 个标题，请调整数量。")
        if not 0 <= self.max_chars <= 100:
            raise UserFacingError("标题字数上限应在 1 到 100 之间（0 表示按平台规则）。")
        if title_width(f"{self.brand}{self.product}") > self.limit:
            raise UserFacingError(f"品牌词和商品词合计已超过 {self.limit} 字的上限，请缩短后重试。")
        if sum(map(len, self.points)) + len(self.product) + len(self.brand) > 1000:
            raise UserFacingError("卖点合计超过 1000 字，请精简后重试。")


def title_width(text: str) -> float:
    """Characters as the platforms count them: ASCII (letters, digits, spaces) counts half."""
    return sum(0.5 if ord(ch) < 128 else 1.0 for ch in text)


def title_user_prompt(request: TitleRequest) -> str:
    lines = [f"为{request.platform}写一个商品标题。"]
    if request.brand.strip():
        lines.append(f"品牌：{request.brand.strip()}")
    lines.append(f"商品：{request.product.strip()}")
    if request.points:
        lines.append("卖点和属性：" + "；".join(p.strip() for p in request.points if p.strip()))
    keep = "、".join(f"“{w}”" for w in (request.brand.strip(), request.product.strip()) if w)
    lines.append(
        f"要求：不超过 {request.limit} 个字（英文字母和数字算半个字）；原样保留{keep}；由关键词组成，"
        "关键词之间可用空格，不用标点符号；不使用“最”“第一”“顶级”等绝对化用语；不编造没有给出的参数。"
        "只输出标题本身。"
    )
    return "\n".join(lines)


_NUMBERING = re.compile(r"^\s*(?:标题\s*[:：]|\d+\s*[.、:：)）]|[-*•])\s*")
_QUOTES = "\"'“”‘’「」『』《》【】"
_PUNCTUATION = re.compile(r"[，。！？；、,!?;:：~～（）()\[\]|/]+|(?<!\d)\.|\.(?!\d)")
_LATIN_WORD = re.compile(r"[A-Za-z]+")  # letters only: "750g30袋" holds "g", not "g30"


def tidy_title(request: TitleRequest, raw: str) -> str:
    """First line of the answer, without numbering, quotes or punctuation, fitted to the rules."""
    line = next((part for part in raw.splitlines() if part.strip()), "")
    line = _NUMBERING.sub("", line).strip().strip(_QUOTES)
    line = _PUNCTUATION.sub(" ", line)
    line = re.sub(r"\s+", " ", line).strip()
    return fit_title(line, request.brand.strip(), request.product.strip(), request.limit)


def fit_title(title: str, brand: str, product: str, limit: int) -> str:
    """Put back a dropped brand or product word, then cut trailing words past the limit."""
    if product and product not in title:
        title = f"{title} {product}".strip()
    if brand and brand not in title:
        title = f"{brand} {title}".strip()
    if title_width(title) <= limit:
        return title
    import jieba

    keep = [(title.find(w), title.find(w) + len(w)) for w in (brand, product) if w]
    tokens = list(jieba.tokenize(title))
    while tokens and title_width("".join(t[0] for t in tokens)) > limit:
        # The last token that is not part of the brand or product word goes first.
        for index in range(len(tokens) - 1, -1, -1):
            _, start, end = tokens[index]
            if not any(start < k_end and k_start < end for k_start, k_end in keep):
                del tokens[index]
                break
        else:
            break
    return re.sub(r"\s+", " ", "".join(t[0] for t in tokens)).strip()


def title_findings(prepared: Prepared, text: str) -> list[dict[str, Any]]:
    request: TitleRequest = prepared.request
    findings = [f.as_dict() for f in prepared.checker.check(text)]
    width = title_width(text)
    if width > request.limit:
        findings.append({"start": 0, "end": len(text), "text": text, "category": "超出字数",
                         "rule": f"{request.platform}标题上限 {request.limit} 字，这里 {width:g} 字",
                         "suggestion": "删去次要的关键词"})
    given = " ".join([request.brand, request.product, *request.points]).lower()
    for match in _LATIN_WORD.finditer(text):
        if match.group().lower() not in given:  # "APP控制" turned into "Android控制"
            findings.append({"start": match.start(), "end": match.end(), "text": match.group(), "category": "输入中没有的词",
                             "rule": "标题只用给出的品牌、商品和卖点信息", "suggestion": "删去或换成输入中的说法"})
    for word, what in ((request.brand.strip(), "品牌词"), (request.product.strip(), "商品词")):
        if word and word not in text:
            findings.append({"start": 0, "end": 0, "text": word, "category": f"缺少{what}",
                             "rule": f"标题必须原样包含{what}“{word}”", "suggestion": f"加入“{word}”"})
    return findings


def invented(request: TitleRequest, title: str) -> int:
    """Characters of the title the input did not give ("12小时快速加热" on a 保温杯): fewer is safer."""
    given = set("".join([request.brand, request.product, *request.points]))
    return sum(1 for ch in title if not ch.isspace() and ch not in given)


def best_titles(request: TitleRequest, texts: list[str], findings: list[list[dict]]) -> list[int]:
    """The N best distinct titles: fewest findings first, then the fewest invented characters,
    then the ones that use the room best."""
    seen: set[str] = set()
    order = sorted(range(len(texts)), key=lambda i: (len(findings[i]), not texts[i], invented(request, texts[i]),
                                                     abs(request.limit - title_width(texts[i]))))
    chosen = []
    for index in order:
        if texts[index] and texts[index] not in seen:
            seen.add(texts[index])
            chosen.append(index)
    # Fewer distinct titles than asked for: repeats fill up rather than returning short.
    chosen += [i for i in order if i not in chosen]
    return chosen[: request.n]


def prepare(context: TaskContext, request: TitleRequest) -> Prepared:
    # The brand is the brand word itself; a profile of that name adds its banned words.
    profile = context.brand(request.brand) if request.brand.strip() else None
    protected = tuple(w for w in (request.brand.strip(), request.product.strip()) if w)
    return Prepared(request, profile.id if profile else None, context.checker(profile, protected))


def batch_output(result) -> dict[str, Any]:  # noqa: ANN001
    notes = "；".join(f"标题{i + 1}：“{f['text']}”{f['category']}" for i, found in enumerate(result.compliance)
                     for f in found)
    return {"标题": "\n".join(result.outputs), "标题检查": notes}


def training_pair(row: dict[str, Any]) -> tuple[TitleRequest, str] | None:
    title = str(row.get("title", "")).strip()
    product = str(row.get("product", "")).strip()
    if not title or not product:
        return None

    points = row.get("points") or ()
    points = split_points(points) if isinstance(points, str) else tuple(str(p) for p in points)
    platform = str(row.get("platform") or DEFAULT_TITLE_PLATFORM)
    return TitleRequest(product=product, brand=str(row.get("brand") or ""), points=points,
                        platform=platform if platform in TITLE_LIMITS else DEFAULT_TITLE_PLATFORM, n=1), title


def feedback_row(inputs: dict[str, Any], text: str) -> dict[str, Any]:
    return {"brand": inputs.get("brand", ""), "product": inputs.get("product", ""),
            "points": ",".join(inputs.get("points", [])), "platform": inputs.get("platform", ""), "title": text}


TASK = Task(
    name="title",
    title="商品标题",
    command="title",
    summary="生成商品标题（按平台字数上限，保留品牌词和商品词）",
    request_type=TitleRequest,
    system_prompt=SYSTEM_PROMPT,
    build_user_prompt=title_user_prompt,
    default_params=TITLE_PARAMS,
    fields=(
        InputField("brand", "品牌", help="品牌词（原样出现在标题中）", max_chars=50, form_label="品牌词",
                   placeholder="例如：膳魔师",
                   columns=("品牌", "品牌名", "brand"), job_option=True),
        InputField("product", "商品词", help="商品词，如 保温杯（原样出现在标题中）", required=True, max_chars=50,
                   placeholder="例如：保温杯",
                   columns=("商品词", "商品名称", "商品名", "商品", "产品", "product", "name")),
        InputField("points", "卖点和属性", LINES, default=(), help="卖点和属性，逗号分隔",
                   form_label="卖点和属性（每行一个，或用逗号分隔）", placeholder="316不锈钢\n12小时保温\n500ml",
                   columns=("卖点", "属性", "卖点和属性", "关键词", "points", "attributes", "keywords")),
        InputField("platform", "平台", CHOICE, choices=tuple(TITLE_LIMITS), default=DEFAULT_TITLE_PLATFORM,
                   columns=("平台", "platform"), job_option=True),
        InputField("n", "标题数", INTEGER, default=5, minimum=1, maximum=MAX_TITLES, help="生成几个标题（1-10）",
                   job_option=True),
        InputField("max_chars", "字数上限", INTEGER, default=0, minimum=0, maximum=100, form_label="字数上限（0：按平台规则）",
                   help="标题字数上限（0：按平台规则，淘宝/天猫/拼多多 30、京东 45）", job_option=True),
    ),
    required_any=("product",),
    result_columns=("标题", "标题检查"),
    roles=("marketing",),
    page="title",
    icon="🔖",
    # Three more titles than asked for: the checks pick the best N (10 candidates for 5 took ~50 s
    # on the 1.5B bf16 engine, 2-core EPYC).
    candidates=lambda request: min(request.n + 3, 16),
    # A title is one line: ~1.2 tokens per character is room for the limit, not for a paragraph.
    params_for=lambda request: replace(TITLE_PARAMS, max_new_tokens=int(request.limit * 1.2) + 8),
    select=best_titles,
    finish=tidy_title,
    prepare=prepare,
    check=title_findings,
    batch_output=batch_output,
    training_pair=training_pair,
    feedback_row=feedback_row,
    input_text=lambda r: " ".join([r.brand, r.product, *r.points]).strip(),
    streams=False,
)
