"""Engine on any OpenAI-compatible server (vLLM, llama.cpp server, SGLang).

LoRA adapters are served by the server under their own model names (vLLM:
`--enable-lora --lora-modules copy=/path/to/adapter`), so `adapter="copy"` sends
`"model": "copy"` and `adapter=None` sends the base model's name.
"""

from __future__ import annotations

import json
import math
import queue
import re
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from contentgen.config import GenerationParams, ModelConfig
from contentgen.engine.base import Conversation, Engine, Generation
from contentgen.errors import UserFacingError

# Concurrent requests per call: the server batches them (vLLM continuous batching).
DEFAULT_CONCURRENCY = 8
TOP_LOGPROBS = 20


# A server renders the messages with its chat template and tokenizes the result, control tokens
# included: "<|im_start|>" typed by a customer would open a turn there. A word joiner after "<"
# keeps the characters (and the model's reading of them) but no longer spells a control token.
_CONTROL_TOKEN = re.compile(r"<(?=\|)")


def as_plain_text(conversation: Conversation) -> Conversation:
    """The messages with control-token spellings broken up (what is stored is unchanged)."""
    return [{**turn, "content": _CONTROL_TOKEN.sub("<\u2060", turn["content"])} for turn in conversation]


class OpenAIEngine(Engine):
    def __init__(self, base_url: str, model: str, *, api_key: str = "", concurrency: int = DEFAULT_CONCURRENCY,
                 timeout: float = 600.0) -> None:
        self.base_url = base_url.rstrip("/")
        if not self.base_url.endswith("/v1"):
            self.base_url += "/v1"
        self.model_id = model
        self.batch_size = concurrency
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        self.adapters: dict[str, str] = {}
        served = self.served_models()
        if model not in served:
            raise UserFacingError(f"服务 {self.base_url} 上没有模型“{model}”（可用：{'、'.join(served) or '无'}）。"
                                  "请检查 CONTENTGEN_MODEL 是否与服务端的模型名一致。")
        # Every other served name is taken as an adapter of the base (vLLM --lora-modules).
        self.adapters = {name: f"{self.base_url}#{name}" for name in served if name != model}

    @classmethod
    def from_config(cls, config: ModelConfig) -> "OpenAIEngine":
        if not config.api_base:
            raise UserFacingError("使用 openai 后端时请设置 CONTENTGEN_API_BASE，例如 http://127.0.0.1:8000/v1。")
        return cls(config.api_base, config.name_or_path, api_key=config.api_key,
                   concurrency=config.batch_size or DEFAULT_CONCURRENCY)

    # ---------------------------------------------------------------- plumbing
    def _post(self, payload: dict) -> dict:
        try:
            response = self.client.post("/chat/completions", json=payload)
        except httpx.HTTPError as exc:
            raise UserFacingError(f"无法连接模型服务 {self.base_url}（{exc}）。请确认服务已启动。") from exc
        if response.status_code >= 400:
            raise UserFacingError(f"模型服务返回错误 {response.status_code}：{response.text[:300]}")
        return response.json()

    def served_models(self) -> list[str]:
        try:
            response = self.client.get("/models")
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise UserFacingError(f"无法连接模型服务 {self.base_url}（{exc}）。请确认服务已启动、地址正确。") from exc
        return [m["id"] for m in response.json().get("data", [])]

    def _model(self, adapter: str | None) -> str:
        if adapter is None:
            return self.model_id
        if adapter not in self.adapters:
            raise UserFacingError(f"模型服务上没有适配器“{adapter}”（可用：{'、'.join(self.adapters) or '无'}）。"
                                  "vLLM 请用 --enable-lora --lora-modules 名称=路径 启动。")
        return adapter

    def _payload(self, conversation: Conversation, params: GenerationParams, adapter: str | None) -> dict:
        payload = {
            "model": self._model(adapter),
            "messages": as_plain_text(conversation),
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature if params.do_sample else 0.0,
            "top_p": params.top_p if params.do_sample else 1.0,
            # Not in the OpenAI spec; vLLM reads repetition_penalty/top_k, llama.cpp repeat_penalty/top_k.
            "repetition_penalty": params.repetition_penalty,
            "repeat_penalty": params.repetition_penalty,
        }
        if params.do_sample:
            payload["top_k"] = params.top_k
        if params.seed is not None:
            payload["seed"] = params.seed
        if conversation and conversation[-1]["role"] == "assistant":
            # The answer's opening is given: vLLM continues it instead of starting a new turn.
            payload.update(continue_final_message=True, add_generation_prompt=False)
        return payload

    # ---------------------------------------------------------------- adapters
    def load_adapter(self, name: str, path: str | Path) -> None:
        """Adapters live on the server; this only checks that it serves `name`."""
        served = self.served_models()
        if name not in served:
            raise UserFacingError(f"模型服务上没有适配器“{name}”。请在服务端加载它，例如 vLLM："
                                  f"--enable-lora --lora-modules {name}={path}")
        self.adapters[name] = f"{self.base_url}#{name}"

    # ---------------------------------------------------------------- interface
    def generate(self, conversations: Sequence[Conversation], params: GenerationParams,
                 adapter: str | None = None) -> list[Generation]:
        def one(conversation: Conversation) -> Generation:
            data = self._post(self._payload(conversation, params, adapter))
            choice = data["choices"][0]
            usage = data.get("usage") or {}
            return Generation(
                text=(choice["message"].get("content") or "").strip(),
                prompt_tokens=int(usage.get("prompt_tokens") or 0),
                completion_tokens=int(usage.get("completion_tokens") or 0),
                finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            )

        with ThreadPoolExecutor(max_workers=max(1, min(self.batch_size, len(conversations)))) as pool:
            return list(pool.map(one, conversations))

    def stream(self, conversations: Sequence[Conversation], params: GenerationParams,
               adapter: str | None = None, finish_reasons: list[str] | None = None) -> Iterator[tuple[int, str]]:
        pieces: queue.Queue[tuple[int, str | None, BaseException | None]] = queue.Queue()
        stop = threading.Event()
        reasons = ["length"] * len(conversations)  # the server's own, as each stream says it

        def pump(index: int, conversation: Conversation) -> None:
            try:
                payload = {**self._payload(conversation, params, adapter), "stream": True}
                with self.client.stream("POST", "/chat/completions", json=payload) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise UserFacingError(f"模型服务返回错误 {response.status_code}：{response.text[:300]}")
                    for line in response.iter_lines():
                        if stop.is_set():
                            break
                        if not line.startswith("data:"):
                            continue
                        data = line[5:].strip()
                        if data == "[DONE]":
                            break
                        choice = json.loads(data)["choices"][0]
                        if choice.get("finish_reason"):
                            reasons[index] = "stop" if choice["finish_reason"] == "stop" else "length"
                        delta = choice.get("delta") or {}
                        if delta.get("content"):
                            pieces.put((index, delta["content"], None))
                pieces.put((index, None, None))
            except BaseException as exc:  # handed to the consumer
                pieces.put((index, None, exc))

        workers = [threading.Thread(target=pump, args=(i, c), daemon=True) for i, c in enumerate(conversations)]
        for worker in workers:
            worker.start()
        started = [False] * len(conversations)
        try:
            remaining = len(workers)
            while remaining:
                index, piece, failure = pieces.get()
                if failure is not None:
                    raise failure
                if piece is None:
                    remaining -= 1
                    continue
                if not started[index]:  # the same trimming as the transformers engine
                    piece = piece.lstrip()
                    started[index] = bool(piece)
                if piece:
                    yield index, piece
            if finish_reasons is not None:
                finish_reasons[:] = reasons
        finally:
            stop.set()

    def score_labels(self, conversations: Sequence[Conversation], labels: Sequence[str],
                     adapter: str | None = None) -> list[dict[str, float]]:
        """Label probabilities from the first answer token's top log-probabilities."""
        def one(conversation: Conversation) -> dict[str, float]:
            data = self._post({
                "model": self._model(adapter), "messages": as_plain_text(conversation), "max_tokens": 1,
                "temperature": 0.0, "logprobs": True, "top_logprobs": TOP_LOGPROBS,
            })
            content = (data["choices"][0].get("logprobs") or {}).get("content") or []
            top = content[0].get("top_logprobs", []) if content else []
            best = {label: -math.inf for label in labels}
            for entry in top:
                token = entry["token"].strip()
                for label in labels:
                    if token and label.startswith(token):
                        best[label] = max(best[label], entry["logprob"])
            if all(v == -math.inf for v in best.values()):
                return {label: 1.0 / len(labels) for label in labels}
            peak = max(best.values())
            weights = {label: math.exp(v - peak) if v > -math.inf else 0.0 for label, v in best.items()}
            total = sum(weights.values())
            return {label: w / total for label, w in weights.items()}

        with ThreadPoolExecutor(max_workers=max(1, min(self.batch_size, len(conversations)))) as pool:
            return list(pool.map(one, conversations))
