"""Decoding rules the stock transformers processors cannot express for Chinese.

`no_repeat_ngram_size` counts tokens, and a Qwen token is one to four Chinese characters,
so formulaic phrases (整体造型, 能够很好的) still come back three or four times in one text.
`RepeatedSpanBlocker` counts characters instead: a candidate token is banned when it would
make some `span`-character phrase occur more than `max_repeats` times in the text so far.
Phrases from the prompt (product and brand names, selling points) are exempt: a name may recur,
and cutting one off mid-word would mangle it.
"""

from __future__ import annotations

import re
from collections import Counter

import torch
from transformers import LogitsProcessor

from contentgen.engine.chat_prompts import REPLACEMENT_CHAR, ChatPrompts


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
        # One top-k for the whole batch and one write of the bans: per-row tensor calls cost
        # more than the counting itself.
        candidates = torch.topk(scores, min(self.candidates, scores.shape[1]), dim=-1).indices.tolist()
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_length :], skip_special_tokens=True)
        banned_rows, banned_tokens = [], []
        for row, text in enumerate(texts):
            counts = Counter(s for s in self._spans(text) if countable(s) and s not in self._exempt[row])
            if not counts:
                continue
            tail = text[-(self.span - 1) :]
            for token in candidates[row]:
                if any(counts[s] >= self.max_repeats for s in self._spans(tail + self._piece(token))):
                    banned_rows.append(row)
                    banned_tokens.append(token)
        if banned_rows:
            scores[banned_rows, banned_tokens] = float("-inf")
        return scores


class CandidateSampler(LogitsProcessor):
    """Sample the next token among the top-k candidates and leave only it finite, for greedy search to take.

    The distribution is that of transformers' temperature -> top-k -> top-p warpers followed by
    sampling, but random numbers are drawn for k candidates instead of the whole 151,936-token
    vocabulary, and only k are sorted: for 16 copy rows on 2 CPU cores the stock path spent
    ~80 ms per step in exponential_ and sort (torch.profiler). Use as the last processor, with
    do_sample=False.
    """

    def __init__(self, *, temperature: float, top_k: int | None, top_p: float | None) -> None:
        self.temperature = temperature
        self.top_k = top_k or None
        self.top_p = top_p if top_p is not None else 1.0

    def candidates(self, scores: torch.FloatTensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(token ids, probabilities) per row, highest first; tokens top-p drops have probability 0."""
        k = min(self.top_k or scores.shape[-1], scores.shape[-1])
        values, tokens = torch.topk(scores.float(), k, dim=-1)
        probs = torch.softmax(values / self.temperature, dim=-1)
        if self.top_p < 1.0:
            # Keep a token while the more probable ones before it hold less than top_p (the top one always).
            probs = probs.masked_fill(probs.cumsum(-1) - probs >= self.top_p, 0.0)
            probs = probs / probs.sum(-1, keepdim=True)
        return tokens, probs

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        tokens, probs = self.candidates(scores)
        chosen = tokens.gather(-1, torch.multinomial(probs, 1))
        return torch.full_like(scores, float("-inf")).scatter_(-1, chosen, 0.0)


_LATIN = re.compile(r"[A-Za-z]+")
# Role names the chat template writes as text around the turns.
_TEMPLATE_WORDS = {"system", "user", "assistant"}


class NewLatinBlocker(LogitsProcessor):
    """Ban tokens spelling English the prompt does not contain: a Chinese copy with “organic大米”
    or “yoga垫” cannot be published, while the user's own ISOFIX, USB-C or 40dB stay writable.

    A token is allowed when its letters, lower-cased, are part of a Latin word of its row's prompt."""

    _vocabularies: dict[int, tuple[torch.Tensor, list[str]]] = {}

    def __init__(self, tokenizer) -> None:  # noqa: ANN001
        self.tokenizer = tokenizer
        self.banned: list[torch.Tensor] | None = None

    def _latin_tokens(self) -> tuple[torch.Tensor, list[str]]:
        """Ids and letters of every ordinary token containing a Latin letter (once per tokenizer)."""
        key = id(self.tokenizer)
        if key not in self._vocabularies:
            special = set(self.tokenizer.all_special_ids)
            ids, letters = [], []
            for index, token in enumerate(self.tokenizer.convert_ids_to_tokens(range(self.tokenizer.vocab_size))):
                found = _LATIN.findall(token or "")
                if found and index not in special:
                    ids.append(index)
                    letters.append("".join(found).lower())
            self._vocabularies[key] = (torch.tensor(ids, dtype=torch.long), letters)
        return self._vocabularies[key]

    def _banned_for(self, prompt: str) -> torch.Tensor:
        words = {w.lower() for w in _LATIN.findall(prompt)} - _TEMPLATE_WORDS
        ids, letters = self._latin_tokens()
        allowed = " ".join(sorted(words))
        keep = torch.tensor([not (allowed and text in allowed) for text in letters], dtype=torch.bool)
        return ids[keep] if len(ids) else ids

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.banned is None:  # the first call sees each row's prompt
            self.banned = [self._banned_for(self.tokenizer.decode(row, skip_special_tokens=True)) for row in input_ids]
        for row, banned in enumerate(self.banned):
            if len(banned):
                scores[row, banned[banned < scores.shape[1]]] = float("-inf")
        return scores


class MinCharsGuard(LogitsProcessor):
    """No end of text before the answer has `min_chars` visible characters: a product page asked
    for 200 characters otherwise often stops at 100. Counted in characters, not tokens, as the
    platforms count."""

    def __init__(self, tokenizer, min_chars: int) -> None:  # noqa: ANN001

        self.tokenizer = tokenizer
        self.min_chars = min_chars
        self.stop_ids = ChatPrompts(tokenizer).stop_token_ids
        self.prompt_length: int | None = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.prompt_length is None:
            self.prompt_length = input_ids.shape[1]
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_length:], skip_special_tokens=True)
        short = [row for row, text in enumerate(texts) if sum(not c.isspace() for c in text) < self.min_chars]
        if short:
            for stop in self.stop_ids:
                if stop < scores.shape[1]:
                    scores[short, stop] = float("-inf")
        return scores


class DigitRunGuard(LogitsProcessor):
    """No run of more than `max_run` digits the prompt does not contain: a support reply that
    starts writing an order number it does not have (“2020041816000000000…”) runs on until the
    token limit. A run copying one of the prompt's numbers may go on as long as that number."""

    _digit_tokens: dict[int, torch.Tensor] = {}

    def __init__(self, tokenizer, max_run: int) -> None:  # noqa: ANN001
        self.tokenizer = tokenizer
        self.max_run = max_run
        self.prompt_length: int | None = None
        self.given: list[list[str]] = []

    def _digits(self) -> torch.Tensor:
        key = id(self.tokenizer)
        if key not in self._digit_tokens:
            pieces = self.tokenizer.convert_ids_to_tokens(range(self.tokenizer.vocab_size))
            self._digit_tokens[key] = torch.tensor([i for i, t in enumerate(pieces) if t and re.search(r"\d", t)],
                                                   dtype=torch.long)
        return self._digit_tokens[key]

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        if self.prompt_length is None:
            self.prompt_length = input_ids.shape[1]
            self.given = [re.findall(r"\d+", self.tokenizer.decode(row, skip_special_tokens=True)) for row in input_ids]
        texts = self.tokenizer.batch_decode(input_ids[:, self.prompt_length:], skip_special_tokens=True)
        digits = self._digits()
        for row, text in enumerate(texts):
            run = re.search(r"\d+$", text)
            if run and len(run.group(0)) >= self.max_run and \
                    not any(number.startswith(run.group(0)) and len(number) > len(run.group(0))
                            for number in self.given[row]):
                scores[row, digits[digits < scores.shape[1]]] = float("-inf")
        return scores


def guard_processors(params, tokenizer) -> list[LogitsProcessor]:  # noqa: ANN001
    """The processors our decoding adds to the stock ones, in order (the sampler last): every
    in-process engine takes them from here, so a guard added once applies to all of them."""
    processors: list[LogitsProcessor] = []
    if params.max_phrase_repeats:
        processors.append(RepeatedSpanBlocker(tokenizer, max_repeats=params.max_phrase_repeats))
    if params.block_new_latin:
        processors.append(NewLatinBlocker(tokenizer))
    if params.min_chars:
        processors.append(MinCharsGuard(tokenizer, params.min_chars))
    if params.max_digit_run:
        processors.append(DigitRunGuard(tokenizer, params.max_digit_run))
    if params.do_sample and params.temperature > 0:
        # Sampling happens in the last processor (see CandidateSampler); greedy search takes its pick.
        processors.append(CandidateSampler(temperature=params.temperature, top_k=params.top_k, top_p=params.top_p))
    return processors
