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
    """generate and stream (batched), score_labels (one forward pass per batch).

    `adapter` names a loaded LoRA adapter to answer with; None answers with the base model.
    """

    model_id: str
    adapters: dict[str, str]  # adapter name -> where it was loaded from

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
        adapter: str | None = None,
    ) -> Iterator[tuple[int, str]]:
        """Yield (conversation index, text piece) as decoded, all conversations in one batch.

        A piece never ends in a broken (partial UTF-8) character.
        """

    @abstractmethod
    def score_labels(
        self, conversations: Sequence[Conversation], labels: Sequence[str],
        adapter: str | None = None,
    ) -> list[dict[str, float]]:
        """Probability of each label as the answer's start, one dict per conversation."""
