"""Mask personal data in customer messages before anything is stored.

Mainland mobile and landline numbers, resident ID numbers, bank-card-like digit runs,
e-mail addresses and street addresses (…省/市/区/县 … 路/街/道/号/室) become fixed placeholders
in the style of the shared data ([电话] [身份证号] [地址] …).
"""

from __future__ import annotations

import re

PROVINCES = ("北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南"
             "|四川|贵州|云南|陕西|甘肃|青海|台湾|内蒙古|广西|西藏|宁夏|新疆|香港|澳门")

_ADDRESS_TAIL = (
    r"[\u4e00-\u9fff0-9A-Za-z]{0,20}?(?:路|街|道|巷|弄|村|小区|大厦|花园)"
    r"[\u4e00-\u9fff0-9A-Za-z\-]{0,12}?(?:号楼|号院|号|栋|幢|单元|室|层)"
    r"(?:[0-9A-Za-z\-]{1,6}(?:号楼|号|栋|幢|单元|室|层))*"
)

PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("[身份证号]", re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx](?![0-9A-Za-z])")),
    ("[银行卡号]", re.compile(r"(?<!\d)(?:\d[ -]?){15,18}\d(?!\d)")),
    ("[电话]", re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")),
    ("[电话]", re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)")),
    ("[邮箱]", re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")),
    # With a province name the address starts there; without one the pattern may take a
    # couple of leading characters too (masking errs on the side of privacy).
    ("[地址]", re.compile(rf"(?:{PROVINCES})(?:省|市|自治区|特别行政区)?{_ADDRESS_TAIL}")),
    ("[地址]", re.compile(rf"[\u4e00-\u9fff]{{2,6}}?(?:市|区|县|镇|乡){_ADDRESS_TAIL}")),
]


def mask_personal_data(text: str) -> str:
    for placeholder, pattern in PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


def mask_value(value):  # noqa: ANN001, ANN201
    """Mask every string inside nested dicts, lists and tuples."""
    if isinstance(value, str):
        return mask_personal_data(value)
    if isinstance(value, dict):
        return {k: mask_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_value(v) for v in value]
    return value
