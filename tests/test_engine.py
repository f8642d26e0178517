import pytest

from contentgen.config import GenerationParams
from contentgen.engine.transformers_engine import (
    REPLACEMENT_CHAR,
    _IncrementalDecoder,
    pick_dtype,
)

GREEDY = GenerationParams(max_new_tokens=16, do_sample=False, no_repeat_ngram_size=0,
                          repetition_penalty=1.0)


def conv(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "你是助手。"}, {"role": "user", "content": text}]


def test_generate_keeps_input_order_across_length_batches(tiny_engine):
    tiny_engine.batch_size = 2
    prompts = [conv("短"), conv("一段很长很长的营销文案，关于外套、物流和包装。" * 3), conv("中等长度的问题")]
    together = tiny_engine.generate(prompts, GREEDY)
    alone = [tiny_engine.generate([p], GREEDY)[0] for p in prompts]
    assert [g.text for g in together] == [g.text for g in alone]
    assert [g.prompt_tokens for g in together] == [g.prompt_tokens for g in alone]
    assert together[1].prompt_tokens > together[2].prompt_tokens > together[0].prompt_tokens
    assert all(g.completion_tokens <= 16 for g in together)


def test_stream_matches_generate(tiny_engine):
    prompt = conv("写一句文案")
    expected = tiny_engine.generate([prompt], GREEDY)[0].text
    pieces = list(tiny_engine.stream([prompt], GREEDY))
    assert pieces, "stream yielded nothing"
    assert "".join(p for _, p in pieces).strip() == expected


def test_stream_batch_tags_each_piece_with_its_conversation(tiny_engine):
    prompts = [conv("甲"), conv("乙乙乙乙乙乙")]
    texts = ["", ""]
    for index, piece in tiny_engine.stream(prompts, GREEDY):
        texts[index] += piece
    expected = tiny_engine.generate(prompts, GREEDY)
    assert [t.strip() for t in texts] == [g.text for g in expected]


def test_closing_the_stream_early_stops_generation(tiny_engine):
    stream = tiny_engine.stream([conv("写")], GenerationParams(max_new_tokens=500, do_sample=False))
    next(stream)
    stream.close()  # must not hang: the worker thread is told to stop and joined
    assert not tiny_engine._lock.locked()


def _byte_level_char(byte: int) -> str:
    """GPT-2 byte-to-unicode mapping used by byte-level BPE vocabularies."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    if byte in printable:
        return chr(byte)
    return chr(256 + [b for b in range(256) if b not in printable].index(byte))


def test_decoder_never_emits_half_a_character(tiny_engine):
    tokenizer = tiny_engine.tokenizer
    # One token per UTF-8 byte: 好 and 的 are three bytes each.
    ids = [tokenizer.convert_tokens_to_ids(_byte_level_char(b)) for b in "好的".encode()]
    decoder = _IncrementalDecoder(tokenizer, tiny_engine.stop_token_ids)
    pieces = [decoder.push(i) for i in ids]
    assert pieces == ["", "", "好", "", "", "的"]
    assert all(REPLACEMENT_CHAR not in p for p in pieces)


def test_decoder_ignores_tokens_after_the_stop_token(tiny_engine):
    tokenizer = tiny_engine.tokenizer
    decoder = _IncrementalDecoder(tokenizer, tiny_engine.stop_token_ids)
    ids = tokenizer("好评", add_special_tokens=False)["input_ids"]
    out = "".join(decoder.push(i) for i in ids)
    decoder.push(tiny_engine.stop_token_ids[0])
    assert decoder.push(ids[0]) == ""
    assert out + decoder.flush() == "好评"


def test_score_labels_is_a_distribution_and_padding_invariant(tiny_engine):
    labels = ["正面", "中性", "负面"]
    short, long = conv("好"), conv("物流很快，包装完好，质量很好，好评！" * 4)
    alone = tiny_engine.score_labels([short], labels)[0]
    batched = tiny_engine.score_labels([long, short], labels)[1]
    assert set(alone) == set(labels)
    assert abs(sum(alone.values()) - 1) < 1e-5
    for label in labels:
        assert abs(alone[label] - batched[label]) < 1e-4


def test_labels_sharing_a_first_token_are_rejected(tiny_engine):
    import pytest

    with pytest.raises(ValueError):
        tiny_engine.label_token_ids(["正面", "正面评价"])


def test_dtype_choice():
    import torch

    assert pick_dtype("auto", "cuda") == torch.bfloat16
    assert pick_dtype("fp32", "cpu") == torch.float32
    assert pick_dtype("auto", "cpu") in {torch.bfloat16, torch.float32}


def test_shared_system_prompt_is_prefilled_once_with_identical_output(tiny_engine):
    prompts = [conv("写一句保温杯的文案"), conv("别的"), conv("一段更长一些的输入，用来产生中间的填充位置")]
    tiny_engine.reuse_prefix = False
    alone = [tiny_engine.generate([p], GREEDY)[0].text for p in prompts]
    alone_scores = [tiny_engine.score_labels([p], ["正面", "负面"])[0] for p in prompts]
    tiny_engine.reuse_prefix = True
    tiny_engine._prefix_caches.clear()
    # Different requests, one system prompt: its KV is computed once and shared by the batch.
    batched = [g.text for g in tiny_engine.generate(prompts, GREEDY)]
    assert len(tiny_engine._prefix_caches) == 1
    assert batched == alone
    variants = tiny_engine.generate([prompts[0], prompts[0]], GREEDY)  # n variants of one request
    assert variants[0].text == variants[1].text == alone[0]
    scores = tiny_engine.score_labels(prompts, ["正面", "负面"])
    for got, want in zip(scores, alone_scores):
        assert got == pytest.approx(want, abs=1e-4)
    streamed = "".join(p for _, p in tiny_engine.stream([prompts[0]], GREEDY))
    assert streamed.strip() == alone[0]
    assert len(tiny_engine._prefix_caches) == 1  # reused, not rebuilt
