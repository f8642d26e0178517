import json

import pytest
import torch

from contentgen.config import GenerationParams, ModelConfig
from contentgen.training.data import example_from_row, load_examples
from contentgen.evaluation.metrics import (
    classification_scores,
    generation_scores,
    has_repeated_span,
    repetition_scores,
)
from contentgen.training.config import LoraSettings, TrainConfig
from contentgen.training.train import (
    IGNORE,
    answer_loss,
    collate,
    collate_choices,
    encode,
    encode_choice,
    label_loss,
    train,
)


def write_jsonl(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    return path


SENTIMENT_ROWS = [{"text": f"物流很快，好评{i}", "label": "positive"} for i in range(6)] + \
                 [{"text": f"太差了，失望{i}", "label": "negative"} for i in range(6)]


def test_shared_formats_become_template_prompts():
    copy = example_from_row({"content": "类型#上衣*颜色#白色", "summary": "白色上衣清爽百搭"}, "copy")
    assert "颜色：白色" in copy.conversation[1]["content"] and copy.answer == "白色上衣清爽百搭"
    assert example_from_row({"content": "类型#裙", "summary": "一条<UNK>裙子"}, "copy") is None
    described = example_from_row({"title": "汇乐宝宝学爬行摇摆鹅益智玩具", "description": "摇摆鹅会走会唱，" * 8}, "copy")
    assert "商品：汇乐宝宝学爬行摇摆鹅益智玩具" in described.conversation[1]["content"]
    assert "48-104 字" in described.conversation[1]["content"] and described.answer.startswith("摇摆鹅")
    reply = example_from_row({"context": [{"role": "customer", "text": "你好"}, {"role": "agent", "text": "您好"},
                                          {"role": "customer", "text": "到哪了"}],
                              "customer_message": "到哪了", "reply": "正在为您查询"}, "reply")
    user = reply.conversation[1]["content"]
    assert user.count("到哪了") == 1 and "客服：您好" in user and reply.answer == "正在为您查询"
    senti = example_from_row({"text": "好评", "label": "negative"}, "sentiment")
    assert senti.answer == "负面"


def test_alpaca_and_sharegpt_rows():
    alpaca = example_from_row({"instruction": "写一句文案", "input": "保温杯", "output": "暖一整天"}, "copy")
    assert alpaca.conversation[1]["content"] == "写一句文案\n保温杯" and alpaca.answer == "暖一整天"
    share = example_from_row({"conversations": [{"from": "human", "value": "快递到哪了"},
                                                {"from": "gpt", "value": "您好，正在查询"}]}, "reply")
    assert share.conversation[0]["role"] == "system" and share.conversation[-1]["content"] == "快递到哪了"
    assert share.answer == "您好，正在查询"


def test_balanced_sentiment_examples(tmp_path):
    examples = load_examples(write_jsonl(tmp_path / "s.jsonl", SENTIMENT_ROWS), "sentiment", balance=True, limit=6)
    assert sorted(e.answer for e in examples) == ["正面"] * 3 + ["负面"] * 3


def test_only_answer_tokens_are_learned(tiny_engine):
    example = example_from_row({"text": "好评", "label": "positive"}, "sentiment")
    ids, labels = encode(example, tiny_engine.tokenizer, 256)
    answer = [t for t in labels if t != IGNORE]
    assert tiny_engine.tokenizer.decode(answer[:-1]) == "正面"
    assert answer[-1] == tiny_engine.tokenizer.eos_token_id
    assert ids[-len(answer):] == answer
    assert encode(example, tiny_engine.tokenizer, 5) is None  # a prompt is never cut


def test_answer_loss_equals_full_cross_entropy(tiny_engine):
    tokenizer, model = tiny_engine.tokenizer, tiny_engine.model
    examples = [example_from_row(r, "sentiment") for r in SENTIMENT_ROWS[:3]]
    batch = collate([encode(e, tokenizer, 256) for e in examples], tokenizer.pad_token_id)
    with torch.no_grad():
        fast = answer_loss(model, batch)
        full = model(**batch).loss  # transformers' own shifted loss over every labelled token
    assert torch.allclose(fast, full, atol=1e-5)


def test_label_loss_is_cross_entropy_over_the_label_words_after_the_prompt(tiny_engine):
    from peft import LoraConfig, get_peft_model

    tokenizer = tiny_engine.tokenizer
    words = ["正面", "中性", "负面"]
    rows = [SENTIMENT_ROWS[0], {"text": "还没用，不好说", "label": "neutral"}, SENTIMENT_ROWS[7]]
    items = [encode_choice(example_from_row(r, "sentiment"), tokenizer, 256, words) for r in rows]
    assert [target for _, target in items] == [0, 1, 2]
    assert encode_choice(example_from_row(rows[0], "sentiment"), tokenizer, 5, words) is None
    batch = collate_choices(items, tokenizer.pad_token_id)
    label_ids = torch.tensor(tiny_engine.label_token_ids(words))
    model = get_peft_model(tiny_engine.model, LoraConfig(r=2, target_modules=["q_proj"], task_type="CAUSAL_LM"))
    try:
        with torch.no_grad():
            loss = label_loss(model, batch, label_ids)
            # The same numbers from the whole model: each row's logits at its own last prompt token.
            logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
            picked = logits[torch.arange(3), batch["last"]][:, label_ids]
        assert torch.allclose(loss, torch.nn.functional.cross_entropy(picked.float(), batch["target"]), atol=1e-5)
    finally:
        model.unload()


def test_gradient_checkpointing_gives_the_same_first_step(tiny_model_dir, tmp_path):
    data = write_jsonl(tmp_path / "s.jsonl", SENTIMENT_ROWS)
    engine_config = ModelConfig(name_or_path=str(tiny_model_dir), dtype="fp32")
    losses = []
    for name, recompute in (("plain", False), ("recomputed", True)):
        config = TrainConfig(task="sentiment", data=str(data), out=str(tmp_path / name), model=str(tiny_model_dir),
                             max_steps=2, batch_size=2, learning_rate=5e-2, warmup_steps=1,
                             gradient_checkpointing=recompute)
        torch.manual_seed(0)  # the same LoRA initialisation and dropout masks
        train(config, engine_config=engine_config)
        losses.append([json.loads(line)["loss"] for line in (tmp_path / name / "train_log.jsonl").read_text().splitlines()])
    # Same batches, same weights: recomputing activations changes memory, not the numbers (second step too).
    assert losses[0] == pytest.approx(losses[1], abs=1e-3)


def test_top_layers_put_lora_on_the_last_layers_only(tiny_model_dir, tmp_path):
    from safetensors.torch import load_file

    data = write_jsonl(tmp_path / "s.jsonl", SENTIMENT_ROWS)
    config = TrainConfig(task="sentiment", data=str(data), out=str(tmp_path / "adapter"), model=str(tiny_model_dir),
                         max_steps=1, batch_size=2, lora=LoraSettings(top_layers=1))
    train(config, engine_config=ModelConfig(name_or_path=str(tiny_model_dir), dtype="fp32"))
    names = load_file(str(tmp_path / "adapter" / "adapter_model.safetensors"))
    layers = {name.split(".layers.")[1].split(".")[0] for name in names}
    total = json.loads((tiny_model_dir / "config.json").read_text())["num_hidden_layers"]
    assert layers == {str(total - 1)}


def test_training_resumes_and_the_adapter_serves(tiny_model_dir, tiny_engine, tmp_path):
    data = write_jsonl(tmp_path / "s.jsonl", SENTIMENT_ROWS)
    config = TrainConfig(task="sentiment", data=str(data), out=str(tmp_path / "adapter"),
                         model=str(tiny_model_dir), max_steps=2, batch_size=2, save_every=1,
                         learning_rate=5e-2, warmup_steps=1)
    engine_config = ModelConfig(name_or_path=str(tiny_model_dir), dtype="fp32")
    train(config, engine_config=engine_config)
    log = [json.loads(line) for line in (tmp_path / "adapter" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2]
    # Run again with more steps: continues from the checkpoint at step 2.
    train(TrainConfig(**{**config.__dict__, "max_steps": 4}), engine_config=engine_config)
    log = [json.loads(line) for line in (tmp_path / "adapter" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    assert all(r["loss"] == r["loss"] for r in log)  # no NaN
    # The work tree was laid anew: no checkpoint, only the committed adapter and its step.
    import shutil

    shutil.rmtree(tmp_path / "adapter" / "checkpoint")
    train(TrainConfig(**{**config.__dict__, "max_steps": 5}), engine_config=engine_config)
    log = [json.loads(line) for line in (tmp_path / "adapter" / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5]
    state = json.loads((tmp_path / "adapter" / "train_state.json").read_text())
    assert state["step"] == 5 and state["loss"] == "label_words"  # serving prefers it over the head
    from safetensors.torch import load_file

    # Half precision: what is committed to resume from next session costs half.
    assert {t.dtype for t in load_file(str(tmp_path / "adapter" / "adapter_model.safetensors")).values()} == {torch.float16}
    # Our model card, not peft's boilerplate, with how far training got and the data caveat.
    card = (tmp_path / "adapter" / "README.md").read_text(encoding="utf-8")
    assert card.startswith("# LoRA adapter: sentiment") and "Steps: 5 of 5" in card and "许可证" in card

    from contentgen.engine.transformers_engine import TransformersEngine

    engine = TransformersEngine.from_config(engine_config)
    conv = example_from_row(SENTIMENT_ROWS[0], "sentiment").conversation
    base = engine.score_labels([conv], ["正面", "负面"])[0]
    engine.load_adapter("sentiment", tmp_path / "adapter")
    tuned = engine.score_labels([conv], ["正面", "负面"], adapter="sentiment")[0]
    again = engine.score_labels([conv], ["正面", "负面"])[0]  # base, adapter switched off
    assert abs(base["正面"] - tuned["正面"]) > 1e-3
    assert abs(base["正面"] - again["正面"]) < 1e-6
    text = engine.generate([conv], GenerationParams(max_new_tokens=3, do_sample=False), adapter="sentiment")
    assert len(text) == 1


def test_generation_metrics_match_the_published_recipe():
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    pred, ref = "这款外套采用撞色设计，时尚百搭", "这款外套采用了撞色拉链设计，吸睛亮眼"
    scores = generation_scores([pred, ""], [ref, ref])
    bleu = sentence_bleu([list(ref)], list(pred), smoothing_function=SmoothingFunction().method3) * 100
    assert scores["bleu-4"] == round((round(bleu, 4) + 0.0) / 2, 2)
    assert 0 < scores["rouge-l"] < 50 and scores["rouge-1"] >= scores["rouge-2"]
    assert generation_scores([ref], [ref])["rouge-1"] == pytest.approx(100, abs=0.01)


def test_repetition_and_classification_metrics():
    assert has_repeated_span("好看好看好看好看好看")
    assert not has_repeated_span("这款外套采用撞色设计")
    rep = repetition_scores(["好看好看好看好看好看", "正常的一句话<UNK>"])
    assert rep["repeated_span_share"] == 0.5 and rep["unk_share"] == 0.5
    scores = classification_scores(["positive", "negative", "positive"], ["positive", "negative", "negative"])
    assert scores["accuracy"] == pytest.approx(66.67) and scores["macro_f1"] == pytest.approx(66.67)


def test_a_run_resumed_with_a_fresh_optimizer_warms_up_again():
    from contentgen.training.train import _lr_at

    config = TrainConfig(task="sentiment", data="d", out="o", max_steps=100, warmup_steps=10, learning_rate=1e-3)
    assert _lr_at(0, config) == pytest.approx(1e-4) and _lr_at(10, config) == pytest.approx(1e-3)
    plain, resumed = _lr_at(50, config), _lr_at(50, config, restart=50)
    assert resumed == pytest.approx(plain / 10)  # the first step after the restart, a tenth
    assert _lr_at(60, config, restart=50) == pytest.approx(_lr_at(60, config))  # warmed up again


def test_length_grouped_batches_cover_every_example_once():
    from contentgen.training.train import length_grouped_batches

    lengths = [5, 50, 6, 51, 7, 52, 8, 53]
    batches = length_grouped_batches(lengths, 2, seed=0)
    assert sorted(i for b in batches for i in b) == list(range(8))
    assert all(abs(lengths[b[0]] - lengths[b[-1]]) <= 3 for b in batches)  # short with short
    assert batches == length_grouped_batches(lengths, 2, seed=0)


def test_an_adapter_still_training_is_not_served(tmp_path):
    import json

    from contentgen.adapters import discover, user_adapter_dir
    from contentgen.config import ModelConfig

    config = ModelConfig(name_or_path="some-base", cache_dir=tmp_path)
    adapter = user_adapter_dir(config) / "copy"
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text("{}")
    (adapter / "adapter_model.safetensors").write_bytes(b"")
    (adapter / "train_state.json").write_text(json.dumps({"step": 12, "max_steps": 400}))
    assert "copy" not in discover(config)  # resumable, but not answering copy requests yet
    (adapter / "train_state.json").write_text(json.dumps({"step": 400, "max_steps": 400}))
    assert discover(config) == {"copy": adapter}


def test_platforms_of_a_training_file(tmp_path):
    from contentgen.tasks import get_task
    from contentgen.training.data import platforms_in

    copy = get_task("copy")
    adgen = write_jsonl(tmp_path / "a.jsonl", [{"content": "类型#裙", "summary": "裙子"}])
    assert platforms_in(adgen, copy) == {"电商详情"}
    own = write_jsonl(tmp_path / "b.jsonl", [{"product": "杯", "platform": "小红书", "copy": "好用"},
                                             {"product": "杯", "copy": "好用"}])
    assert platforms_in(own, copy) == {"小红书", "电商详情"}
    alpaca = write_jsonl(tmp_path / "c.jsonl", [{"instruction": "写文案", "output": "好用"}])
    assert platforms_in(alpaca, copy) is None
    titles = write_jsonl(tmp_path / "t.jsonl", [{"brand": "膳魔师", "product": "保温杯", "title": "膳魔师保温杯",
                                                 "platform": "京东"}])
    assert platforms_in(titles, get_task("title")) == {"京东"}


def test_placeholder_replies_are_not_learned_but_are_evaluated(tmp_path):
    masked = {"customer_message": "订单[订单x]到哪了", "reply": "大约[数字x]天送达"}
    path = write_jsonl(tmp_path / "cs.jsonl", [masked, {**masked, "reply": "正在为您查询"}])
    [learned] = load_examples(path, "reply")
    assert learned.answer == "正在为您查询" and "[订单x]" in learned.conversation[1]["content"]
    assert example_from_row(masked, "reply").answer == "大约[数字x]天送达"  # the eval keeps the whole test set


def test_evaluation_reports_each_source_and_keeps_every_prediction(tiny_engine, tmp_path):
    from contentgen.evaluation.evaluate import evaluate

    rows = [{**row, "id": str(i), "source": "waimai" if i % 3 else "hotel"} for i, row in enumerate(SENTIMENT_ROWS)]
    data = write_jsonl(tmp_path / "test.jsonl", rows)
    predictions: list[dict] = []
    result = evaluate(tiny_engine, "sentiment", data, baseline=True, predictions=predictions)
    assert [p["id"] for p in predictions] == [r["id"] for r in rows]
    assert {p["gold"] for p in predictions} == {"positive", "negative"}
    by_source = result["by_source"]
    assert {s: v["items"] for s, v in by_source.items()} == {"hotel": 4, "waimai": 8}
    for source, scores in by_source.items():
        hits = [p["prediction"] == p["gold"] for p in predictions if p["source"] == source]
        assert scores["accuracy"] == pytest.approx(100 * sum(hits) / len(hits), abs=0.01)
    hits = sum(p["prediction"] == p["gold"] for p in predictions)
    assert result["accuracy"] == pytest.approx(100 * hits / len(rows), abs=0.01)
    assert sum(v["items"] for v in result["snownlp"]["by_source"].values()) == len(rows)

    copy_rows = [{"content": "类型#上衣*颜色#绿色", "summary": "清新的绿色上衣"}, {"content": "类型#裙", "summary": "<UNK>"}]
    generated: list[dict] = []
    result = evaluate(tiny_engine, "copy", write_jsonl(tmp_path / "copy.jsonl", copy_rows), max_new_tokens=4,
                      predictions=generated)
    assert result["items"] == len(generated) == 1  # the <UNK> reference is not scored
    assert generated[0]["reference"] == "清新的绿色上衣" and "绿色" in generated[0]["prompt"]


def test_recheck_moves_kept_self_training_rows_that_fail_todays_checks(tmp_path):
    from finetune.copy_self_train import recheck

    row = {"id": "self-1", "platform": "朋友圈", "product": "燕麦牛奶", "brand": "", "tone": "亲切温暖", "length": "短",
           "points": "每瓶8g植物蛋白,0乳糖"}
    good = {**row, "copy": "燕麦牛奶每瓶8g植物蛋白，0乳糖，早上来一瓶，顶饱又清爽，乳糖不耐的朋友也能放心喝。"}
    invented = {**row, "id": "self-2", "copy": good["copy"] + "配方中加入了丰富的胶原蛋白。"}
    out, rejected = tmp_path / "copy.jsonl", tmp_path / "rejected.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in (good, invented)), encoding="utf-8")
    recheck(out, rejected)
    assert [json.loads(line)["id"] for line in out.open(encoding="utf-8")] == ["self-1"]
    moved = json.loads(rejected.read_text(encoding="utf-8"))
    assert moved["id"] == "self-2" and any("胶原蛋白" in f for f in moved["findings"])


def test_reply_rows_put_the_answering_entry_in_the_prompt_as_inference_does():
    from contentgen.tasks import get_task
    from contentgen.tasks.reply.task import ReplyRequest
    from finetune.reply_rows import grounded_rows, shop_entries

    entries = next(iter(shop_entries().values()))
    rows = grounded_rows(entries)
    assert len(rows) == sum(1 + len(e["asks"]) for e in entries)
    asked = next(r for r in rows if r["message"] == entries[0]["asks"][0])
    assert asked["answering"] and asked["faq"][0]["answer"] == entries[0]["answer"]
    assert asked["reply"].endswith(entries[0]["answer"])
    example = example_from_row(asked, "reply")
    same = ReplyRequest(message=asked["message"], faq=tuple(asked["faq"]), answering=True)
    assert example.conversation == get_task("reply").conversation(same)
    assert entries[0]["answer"] in example.conversation[1]["content"]
    # Entries that do not answer are listed as a knowledge base, not as the answer.
    listed = example_from_row({**asked, "answering": False, "reply": "请您提供订单号，我帮您查一下物流信息。"}, "reply")
    assert "知识库（" in listed.conversation[1]["content"]


@pytest.mark.parametrize("reply, kept", [
    ("您好，您可以在订单详情里查看物流进度，物流长时间没有更新的话，把订单号发给我，我联系快递核实。", True),
    ("您好，发货后一般3到5天送达，您可以在订单详情里查看物流进度。", False),  # a time limit nobody gave
    ("您客气了，为您服务是小妹的荣幸呢，请问还有其他还可以帮到您的吗?", False),  # formulas only
    ("已经为您提交了退款申请，预计今天会给您反馈，请您留意短信通知哦。", False),  # an action nobody took
    ("非常抱歉给您带来不好的体验，您可以在订单页申请售后，我们会尽快处理。", False),  # an apology to a calm question
    ("大约[数字x]天送达，您可以在订单详情里查看物流进度，请耐心等待一下。", False),  # a placeholder
])
def test_real_replies_are_kept_only_when_an_agent_could_send_them(reply, kept):
    from finetune.reply_rows import sendable

    assert sendable({"customer_message": "我的快递什么时候能到？", "reply": reply}) is kept


def test_the_card_names_the_licence_of_the_data_it_was_trained_on():
    from contentgen.training.card import licence_note

    assert "Apache-2.0" in licence_note("finetune/gold/copy/train.jsonl")
    assert "research" in licence_note("../shared/data/adgen/train.jsonl")
    assert "Apache-2.0" not in licence_note("../shared/data/adgen/train.jsonl")
