"""Decoding rules the stock transformers processors cannot express for Chinese.

`no_repeat_ngram_size` counts tokens, and a Qwen token is one to four Chinese characters,
so formulaic phrases (整体造型, 能够很好的) still come back three or four times in one text.
`RepeatedSpanBlocker` counts characters instead: a candidate token is banned when it would
make some `span`-character phrase occur more than `max_repeats` times in the text so far.
Phrases from the prompt (product and brand names, selling points) are exempt: a name may recur,
and cutting one off mid-word would mangle it.
"""

from __future__ import annotations

from collections import Counter

import torch
from transformers import LogitsProcessor

REPLACEMENT_CHAR = "\ufffd"


def countable(span: str) -> bool:
    """Phrases worth limiting: not blank, not a number, not half a multi-byte character."""
    return bool(span.strip()) and not span.isdigit() and REPLACEMENT_CHAR not in span


class RepeatedSpanBlocker(LogitsProcessor):
    """Ban tokens that would repeat a character phrase beyond `max_repeats` (one instance per generate call)."""

    def __init__(self, tokenizer, *, span: int = 4, max_repeats: int = 2, candidates: int = 64) -> None:  # noqa: ANN001
        self.tokenizer = tokenizer
        self.span = span
        self.max_repeats = max_repeats
        self.candidates = candidates
        self.prompt_length: int | None = None
        self._exempt: list[set[str]] = []
        self._pieces: dict[int, str] = {}

    def _piece(self, token: int) -> str:
        if token not in self._pieces:
            self._pieces[token] = self.tokenizer.decode([token], skip_special_tokens=True)
        return self._pieces[token]

    def _spans(self, text: str) -> list[str]:
        return [text[i : i + self.span] for i in range(len(text) - self.span + 1)]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.prompt_length is None:  # the first call sees the prompt and nothing generated yet
            self.prompt_length = input_ids.shape[1]
            self._exempt = [set(self._spans(self.tokenizer.decode(row, skip_special_tokens=True)))
                            for row in input_ids]
        keep = min(self.candidates, scores.shape[1])
        for row in range(input_ids.shape[0]):
            text = self.tokenizer.decode(input_ids[row, self.prompt_length :], skip_special_tokens=True)
            counts = Counter(s for s in self._spans(text) if countable(s) and s not in self._exempt[row])
            if not counts:
                continue
            tail = text[-(self.span - 1) :]
            for token in torch.topk(scores[row], keep).indices.tolist():
                if any(counts[s] >= self.max_repeats for s in self._spans(tail + self._piece(token))):
                    scores[row, token] = float("-inf")
        return scores
