"""The llama.cpp engine against the transformers engine, on the same tiny model (f32 both ways).

The contract tests (order, streaming, scoring, sampling, phrase limit) run on both engines in
tests/test_engine.py; here: the two give the same answers, adapters convert and switch, the
prompt-start cache, and the engine choice.
"""

from __future__ import annotations

import json
import os

import pytest
import torch

from contentgen.config import GenerationParams, ModelConfig
from contentgen.errors import UserFacingError

GREEDY = GenerationParams(max_new_tokens=24, do_sample=False, no_repeat_ngram_size=0, repetition_penalty=1.0)
# What the copy task decodes with (repetition penalty, n-gram and phrase limits), greedily.
GUARDED = GenerationParams(max_new_tokens=40, do_sample=False, max_phrase_repeats=2)
PROMPTS = ["写一段连衣裙文案", "保温杯，316不锈钢，12小时保温", "物流太慢了，我要退货", "这款耳机音质很好",
           "小红书 抖音 朋友圈", "您好，请问发票怎么开？"]
LABELS = ["正面", "中性", "负面"]
# f32 on both sides: llama.cpp's kernels sum in another order than torch's, nothing more.
SCORE_TOLERANCE = 1e-4
# With an adapter, converted to f16: label probabilities within this, greedy text equal this far.
ADAPTER_SCORE_TOLERANCE = 2e-3
ADAPTER_COMMON_START = 12


def conv(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "你是助手。"}, {"role": "user", "content": text}]


def test_greedy_text_and_label_scores_match_the_transformers_engine(tiny_engine, tiny_llama_engine):
    prompts = [conv(t) for t in PROMPTS]
    for params in (GREEDY, GUARDED):
        want = [g.text for g in tiny_engine.generate(prompts, params)]
        got = [g.text for g in tiny_llama_engine.generate(prompts, params)]
        assert got == want
    for want, got in zip(tiny_engine.score_labels(prompts, LABELS), tiny_llama_engine.score_labels(prompts, LABELS)):
        assert got == pytest.approx(want, abs=SCORE_TOLERANCE)


def test_generation_reports_tokens_and_why_it_stopped(tiny_engine, tiny_llama_engine):
    prompts = [conv(t) for t in PROMPTS[:3]]
    want = tiny_engine.generate(prompts, GREEDY)
    got = tiny_llama_engine.generate(prompts, GREEDY)
    assert [(g.prompt_tokens, g.completion_tokens, g.finish_reason) for g in got] == \
           [(g.prompt_tokens, g.completion_tokens, g.finish_reason) for g in want]


def test_a_prompt_start_is_prefilled_once_and_reused_across_calls(tiny_llama_engine, monkeypatch):
    engine = tiny_llama_engine
    prompts = [conv("判断情感，只回答一个词。评论：很好"), conv("判断情感，只回答一个词。评论：一段更长一些的输入")]
    monkeypatch.setattr(engine, "reuse_prefix", False)
    alone = [engine.generate([p], GREEDY)[0].text for p in prompts]
    alone_scores = [engine.score_labels([p], LABELS)[0] for p in prompts]
    monkeypatch.setattr(engine, "reuse_prefix", True)
    engine._forget_prefixes(adapter=None)
    decoded: list[int] = []
    original = engine._decode
    monkeypatch.setattr(engine, "_decode", lambda entries, *more: decoded.append(len(entries)) or original(entries, *more))
    assert [g.text for g in engine.generate(prompts, GREEDY)] == alone
    [(adapter, shared)] = engine._prefix_slots
    assert adapter is None and engine.tokenizer.decode(list(shared)).endswith("只回答一个词。评论：")
    first_prefill = decoded[0] + decoded[1]  # the prompt start, then the rows' own tokens
    decoded.clear()
    for got, want in zip(engine.score_labels(prompts, LABELS), alone_scores):
        assert got == pytest.approx(want, abs=SCORE_TOLERANCE)
    assert decoded[0] == first_prefill - len(shared)  # the start came from the cache
    assert len(engine._prefix_slots) == 1
    # One request at a time: it starts from the longest cached start, and is kept for the next one.
    own = engine.encode(prompts[1])
    decoded.clear()
    assert engine.generate([prompts[1]], GREEDY)[0].text == alone[1]
    assert decoded[0] == len(own) - len(shared)
    assert (None, tuple(own[:-1])) in engine._prefix_slots
    decoded.clear()
    engine.generate([prompts[1]], GREEDY)  # the same prompt again (a retry): one token to compute
    assert decoded[0] == 1


def test_too_long_an_input_is_a_chinese_error_and_the_engine_still_works(tiny_llama_engine):
    from contentgen.engine import llamacpp_engine

    huge = conv("好" * (tiny_llama_engine.batch_size * llamacpp_engine.CONTEXT_PER_ROW + 5000))
    with pytest.raises(UserFacingError, match="输入太长"):
        tiny_llama_engine.generate([huge], GREEDY)
    assert tiny_llama_engine.generate([conv("你好")], GREEDY)[0].completion_tokens > 0


def _random_adapter(model_dir, out_dir, seed: int):  # noqa: ANN001, ANN202
    """A peft LoRA adapter on the tiny model with random (non-zero) B, so it changes answers."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir), dtype=torch.float32)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj", "o_proj"]))
    torch.manual_seed(seed)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_" in name:
                parameter.normal_(0, 0.2)
    peft_model.save_pretrained(str(out_dir))
    return out_dir


def test_a_peft_adapter_converts_and_answers_as_on_the_transformers_engine(
        tiny_model_dir, tiny_llama_engine, tmp_path, monkeypatch):
    from contentgen.engine.transformers_engine import TransformersEngine

    tiny_engine = TransformersEngine.from_config(ModelConfig(name_or_path=str(tiny_model_dir), dtype="fp32"))
    adapter = _random_adapter(tiny_model_dir, tmp_path / "house-style", seed=3)
    prompts = [conv(t) for t in PROMPTS[:4]]
    base = [g.text for g in tiny_llama_engine.generate(prompts, GREEDY)]
    monkeypatch.setattr(tiny_llama_engine, "adapters", dict(tiny_llama_engine.adapters))
    monkeypatch.setattr(tiny_llama_engine, "_adapter_handles", dict(tiny_llama_engine._adapter_handles))
    for engine in (tiny_engine, tiny_llama_engine):
        engine.load_adapter("house-style", str(adapter))
    want = [g.text for g in tiny_engine.generate(prompts, GREEDY, adapter="house-style")]
    got = [g.text for g in tiny_llama_engine.generate(prompts, GREEDY, adapter="house-style")]
    # The converted adapter is f16 (batched decode is faster with it than with f32), so a near
    # tie late in the random model's gibberish may go the other way.
    for w, g in zip(want, got):
        assert len(os.path.commonprefix([w, g])) >= min(len(w), ADAPTER_COMMON_START)
    assert got != base
    for w, g in zip(tiny_engine.score_labels(prompts, LABELS, adapter="house-style"),
                    tiny_llama_engine.score_labels(prompts, LABELS, adapter="house-style")):
        assert g == pytest.approx(w, abs=ADAPTER_SCORE_TOLERANCE)
    # Per request, without reloading: the base answers again as before.
    assert [g.text for g in tiny_llama_engine.generate(prompts, GREEDY)] == base
    streamed = "".join(p for _, p in tiny_llama_engine.stream(prompts[:1], GREEDY, adapter="house-style"))
    assert streamed.strip() == got[0]
    lora_cache = tiny_llama_engine.cache_dir / "converted" / "lora"
    converted = list(lora_cache.glob("house-style-*.gguf"))
    assert len(converted) == 1  # cached by content: loading again converts nothing
    tiny_llama_engine.load_adapter("house-style", str(adapter))
    assert list(lora_cache.glob("house-style-*.gguf")) == converted
    with pytest.raises(UserFacingError, match="未加载"):
        tiny_llama_engine.generate(prompts[:1], GREEDY, adapter="nonexistent")
    tiny_llama_engine._select(None)  # leave the shared engine as found


def test_an_adapter_the_engine_cannot_apply_is_refused_in_chinese(tiny_model_dir, tiny_llama_engine, tmp_path):
    # Converted before the context sees it: a refused adapter leaves the engine as it was.
    adapter = _random_adapter(tiny_model_dir, tmp_path / "dora", seed=1)
    config = json.loads((adapter / "adapter_config.json").read_text())
    (adapter / "adapter_config.json").write_text(json.dumps({**config, "use_dora": True}))
    with pytest.raises(UserFacingError, match="DoRA"):
        tiny_llama_engine.load_adapter("dora", str(adapter))
    assert "dora" not in tiny_llama_engine.adapters


def test_auto_picks_llamacpp_for_a_gguf_on_a_cpu_and_transformers_otherwise(tiny_model_dir, tmp_path):
    from contentgen.engine import BATCH_BACKEND_ON_CPU, choose_backend

    assert choose_backend(ModelConfig(name_or_path="qwen2.5-coder-1.5b")) == "llamacpp"
    assert choose_backend(ModelConfig(name_or_path="qwen2.5-coder-1.5b"), "batch") == BATCH_BACKEND_ON_CPU
    assert choose_backend(ModelConfig(name_or_path=str(tiny_model_dir))) == "transformers"  # no GGUF
    assert choose_backend(ModelConfig(name_or_path="qwen2.5-coder-1.5b", device="cuda")) == "transformers"
    assert choose_backend(ModelConfig(name_or_path="qwen2.5-coder-1.5b", backend="transformers")) == "transformers"
    (tmp_path / "m.gguf").write_bytes(b"GGUF")
    assert choose_backend(ModelConfig(name_or_path=str(tmp_path / "m.gguf"))) == "llamacpp"
    with pytest.raises(UserFacingError, match="未知后端"):
        choose_backend(ModelConfig(backend="tensorrt"))


def test_the_service_runs_every_task_on_the_llamacpp_engine(tiny_llama_engine, store):
    from contentgen.usecases.service import ContentService
    from contentgen.tasks import CopyRequest

    service = ContentService(tiny_llama_engine, store, user_name="u", source="api")
    result = service.generate("copy", CopyRequest(product="保温杯", points=("316不锈钢",), platform="小红书", n=2))
    assert len(result.outputs) == 2 and all(result.outputs)
    tagged = service.sentiment.tag(["物流很快", "太差了"])
    assert all(abs(sum(t.scores.values()) - 1) < 1e-4 for t in tagged)
