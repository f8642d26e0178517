"""Every page through streamlit.testing.v1.AppTest on the tiny model."""

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from db.database import Database

VIEWS = Path(__file__).resolve().parents[1] / "ui" / "views"


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(VIEWS / f"{name}.py"), default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    return at


def run_until(at: AppTest, done, timeout: float = 60.0) -> AppTest:
    """Rerun (as the page's polling fragment does) until the background job is finished."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        at.run()
        assert not at.exception, at.exception
        if done(at):
            return at
        time.sleep(0.2)
    raise AssertionError("job did not finish: " + " | ".join(c.value for c in at.caption))


def saved(at: AppTest) -> bool:
    return any("已保存到历史记录" in c.value for c in at.caption)


def test_copy_page_generates_and_records(app_env):
    at = page("copy")
    at.text_input(key="copy_product").input("保温杯")
    at.text_area(key="copy_points").input("316不锈钢\n12小时保温")
    at.selectbox(key="copy_platform").select("小红书")
    at.number_input(key="copy_n").set_value(2)
    at.button[0].click()
    run_until(at, saved)
    rows = Database(app_env).history.search("保温杯")
    assert len(rows) == 1 and rows[0].source == "ui" and rows[0].inputs["platform"] == "小红书"
    shown = [c.value for c in at.code]
    # Each version, then its parts to paste one by one (小红书: title, body, tags).
    assert [r.text for r in rows[0].results] == [shown[0], shown[4]]
    assert shown[1] == shown[0].split("\n")[0] and shown[3].startswith("#")
    # Rate and edit: stored beside the original.
    first_result = rows[0].results[0]
    at.button(key=f"fb_{first_result.id}_up").click().run()
    at.text_area(key=f"fb_{first_result.id}_text").input("改好的文案")
    at.button(key=f"fb_{first_result.id}_save").click().run()
    stored = Database(app_env).history.get(rows[0].id).results[0]
    assert stored.rating == 1 and stored.edited_text == "改好的文案" and stored.text == first_result.text
    # Each version was verified (facts, length, format, 广告法) before being shown.
    checks = [m.value for m in (*at.success, *at.warning) if "核对" in m.value]
    assert len(checks) == 2
    # What the user typed is still there after the run.
    assert at.text_input(key="copy_product").value == "保温杯"


def test_more_like_this_writes_new_versions_shaped_like_the_chosen_one(app_env):
    """更多类似 under a version: a second request that carries that version as its reference."""
    at = page("copy")
    at.text_input(key="copy_product").input("保温杯")
    at.text_area(key="copy_points").input("316不锈钢")
    at.button[0].click()
    run_until(at, saved)
    [first] = Database(app_env).history.search("保温杯")
    version = first.results[0].text
    [more] = [b for b in at.button if b.key and b.key.startswith("more_like_")]
    more.click()
    run_until(at, lambda page_: len(Database(app_env).history.search("保温杯")) == 2 and saved(page_))
    newest = max(Database(app_env).history.search("保温杯"), key=lambda r: r.id)
    assert newest.inputs["like"] == version and newest.inputs["product"] == "保温杯"


def test_copy_page_rejects_empty_and_huge_input_in_chinese(app_env):
    at = page("copy")
    at.button[0].click().run()
    assert "至少填写" in at.error[0].value
    at.text_area(key="copy_points").input("卖点" * 3000)
    at.button[0].click().run()
    assert "超过上限" in at.error[0].value
    assert at.text_area(key="copy_points").value == "卖点" * 3000  # nothing typed is lost
    assert Database(app_env).history.search() == []


def test_reply_page(app_env):
    at = page("reply")
    at.text_area(key="reply_message").input("我的快递三天了还没到")
    at.text_area(key="reply_context").input("顾客：你好\n客服：您好")
    at.text_input(key="reply_order").input("圆通，已发货")
    at.button[0].click()
    run_until(at, saved)
    row = Database(app_env).history.search("快递")[0]
    assert row.task == "reply" and row.inputs["context"][1] == {"role": "agent", "text": "您好"}
    assert at.code[0].value == row.results[0].text
    # Multi-turn: adopting the reply moves the exchange into the conversation so far.
    [b for b in at.button if b.key and b.key.startswith("continue_")][0].click().run()
    context = at.text_area(key="reply_context").value
    assert context.endswith("顾客：我的快递三天了还没到\n客服：" + row.results[0].text)
    assert at.text_area(key="reply_message").value == ""


def test_reply_page_cites_faq_entries(app_env):
    from db.database import Database as Store

    Store(app_env).faq.add([("如何申请退货？", "签收后7天内可申请退货。", "售后")])
    at = page("reply")
    at.text_area(key="reply_message").input("我想退货")
    at.button[0].click()
    run_until(at, saved)
    assert any("参考知识库：" in c.value and "如何申请退货" in c.value for c in at.caption)


def test_reply_page_faq_editor_adds_edits_and_switches_off_an_entry(app_env):
    at = page("reply")
    at.text_input(key="faq_question_new").input("可以开发票吗？")
    at.text_area(key="faq_answer_new").input("可以，电子发票3个工作日内发到邮箱。")
    at.text_input(key="faq_category_new").input("发票")
    [save] = [b for b in at.button if b.label == "保存"]
    save.click().run()
    assert not at.exception and any("已新增条目" in m.value for m in at.success)
    [entry] = Database(app_env).faq.list()
    assert (entry.question, entry.category, entry.enabled) == ("可以开发票吗？", "发票", True)
    at.run()  # the list of entries is read before the form saves: the next run offers the new one
    at.selectbox(key="faq_pick").select(f"#{entry.id} 可以开发票吗？").run()
    at.text_area(key=f"faq_answer_{entry.id}").input("可以，电子发票24小时内发到邮箱。")
    at.checkbox(key=f"faq_enabled_{entry.id}").uncheck()
    [save] = [b for b in at.button if b.label == "保存"]
    save.click().run()
    edited = Database(app_env).faq.get(entry.id)
    assert edited.answer == "可以，电子发票24小时内发到邮箱。" and not edited.enabled


def test_reply_page_requires_a_message(app_env):
    at = page("reply")
    at.button[0].click().run()
    assert "顾客的消息" in at.error[0].value


def test_sentiment_page_labels_each_line(app_env):
    at = page("sentiment")
    at.text_area(key="sentiment_text").input("物流很快，好评\n\n太差了")
    at.button[0].click()
    run_until(at, lambda a: len(a.dataframe) == 1)
    table = at.dataframe[0].value
    assert list(table["文本"]) == ["物流很快，好评", "太差了"]
    assert set(table["情感"]) <= {"正面", "中性", "负面"}
    assert sum(int(m.value) for m in at.metric) == 2
    assert len(Database(app_env).history.search("", task="sentiment")) == 2


def test_sentiment_page_empty_input(app_env):
    at = page("sentiment")
    at.button[0].click().run()
    assert "请先输入" in at.error[0].value


def test_history_page_lists_and_searches(app_env):
    store = Database(app_env)
    from db.history import ResultRecord

    for product in ("羽绒服", "保温杯"):
        store.history.record(task="copy", inputs={"product": product}, input_text=product,
                     results=[ResultRecord(text=f"{product}文案")], model_id="m", params={}, user_name="小王")
    at = page("history")
    assert len(at.dataframe[0].value) == 2
    at.text_input(key="history_query").input("保温杯").run()
    assert list(at.dataframe[0].value["输入"]) == ["保温杯"]
    assert at.code[0].value == "保温杯文案"
    at.text_input(key="history_query").input("没有这个词").run()
    assert "没有找到记录" in at.info[0].value


def test_history_page_filters_by_task_and_user_and_exports_what_it_shows(app_env):
    from contentgen.usecases.history import export_history
    from db.history import ResultRecord

    store = Database(app_env)
    for task, user, text in (("copy", "小王", "羽绒服"), ("reply", "小李", "退货"), ("copy", "小李", "保温杯")):
        store.history.record(task=task, inputs={"product": text}, input_text=text,
                             results=[ResultRecord(text=f"{text}结果")], model_id="m", params={}, user_name=user)
    at = page("history")
    at.selectbox(key="history_task").select("copy").run()
    assert sorted(at.dataframe[0].value["输入"]) == ["保温杯", "羽绒服"]
    at.text_input(key="history_user").input("小李").run()
    assert list(at.dataframe[0].value["输入"]) == ["保温杯"]
    rows = store.history.search("", task="copy", user_name="小李")
    exported = export_history(rows, "csv").decode("utf-8-sig")
    header, line = exported.splitlines()[:2]
    assert header.startswith("记录号,时间,用户,任务,输入,输出") and "保温杯结果" in line and "营销文案" in line


def test_app_shell_runs(app_env):
    at = AppTest.from_file(str(VIEWS.parent / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert at.sidebar.text_input(key="user_name").value


def test_finetune_page_trains_in_a_separate_process_and_registers_the_adapter(app_env, monkeypatch, tmp_path):
    import json

    monkeypatch.setenv("CONTENTGEN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CONTENTGEN_TRAINING_DATA", str(tmp_path))
    data = tmp_path / "reviews.jsonl"
    data.write_text("\n".join(json.dumps({"text": t, "label": label}, ensure_ascii=False) for t, label in
                              [("好评", "positive"), ("太差", "negative")] * 4), encoding="utf-8")
    at = page("training")
    at.button[0].click().run()
    assert "适配器名称" in at.error[0].value
    # A server path outside the configured data folder is refused.
    at.text_input(key="ft_name").input("my-reviews")
    at.text_input(key="ft_path").input("/etc/passwd")
    at.button[0].click().run()
    assert "只能放在" in at.error[0].value
    at.text_input(key="ft_name").input("my-reviews")
    at.selectbox(key="ft_task").select("sentiment")
    at.text_input(key="ft_path").input(str(data))
    at.number_input(key="ft_steps").set_value(2)
    at.number_input(key="ft_batch").set_value(2)
    at.button[0].click().run()
    assert not at.error, at.error[0].value
    assert "后台启动" in at.success[0].value
    run_until(at, lambda a: any("已完成" in e.label for e in a.expander), timeout=120)
    # The new adapter is listed and loads into the shared engine without a restart.
    load = [b for b in at.button if b.key == "load_my-reviews"]
    assert load, "trained adapter not listed"
    load[0].click().run()
    assert "已加载适配器 my-reviews" in at.success[0].value


def test_brand_page_saves_a_profile_that_the_copy_page_offers(app_env):
    at = page("brands")
    at.button[0].click().run()
    assert "品牌名称" in at.error[0].value
    at.text_input(key="brand_name").input("第一坊")
    at.text_input(key="brand_tone").input("专业可信")
    at.text_input(key="brand_banned").input("全网，秒杀")
    at.button[0].click().run()
    assert "已保存品牌档案" in at.success[0].value
    assert Database(app_env).brands.get("第一坊").banned_words == ["全网", "秒杀"]
    copy = page("copy")
    assert "第一坊" in copy.selectbox(key="copy_brand").options
    copy.text_input(key="copy_product").input("桃酥")
    copy.selectbox(key="copy_brand").select("第一坊")
    copy.button[0].click()
    run_until(copy, saved)
    row = Database(app_env).history.search("桃酥")[0]
    assert row.brand_id == Database(app_env).brands.get("第一坊").id and row.inputs["tone"] == "专业可信"


def test_dashboard_shows_trends_and_alert(app_env):

    from db.history import ResultRecord

    store = Database(app_env)
    for label in ["negative"] * 4 + ["positive"]:
        store.history.record(task="sentiment", inputs={}, input_text=label, model_id="m", params={}, user_name="u",
                     results=[ResultRecord(text=label, label=label, confidence=0.9,
                                           aspects=[{"aspect": "物流", "label": label, "confidence": 0.9, "evidence": ""}])],
                     channel="淘宝")
    at = page("dashboard")
    assert "超过阈值" in at.error[0].value  # 80% negative > 30%
    assert any("共 5 条记录" in c.value for c in at.caption)
    at.slider(key="dash_threshold").set_value(0.9).run()
    assert not at.error and "80%" in at.info[0].value


def test_dashboard_draws_nine_reviews_of_one_day_and_opens_from_an_alert_link(app_env):
    from datetime import date

    from db.history import ResultRecord

    store = Database(app_env)
    for i, label in enumerate(["negative"] * 3 + ["positive"] * 5 + ["neutral"]):
        store.history.record(task="sentiment", inputs={}, input_text=label, model_id="m", params={}, user_name="u",
                             results=[ResultRecord(text=label, label=label, confidence=0.9,
                                                   aspects=[{"aspect": "物流", "label": "negative", "confidence": 0.9,
                                                             "evidence": "物流慢"}] if i < 2 else None)],
                             channel="淘宝")
    at = AppTest.from_file(str(VIEWS / "dashboard.py"), default_timeout=60)
    today = date.today().isoformat()
    at.query_params["from"] = today
    at.query_params["to"] = today
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["dash_dates"] == (date.today(), date.today())
    from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

    chart = at.get("vega_lite_chart")[0].proto
    drawn = convert_arrow_bytes_to_pandas_df(chart.datasets[0].data.data)
    # Every hour of the day, three labels each, the 9 reviews among them (a line of one day drew nothing).
    assert len(drawn) == 24 * 3 and drawn["条数"].sum() == 9
    assert at.metric[0].value == "33%"
    topics = at.dataframe[0].value  # 差评主题: the 2 reviews that named 物流 (negative), the rest 其他
    assert topics["主题"].tolist() == ["物流", "其他"] and topics["差评"].tolist() == [2, 1]
    assert at.get("download_button")
    at.button[0].click()  # the model sums up each topic (the tiny model: noise, but one line each)
    at = run_until(at, lambda a: a.dataframe and a.dataframe[0].value["模型归纳"].str.len().gt(0).all())
    assert at.dataframe[0].value["主题"].tolist() == ["物流", "其他"]
    at = AppTest.from_file(str(VIEWS / "dashboard.py"), default_timeout=60)
    at.query_params.update({"from": today, "to": today, "aspect": "物流"})
    at.run()
    assert at.session_state["dash_aspect"] == "物流" and at.metric[0].value == "100%"  # the aspect's own labels


def test_dashboard_filters_by_brand_from_an_alert_link(app_env):
    from datetime import date

    from db.history import ResultRecord

    store = Database(app_env)
    store.brands.save("第一坊", tone="专业可信")
    brand_id = store.brands.get("第一坊").id
    for label, brand in (("negative", brand_id), ("negative", brand_id), ("positive", None), ("positive", None)):
        store.history.record(task="sentiment", inputs={}, input_text=label, model_id="m", params={}, user_name="u",
                             results=[ResultRecord(text=label, label=label, confidence=0.9)], channel="淘宝",
                             brand_id=brand)
    at = page("dashboard")
    assert any("共 4 条记录" in c.value for c in at.caption) and at.metric[0].value == "50%"
    at = AppTest.from_file(str(VIEWS / "dashboard.py"), default_timeout=60)
    at.query_params.update({"from": date.today().isoformat(), "brand": "第一坊"})
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["dash_brand"] == "第一坊"
    assert any("共 2 条记录" in c.value for c in at.caption) and at.metric[0].value == "100%"
    assert at.dataframe[0].value["差评"].sum() == 2  # the insight reads the same brand
    at = AppTest.from_file(str(VIEWS / "dashboard.py"), default_timeout=60)
    at.query_params.update({"from": date.today().isoformat(), "brand": "已删除的品牌"})
    at.run()
    assert "已删除的品牌" in at.warning[0].value and any("共 4 条记录" in c.value for c in at.caption)


def test_sentiment_page_records_channel_and_aspects(app_env):
    at = page("sentiment")
    at.text_area(key="sentiment_text").input("物流很快，味道一般")
    at.text_input(key="sentiment_channel").input("外卖")
    at.button[0].click()
    run_until(at, lambda a: len(a.dataframe) == 1)
    assert "物流" in at.dataframe[0].value["方面"][0]
    assert Database(app_env).history.search("", task="sentiment")[0].channel == "外卖"


def test_batch_page_runs_an_upload_in_a_worker_and_offers_downloads(app_env, monkeypatch, tmp_path):
    import pandas as pd

    monkeypatch.setenv("CONTENTGEN_CACHE_DIR", str(tmp_path / "cache"))
    upload = pd.DataFrame({"评论": ["物流很快，好评", "", "质量差，不推荐"], "来源": ["淘宝", "淘宝", "京东"]})
    at = page("batch")
    at.selectbox(key="batch_task").select("sentiment").run()
    at.file_uploader(key="batch_upload").upload("评论.csv", upload.to_csv(index=False).encode("gbk"), "text/csv")
    at.run()
    assert not at.exception, at.exception
    # Columns are recognised by their Chinese names.
    assert at.selectbox(key="batch_map_sentiment_text").value == "评论"
    assert at.selectbox(key="batch_map_sentiment_channel").value == "来源"
    [start] = [b for b in at.button if b.label == "开始批量任务"]
    start.click().run()
    assert not at.error, at.error[0].value
    assert "跳过 1 行" in at.success[0].value
    run_until(at, lambda a: any("已完成" in e.label for e in a.expander), timeout=120)
    labels = " ".join(e.label for e in at.expander)
    assert "2/3" not in labels and "3/3" in labels
    assert {"下载结果 Excel", "下载结果 CSV"} <= {b.label for b in at.get("download_button")}
    # The skipped row is listed with its spreadsheet row number.
    assert any(3 in frame.value["行号"].tolist() for frame in at.dataframe if "行号" in frame.value)


def test_title_page_generates_checked_titles(app_env):
    at = page("title")
    at.text_input(key="title_brand").input("膳魔师")
    at.text_input(key="title_product").input("保温杯")
    at.text_area(key="title_points").input("316不锈钢\n500ml")
    at.selectbox(key="title_platform").select("京东")
    at.number_input(key="title_n").set_value(3)
    at.button[0].click()
    run_until(at, saved)
    titles = [c.value for c in at.code]
    assert len(titles) == 3 and all("膳魔师" in t and "保温杯" in t for t in titles)
    [row] = Database(app_env).history.search("", task="title")
    assert [r.text for r in row.results] == titles and row.inputs["platform"] == "京东"
    # Each title shows its width and what its checks found.
    assert sum("字" in c.value for c in at.caption) >= 3
    assert len([m for m in (*at.success, *at.warning) if "检查" in m.value]) == 3


def test_shared_user_text_is_shown_as_text_not_markdown(app_env):
    store = Database(app_env)
    planted = "![追踪](http://evil.example/p.png) [点我领券](http://evil.example)"
    store.brands.save("第一坊", tone="专业可信", example_copy=[planted])
    store.faq.add([(planted, "答案", "售后")])
    at = page("brands")
    shown = " ".join(c.value for c in at.caption)
    assert "追踪" in shown and "](http" not in shown and "\\]\\(http" in shown
