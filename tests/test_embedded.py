"""Marked tests on the real embedded model (CI runs them; `make test-fast` skips them).

The first run assembles the GGUF from the installed wheels and converts it to a bf16
cache (about a minute); later runs load the cache in seconds.
"""

import json
import re
import subprocess
import sys

import pytest

from contentgen.config import GenerationParams, ModelConfig
from contentgen.tasks import CopyRequest
from contentgen.tasks.rewrite.task import RewriteRequest
from tests.conftest import SHARED_DATA, missing

pytestmark = pytest.mark.embedded

DEFAULT = "qwen2.5-coder-1.5b"
POSITIVE_MARKS = ("非常好", "很满意", "很喜欢", "超级好", "非常满意", "好评")
NEGATIVE_MARKS = ("太差", "很差", "非常差", "失望", "垃圾", "差评")


def clear_reviews(count_each: int = 5) -> list[dict]:
    """Short reviews whose wording leaves no doubt (and whose label agrees)."""
    path = SHARED_DATA / "sentiment" / "test.jsonl"
    if not path.exists():
        missing(f"shared data not found at {path}")
    picked = {"positive": [], "negative": []}
    for line in path.open(encoding="utf-8"):
        row = json.loads(line)
        text, label = row["text"], row["label"]
        if not 8 <= len(text) <= 40 or len(picked[label]) >= count_each:
            continue
        marks, others = (POSITIVE_MARKS, NEGATIVE_MARKS) if label == "positive" else (NEGATIVE_MARKS, POSITIVE_MARKS)
        if any(m in text for m in marks) and not any(m in text for m in others) and "不" not in text[:4]:
            picked[label].append(row)
    return picked["positive"] + picked["negative"]


@pytest.fixture(scope="module")
def real_engine():
    from contentgen.engine.transformers_engine import TransformersEngine

    return TransformersEngine.from_config(ModelConfig(name_or_path=DEFAULT))


@pytest.fixture
def real_service(real_engine, store):
    from contentgen.usecases.service import ContentService

    return ContentService(real_engine, store, user_name="ci", source="test")


def test_cli_tags_ten_clear_reviews(tmp_path):
    reviews = clear_reviews()
    assert len(reviews) == 10
    path = tmp_path / "reviews.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in reviews), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "contentgen.cli", "tag", "--file", str(path), "--json",
         "--model", DEFAULT, "--db", f"sqlite:///{tmp_path / 'h.db'}"],
        capture_output=True, text=True, timeout=900,
    )
    assert completed.returncode == 0, completed.stderr
    labels = json.loads(completed.stdout)
    assert [r["text"] for r in labels] == [r["text"] for r in reviews]
    wrong = [(r["text"], got["label"]) for r, got in zip(reviews, labels) if got["label"] != r["label"]]
    assert not wrong, wrong


def test_the_shipped_head_labels_by_default_and_has_a_neutral_class(tmp_path):
    """A calm question and a factual line are neutral; a complaint stays negative (the adapter's label
    scoring gave the question negative 0.58 and never said neutral)."""
    texts = ["可以开发票吗？公司抬头怎么填？", "入住时间：2008.5.14", "用了两天就坏了，客服也不回复，太差了"]
    path = tmp_path / "texts.csv"
    path.write_text("评论\n" + "\n".join(texts), encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "contentgen.cli", "tag", "--file", str(path), "--json", "--model", DEFAULT,
         "--db", f"sqlite:///{tmp_path / 'h.db'}"], capture_output=True, text=True, timeout=900)
    assert completed.returncode == 0, completed.stderr
    labels = json.loads(completed.stdout)
    assert [r["label"] for r in labels] == ["neutral", "neutral", "negative"], labels
    assert all(r["adapter_id"] == "sentiment-head" for r in labels)


def longest_repeat(text: str) -> int:
    """Length of the longest span that occurs twice (a loop shows as a long one)."""
    best = 0
    for size in range(4, len(text) // 2 + 1):
        seen = set()
        found = False
        for i in range(len(text) - size + 1):
            span = text[i : i + size]
            if span in seen:
                found = True
                break
            seen.add(span)
        if not found:
            break
        best = size
    return best


def test_copy_is_fluent_chinese_without_loops(real_service, store):
    request = CopyRequest(product="便携榨汁杯", points=("USB充电", "300ml", "一键清洗"),
                          platform="小红书", length="短", n=2)
    result = real_service.generate("copy", request, GenerationParams(max_new_tokens=160, seed=1))
    for text in result.outputs:
        chinese = len(re.findall(r"[\u4e00-\u9fff]", text))
        assert chinese >= 50, text
        assert "榨汁杯" in text
        assert longest_repeat(text) < 12, text  # product names repeat; whole sentences must not
        assert "<UNK>" not in text and "\ufffd" not in text
    assert [r.text for r in store.history.get(result.request_id).results] == result.outputs


def test_stream_delivers_whole_characters_and_stops_cleanly(real_service):
    # A rewrite streams as it decodes (a reply picks the best of three and comes whole).
    stream = real_service.stream("rewrite", RewriteRequest(text="我们的羽绒服是全网最好的，穿上立即见效，快递三天就到。"))
    pieces = [piece for _, piece in stream]
    assert len(pieces) > 3 and all("\ufffd" not in p for p in pieces)
    reply = "".join(pieces)
    assert re.search(r"[\u4e00-\u9fff]", reply) and "<|im_end|>" not in reply
    assert stream.status == "ok"


@pytest.fixture(scope="module")
def both_engines():
    """The embedded model on each in-process engine, with the shipped adapters (the llama.cpp
    engine reads the GGUF itself and converts the adapters to GGUF LoRA on first use)."""
    from contentgen.runtime import build_engine

    return (build_engine(ModelConfig(name_or_path=DEFAULT, backend="transformers")),
            build_engine(ModelConfig(name_or_path=DEFAULT, backend="llamacpp")))


# The GGUF holds Q4_K_M weights; the transformers engine their bf16 dequantization, and sums in
# bf16: the two agree on every label and within this much on each probability...
SCORE_TOLERANCE = 0.05
# ...and greedy copy starts alike. After a near tie the two may word a clause differently, so
# the rest is judged by the transformers model itself: the llama.cpp text must be about as likely
# to it (mean log-probability per token, in nats) as its own greedy text.
COMMON_START = 4
LOGPROB_TOLERANCE = 0.3


def mean_logprob(engine, conversation, text: str, adapter: str | None) -> float:
    """Mean log-probability per token of `text` as the answer to `conversation` (teacher forcing)."""
    import torch

    prompt = engine.encode(conversation)
    answer = engine.tokenizer(text, add_special_tokens=False)["input_ids"]
    with engine._using(adapter), torch.no_grad():
        logits = engine._net(input_ids=torch.tensor([prompt + answer])).logits[0].float()
    logprobs = torch.log_softmax(logits[len(prompt) - 1:-1], dim=-1)
    return float(logprobs.gather(1, torch.tensor(answer)[:, None]).mean())


def test_both_engines_give_the_same_labels_and_greedy_text(both_engines):
    from contentgen.tasks import TagRequest, get_task

    transformers_engine, llama_engine = both_engines
    sentiment = get_task("sentiment")
    words = list(sentiment.label_words.values())
    conversations = [sentiment.conversation(TagRequest(text=r["text"])) for r in clear_reviews()]
    for adapter in (None, "sentiment"):
        want = transformers_engine.score_labels(conversations, words, adapter)
        got = llama_engine.score_labels(conversations, words, adapter)
        for w, g in zip(want, got):
            assert max(w, key=w.get) == max(g, key=g.get)
            assert g == pytest.approx(w, abs=SCORE_TOLERANCE)
    copy = get_task("copy")
    greedy = GenerationParams(max_new_tokens=40, do_sample=False, repetition_penalty=1.1, max_phrase_repeats=2)
    prompts = [copy.conversation(CopyRequest(product=p, points=pts, platform="电商详情", length="短"))
               for p, pts in (("保温杯", ("316不锈钢", "12小时保温")), ("无线降噪耳机", ("40dB主动降噪", "30小时续航")))]
    for adapter in (None, "copy"):
        want = [g.text for g in transformers_engine.generate(prompts, greedy, adapter)]
        got = [g.text for g in llama_engine.generate(prompts, greedy, adapter)]
        for prompt, other, w, g in zip(prompts, prompts[::-1], want, got):
            assert g[:COMMON_START] == w[:COMMON_START], (w, g)
            own = mean_logprob(transformers_engine, prompt, w, adapter)
            assert mean_logprob(transformers_engine, prompt, g, adapter) >= own - LOGPROB_TOLERANCE, (w, g)
            # The measure tells texts apart: the same text answering the other product's prompt is far less likely.
            assert mean_logprob(transformers_engine, other, w, adapter) < own - LOGPROB_TOLERANCE


EARPHONE_ENTRY = ("耳机一边没声音怎么办？", "请先把两只耳机放回充电盒，长按充电盒按钮10秒重置，再到手机蓝牙设置里删除“声悦Air”后"
                  "重新配对。仍然没有声音的，签收30天内可申请换货。", "售后")


def test_the_shipped_reply_adapter_answers_from_the_entry_in_its_prompt(both_engines, store):
    """The adapter itself (greedy, no second round) writes the entry's steps; the service, on the app's
    engine with the shipped adapters, uses it by default."""
    from contentgen.tasks import ReplyRequest, get_task
    from contentgen.usecases.service import ContentService

    llama_engine = both_engines[1]
    task = get_task("reply")
    request = ReplyRequest(message="耳机左耳没声音了，右耳正常，怎么回事？",
                           faq=({"question": EARPHONE_ENTRY[0], "answer": EARPHONE_ENTRY[1]},), answering=True)
    greedy = GenerationParams(max_new_tokens=120, do_sample=False, max_phrase_repeats=2)
    [draft] = llama_engine.generate([task.conversation(request)], greedy, adapter="reply")
    assert "10秒" in draft.text and "重新配对" in draft.text, draft.text
    store.faq.add([EARPHONE_ENTRY, ("付款后多久发货？", "付款后48小时内发货。", "物流")])
    service = ContentService(llama_engine, store, user_name="ci", source="test")
    result = service.generate("reply", ReplyRequest(message="耳机左耳没声音了，右耳正常，怎么回事？"))
    assert result.adapter_id == "reply" and "10秒" in result.outputs[0] and not result.parts[0]["handoff"]
