import pytest

from contentgen.config import GenerationParams
from contentgen.engine.chat_prompts import IncrementalDecoder
from contentgen.engine.decoding import REPLACEMENT_CHAR
from contentgen.engine.hf_loading import pick_dtype

GREEDY = GenerationParams(max_new_tokens=16, do_sample=False, no_repeat_ngram_size=0,
                          repetition_penalty=1.0)


def conv(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "你是助手。"}, {"role": "user", "content": text}]


def test_generate_keeps_input_order_across_length_batches(any_engine, monkeypatch):
    monkeypatch.setattr(any_engine, "batch_size", 2)
    prompts = [conv("短"), conv("一段很长很长的营销文案，关于外套、物流和包装。" * 3), conv("中等长度的问题")]
    together = any_engine.generate(prompts, GREEDY)
    alone = [any_engine.generate([p], GREEDY)[0] for p in prompts]
    assert [g.text for g in together] == [g.text for g in alone]
    assert [g.prompt_tokens for g in together] == [g.prompt_tokens for g in alone]
    assert together[1].prompt_tokens > together[2].prompt_tokens > together[0].prompt_tokens
    assert all(g.completion_tokens <= 16 for g in together)


def test_stream_matches_generate(any_engine):
    prompt = conv("写一句文案")
    expected = any_engine.generate([prompt], GREEDY)[0].text
    pieces = list(any_engine.stream([prompt], GREEDY))
    assert pieces, "stream yielded nothing"
    assert "".join(p for _, p in pieces).strip() == expected


def test_stream_batch_tags_each_piece_with_its_conversation(any_engine):
    prompts = [conv("甲"), conv("乙乙乙乙乙乙")]
    texts = ["", ""]
    for index, piece in any_engine.stream(prompts, GREEDY):
        texts[index] += piece
    expected = any_engine.generate(prompts, GREEDY)
    assert [t.strip() for t in texts] == [g.text for g in expected]


def test_closing_the_stream_early_stops_generation(any_engine):
    stream = any_engine.stream([conv("写")], GenerationParams(max_new_tokens=500, do_sample=False))
    next(stream)
    stream.close()  # must not hang: the worker thread is told to stop and joined
    assert not any_engine._lock.locked()


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
    decoder = IncrementalDecoder(tokenizer, tiny_engine.stop_token_ids)
    pieces = [decoder.push(i) for i in ids]
    assert pieces == ["", "", "好", "", "", "的"]
    assert all(REPLACEMENT_CHAR not in p for p in pieces)


def test_decoder_ignores_tokens_after_the_stop_token(tiny_engine):
    tokenizer = tiny_engine.tokenizer
    decoder = IncrementalDecoder(tokenizer, tiny_engine.stop_token_ids)
    ids = tokenizer("好评", add_special_tokens=False)["input_ids"]
    out = "".join(decoder.push(i) for i in ids)
    decoder.push(tiny_engine.stop_token_ids[0])
    assert decoder.push(ids[0]) == ""
    assert out + decoder.flush() == "好评"


def test_score_labels_is_a_distribution_and_padding_invariant(any_engine):
    labels = ["正面", "中性", "负面"]
    short, long = conv("好"), conv("物流很快，包装完好，质量很好，好评！" * 4)
    alone = any_engine.score_labels([short], labels)[0]
    batched = any_engine.score_labels([long, short], labels)[1]
    assert set(alone) == set(labels)
    assert abs(sum(alone.values()) - 1) < 1e-5
    for label in labels:
        assert abs(alone[label] - batched[label]) < 1e-4


def test_hidden_states_are_the_lm_heads_input_and_padding_invariant(any_engine, tiny_engine):
    import numpy as np

    short, long = conv("好"), conv("物流很快，包装完好，质量很好，好评！" * 4)
    alone = any_engine.hidden_states([short])
    batched = any_engine.hidden_states([long, short, long])
    assert alone.shape == (1, tiny_engine._net.config.hidden_size) and batched.shape[0] == 3
    np.testing.assert_allclose(alone[0], batched[1], atol=1e-4)
    assert not np.allclose(batched[0], batched[1], atol=1e-3)
    # Both backends read the same state: the LM head over it gives the logits the transformers engine scores.
    head = tiny_engine._net.get_output_embeddings().weight.detach().float().numpy()
    ids = tiny_engine.label_token_ids(["正面", "负面"])
    logits = alone[0] @ head[ids].T
    expected = tiny_engine.score_labels([short], ["正面", "负面"])[0]
    probs = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    np.testing.assert_allclose(probs, [expected["正面"], expected["负面"]], atol=1e-3)


def test_labels_sharing_a_first_token_are_rejected(any_engine):
    import pytest

    with pytest.raises(ValueError):
        any_engine.label_token_ids(["正面", "正面评价"])


def test_dtype_choice():
    import torch

    assert pick_dtype("auto", "cuda") == torch.bfloat16
    assert pick_dtype("fp32", "cpu") == torch.float32
    assert pick_dtype("auto", "cpu") in {torch.bfloat16, torch.float32}


def test_shared_prompt_start_is_prefilled_once_with_identical_output(tiny_engine, monkeypatch):
    # A batch job's prompts share the system prompt and the task's instruction.
    prompts = [conv("判断情感，只回答一个词。评论：保温杯很好"), conv("判断情感，只回答一个词。评论：别的"),
               conv("判断情感，只回答一个词。评论：一段更长一些的输入，用来产生中间的填充位置")]
    monkeypatch.setattr(tiny_engine, "reuse_prefix", False)
    alone = [tiny_engine.generate([p], GREEDY)[0].text for p in prompts]
    alone_scores = [tiny_engine.score_labels([p], ["正面", "负面"])[0] for p in prompts]
    monkeypatch.setattr(tiny_engine, "reuse_prefix", True)
    tiny_engine._prefix_caches.clear()
    batched = [g.text for g in tiny_engine.generate(prompts, GREEDY)]
    assert batched == alone
    [(_, shared)] = tiny_engine._prefix_caches
    assert tiny_engine.tokenizer.decode(list(shared)).endswith("只回答一个词。评论：")
    scores = tiny_engine.score_labels(prompts, ["正面", "负面"])
    for got, want in zip(scores, alone_scores):
        assert got == pytest.approx(want, abs=1e-4)
    assert len(tiny_engine._prefix_caches) == 1  # the same instruction: reused, not rebuilt
    variants = tiny_engine.generate([prompts[0], prompts[0]], GREEDY)  # n variants of one request
    assert variants[0].text == variants[1].text == alone[0]
    # One request at a time: its system turn is what the next request can reuse.
    tiny_engine._prefix_caches.clear()
    streamed = "".join(p for _, p in tiny_engine.stream([prompts[0]], GREEDY))
    assert streamed.strip() == alone[0]
    assert tiny_engine.generate([prompts[1]], GREEDY)[0].text == alone[1]
    [(_, system)] = tiny_engine._prefix_caches
    assert tiny_engine.tokenizer.decode(list(system)).endswith("你是助手。<|im_end|>\n")


class CharTokenizer:
    """One token per character, so the expected bans can be read off the strings."""

    def __init__(self, alphabet: str) -> None:
        self.alphabet = alphabet

    def ids(self, text: str) -> list[int]:
        return [self.alphabet.index(c) for c in text]

    def decode(self, ids, skip_special_tokens: bool = True) -> str:  # noqa: ANN001, ARG002
        return "".join(self.alphabet[int(i)] for i in ids)

    def batch_decode(self, rows, skip_special_tokens: bool = True) -> list[str]:  # noqa: ANN001, ARG002
        return [self.decode(row) for row in rows]

    @property
    def vocab_size(self) -> int:
        return len(self.alphabet)

    def convert_ids_to_tokens(self, ids) -> list[str]:  # noqa: ANN001
        return [self.alphabet[int(i)] for i in ids]


def test_digit_guard_stops_a_made_up_number_but_lets_a_given_one_run():
    import torch

    from contentgen.engine.decoding import DigitRunGuard

    tokenizer = CharTokenizer("0123456789订单号是，")
    width = len(tokenizer.alphabet)

    def banned_after(prompt: str, generated: str) -> set[str]:
        guard = DigitRunGuard(tokenizer, max_run=8)
        guard(torch.tensor([tokenizer.ids(prompt)]), torch.zeros(1, width))  # the first call sees only the prompt
        scores = guard(torch.tensor([tokenizer.ids(prompt + generated)]), torch.zeros(1, width))[0]
        return {c for c, s in zip(tokenizer.alphabet, scores.tolist()) if s == float("-inf")}

    assert banned_after("订单", "订单号是20200418") == set("0123456789")  # the 9th digit of an invented number
    assert banned_after("订单", "订单号是2020041") == set()
    assert banned_after("订单号是202004181600", "订单号是20200418") == set()  # copying the given number


def test_phrase_blocker_bans_a_third_occurrence_but_not_prompt_phrases():
    import torch

    from contentgen.engine.decoding import RepeatedSpanBlocker

    tokenizer = CharTokenizer("整体造型很好，榨汁杯便携")
    width = len(tokenizer.alphabet)

    def banned_after(generated: str) -> set[str]:
        blocker = RepeatedSpanBlocker(tokenizer, max_repeats=2)
        prompt = tokenizer.ids("便携榨汁杯")
        blocker(torch.tensor([prompt]), torch.zeros(1, width))  # the first call sees only the prompt
        scores = blocker(torch.tensor([prompt + tokenizer.ids(generated)]), torch.zeros(1, width))[0]
        return {c for c, s in zip(tokenizer.alphabet, scores.tolist()) if s == float("-inf")}

    assert banned_after("整体造型很好，整体造型好，整体造") == {"型"}  # a third 整体造型
    assert banned_after("整体造型很好，整体造") == set()  # a second one is fine
    # The product name from the prompt may recur as often as the copy needs it.
    assert banned_after("便携榨汁杯，便携榨汁杯，便携榨汁") == set()
    # Rows of one batch are counted apart.
    blocker = RepeatedSpanBlocker(tokenizer, max_repeats=2)
    prompts = torch.tensor([tokenizer.ids("便携榨汁杯")] * 2)
    blocker(prompts, torch.zeros(2, width))
    rows = [tokenizer.ids(t) for t in ("整体造型很好，整体造型好，整体造", "很好，很好，很好，整体造型好，整")]
    scores = blocker(torch.cat([prompts, torch.tensor(rows)], dim=1), torch.zeros(2, width))
    assert [{c for c, v in zip(tokenizer.alphabet, row.tolist()) if v == float("-inf")} for row in scores] == [{"型"}, set()]


def test_candidate_sampler_draws_from_the_stock_warpers_distribution():
    import torch
    from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    from contentgen.engine.decoding import CandidateSampler

    torch.manual_seed(0)
    scores = torch.randn(3, 500) * 3
    stock = scores.clone()
    for warper in (TemperatureLogitsWarper(0.7), TopKLogitsWarper(50), TopPLogitsWarper(0.9)):
        stock = warper(None, stock)
    want = torch.softmax(stock, dim=-1)
    sampler = CandidateSampler(temperature=0.7, top_k=50, top_p=0.9)
    tokens, probs = sampler.candidates(scores)
    assert torch.allclose(torch.zeros_like(want).scatter_(-1, tokens, probs), want, atol=1e-6)
    assert ((want > 0).sum(-1) > 1).all() and ((want > 0).sum(-1) < 50).all()  # top-p cut inside the top 50
    for _ in range(50):  # one finite logit per row, always a token the stock chain could draw
        picked = sampler(None, scores.clone())
        assert torch.isfinite(picked).sum(-1).tolist() == [1, 1, 1]
        assert (want.gather(-1, picked.argmax(-1, keepdim=True)) > 0).all()


def test_sampling_with_a_seed_repeats_and_differs_across_seeds(any_engine):
    params = GenerationParams(max_new_tokens=24, do_sample=True, temperature=1.0, top_k=50, top_p=0.95,
                              no_repeat_ngram_size=0, repetition_penalty=1.0)
    prompt = [conv("写一句文案")]
    first = any_engine.generate(prompt, GenerationParams(**{**params.as_dict(), "seed": 1}))[0].text
    again = any_engine.generate(prompt, GenerationParams(**{**params.as_dict(), "seed": 1}))[0].text
    others = {any_engine.generate(prompt, GenerationParams(**{**params.as_dict(), "seed": s}))[0].text for s in (2, 3, 4)}
    assert first == again
    assert others - {first}


def test_phrase_limit_stops_the_loops_greedy_decoding_falls_into(any_engine):
    from collections import Counter

    from contentgen.engine.decoding import countable

    def most_repeated(text: str) -> int:
        counts = Counter(s for i in range(len(text) - 3) if countable(s := text[i : i + 4]))
        return max(counts.values(), default=0)

    prompts = [conv(t) for t in ("写一段连衣裙文案", "保温杯，316不锈钢", "物流太慢了", "这款耳机音质很好")]
    loose = GenerationParams(max_new_tokens=120, do_sample=False, no_repeat_ngram_size=0, repetition_penalty=1.0)
    free = any_engine.generate(prompts, loose)
    limited = any_engine.generate(prompts, GenerationParams(**{**loose.as_dict(), "max_phrase_repeats": 2}))
    assert max(most_repeated(g.text) for g in free) >= 3  # the random model does loop without the rule
    assert all(most_repeated(g.text) <= 2 for g in limited)


def test_scoring_batches_respect_the_token_budget(tiny_engine, monkeypatch):
    monkeypatch.setattr(tiny_engine, "score_token_budget", 40)
    lengths = [3, 30, 12, 5, 50, 12, 7]
    batches = tiny_engine._token_budget_batches(lengths)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    for batch in batches:
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= 40
    assert [4] in batches  # longer than the budget: alone, not dropped


def test_scores_do_not_depend_on_how_prompts_are_grouped(tiny_engine, monkeypatch):
    labels = ["正面", "负面"]
    prompts = [conv("评论：" + "好" * n) for n in (1, 9, 3, 20, 2)]
    monkeypatch.setattr(tiny_engine, "score_token_budget", 10_000)
    together = tiny_engine.score_labels(prompts, labels)
    monkeypatch.setattr(tiny_engine, "score_token_budget", 30)
    grouped = tiny_engine.score_labels(prompts, labels)
    for a, b in zip(together, grouped):
        assert a == pytest.approx(b, abs=1e-4)
    monkeypatch.setattr(tiny_engine, "score_token_budget", 640)
