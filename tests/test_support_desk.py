import json

import pandas as pd

from contentgen.cli import main
from contentgen.knowledge import FaqIndex, parse_faq_file
from contentgen.tasks import ReplyRequest, get_task
from contentgen.tasks.reply import APOLOGY

FAQ = pd.DataFrame({
    "问题": ["如何申请退货？", "多久发货？", "可以开发票吗？", "会员积分怎么用？"],
    "答案": ["签收后7天内可在订单页点击“申请退货”，商品需保持完好。", "付款后48小时内发货，节假日顺延。",
           "可以，在订单页点击“申请发票”，电子发票3个工作日内发送到邮箱。", "积分可在结算时抵扣，100积分抵1元。"],
    "分类": ["售后", "物流", "发票", "会员"],
})


def faq_csv(tmp_path, encoding="gbk"):
    path = tmp_path / "faq.csv"
    FAQ.to_csv(path, index=False, encoding=encoding)
    return path


def test_faq_file_parsing_and_bm25_retrieval(tmp_path):
    entries = parse_faq_file(faq_csv(tmp_path).read_bytes(), "faq.csv")
    assert entries[0] == ("如何申请退货？", FAQ["答案"][0], "售后")

    class Row:
        def __init__(self, i, q, a):
            self.id, self.question, self.answer = i, q, a

    index = FaqIndex([Row(i, q, a) for i, (q, a, _) in enumerate(entries, start=1)])
    assert index.search("我想退货，怎么操作")[0].id == 1
    assert index.search("发票能开吗，要报销")[0].id == 3
    assert index.search("今天天气怎么样") == []


def test_reply_is_grounded_in_the_imported_faq_and_says_which(service, store, tmp_path):
    store.faq.add(parse_faq_file(faq_csv(tmp_path).read_bytes(), "faq.csv"))
    result = service.reply(ReplyRequest(message="收到的衣服不合适，我想退货怎么弄"))
    assert result.sources and result.sources[0]["question"] == "如何申请退货？"
    row = store.history.get(result.request_id)
    assert row.inputs["faq"][0]["id"] == result.sources[0]["id"]
    prompt = service.prepare(get_task("reply"), ReplyRequest(message="我想退货")).request
    assert "签收后7天内" in get_task("reply").conversation(prompt)[1]["content"]


def test_an_upset_customer_gets_an_apology_first(service, store, monkeypatch):
    monkeypatch.setattr(service, "is_upset", lambda message: True)
    result = service.reply(ReplyRequest(message="你们太差劲了！三天都没发货！"))
    assert result.outputs[0].startswith(APOLOGY)
    stream = service.stream("reply", ReplyRequest(message="太差劲了"))
    pieces = [piece for _, piece in stream]
    assert pieces[0] == APOLOGY and stream.result().outputs[0].startswith(APOLOGY)
    monkeypatch.setattr(service, "is_upset", lambda message: False)
    assert not service.reply(ReplyRequest(message="请问几点发货")).outputs[0].startswith(APOLOGY)


def test_mood_detection_runs_the_sentiment_scorer(service):
    assert service.is_upset("太差了") in (True, False)


def test_cli_faq_import_search_and_reply_sources(app_env, capsys, tmp_path):
    assert main(["faq", "import", "--file", str(faq_csv(tmp_path, "utf-8-sig")), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"] == 4
    assert main(["faq", "search", "--text", "发票怎么开", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["question"] == "可以开发票吗？"
    assert main(["reply", "--message", "怎么申请退货", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sources"][0]["question"] == "如何申请退货？"
    bad = tmp_path / "bad.csv"
    bad.write_text("标题,内容\n a,b\n", encoding="utf-8")
    assert main(["faq", "import", "--file", str(bad)]) == 2
    assert "问题" in capsys.readouterr().err
