import json

from contentgen.cli import main
from contentgen.usecases.feedback import export_dataset
from contentgen.tasks import CopyRequest, ReplyRequest
from contentgen.training.data import load_examples


def test_ratings_and_edits_become_finetune_data(service, store, tmp_path):
    liked = service.generate("copy", CopyRequest(product="保温杯", points=("316不锈钢",)))
    edited = service.generate("copy", CopyRequest(product="羽绒服", n=2))
    disliked = service.generate("copy", CopyRequest(product="雨伞"))
    first, second = store.history.get(edited.request_id).results
    store.feedback.set(store.history.get(liked.request_id).results[0].id, rating=1)
    store.feedback.set(first.id, rating=-1, edited_text="轻盈保暖的羽绒服，通勤出游都合适。")
    store.feedback.set(store.history.get(disliked.request_id).results[0].id, rating=-1)
    row = store.history.get(edited.request_id).results[0]
    assert row.text == first.text and row.edited_text.startswith("轻盈") and row.edited_at  # original kept
    out = tmp_path / "copy.jsonl"
    assert export_dataset(store, "copy", out) == 2  # 👍 and the edit; a bare 👎 is left out
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows[0]["product"] == "保温杯" and rows[0]["points"] == "316不锈钢" and rows[0]["copy"] == liked.outputs[0]
    assert rows[1]["copy"] == "轻盈保暖的羽绒服，通勤出游都合适。"
    examples = load_examples(out, "copy")  # finetune/ reads it as is
    assert {e.answer for e in examples} == {liked.outputs[0], rows[1]["copy"]}


def test_reply_and_sentiment_exports(service, store, tmp_path):
    reply = service.generate("reply", ReplyRequest(message="快递到哪了", order="已发货"))
    store.feedback.set(store.history.get(reply.request_id).results[0].id, edited_text="您好，包裹已发出，预计明天送达。")
    assert export_dataset(store, "reply", tmp_path / "r.jsonl") == 1
    assert load_examples(tmp_path / "r.jsonl", "reply")[0].answer == "您好，包裹已发出，预计明天送达。"
    tag = service.sentiment.tag(["还行吧"])[0]
    store.feedback.set(store.history.get(tag.request_id).results[0].id, edited_text="中性")
    assert export_dataset(store, "sentiment", tmp_path / "s.jsonl") == 1
    assert json.loads((tmp_path / "s.jsonl").read_text(encoding="utf-8"))["label"] == "neutral"


def test_cli_feedback(app_env, capsys, tmp_path):
    assert main(["copy", "--product", "茶叶", "--json"]) == 0
    capsys.readouterr()
    main(["history", "--json"])
    result_id = json.loads(capsys.readouterr().out)[0]["result_ids"][0]
    assert main(["feedback", "edit", "--result", str(result_id), "--text", "明前龙井，清香回甘。"]) == 0
    assert main(["feedback", "export", "--task", "copy", "--out", str(tmp_path / "c.jsonl"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["rows"] == 1
    assert main(["feedback", "up", "--result", "999999"]) == 2
