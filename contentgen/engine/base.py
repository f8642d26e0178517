"""The one engine interface every backend implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from contentgen.config import GenerationParams

# OpenAI-style chat messages: [{"role": "system"|"user"|"assistant", "content": "..."}]
Conversation = list[dict[str, str]]


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" (end of answer) or "length" (hit max_new_tokens)


class Engine(ABC):
    """generate and stream (batched), score_labels (one forward pass per batch)."""

    model_id: str

    @abstractmethod
    def generate(
        self, conversations: Sequence[Conversation], params: GenerationParams
    ) -> list[Generation]:
        """One completion per conversation, in input order."""

    @abstractmethod
    def stream(
        self, conversations: Sequence[Conversation], params: GenerationParams
    ) -> Iterator[tuple[int, str]]:
        """Yield (conversation index, text piece) as decoded, all conversations in one batch.

        A piece never ends in a broken (partial UTF-8) character.
        """

    @abstractmethod
    def score_labels(
        self, conversations: Sequence[Conversation], labels: Sequence[str]
    ) -> list[dict[str, float]]:
        """Probability of each label as the answer's start, one dict per conversation."""
