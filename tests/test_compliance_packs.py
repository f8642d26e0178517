"""Industry rule packs, platform rules, evasion and the rules an admin edits."""

import pytest

from contentgen.compliance import INDUSTRIES, ComplianceChecker, Rule, load_rules, normalized, validate_rule
from contentgen.errors import UserFacingError
from contentgen.usecases.rules import check_text, compliance_rules, restore_rule, rule_table, save_rule, set_rule_enabled

SHIPPED = load_rules()


@pytest.mark.parametrize("rule", SHIPPED, ids=[f"{r.category}-{r.term}" for r in SHIPPED])
def test_every_shipped_rule_names_its_statute_and_finds_its_example(rule):
    assert rule.rule.startswith(("《", "平台规则")) and rule.suggestion
    validate_rule(rule)  # a checker holding only this rule, for its industry and platform, finds the example


CLEAN = ["这款保温杯采用316不锈钢内胆，12小时保温，500ml容量，通勤出差都方便。",
         "稻香源有机大米来自东北五常，当季新米，5kg装，煮出来粒粒分明。",
         "小班教学，每周两次课，课后有老师答疑。",
         "这支面霜质地清爽，含3%玻尿酸，适合干性肌肤日常使用。"]


@pytest.mark.parametrize("industry", ["", *INDUSTRIES])
def test_everyday_copy_is_clean_in_every_industry(industry):
    checker = ComplianceChecker(industry=industry, platform="小红书")
    for text in CLEAN:
        found = [f for f in checker.check(text) if f.start < f.end]  # required statements aside
        assert found == [], (industry, text, found)


@pytest.mark.parametrize("text, term", [
    ("这是最 好的选择", "最 好"),          # split by a space
    ("最*佳搭档", "最*佳"),               # split by a symbol
    ("國家級品質", "國家級"),              # traditional characters
    ("ＶＸ：abc123 领券", "ＶＸ"),          # full-width letters, a 微信 variant
    ("加 微-信 领优惠", "微-信"),
    ("有问题加薇信", "加薇信"),            # 谐音 (加薇 and 薇信 joined)
    ("蕞佳拍档", "蕞佳"),
    ("这款 NO.1 的耳机", "NO.1"),
    ("订购热线138-1234-5678", "138-1234-5678"),
    ("售后请加ＱＱ：１２３４５６７８", "ＱＱ：１２３４５６７８"),
])
def test_evasions_are_found_and_spans_point_at_the_original_text(text, term):
    found = ComplianceChecker(platform="小红书").check(text)
    assert [text[f.start:f.end] for f in found] == [term] and found[0].text == term


def test_normalising_keeps_decimals_and_sentence_marks():
    assert normalized("4.2米，最近")[0] == "4.2米,最近"  # decimals kept; full-width marks folded
    plain, origin = normalized("Ａ 最 好")
    assert plain == "a最好" and origin == [0, 2, 4]


def test_industry_packs_apply_only_to_their_industry():
    assert [f.text for f in ComplianceChecker(industry="教育培训").check("保证提分，名师押题。")] == ["保证", "提分", "押题"]
    assert [f.text for f in ComplianceChecker().check("保证提分，名师押题。")] == ["保证"]
    # A medical device may speak of treatment; ordinary goods may not.
    assert ComplianceChecker().check("帮助治疗颈椎不适。")[0].text == "治疗"
    assert [f.text for f in ComplianceChecker(industry="医疗器械").check(
        "帮助治疗颈椎不适。请仔细阅读产品说明书或者在医务人员的指导下购买和使用。")] == []
    assert "减肥" in [f.text for f in ComplianceChecker(industry="普通食品").check("喝了就能减肥。")]
    assert "药妆" in [f.text for f in ComplianceChecker(industry="化妆品").check("这款药妆面霜。")]
    assert "保本" in [f.text for f in ComplianceChecker(industry="金融").check("稳健保本。投资有风险。")]


@pytest.mark.parametrize("industry, statement", [
    ("保健食品", "本品不能代替药物"),
    ("医疗器械", "请仔细阅读产品说明书或者在医务人员的指导下购买和使用"),
    ("金融", "投资有风险"),
])
def test_required_statements_are_asked_for_and_added_by_the_rewrite(industry, statement):
    checker = ComplianceChecker(industry=industry)
    text = "每天两粒，医生推荐。" if industry == "保健食品" else "产品简介，欢迎了解。"
    missing = [f for f in checker.check(text) if f.start == f.end]
    assert [f.text for f in missing] == [statement] and missing[0].category == industry
    rewritten = checker.rewrite(text)
    assert rewritten.endswith(statement + "。") and checker.check(rewritten) == []


def test_contact_rules_follow_the_platform():
    text = "加微信领优惠，扫码进群。"
    assert [f.text for f in ComplianceChecker(platform="小红书").check(text)] == ["微信", "扫码"]
    assert ComplianceChecker(platform="朋友圈").check(text) == []  # it is WeChat itself


def test_free_check_takes_industry_and_platform(store):
    text = "零基础保过，加微信报名。"
    assert {f["text"] for f in check_text(store, text)["findings"]} == {"微信"}
    assert {f["text"] for f in check_text(store, text, industry="教育培训")["findings"]} == {"保过", "微信"}
    assert {f["text"] for f in check_text(store, text, industry="教育培训", platform="朋友圈")["findings"]} == {"保过"}
    with pytest.raises(UserFacingError, match="不支持的行业"):
        check_text(store, text, industry="房地产")


def test_a_brand_profile_brings_its_industry(store):
    store.brands.save("鲜果源", industry="普通食品")
    assert {f["text"] for f in check_text(store, "清肠排毒的果蔬汁。", brand="鲜果源")["findings"]} == {"排毒"}
    assert check_text(store, "清肠排毒的果蔬汁。")["findings"] == []


def test_an_admin_adds_disables_and_restores_rules(store):
    new = {"term": "秒到账", "match": "exact", "category": "金融", "rule": "《广告法》第二十五条：不得对未来效果作保证性承诺",
           "suggestion": "删除该表述", "industries": "金融", "example": "借款秒到账。"}
    save_rule(store, new, updated_by="admin")
    assert "秒到账" in [f["text"] for f in check_text(store, "借款秒到账。投资有风险。", industry="金融")["findings"]]
    assert {"term": "秒到账", "source": "管理员新增", "enabled": True}.items() <= next(
        r for r in rule_table(store) if r["term"] == "秒到账").items()
    # Switching a shipped rule off keeps it off for every checker built afterwards.
    set_rule_enabled(store, "完美", "", False, updated_by="admin")
    assert check_text(store, "完美贴合脚型。")["compliant"]
    assert next(r for r in rule_table(store) if r["term"] == "完美")["source"] == "内置（已修改）"
    assert restore_rule(store, "完美", "")
    assert not check_text(store, "完美贴合脚型。")["compliant"]
    assert len(compliance_rules(store)) == len(SHIPPED) + 1


@pytest.mark.parametrize("fields, message", [
    ({"term": "", "category": "x", "rule": "y", "example": "z"}, "必须填写"),
    ({"term": "(", "match": "regex", "category": "x", "rule": "y", "example": "z"}, "正则表达式写法有误"),
    ({"term": "好货", "category": "x", "rule": "y", "example": ""}, "请填写一句示例"),
    ({"term": "好货", "category": "x", "rule": "y", "example": "今天上新。"}, "示例句没有被这条规则查出来"),
    ({"term": "好货", "category": "x", "rule": "y", "industries": "房地产", "example": "好货"}, "未知行业"),
])
def test_a_rule_that_cannot_work_is_refused_in_chinese(store, fields, message):
    with pytest.raises(UserFacingError, match=message):
        save_rule(store, {"match": "exact", **fields})
    assert store.rules.list() == []


def test_a_company_file_in_the_old_five_column_shape_still_loads(tmp_path):
    path = tmp_path / "rules.csv"
    path.write_text("term,match,category,rule,suggestion\n爆款,exact,自定义,公司规范,热销\n", encoding="utf-8")
    assert load_rules(path) == [Rule("爆款", "exact", "自定义", "公司规范", "热销")]
    assert ComplianceChecker(load_rules(path)).check("年度爆款")[0].text == "爆款"
