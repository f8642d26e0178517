import json

import pandas as pd
import pytest

from contentgen.cli import main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_copy_json_lands_in_history(app_env, capsys):
    code, out, _ = run(capsys, "copy", "--product", "保温杯", "--points", "316不锈钢，12小时保温",
                       "--platform", "朋友圈", "--n", "2", "--json")
    assert code == 0
    result = json.loads(out)
    assert len(result["outputs"]) == 2 and result["request_id"]
    code, out, _ = run(capsys, "history", "--json", "--task", "copy")
    history = json.loads(out)
    assert history[0]["id"] == result["request_id"]
    assert history[0]["inputs"]["points"] == ["316不锈钢", "12小时保温"]
    assert history[0]["inputs"]["platform"] == "朋友圈"


def test_copy_streams_to_the_terminal(app_env, capsys):
    code, out, err = run(capsys, "copy", "--attributes", "类型#上衣*颜色#白色", "--length", "短")
    assert code == 0 and out.strip() and "历史记录" in err


def test_reply_with_context_file(app_env, capsys, tmp_path):
    context = tmp_path / "context.txt"
    context.write_text("顾客：你好\n客服：您好，请问有什么可以帮您？\n", encoding="utf-8")
    code, out, _ = run(capsys, "reply", "--message", "我的快递还没到", "--context-file", str(context),
                       "--order", "已发货", "--json")
    assert code == 0
    result = json.loads(out)
    _, history, _ = run(capsys, "history", "--json")
    inputs = json.loads(history)[0]["inputs"]
    assert inputs["context"] == [{"role": "customer", "text": "你好"},
                                 {"role": "agent", "text": "您好，请问有什么可以帮您？"}]
    assert json.loads(history)[0]["outputs"] == result["outputs"]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".xlsx"])
def test_tag_file_labels_every_non_empty_row(app_env, capsys, tmp_path, suffix):
    frame = pd.DataFrame({"评论": ["物流很快，好评", "", "太差了"]})
    path = tmp_path / f"reviews{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False, encoding="gbk")  # Excel in China saves GBK
    elif suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_excel(path, index=False)
    code, out, err = run(capsys, "tag", "--file", str(path), "--column", "评论", "--json")
    assert code == 0
    labels = json.loads(out)
    assert [r["text"] for r in labels] == ["物流很快，好评", "太差了"]
    assert all(r["label"] in {"positive", "neutral", "negative"} for r in labels)
    assert "第 2 行" in err


def test_tag_text_json(app_env, capsys):
    code, out, _ = run(capsys, "tag", "--text", "还行吧", "--json")
    assert code == 0 and json.loads(out)["text"] == "还行吧"


def test_user_errors_are_chinese_and_exit_2(app_env, capsys, tmp_path):
    code, out, err = run(capsys, "copy", "--json")
    assert code == 2 and "至少填写" in err and "至少填写" in json.loads(out)["error"]
    code, _, err = run(capsys, "tag", "--file", str(tmp_path / "x.csv"))
    assert code == 2 and "找不到文件" in err
    code, _, err = run(capsys, "copy", "--product", "杯", "--model", str(tmp_path / "nope"))
    assert code == 2 and "CONTENTGEN_MODEL" in err


def test_model_list(capsys):
    code, out, _ = run(capsys, "model", "list", "--json")
    assert code == 0 and {m["name"] for m in json.loads(out)} == {"qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b"}


def test_brand_profile_steers_copy_and_checking(app_env, capsys):
    code, out, _ = run(capsys, "brand", "add", "--name", "第一坊", "--tone", "专业可信", "--audience", "上班族",
                       "--keywords", "手作,低糖", "--banned", "全网", "--example", "一口酥脆，慢慢回味。", "--json")
    assert code == 0 and json.loads(out)["name"] == "第一坊"
    code, out, _ = run(capsys, "copy", "--product", "桃酥", "--brand", "第一坊", "--json")
    assert code == 0 and "compliance" in json.loads(out)
    _, history, _ = run(capsys, "history", "--json")
    inputs = json.loads(history)[0]["inputs"]
    assert inputs["brand"] == "第一坊" and inputs["tone"] == "专业可信" and inputs["required_keywords"] == ["手作", "低糖"]
    code, out, _ = run(capsys, "check", "--text", "第一坊桃酥全网热卖", "--brand", "第一坊", "--json")
    assert [f["text"] for f in json.loads(out)["findings"]] == ["全网"]  # brand kept whole, banned word caught
    code, _, err = run(capsys, "copy", "--product", "桃酥", "--brand", "不存在")
    assert code == 2 and "品牌档案" in err


def test_eval_prints_metrics_and_keeps_every_prediction(app_env, capsys, tmp_path):
    data = tmp_path / "test.jsonl"
    data.write_text("".join(json.dumps({"id": str(i), "text": t, "label": g, "source": "mix"}, ensure_ascii=False) + "\n"
                            for i, (t, g) in enumerate([("物流很快，好评", "positive"), ("太差了", "negative")])),
                    encoding="utf-8")
    predictions = tmp_path / "new-folder" / "predictions.jsonl"
    code, out, _ = run(capsys, "eval", "--task", "sentiment", "--data", str(data), "--adapter", "none",
                       "--predictions", str(predictions), "--json")
    assert code == 0
    result = json.loads(out)
    rows = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["0", "1"] and rows[0]["text"] == "物流很快，好评"
    assert result["by_source"]["mix"]["items"] == 2
    assert result["accuracy"] == 100 * sum(r["prediction"] == r["gold"] for r in rows) / 2


def test_empty_text_is_a_chinese_error_not_a_traceback(app_env, capsys):
    code, out, err = run(capsys, "tag", "--text", "")
    assert code == 2 and "没有可分析的文本" in err and "Traceback" not in err + out


def test_grounded_reply_eval_runs_a_trained_adapter_named_by_its_folder(app_env, capsys, tmp_path, tiny_model_dir):
    from tests.test_llamacpp_engine import _random_adapter

    faq = [{"id": 1, "question": "怎么退货？", "answer": "签收后7天内可在订单页点击“申请售后”退货。"}]
    rows = [{"id": "r-1", "message": "买了不想要了，能退吗", "entry": 1, "facts": ["7天"], "upset": False, "handoff": False},
            {"id": "r-2", "message": "我要投诉你们！", "entry": None, "facts": [], "upset": True, "handoff": True}]
    (tmp_path / "faq.jsonl").write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in faq), encoding="utf-8")
    data = tmp_path / "dev.jsonl"
    data.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    adapter = _random_adapter(tiny_model_dir, tmp_path / "reply-kb", seed=3)
    predictions = tmp_path / "out.jsonl"
    code, out, _ = run(capsys, "eval", "--task", "reply-grounded", "--data", str(data), "--adapter-path", str(adapter),
                       "--predictions", str(predictions), "--json")
    assert code == 0
    result = json.loads(out)
    assert result["adapter"] == "reply-kb" and result["items"] == 2
    stored = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in stored] == ["r-1", "r-2"] and stored[1]["handoff"]
