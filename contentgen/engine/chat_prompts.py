"""Prompts as token ids, and token ids back to text: shared by every in-process engine.

Both in-process engines tokenize with the model's Hugging Face tokenizer, so they feed the
model the same ids and decode its answer the same way; only the arithmetic differs.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence

from contentgen.engine.base import Conversation
from contentgen.errors import UserFacingError

# What a tokenizer decodes a multi-byte character split over tokens into, until it is complete.
REPLACEMENT_CHAR = "\ufffd"

# Shared prompt starts shorter than this are not worth a forward pass of their own.
MIN_SHARED_PREFIX = 4


def finish_text(text: str) -> str:
    """Final answer text: trimmed, without a character cut off by max_new_tokens."""
    return text.strip().rstrip(REPLACEMENT_CHAR).rstrip()


class ChatPrompts:
    def __init__(self, tokenizer) -> None:  # noqa: ANN001
        self.tokenizer = tokenizer
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.stop_token_ids = self._stop_token_ids()

    def _stop_token_ids(self) -> list[int]:
        ids = {self.tokenizer.eos_token_id}
        for special in ("<|im_end|>", "<|endoftext|>"):
            token_id = self.tokenizer.convert_tokens_to_ids(special)
            if isinstance(token_id, int) and token_id != self.tokenizer.unk_token_id:
                ids.add(token_id)
        return sorted(i for i in ids if i is not None)

    def render(self, conversation: Conversation) -> str:
        if not self.tokenizer.chat_template:
            raise UserFacingError("该模型没有对话模板（chat_template），请换用 Instruct/Chat 版本的模型目录。")
        if conversation and conversation[-1]["role"] == "assistant":
            # The answer's opening is given (e.g. an apology): the model continues it.
            return self.tokenizer.apply_chat_template(
                conversation, tokenize=False, continue_final_message=True
            )
        return self.tokenizer.apply_chat_template(
            conversation, tokenize=False, add_generation_prompt=True
        )

    def encode(self, conversation: Conversation) -> list[int]:
        """Token ids of the prompt. Control tokens (<|im_start|>, <|im_end|>…) come only from the
        chat template: inside a message they are plain text, so a customer cannot open a system turn."""
        sentinels = [f"\x00CONTENTGEN{index}\x00" for index in range(len(conversation))]
        rendered = self.render([{**turn, "content": mark} for turn, mark in zip(conversation, sentinels)])
        if not all(rendered.count(mark) == 1 for mark in sentinels):  # a template that rewrites content
            return self.tokenizer(self.render(conversation), add_special_tokens=False, split_special_tokens=True)["input_ids"]
        ids: list[int] = []
        for turn, mark in zip(conversation, sentinels):
            template_part, _, rendered = rendered.partition(mark)
            ids += self.tokenizer(template_part, add_special_tokens=False)["input_ids"]
            ids += self.tokenizer(turn["content"], add_special_tokens=False, split_special_tokens=True)["input_ids"]
        return ids + self.tokenizer(rendered, add_special_tokens=False)["input_ids"]

    def shared_prefix_size(self, encoded: list[list[int]], conversations: Sequence[Conversation]) -> int:
        """How many leading tokens every prompt of one call shares, worth prefilling once.

        Several prompts: their longest common token prefix (a batch job's system prompt and the
        task's instruction, which is most of a sentiment prompt). One prompt: its system turn,
        so consecutive requests reuse it. Every row keeps at least one token of its own.
        """
        if not encoded:
            return 0
        if len(encoded) > 1:
            size = 0
            for column in zip(*encoded):
                if any(token != column[0] for token in column):
                    break
                size += 1
        else:
            first = conversations[0][:1]
            if not first or first[0]["role"] != "system":
                return 0
            system = self.tokenizer(self.tokenizer.apply_chat_template(first, tokenize=False),
                                    add_special_tokens=False)["input_ids"]
            size = len(system) if encoded[0][: len(system)] == system else 0
        size = min(size, min(map(len, encoded)) - 1)
        return size if size >= MIN_SHARED_PREFIX else 0

    def label_token_ids(self, labels: Sequence[str]) -> list[int]:
        first = [self.tokenizer(label, add_special_tokens=False)["input_ids"][0] for label in labels]
        if len(set(first)) != len(first):
            raise ValueError(f"labels {list(labels)} share their first token; choose distinct label words")
        return first

    def answer_text(self, ids: list[int]) -> tuple[list[int], str, str]:
        """(answer ids up to the first stop token, its text, finish reason) of generated ids."""
        for position, token in enumerate(ids):
            if token in self.stop_token_ids:
                ids = ids[:position]
                return ids, finish_text(self.tokenizer.decode(ids, skip_special_tokens=True)), "stop"
        return ids, finish_text(self.tokenizer.decode(ids, skip_special_tokens=True)), "length"


class IncrementalDecoder:
    """Turns one sequence's token ids into text pieces without broken characters."""

    def __init__(self, tokenizer, stop_token_ids: list[int]) -> None:  # noqa: ANN001
        self.tokenizer = tokenizer
        self.stop_token_ids = set(stop_token_ids)
        self.ids: list[int] = []
        self.emitted = ""
        self.finished = False

    def push(self, token: int) -> str:
        if self.finished:
            return ""  # padding after the end of this answer
        if token in self.stop_token_ids:
            self.finished = True
            return ""
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True).lstrip()
        # A multi-byte character split over tokens decodes as U+FFFD until it is complete.
        if text.endswith(REPLACEMENT_CHAR) or not text.startswith(self.emitted):
            return ""
        piece, self.emitted = text[len(self.emitted) :], text
        return piece

    def flush(self) -> str:
        text = finish_text(self.tokenizer.decode(self.ids, skip_special_tokens=True))
        if text.startswith(self.emitted) and len(text) > len(self.emitted):
            piece, self.emitted = text[len(self.emitted) :], text
            return piece
        return ""


# produce(emit, stop): decodes, calling emit(row index, token id) for each token, until done or stop is set.
Producer = Callable[[Callable[[int, int], None], threading.Event], None]


def decoded_pieces(produce: Producer, decoders: list[IncrementalDecoder],
                   finish_reasons: list[str] | None = None) -> Iterator[tuple[int, str]]:
    """Run `produce` in a worker thread and yield (row index, text piece) as its tokens arrive.

    Its exception reaches the consumer; closing the iterator early sets `stop` and waits for the
    worker, so the model is free again when this returns."""
    events: queue.Queue[tuple[int, int] | None] = queue.Queue()
    stop = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        try:
            produce(lambda index, token: events.put((index, token)), stop)
        except BaseException as exc:  # handed to the consumer below
            failure.append(exc)
        finally:
            events.put(None)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        while (event := events.get()) is not None:
            index, token = event
            if piece := decoders[index].push(token):
                yield index, piece
        if failure:
            raise failure[0]
        for index, decoder in enumerate(decoders):
            if piece := decoder.flush():
                yield index, piece
        if finish_reasons is not None:  # a row that never met its stop token ran out of tokens
            finish_reasons[:] = ["stop" if decoder.finished else "length" for decoder in decoders]
    finally:
        stop.set()
        worker.join()
