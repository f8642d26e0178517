"""Engine on llama.cpp (llama-cpp-python's low-level API), on the quantized GGUF itself.

Decoding one token reads every weight once, so on a CPU speed is memory bandwidth divided by
the bytes of weights: the Q4_K_M file is a third of the bf16 copy the transformers engine reads.

What it shares with the transformers engine, so that users see the same behaviour:
- prompts are tokenized and answers decoded by the model's Hugging Face tokenizer
  (`ChatPrompts`): the same ids go in, control tokens typed by users stay text;
- the next token is chosen by the same transformers logits processors (repetition penalty,
  n-gram and phrase limits, `CandidateSampler`), one row at a time, on llama.cpp's logits.

Memory layout: one context, one KV stream per sequence (not llama.cpp's unified cache: there
every token attends over every sequence's cells, masked, and 16 rows decoded at 41 instead of
67 tokens/s on the 2-core EPYC). Sequences 0..batch_size-1 are working rows; the ones after
them hold prompt starts (system prompt, a platform's instructions, a batch's shared
instruction, the last prompts) prefilled once per adapter. A row starts from the cached start
that shares most of its tokens: the stream is copied whole (`seq_cp`, tens of MB, far cheaper
than prefilling) and trimmed to the shared part.
"""

from __future__ import annotations

import ctypes
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from transformers import (
    LogitsProcessorList,
    NoRepeatNGramLogitsProcessor,
    RepetitionPenaltyLogitsProcessor,
)

from contentgen.config import GenerationParams, ModelConfig
from contentgen.engine.base import Conversation, Engine, Generation
from contentgen.engine.chat_prompts import (
    MIN_SHARED_PREFIX,
    ChatPrompts,
    IncrementalDecoder,
    decoded_pieces,
)
from contentgen.engine.decoding import guard_processors
from contentgen.engine.fair import FairLock, current_requester
from contentgen.engine.gguf_lora import cached_gguf_lora
from contentgen.errors import UserFacingError
from contentgen.models import gguf_and_tokenizer

log = logging.getLogger(__name__)

# Working rows per decode. 16 rows of copy on the 2-core EPYC: see docs/BENCHMARKS.md.
DEFAULT_BATCH = 16
# Tokens one sequence holds (prompt + answer): KV of 28 kB a token on the 1.5B, 1.1 GB in all.
CONTEXT_PER_ROW = 2048
PREFIX_SLOTS = 4          # cached prompt starts (per adapter), least recently used goes first
TOKENS_PER_DECODE = 512   # llama.cpp's logical batch: prefill is cut into pieces this long


@dataclass
class _Row:
    """One conversation being answered in working sequence `seq`."""

    seq: int
    prompt: list[int]
    processors: LogitsProcessorList | None = None
    generated: list[int] = field(default_factory=list)
    logits: np.ndarray | None = None
    features: np.ndarray | None = None  # the last hidden state after the prompt (hidden_states)
    finished: bool = False


def _llama():  # noqa: ANN202
    try:
        import llama_cpp
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise UserFacingError("未安装 llama-cpp-python，无法使用 llama.cpp 引擎。请运行 `make install`，"
                              "或设置 CONTENTGEN_BACKEND=transformers。") from exc
    return llama_cpp


class LlamaCppEngine(Engine):
    def __init__(self, gguf_path: Path, tokenizer, model_id: str, *, batch_size: int = DEFAULT_BATCH,  # noqa: ANN001
                 threads: int | None = None, cache_dir: Path | None = None) -> None:
        lib = self._lib = _llama()
        self.gguf_path = Path(gguf_path)
        self.model_id = model_id
        self.batch_size = batch_size
        self._row_capacity = batch_size  # working sequences; prompt starts live in the ones after
        self.cache_dir = Path(cache_dir) if cache_dir else self.gguf_path.parent
        self.tokenizer = tokenizer
        self.prompts = ChatPrompts(tokenizer)
        self.stop_token_ids = self.prompts.stop_token_ids
        self.reuse_prefix = True
        self.adapters: dict[str, str] = {}
        self._adapter_handles: dict[str, object] = {}
        self._active_adapter: str | None = None
        self._lock = FairLock()

        lib.llama_backend_init()
        lib.llama_log_set(_quiet_log(), ctypes.c_void_p())
        model_params = lib.llama_model_default_params()
        model_params.n_gpu_layers = 0
        self._model = lib.llama_model_load_from_file(str(self.gguf_path).encode(), model_params)
        if not self._model:
            raise UserFacingError(f"llama.cpp 无法加载模型文件“{self.gguf_path.name}”，请确认它是完整的 GGUF 文件。")
        self.n_vocab = lib.llama_vocab_n_tokens(lib.llama_model_get_vocab(self._model))
        name = ctypes.create_string_buffer(64)
        lib.llama_model_meta_val_str(self._model, b"general.architecture", name, len(name))
        self.architecture = name.value.decode()
        if self.n_vocab < len(tokenizer):
            raise UserFacingError("GGUF 模型的词表与分词器不一致，请确认两者来自同一个模型。")
        threads = threads or os.cpu_count() or 2
        params = lib.llama_context_default_params()
        params.n_ctx = (batch_size + PREFIX_SLOTS) * CONTEXT_PER_ROW
        params.n_batch = params.n_ubatch = TOKENS_PER_DECODE
        params.n_seq_max = batch_size + PREFIX_SLOTS
        params.n_threads = params.n_threads_batch = threads
        params.kv_unified = False
        params.no_perf = True
        self._ctx = lib.llama_init_from_model(self._model, params)
        if not self._ctx:
            raise UserFacingError("llama.cpp 无法创建推理上下文（内存不足？），请减小 CONTENTGEN_BATCH_SIZE。")
        self._memory = lib.llama_get_memory(self._ctx)
        self._batch = lib.llama_batch_init(max(TOKENS_PER_DECODE, batch_size), 0, 1)
        # (adapter, prompt-start ids) -> sequence holding their KV
        self._prefix_slots: OrderedDict[tuple[str | None, tuple[int, ...]], int] = OrderedDict()

    @classmethod
    def from_config(cls, config: ModelConfig) -> "LlamaCppEngine":
        gguf_path, tokenizer, model_id = gguf_and_tokenizer(config)
        engine = cls(gguf_path, tokenizer, model_id, batch_size=config.batch_size or DEFAULT_BATCH,
                     threads=config.threads, cache_dir=Path(config.cache_dir))
        log.info("llama.cpp engine on %s, %d rows per decode", gguf_path.name, engine.batch_size)
        engine.warm_up()
        return engine

    def warm_up(self) -> None:
        """The first decode allocates llama.cpp's compute graph (~0.45 s here); pay it at load,
        not on a user's first request."""
        if self.tokenizer.chat_template:
            self.generate([[{"role": "user", "content": "你好"}]], GenerationParams(max_new_tokens=1, do_sample=False))

    def close(self) -> None:
        lib = self._lib
        if getattr(self, "_ctx", None):
            lib.llama_batch_free(self._batch)
            lib.llama_free(self._ctx)
            self._ctx = None
        for handle in self._adapter_handles.values():
            lib.llama_adapter_lora_free(handle)
        self._adapter_handles.clear()
        if getattr(self, "_model", None):
            lib.llama_model_free(self._model)
            self._model = None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass

    # ---------------------------------------------------------------- adapters
    def load_adapter(self, name: str, path: str | Path) -> None:
        """Convert a PEFT adapter to GGUF LoRA once (cached by content) and make it selectable."""

        path = Path(path)
        if not (path / "adapter_config.json").exists():
            raise UserFacingError(f"“{path}”不是 LoRA 适配器目录（缺少 adapter_config.json）。")
        converted = cached_gguf_lora(path, self.cache_dir, self.architecture)
        with self._lock.hold():
            handle = self._lib.llama_adapter_lora_init(self._model, str(converted).encode())
            if not handle:
                raise UserFacingError(f"适配器“{name}”与当前模型不匹配（llama.cpp 拒绝加载），请用当前模型重新训练。")
            if name in self._adapter_handles:
                self._select(None)
                self._lib.llama_adapter_lora_free(self._adapter_handles[name])
            self._adapter_handles[name] = handle
            self.adapters[name] = str(path)
            self._forget_prefixes(adapter=name)

    def _select(self, adapter: str | None) -> None:
        """Make `adapter` (None: the base model) the one the context applies. Call with the lock held."""
        if adapter is not None and adapter not in self.adapters:
            loaded = "、".join(self.adapters) or "无"
            raise UserFacingError(f"适配器“{adapter}”未加载，可用：{loaded}。")
        if adapter == self._active_adapter:
            return
        if adapter is None:
            status = self._lib.llama_set_adapters_lora(self._ctx, None, 0, None)
        else:
            handles = (self._lib.llama_adapter_lora_p_ctypes * 1)(self._adapter_handles[adapter])
            scales = (ctypes.c_float * 1)(1.0)
            status = self._lib.llama_set_adapters_lora(self._ctx, handles, 1, scales)
        if status != 0:
            raise UserFacingError(f"无法启用适配器“{adapter}”（llama.cpp 返回 {status}）。")
        self._active_adapter = adapter

    def encode(self, conversation: Conversation) -> list[int]:
        return self.prompts.encode(conversation)

    def label_token_ids(self, labels: Sequence[str]) -> list[int]:
        return self.prompts.label_token_ids(labels)

    # ---------------------------------------------------------------- KV cache
    def clear_prompt_cache(self) -> None:
        """Drop every cached prompt start (benchmarks measure the cold case with it)."""
        with self._lock.hold():
            for key in list(self._prefix_slots):
                self._lib.llama_memory_seq_rm(self._memory, self._prefix_slots.pop(key), -1, -1)

    def _forget_prefixes(self, adapter: str | None) -> None:
        for key in [k for k in self._prefix_slots if k[0] == adapter]:
            self._lib.llama_memory_seq_rm(self._memory, self._prefix_slots.pop(key), -1, -1)

    def _decode(self, entries: list[tuple[int, int, int, bool]], features: bool = False) -> list[np.ndarray | None]:
        """Run (token, position, sequence, wants logits) entries through the model, in pieces of
        TOKENS_PER_DECODE; return the logits of each entry that asked for them, else None
        (`features`: the last hidden state, after the final norm, instead of the logits)."""
        lib, batch = self._lib, self._batch
        read, width = ((lib.llama_get_embeddings_ith, lib.llama_model_n_embd(self._model)) if features
                       else (lib.llama_get_logits_ith, self.n_vocab))
        out: list[np.ndarray | None] = [None] * len(entries)
        for start in range(0, len(entries), TOKENS_PER_DECODE):
            piece = entries[start : start + TOKENS_PER_DECODE]
            for i, (token, position, seq, wants) in enumerate(piece):
                batch.token[i] = token
                batch.pos[i] = position
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = seq
                batch.logits[i] = wants
            batch.n_tokens = len(piece)
            status = lib.llama_decode(self._ctx, batch)
            if status != 0:
                self._lib.llama_memory_clear(self._memory, True)
                self._prefix_slots.clear()
                if status == 1:
                    raise UserFacingError("输入太长，超出了模型一次能处理的长度。请缩短内容，或减少一次生成的条数。")
                raise RuntimeError(f"llama_decode failed with status {status}")
            for i, (_token, _position, _seq, wants) in enumerate(piece):
                if wants:
                    pointer = read(self._ctx, i)
                    out[start + i] = np.ctypeslib.as_array(pointer, shape=(width,)).copy()
        return out

    def _best_cached(self, tokens: list[int], adapter: str | None) -> tuple[int, int]:
        """(sequence, length) of the cached prompt start sharing the most leading tokens with `tokens`."""
        best, length = -1, 0
        for (owner, key), seq in self._prefix_slots.items():
            if owner != adapter:
                continue
            common = 0
            for a, b in zip(key, tokens):
                if a != b:
                    break
                common += 1
            if common > length:
                best, length = seq, common
        return (best, length) if length >= MIN_SHARED_PREFIX else (-1, 0)

    def _copy(self, source: int, target: int, length: int) -> None:
        """Give sequence `target` the KV of positions 0..length-1 of `source` (its own stream:
        the copy is whole, then trimmed)."""
        self._lib.llama_memory_seq_rm(self._memory, target, -1, -1)
        self._lib.llama_memory_seq_cp(self._memory, source, target, -1, -1)
        self._lib.llama_memory_seq_rm(self._memory, target, length, -1)

    def _free_slot(self, keep: int = -1) -> int | None:
        """A prompt-start sequence to (re)use, evicting the least recently used one (never `keep`)."""
        used = set(self._prefix_slots.values())
        free = [s for s in range(self._row_capacity, self._row_capacity + PREFIX_SLOTS) if s not in used]
        if free:
            return free[0]
        victim = next((k for k, seq in self._prefix_slots.items() if seq != keep), None)
        if victim is None:
            return None
        slot = self._prefix_slots.pop(victim)
        self._lib.llama_memory_seq_rm(self._memory, slot, -1, -1)
        return slot

    def _remember(self, source: int, tokens: list[int], adapter: str | None) -> None:
        """Keep the KV of `tokens` (positions 0..len-1 of sequence `source`) as a cached prompt start."""
        key = (adapter, tuple(tokens))
        if key in self._prefix_slots:
            self._prefix_slots.move_to_end(key)
            return
        slot = self._free_slot()
        if slot is not None:
            self._copy(source, slot, len(tokens))
            self._prefix_slots[key] = slot

    def _prefix_sequence(self, prefix: list[int], adapter: str | None) -> int:
        """A sequence holding this prompt start's KV for this adapter: cached, or extended from the
        longest cached start and prefilled; -1 if it cannot be cached."""
        key = (adapter, tuple(prefix))
        if key in self._prefix_slots:
            self._prefix_slots.move_to_end(key)
            return self._prefix_slots[key]
        source, reused = self._best_cached(prefix, adapter)
        slot = self._free_slot(keep=source)
        if slot is None:
            return -1
        if reused:
            self._copy(source, slot, reused)
        self._decode([(token, position, slot, False) for position, token in enumerate(prefix) if position >= reused])
        self._prefix_slots[key] = slot
        return slot

    def _start_rows(self, prompts: list[list[int]], prefix_size: int, adapter: str | None,
                    features: bool = False) -> list[_Row]:
        """Working rows for these prompts with their logits after the prompt. Call with the lock held.

        Several rows: their shared start (prefix_size tokens) is prefilled once into a cached
        sequence and copied to each row. One row: it starts from the cached prompt that shares
        most of its tokens (the system turn, the platform's instructions, an earlier turn of the
        same chat), and its own prompt is kept for the next request."""
        longest = max(map(len, prompts))
        if longest >= CONTEXT_PER_ROW:
            raise UserFacingError(f"输入太长（约 {longest} 个词元，上限 {CONTEXT_PER_ROW - 1}），"
                                  "超出了模型一次能处理的长度。请缩短内容或对话历史。")
        self._select(adapter)
        rows = [_Row(seq=i, prompt=ids) for i, ids in enumerate(prompts)]
        self._release(rows)  # whatever an interrupted call left there
        start, source = 0, -1
        if len(rows) > 1 and prefix_size:
            source = self._prefix_sequence(prompts[0][:prefix_size], adapter)
            start = prefix_size if source >= 0 else 0
        elif len(rows) == 1 and self.reuse_prefix:
            source, start = self._best_cached(prompts[0][:-1], adapter)
        if start:
            for row in rows:
                self._copy(source, row.seq, start)
        entries = [(token, position, row.seq, position == len(row.prompt) - 1)
                   for row in rows for position, token in enumerate(row.prompt) if position >= start]
        if features:
            # With embeddings on, llama.cpp outputs every token of a decode, through the LM head too
            # (0.92x label scoring's speed): the prompts go in without them, then the last tokens alone.
            self._decode([entry for entry in entries if not entry[3]])
            self._lib.llama_set_embeddings(self._ctx, True)
            try:
                outputs = self._decode([entry for entry in entries if entry[3]], features=True)
            finally:
                self._lib.llama_set_embeddings(self._ctx, False)
        else:
            outputs = [values for values in self._decode(entries) if values is not None]
        for row, values in zip(rows, outputs):
            if features:
                row.features = values
            else:
                row.logits = values
        if len(rows) == 1 and self.reuse_prefix and len(prompts[0]) > MIN_SHARED_PREFIX:
            self._remember(rows[0].seq, prompts[0][:-1], adapter)
        return rows

    def _encoded(self, conversations: Sequence[Conversation]) -> tuple[list[list[int]], int]:
        """Prompt ids and the start they all share. One prompt: 0, since `_start_rows` finds its
        cached start itself."""
        encoded = [self.prompts.encode(c) for c in conversations]
        shared = len(encoded) > 1 and self.reuse_prefix
        return encoded, self.prompts.shared_prefix_size(encoded, conversations) if shared else 0

    def _release(self, rows: list[_Row]) -> None:
        for row in rows:
            self._lib.llama_memory_seq_rm(self._memory, row.seq, -1, -1)

    def _groups(self, encoded: list[list[int]]) -> list[list[int]]:
        """Indices grouped by similar length, batch_size at a time."""
        size = max(1, min(self.batch_size, self._row_capacity))
        order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
        return [order[i : i + size] for i in range(0, len(order), size)]

    # ---------------------------------------------------------------- decoding
    def _processors(self, params: GenerationParams) -> LogitsProcessorList:
        """The processors transformers' generate() would build for these settings, in its order."""
        processors = LogitsProcessorList()
        if params.repetition_penalty and params.repetition_penalty != 1.0:
            processors.append(RepetitionPenaltyLogitsProcessor(params.repetition_penalty))
        if params.no_repeat_ngram_size:
            processors.append(NoRepeatNGramLogitsProcessor(params.no_repeat_ngram_size))
        processors.extend(guard_processors(params, self.tokenizer))
        return processors

    def _next_token(self, row: _Row) -> int:
        scores = torch.from_numpy(row.logits).unsqueeze(0)
        if row.processors:
            ids = torch.tensor([row.prompt + row.generated])
            scores = row.processors(ids, scores)
        return int(scores[0, : len(self.tokenizer)].argmax())

    def _run(self, prompts: list[list[int]], prefix_size: int, params: GenerationParams, adapter: str | None,
             on_token, stop: threading.Event | None = None) -> list[_Row]:  # noqa: ANN001
        """Decode one group to the end; on_token(row index, token) sees every token. Lock held."""
        if params.seed is not None:
            torch.manual_seed(params.seed)
        rows = self._start_rows(prompts, prefix_size, adapter)
        for row in rows:
            row.processors = self._processors(params)
        for step in range(params.max_new_tokens):
            if stop is not None and stop.is_set():
                break
            entries, stepped = [], []
            for index, row in enumerate(rows):
                if row.finished:
                    continue
                token = self._next_token(row)
                row.generated.append(token)
                on_token(index, token)
                # A row's stream is full: it ends there, as if max_new_tokens were reached.
                if token in self.stop_token_ids or len(row.prompt) + len(row.generated) >= CONTEXT_PER_ROW:
                    row.finished = True
                else:
                    entries.append((token, len(row.prompt) + len(row.generated) - 1, row.seq, True))
                    stepped.append(row)
            if not entries or step == params.max_new_tokens - 1:
                break
            for row, values in zip(stepped, self._decode(entries)):
                row.logits = values
        self._release(rows)
        return rows

    # ---------------------------------------------------------------- interface
    def generate(
        self, conversations: Sequence[Conversation], params: GenerationParams,
        adapter: str | None = None,
    ) -> list[Generation]:
        encoded, prefix_size = self._encoded(conversations)
        results: list[Generation | None] = [None] * len(encoded)
        for indices in self._groups(encoded):
            with self._lock.hold():
                rows = self._run([encoded[i] for i in indices], prefix_size, params, adapter, lambda _i, _t: None)
            for index, row in zip(indices, rows):
                ids, text, finish = self.prompts.answer_text(row.generated)
                results[index] = Generation(text, len(row.prompt), len(ids), finish)
        return [r for r in results if r is not None]

    def stream(
        self, conversations: Sequence[Conversation], params: GenerationParams,
        adapter: str | None = None, finish_reasons: list[str] | None = None,
    ) -> Iterator[tuple[int, str]]:
        encoded, prefix_size = self._encoded(conversations)
        if len(encoded) > self._row_capacity:  # the contract: stream is one batch
            raise UserFacingError(f"一次最多流式生成 {self._row_capacity} 条，请减少条数。")
        requester = current_requester.get()  # the worker thread below does not inherit context

        def produce(emit, stop: threading.Event) -> None:  # noqa: ANN001
            with self._lock.hold(requester):
                self._run(encoded, prefix_size, params, adapter, emit, stop)

        yield from decoded_pieces(produce, [IncrementalDecoder(self.tokenizer, self.stop_token_ids) for _ in encoded],
                                  finish_reasons)

    def _last_outputs(self, conversations: Sequence[Conversation], adapter: str | None,
                      features: bool = False) -> Iterator[tuple[int, np.ndarray]]:
        """(conversation index, the logits after its prompt, or with `features` the last hidden state
        there), one length group at a time: callers keep what they need, not a vocabulary per text."""
        encoded, prefix_size = self._encoded(conversations)
        for indices in self._groups(encoded):
            with self._lock.hold():
                rows = self._start_rows([encoded[i] for i in indices], prefix_size, adapter, features=features)
                self._release(rows)
            yield from zip(indices, (row.features if features else row.logits for row in rows))

    def score_labels(
        self, conversations: Sequence[Conversation], labels: Sequence[str],
        adapter: str | None = None,
    ) -> list[dict[str, float]]:
        label_ids = self.prompts.label_token_ids(labels)
        results: list[dict[str, float]] = [{}] * len(conversations)
        for index, logits in self._last_outputs(conversations, adapter):
            results[index] = dict(zip(labels, torch.softmax(torch.from_numpy(logits[label_ids]).float(), dim=-1).tolist()))
        return results

    def hidden_states(self, conversations: Sequence[Conversation], adapter: str | None = None) -> np.ndarray:
        results: list[np.ndarray] = [np.empty(0)] * len(conversations)
        for index, state in self._last_outputs(conversations, adapter, features=True):
            results[index] = state
        return np.stack(results).astype(np.float32)

_LOG_CALLBACK = None


def _quiet_log():  # noqa: ANN202
    """llama.cpp prints every tensor it loads; pass on warnings and errors only (GGML_LOG_LEVEL_WARN = 3).
    The callback object is kept alive here: llama.cpp holds only its address."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is None:
        def forward(level: int, text: bytes, _user_data) -> None:  # noqa: ANN001
            # LoRA weights stay in plain CPU buffers (the base's repacked layout cannot hold them): expected.
            # The Qwen vocabulary's "</s>" is typed as text; llama.cpp says so at every load.
            if level in (3, 4) and text and b"fallback to CPU" not in text and b"control-looking" not in text:
                log.warning("llama.cpp: %s", text.decode(errors="replace").rstrip())

        _LOG_CALLBACK = _llama().llama_log_callback(forward)
    return _LOG_CALLBACK
