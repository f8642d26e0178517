"""Engine on transformers (+ accelerate for device placement)."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from transformers import (
    DynamicCache,
    LogitsProcessorList,
    StoppingCriteria,
    StoppingCriteriaList,
)
from transformers.generation.streamers import BaseStreamer

from contentgen.config import GenerationParams, ModelConfig
from contentgen.engine.base import Conversation, Engine, Generation
from contentgen.engine.chat_prompts import (
    ChatPrompts,
    IncrementalDecoder,
    decoded_pieces,
)
from contentgen.engine.decoding import guard_processors
from contentgen.engine.fair import FairLock, current_requester
from contentgen.engine.hf_loading import (  # noqa: F401
    contiguous_lm_head,
    load_causal_lm,
    pick_device,
    pick_dtype,
)
from contentgen.errors import UserFacingError

log = logging.getLogger(__name__)


# On a CPU the matmuls saturate the cores well before memory runs out, so batches stay modest:
# 32 copy prompts in batches of 32 gave 21.0 and 22.1 tokens/s against 18.9 and 19.8 in batches
# of 16 (2-core AMX Xeon, 1.5B + copy adapter, one probe run, alternating), and the KV cache only grows.
CPU_MAX_BATCH = 32
GPU_MAX_BATCH = 64
# Share of free memory the KV cache and activations of one batch may take.
MEMORY_SHARE = 0.5
CPU_MEMORY_BUDGET = 3 * 1024**3  # keeps the 1.5B batch worker under 8 GiB
PREFIX_CACHE_ENTRIES = 16
# Label scoring is one forward pass per batch, so a batch is sized by the tokens it computes
# (rows x longest row): on 100 test reviews, 2-core AMX Xeon, 1.5B + adapter, 512-768 tokens
# gave 6.2-6.8 reviews/s against 5.4-5.8 for batches of 16 (long reviews padded short ones).
CPU_SCORE_TOKEN_BUDGET = 640
GPU_SCORE_TOKEN_BUDGET = 16384
SCORE_MAX_ROWS = 64


def auto_batch_size(model, device: str, tokens_per_sequence: int = 640) -> int:  # noqa: ANN001
    """The largest batch whose KV cache and prefill activations fit the memory budget."""
    config = model.config
    dtype_bytes = torch.finfo(model.dtype).bits // 8
    heads = config.num_attention_heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // heads
    kv_cache = 2 * config.num_hidden_layers * kv_heads * head_dim * dtype_bytes * tokens_per_sequence
    activations = tokens_per_sequence * (config.intermediate_size + 4 * config.hidden_size) * dtype_bytes * 2
    if device.startswith("cuda"):
        free, cap = torch.cuda.mem_get_info()[0] * MEMORY_SHARE, GPU_MAX_BATCH
    else:
        import psutil

        free = min(psutil.virtual_memory().available * MEMORY_SHARE, CPU_MEMORY_BUDGET)
        cap = CPU_MAX_BATCH
    return max(1, min(cap, int(free // (kv_cache + activations))))


class _EmittingStreamer(BaseStreamer):
    """Hands each row's generated token to emit(row, token) as generate() produces it."""

    def __init__(self, emit) -> None:  # noqa: ANN001
        self.emit = emit
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate() first hands over the prompt
            self._prompt_seen = True
            return
        for index, token in enumerate(value.reshape(-1).tolist()):
            self.emit(index, token)

    def end(self) -> None:
        pass


class _StopWhenSet(StoppingCriteria):
    def __init__(self, event: threading.Event) -> None:
        self.event = event

    def __call__(self, input_ids, scores, **kwargs):  # noqa: ANN001
        return torch.full((input_ids.shape[0],), self.event.is_set(), dtype=torch.bool)


class TransformersEngine(Engine):
    def __init__(self, model, tokenizer, model_id: str, batch_size: int = 8) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.batch_size = batch_size
        # One model, many callers (Streamlit sessions, batch jobs): one forward at a time,
        # taken in turns by requester.
        self._lock = FairLock()
        contiguous_lm_head(self._net)
        self.tokenizer.padding_side = "left"
        self.prompts = ChatPrompts(tokenizer)
        self.stop_token_ids = self.prompts.stop_token_ids
        self.adapters: dict[str, str] = {}
        # (adapter, shared prompt-start token ids) -> KV cache: the system prompt (about half of
        # a copy prompt) and a batch's common instruction are prefilled once, not per request.
        self._prefix_caches: dict[tuple[str | None, tuple[int, ...]], DynamicCache] = {}
        self.reuse_prefix = True
        self.score_token_budget = GPU_SCORE_TOKEN_BUDGET if model.device.type == "cuda" else CPU_SCORE_TOKEN_BUDGET

    @classmethod
    def from_config(cls, config: ModelConfig) -> "TransformersEngine":
        loaded = load_causal_lm(config)
        loaded.model.eval()
        batch_size = config.batch_size or auto_batch_size(loaded.model, loaded.device)
        log.info("batch size %d", batch_size)
        engine = cls(loaded.model, loaded.tokenizer, loaded.model_id, batch_size=batch_size)
        engine.warm_up()
        return engine

    def warm_up(self) -> None:
        """The first forward pass initialises kernels (seconds on CPU); pay it at load,
        not on a user's first request."""
        if self.tokenizer.chat_template:
            self.generate([[{"role": "user", "content": "你好"}]],
                          GenerationParams(max_new_tokens=1, do_sample=False))

    # ---------------------------------------------------------------- adapters
    def load_adapter(self, name: str, path: str | Path) -> None:
        """Add a LoRA adapter next to the others on the one base model (no reload)."""
        from peft import PeftModel

        if not (Path(path) / "adapter_config.json").exists():
            raise UserFacingError(f"“{path}”不是 LoRA 适配器目录（缺少 adapter_config.json）。")
        with self._lock.hold():
            if isinstance(self.model, PeftModel):
                if name in self.model.peft_config:
                    self.model.delete_adapter(name)
                self.model.load_adapter(str(path), adapter_name=name)
            else:
                self.model = PeftModel.from_pretrained(self.model, str(path), adapter_name=name)
            self.model.eval()
            self.adapters[name] = str(path)
            self._prefix_caches.clear()

    @contextmanager
    def _using(self, adapter: str | None, requester: str | None = None):
        """Hold the model for one call, with the requested adapter active (None: the base)."""
        with self._lock.hold(requester), torch.inference_mode():
            if not self.adapters:
                if adapter is not None:
                    raise UserFacingError(f"适配器“{adapter}”未加载。")
                yield
                return
            if adapter is None:
                with self.model.disable_adapter():
                    yield
                return
            if adapter not in self.adapters:
                raise UserFacingError(f"适配器“{adapter}”未加载，可用：{'、'.join(self.adapters) or '无'}。")
            self.model.set_adapter(adapter)
            yield

    # ---------------------------------------------------------------- helpers
    @property
    def _net(self):  # noqa: ANN202
        """The transformers model to call. With adapters loaded, the LoRA layers sit inside it
        and _using() switches them; going through the PeftModel wrapper instead cost 2x the
        time and 7 GB more memory per batch of 16 copy prompts (full-vocabulary logits for
        every prompt position), measured here."""
        from peft import PeftModel

        return self.model.get_base_model() if isinstance(self.model, PeftModel) else self.model

    def render(self, conversation: Conversation) -> str:
        return self.prompts.render(conversation)

    def encode(self, conversation: Conversation) -> list[int]:
        return self.prompts.encode(conversation)

    def _encode_all(self, conversations: Sequence[Conversation]) -> list[list[int]]:
        return [self.encode(c) for c in conversations]

    def _shared_prefix_size(self, encoded: list[list[int]], conversations: Sequence[Conversation]) -> int:
        return self.prompts.shared_prefix_size(encoded, conversations) if self.reuse_prefix else 0

    def clear_prompt_cache(self) -> None:
        """Drop every cached prompt start (benchmarks measure the cold case with it)."""
        with self._lock.hold():
            self._prefix_caches.clear()

    def _prefix_cache(self, prefix_ids: list[int], adapter: str | None) -> DynamicCache:
        """KV cache of a shared prompt start, computed once per adapter. Call with the model held."""
        key = (adapter, tuple(prefix_ids))
        if key not in self._prefix_caches:
            ids = torch.tensor([prefix_ids], device=self.model.device)
            cache = self._net(input_ids=ids, past_key_values=DynamicCache(config=self.model.config),
                              use_cache=True).past_key_values
            if len(self._prefix_caches) >= PREFIX_CACHE_ENTRIES:
                self._prefix_caches.pop(next(iter(self._prefix_caches)))
            self._prefix_caches[key] = cache
        return self._prefix_caches[key]

    def _inputs(self, rows: list[list[int]], prefix_size: int, adapter: str | None):
        """(input tensors, extra model kwargs) for token rows that share their first prefix_size
        tokens. The shared start's cached KV is reused: the rows are [prefix][left padding][rest],
        the mask hides the padding and positions count real tokens, so every row computes as it
        would alone. Call with the model held."""
        prefix_ids = rows[0][:prefix_size]
        rests = [ids[prefix_size:] for ids in rows]
        width = max(map(len, rests))
        pad = self.tokenizer.pad_token_id
        device = self.model.device
        batch = {"input_ids": torch.tensor([prefix_ids + [pad] * (width - len(r)) + r for r in rests], device=device),
                 "attention_mask": torch.tensor([[1] * prefix_size + [0] * (width - len(r)) + [1] * len(r)
                                                 for r in rests], device=device)}
        if not prefix_size:
            return batch, {}
        cache = copy.deepcopy(self._prefix_cache(prefix_ids, adapter))  # the model extends the cache in place
        if len(rows) > 1:
            cache.batch_repeat_interleave(len(rows))
        return batch, {"past_key_values": cache}

    def _generate_kwargs(self, params: GenerationParams) -> dict:
        processors = guard_processors(params, self.tokenizer)
        kwargs = dict(
            max_new_tokens=params.max_new_tokens,
            repetition_penalty=params.repetition_penalty,
            no_repeat_ngram_size=params.no_repeat_ngram_size or None,
            do_sample=False,
            # Explicit neutral values so a model's own generation_config does not re-enable sampling knobs.
            temperature=None, top_p=None, top_k=None,
            eos_token_id=self.stop_token_ids,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        if processors:
            kwargs["logits_processor"] = LogitsProcessorList(processors)
        return kwargs

    def _length_batches(self, lengths: list[int]) -> list[list[int]]:
        """Indices grouped by similar length so padding stays small."""
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        return [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]

    def _token_budget_batches(self, lengths: list[int]) -> list[list[int]]:
        """Indices grouped by length, each group at most score_token_budget padded tokens."""
        batches: list[list[int]] = []
        for index in sorted(range(len(lengths)), key=lambda i: lengths[i]):
            # Ascending order: this row is the longest of the group it joins.
            if (not batches or len(batches[-1]) >= SCORE_MAX_ROWS
                    or (len(batches[-1]) + 1) * lengths[index] > self.score_token_budget):
                batches.append([])
            batches[-1].append(index)
        return batches

    # ---------------------------------------------------------------- interface
    def generate(
        self, conversations: Sequence[Conversation], params: GenerationParams,
        adapter: str | None = None,
    ) -> list[Generation]:
        encoded = self._encode_all(conversations)
        lengths = [len(ids) for ids in encoded]
        prefix_size = self._shared_prefix_size(encoded, conversations)
        results: list[Generation | None] = [None] * len(encoded)
        for indices in self._length_batches(lengths):
            kwargs = self._generate_kwargs(params)  # fresh per call: the phrase blocker holds the prompt length
            with self._using(adapter):
                if params.seed is not None:
                    torch.manual_seed(params.seed)
                batch, cached = self._inputs([encoded[i] for i in indices], prefix_size, adapter)
                output = self._net.generate(**batch, **kwargs, **cached)
            new_tokens = output[:, batch["input_ids"].shape[1] :]
            for row, index in enumerate(indices):
                ids, text, finish = self.prompts.answer_text(new_tokens[row].tolist())
                results[index] = Generation(text, lengths[index], len(ids), finish)
        return [r for r in results if r is not None]

    def stream(
        self, conversations: Sequence[Conversation], params: GenerationParams,
        adapter: str | None = None, finish_reasons: list[str] | None = None,
    ) -> Iterator[tuple[int, str]]:
        encoded = self._encode_all(conversations)
        prefix_size = self._shared_prefix_size(encoded, conversations)
        requester = current_requester.get()  # the worker thread below does not inherit context

        def produce(emit, stop: threading.Event) -> None:  # noqa: ANN001
            with self._using(adapter, requester):
                if params.seed is not None:
                    torch.manual_seed(params.seed)
                batch, cached = self._inputs(encoded, prefix_size, adapter)
                self._net.generate(**batch, **self._generate_kwargs(params), **cached,
                                   streamer=_EmittingStreamer(emit),
                                   stopping_criteria=StoppingCriteriaList([_StopWhenSet(stop)]))

        # After a row's stop token generate() pads it; the decoder ignores what follows the stop.
        yield from decoded_pieces(produce, [IncrementalDecoder(self.tokenizer, self.stop_token_ids)
                                            for _ in conversations], finish_reasons)

    def label_token_ids(self, labels: Sequence[str]) -> list[int]:
        return self.prompts.label_token_ids(labels)

    def _last_position(self, conversations: Sequence[Conversation], adapter: str | None,
                       hidden: bool = False) -> Iterator[tuple[list[int], torch.Tensor]]:
        """(conversation indices, their logits at the prompt's last token, or with `hidden` the last
        hidden state there, after the final norm: what the LM head reads), one batch at a time."""
        encoded = self._encode_all(conversations)
        prefix_size = self._shared_prefix_size(encoded, conversations)
        for indices in self._token_budget_batches([len(ids) - prefix_size for ids in encoded]):
            with self._using(adapter):
                batch, cached = self._inputs([encoded[i] for i in indices], prefix_size, adapter)
                # Left padding puts every prompt's last token at the last position.
                # Positions count real tokens only, so a padded prompt scores as it would alone.
                positions = (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
                if prefix_size:  # the shared prompt start's KV is cached: feed only the rest
                    batch = {"input_ids": batch["input_ids"][:, prefix_size:], "attention_mask": batch["attention_mask"]}
                    positions = positions[:, prefix_size:]
                output = self._net(**batch, **cached, position_ids=positions, logits_to_keep=1,
                                   output_hidden_states=hidden)
                last = output.hidden_states[-1][:, -1, :] if hidden else output.logits[:, -1, :]
            yield indices, last

    def score_labels(
        self, conversations: Sequence[Conversation], labels: Sequence[str],
        adapter: str | None = None,
    ) -> list[dict[str, float]]:
        label_ids = torch.tensor(self.label_token_ids(labels))
        results: list[dict[str, float]] = [{}] * len(conversations)
        for indices, logits in self._last_position(conversations, adapter):
            probs = torch.softmax(logits[:, label_ids.to(logits.device)].float(), dim=-1)
            for row, index in enumerate(indices):
                results[index] = {label: float(p) for label, p in zip(labels, probs[row].tolist())}
        return results

    def hidden_states(self, conversations: Sequence[Conversation], adapter: str | None = None) -> np.ndarray:
        results: list[np.ndarray] = [np.empty(0)] * len(conversations)
        for indices, states in self._last_position(conversations, adapter, hidden=True):
            for row, index in enumerate(indices):
                results[index] = states[row].float().numpy()
        return np.stack(results).astype(np.float32)
