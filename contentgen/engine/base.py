"""The one engine interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from contentgen.config import GenerationParams
from contentgen.errors import UserFacingError

# OpenAI-style chat messages: [{"role": "system"|"user"|"assistant", "content": "..."}]
Conversation = list[dict[str, str]]


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" (end of answer) or "length" (hit max_new_tokens)


class Engine(ABC):
    """generate and stream (batched), score_labels (one forward pass per batch).

    The contract every backend keeps (tests/test_engine.py and tests/test_openai_backend.py check it):

    - Order: one result per conversation, in input order, however the backend groups them.
    - Batching: a call may hold any number of conversations; the engine splits them into
      batches of at most `batch_size` sequences (similar lengths together). Callers size
      their chunks by `batch_size` (a batch job sends that many rows per call).
    - Fair turns: the engine is shared by every user of a server. Each call runs as the
      requester in `contentgen.engine.fair.current_requester` ("source:user"), and waiting
      calls take turns by requester, so one user's batch job cannot starve another's reply.
    - Streaming: `stream` yields (conversation index, piece) as decoded; a piece is never part
      of a character (no broken UTF-8), and the pieces of one index join to what `generate`
      returns for the same prompt and greedy settings. Closing the iterator stops decoding.
    - Adapters: `adapter` names a loaded LoRA adapter; None answers with the base model. An
      unknown name is a UserFacingError, never a silent fallback.
    - Text in messages is content only: control tokens typed by a user never become turns.
    """

    model_id: str
    adapters: dict[str, str]  # adapter name -> where it was loaded from
    batch_size: int = 8       # sequences per forward pass (see the contract above)
    # Task -> a classification head over `hidden_states` (contentgen/tasks/sentiment/head.py), set by runtime.build_engine.
    heads: dict = {}  # noqa: RUF012  (replaced per engine, never mutated)

    @abstractmethod
    def load_adapter(self, name: str, path: str) -> None:
        """Make a LoRA adapter selectable per request, without reloading the base model."""

    @abstractmethod
    def generate(
        self, conversations: Sequence[Conversation], params: GenerationParams,
        adapter: str | None = None,
    ) -> list[Generation]:
        """One completion per conversation, in input order."""

    @abstractmethod
    def stream(
        self, conversations: Sequence[Conversation], params: GenerationParams,
        adapter: str | None = None, finish_reasons: list[str] | None = None,
    ) -> Iterator[tuple[int, str]]:
        """Yield (conversation index, text piece) as decoded, all conversations in one batch.

        A piece never ends in a broken (partial UTF-8) character. When the stream has run to its end,
        `finish_reasons` (if given) holds one reason per conversation, as `Generation.finish_reason`.
        """

    @abstractmethod
    def score_labels(
        self, conversations: Sequence[Conversation], labels: Sequence[str],
        adapter: str | None = None,
    ) -> list[dict[str, float]]:
        """Probability of each label as the answer's start, one dict per conversation."""

    def hidden_states(self, conversations: Sequence[Conversation], adapter: str | None = None) -> np.ndarray:
        """The model's last hidden state (after its final norm) at the end of each prompt, where the
        answer would start: one row per conversation, what a classification head reads."""
        raise UserFacingError("当前推理引擎不提供模型的隐藏状态，无法使用分类头。请改用内置引擎（llama.cpp 或 transformers）。")
