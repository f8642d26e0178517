"""广告法 rules in force (shipped and the admin's edits), brand lookup, and checking any text."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contentgen.compliance import (
    ComplianceChecker,
    Rule,
    cached_rules,
    effective_rules,
    industry_pack,
    validate_rule,
)
from contentgen.config import RulesConfig
from contentgen.errors import UserFacingError
from db.database import Database
from db.rules import RULE_FIELDS


def find_brand(store: Database, name: str | None, *, required: bool = False):  # noqa: ANN201
    """The brand profile of that name, or None; `required`: a Chinese error for a name with no profile."""
    profile = store.brands.get(name) if name else None
    if name and profile is None and required:
        raise UserFacingError(f"没有名为“{name}”的品牌档案，请先在“品牌”页面或用 contentgen brand add 创建。")
    return profile


def _rule_fields(rule_or_row: Any) -> dict[str, str]:
    """A rule's fields, from a compliance.Rule or a db row alike."""

    return {name: getattr(rule_or_row, name) for name in RULE_FIELDS}


def compliance_rules(store: Database, rules: RulesConfig | None = None) -> list:
    """The rules in force: the shipped (or configured) file overlaid by the admin's edits."""

    edited = [(Rule(**_rule_fields(row)), row.enabled) for row in store.rules.list()]
    return effective_rules(cached_rules((rules or RulesConfig()).compliance_rules), edited)


def rule_table(store: Database, rules: RulesConfig | None = None) -> list[dict[str, Any]]:
    """Every rule for the admin's table: the shipped ones and the admin's, each with where it
    comes from and whether it is in force."""

    edited = {(row.term, row.industries): row for row in store.rules.list()}
    shipped = cached_rules((rules or RulesConfig()).compliance_rules)
    table = []
    for rule in shipped:
        row = edited.pop(rule.key, None)
        table.append({**_rule_fields(row or rule), "source": "内置（已修改）" if row else "内置", "enabled": row.enabled if row else True})
    table += [{**_rule_fields(row), "source": "管理员新增", "enabled": row.enabled}
              for row in edited.values()]
    return table


def save_rule(store: Database, fields: dict[str, str], *, enabled: bool = True, updated_by: str = "") -> int:
    """Add or edit a rule (the same term and industries replaces it); a Chinese error when it
    cannot work or does not find its own example."""

    rule = Rule(**{name: str(fields.get(name, "") or "").strip() for name in RULE_FIELDS})
    validate_rule(rule)
    return store.rules.save(_rule_fields(rule), enabled=enabled, updated_by=updated_by)


def set_rule_enabled(store: Database, term: str, industries: str, enabled: bool, *,
                     rules: RulesConfig | None = None, updated_by: str = "") -> None:
    """Switch a rule on or off; a shipped rule switched off is kept as the admin's edit."""
    row = next((r for r in rule_table(store, rules) if (r["term"], r["industries"]) == (term, industries)), None)
    if row is None:
        raise UserFacingError(f"没有这条规则：“{term}”。")
    save_rule(store, row, enabled=enabled, updated_by=updated_by)


def restore_rule(store: Database, term: str, industries: str) -> bool:
    """Drop the admin's edit of a rule: a shipped rule comes back as shipped, an added one goes."""
    return store.rules.delete(term, industries)


def compliance_checker(store: Database, rules: RulesConfig | None, profile=None,  # noqa: ANN001, ANN201
                       protected: Sequence[str] = (), *, banned: Sequence[str] = (), industry: str = "",
                       platform: str = ""):

    industry = industry_pack(industry) or ((profile.industry or "") if profile is not None else "")
    return ComplianceChecker(
        compliance_rules(store, rules),
        protected_words=[*(p for p in protected if p), *([profile.name] if profile else [])],
        banned_words=[*banned, *(profile.banned_words if profile else [])],
        industry=industry, platform=platform)


def check_text(store: Database, text: str, *, brand: str | None = None, protected: Sequence[str] = (),
               banned: Sequence[str] = (), rules: RulesConfig | None = None, industry: str = "",
               platform: str = "") -> dict[str, Any]:
    """广告法 check of any text (no model): findings, and the text with each finding replaced by rule.
    An industry adds its rule pack; a platform limits the platform rules (站外引流) to where they apply."""

    if not text.strip():
        raise UserFacingError("请提供要检查的文案（--text 或 --file）。")
    industry_pack(industry)
    profile = find_brand(store, brand, required=True)
    checker = compliance_checker(store, rules, profile, protected, banned=banned, industry=industry, platform=platform)
    findings = checker.check(text)
    return {"compliant": not findings, "findings": [f.as_dict() for f in findings],
            "suggested_text": checker.rewrite(text, findings) if findings else text}


