import json

import jieba
import pytest

from contentgen.cli import main
from contentgen.compliance import ComplianceChecker, load_rules
from contentgen.usecases.rewrite import compliant_rewrite

TEXT = "第一坊新品：全网最好的国家级工艺，销量第一，最近很火，100%纯棉，可治疗失眠。快来买！"


def spans(findings):
    return [(f.start, f.end, f.text) for f in findings]


def test_absolute_terms_flagged_with_spans_and_brand_kept_whole():
    assert list(jieba.cut("第一坊新品"))[0] == "第一"  # jieba alone would split the brand
    findings = ComplianceChecker(protected_words=["第一坊"]).check(TEXT)
    assert spans(findings) == [(8, 10, "最好"), (11, 14, "国家级"), (19, 21, "第一"),
                               (27, 31, "100%"), (35, 37, "治疗")]
    for f in findings:
        assert TEXT[f.start:f.end] == f.text and f.rule.startswith("《") and f.suggestion


def test_overlapping_terms_give_one_finding_per_character():
    # 根治 and 治疗 share 治 (found by the property test in test_properties.py): both medical
    # claims, so one finding spans them.
    checker = ComplianceChecker()
    assert spans(checker.check("能根治疗程短")) == [(1, 4, "根治疗")]
    assert checker.check(checker.rewrite("能根治疗程短")) == []


def test_without_the_brand_dictionary_the_brand_is_flagged():
    assert (0, 2, "第一") in spans(ComplianceChecker().check(TEXT))


def test_prefix_rule_skips_everyday_words():
    findings = ComplianceChecker().check("最近上新，最后一天，最低价只剩最高级面料")
    assert spans(findings) == [(10, 13, "最低价"), (15, 18, "最高级")]


def test_brand_banned_words():
    findings = ComplianceChecker(protected_words=["第一坊"], banned_words=["全网"]).check(TEXT)
    assert findings[0].text == "全网" and findings[0].category == "品牌禁用词"


def test_rule_rewrite_is_compliant_and_drops_claim_clauses():
    checker = ComplianceChecker(protected_words=["第一坊"], banned_words=["全网"])
    rewritten = checker.rewrite(TEXT)
    assert checker.check(rewritten) == []
    assert "第一坊" in rewritten and "失眠" not in rewritten and "快来买！" in rewritten
    assert "很好" in rewritten and "领先" in rewritten


def test_rules_are_an_editable_data_file(tmp_path, monkeypatch):
    rules = tmp_path / "rules.csv"
    rules.write_text("term,match,category,rule,suggestion\n爆款,exact,企业规范,内部规范,热销\n", encoding="utf-8")
    monkeypatch.setenv("CONTENTGEN_COMPLIANCE_RULES", str(rules))
    from contentgen.config import load_settings

    rules_file = load_settings().rules.compliance_rules
    assert [r.term for r in load_rules(rules_file)] == ["爆款"]
    assert ComplianceChecker(load_rules(rules_file)).rewrite("今年爆款") == "今年热销"


def test_cli_check_json(capsys):
    code = main(["check", "--text", TEXT, "--protect", "第一坊", "--json"])
    payload = json.loads(capsys.readouterr().out)
    assert code == 1 and not payload["compliant"]
    assert [f["text"] for f in payload["findings"]][:2] == ["最好", "国家级"]
    assert main(["check", "--text", "舒适透气的纯棉T恤", "--json"]) == 0


def test_model_rewrite_is_checked_and_recorded(service, store):
    result = compliant_rewrite(service, TEXT, protected=("第一坊",))
    assert ComplianceChecker(protected_words=["第一坊"]).check(result.outputs[0]) == []
    row = store.history.get(result.request_id)
    assert row.task == "rewrite" and row.inputs["flagged"][:2] == ["最好", "国家级"]


@pytest.mark.parametrize("text", ["", "   ", "😀" * 50, "<script>最好</script>", "最" * 1000])
def test_odd_inputs_never_crash(text):
    findings = ComplianceChecker().check(text)
    assert all(text[f.start:f.end] == f.text for f in findings)


def test_first_time_is_not_a_ranking():
    checker = ComplianceChecker()
    assert checker.check("第一次用就爱上了，下单后第一时间发货，第一眼就心动。") == []
    assert spans(checker.check("销量第一，行业第一名")) == [(2, 4, "第一"), (7, 10, "第一名")]


def test_a_given_name_holding_a_term_across_its_words_is_not_a_claim():
    checker = ComplianceChecker(platform="电商详情")
    assert checker.names_hiding_terms(["北美白橡木", "美白淡斑", "5kg装"]) == ["北美白橡木"]
    text = "实木书桌选用北美白橡木，纹理自然。"
    assert [f.text for f in checker.check(text)] == ["美白"]
    assert ComplianceChecker(protected_words=["实木书桌", "北美白橡木"], platform="电商详情").check(text) == []


@pytest.mark.parametrize(("text", "rewritten"), [
    ("最大限度地减少噪音。", "尽可能地减少噪音。"),  # deleting 最大 left “限度地减少”
    ("这是最大的一款。", "这是很大的一款。"),  # deleting the word left “这是的一款”
    ("最新款上市。", "新款上市。"),
    ("采用最新技术。", "采用全新技术。"),
])
def test_the_rule_based_rewrite_leaves_a_sentence_that_reads(text, rewritten):
    assert ComplianceChecker().rewrite(text) == rewritten


@pytest.mark.parametrize("text", ["车载充电器最大65W输出", "最高承重150kg", "最长续航30小时", "最多可坐7人"])
def test_a_parameter_with_its_number_and_unit_is_a_specification_and_the_rewrite_keeps_it(text):
    """rules/specifications.txt (SAMR 2023 guide): the rewrite once turned 最大65W into 很大65W."""
    checker = ComplianceChecker()
    assert checker.check(text) == [] and checker.rewrite(text) == text


@pytest.mark.parametrize("text, term", [("全场最低价99元", "最低价"), ("最高优惠50元", "最高"), ("这是最大的优惠", "最大"),
                                        ("最舒服的一款鞋", "最舒服")])
def test_prices_discounts_and_praise_stay_absolute_claims(text, term):
    assert term in [f.text for f in ComplianceChecker().check(text)]
