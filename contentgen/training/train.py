"""LoRA fine-tuning with peft: a short, resumable training loop.

    contentgen finetune --task sentiment --data ../shared/data/sentiment/train.jsonl --out adapters/sentiment

Loss is on the answer tokens only, and only those positions go through the LM head
(the 152k-word head would otherwise cost as much as a fifth of each step). For a classification task
(sentiment) it is cross-entropy over the label words alone at the end of the prompt: exactly the
probabilities label scoring reads at inference, with nothing spent on the rest of the vocabulary.
A checkpoint (adapter, optimizer, step) is written every `save_every` steps; running the
same command again continues from it, so CPU training can span sessions.
"""

from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict
from pathlib import Path

import torch
from safetensors.torch import save_file
from tqdm import tqdm

from contentgen.adapters import LABEL_WORDS_LOSS, write_scope
from contentgen.config import ModelConfig
from contentgen.engine.chat_prompts import ChatPrompts
from contentgen.engine.hf_loading import load_causal_lm
from contentgen.tasks import get_task
from contentgen.training.card import write_card
from contentgen.training.config import TrainConfig
from contentgen.training.data import Example, load_examples, platforms_in

IGNORE = -100


def prompt_ids_of(example: Example, tokenizer) -> list[int]:  # noqa: ANN001
    prompt = tokenizer.apply_chat_template(example.conversation, tokenize=False, add_generation_prompt=True)
    return tokenizer(prompt, add_special_tokens=False)["input_ids"]


def encode(example: Example, tokenizer, max_length: int) -> tuple[list[int], list[int]] | None:  # noqa: ANN001
    """Token ids and labels (prompt masked). The answer is cut, never the prompt."""
    prompt_ids = prompt_ids_of(example, tokenizer)
    answer_ids = tokenizer(example.answer, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    room = max_length - len(prompt_ids)
    if room < 2:
        return None
    answer_ids = answer_ids[:room]
    return prompt_ids + answer_ids, [IGNORE] * len(prompt_ids) + answer_ids


def encode_choice(example: Example, tokenizer, max_length: int, label_words: list[str]) -> tuple[list[int], int] | None:  # noqa: ANN001
    """Prompt ids and the index of the example's label among the task's label words."""
    if example.answer not in label_words:
        return None
    prompt_ids = prompt_ids_of(example, tokenizer)
    if len(prompt_ids) > max_length:
        return None
    return prompt_ids, label_words.index(example.answer)


def padded(rows: list[list[int]], fill: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and the mask of real tokens."""
    width = max(map(len, rows))
    ids = torch.full((len(rows), width), fill)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for row, values in enumerate(rows):
        ids[row, : len(values)] = torch.tensor(values)
        mask[row, : len(values)] = 1
    return ids, mask


def collate_choices(batch: list[tuple[list[int], int]], pad_id: int) -> dict[str, torch.Tensor]:
    input_ids, mask = padded([ids for ids, _ in batch], pad_id)
    return {"input_ids": input_ids, "attention_mask": mask,
            "last": torch.tensor([len(ids) - 1 for ids, _ in batch]),
            "target": torch.tensor([target for _, target in batch])}


def label_loss(model, batch: dict[str, torch.Tensor], label_ids: torch.Tensor) -> torch.Tensor:  # noqa: ANN001
    """Cross-entropy over the label words' logits after each prompt (what `score_labels` reads)."""
    decoder = model.get_base_model().get_decoder()
    hidden = decoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    last = hidden[torch.arange(hidden.shape[0]), batch["last"]]
    head = model.get_output_embeddings()
    logits = last.float() @ head.weight[label_ids].float().T
    if getattr(head, "bias", None) is not None:
        logits = logits + head.bias[label_ids].float()
    return torch.nn.functional.cross_entropy(logits, batch["target"])


def collate(batch: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    input_ids, mask = padded([ids for ids, _ in batch], pad_id)
    labels, _ = padded([labs for _, labs in batch], IGNORE)  # as long as the ids (`encode`)
    return {"input_ids": input_ids, "labels": labels, "attention_mask": mask}


def answer_loss(model, batch: dict[str, torch.Tensor]) -> torch.Tensor:  # noqa: ANN001
    """Cross-entropy on answer tokens, running the LM head only where it is needed."""
    labels = batch["labels"]
    # Logits at position t predict token t+1.
    targets_next = labels[:, 1:]
    keep = torch.nonzero((targets_next != IGNORE).any(dim=0)).flatten()
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                   logits_to_keep=keep).logits
    targets = targets_next[:, keep]
    return torch.nn.functional.cross_entropy(
        logits.float().reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=IGNORE)


def length_grouped_batches(lengths: list[int], batch_size: int, seed: int) -> list[list[int]]:
    """Shuffled batches of similar-length examples (less padding), reproducible from the seed."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lengths.__getitem__)
        batches += [chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def _lr_at(step: int, config: TrainConfig, restart: int = 0) -> float:
    """Warm-up, then cosine decay. `restart`: the step a run resumed at with a fresh optimizer (from the
    committed adapter): Adam's first steps are full-size whatever the gradient, so warm up again there."""
    if step < config.warmup_steps:
        return config.learning_rate * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.max_steps - config.warmup_steps)
    rate = config.learning_rate * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    if restart and step - restart < config.warmup_steps:
        rate *= (step - restart + 1) / config.warmup_steps
    return rate


def train(config: TrainConfig, *, engine_config: ModelConfig | None = None) -> Path:
    # oneDNN caches kernels per tensor shape (1,024 by default) and batches differ in length: a copy
    # run on the AMX Xeon grew to 16.8 GiB; with 16 it peaked at 12.6 (bench/bench_onednn_cache.py).
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "16")
    from peft import LoraConfig, PeftModel, get_peft_model


    out = Path(config.out)
    checkpoint = Path(config.checkpoint_dir) if config.checkpoint_dir else out / "checkpoint"
    out.mkdir(parents=True, exist_ok=True)
    model_config = engine_config or ModelConfig(name_or_path=config.model)
    task = get_task(config.task)
    loaded = load_causal_lm(model_config)
    tokenizer, base, device = loaded.tokenizer, loaded.model, loaded.device
    if config.gradient_checkpointing:
        base.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})

    state = {"step": 0, "seconds": 0.0}
    restart = 0
    if (checkpoint / "adapter_config.json").exists():
        model = PeftModel.from_pretrained(base, str(checkpoint), is_trainable=True)
        state = json.loads((checkpoint / "state.json").read_text())
    elif (out / "adapter_config.json").exists() and (out / "train_state.json").exists():
        model = PeftModel.from_pretrained(base, str(out), is_trainable=True)
        saved = json.loads((out / "train_state.json").read_text())
        state = {"step": saved["step"], "seconds": saved["seconds"]}
        restart = saved["step"]
    else:
        layers = base.config.num_hidden_layers
        top = config.lora.top_layers
        lora = LoraConfig(r=config.lora.rank, lora_alpha=config.lora.alpha, lora_dropout=config.lora.dropout,
                          target_modules=list(config.lora.target_modules), task_type="CAUSAL_LM",
                          layers_to_transform=list(range(max(0, layers - top), layers)) if top else None)
        model = get_peft_model(base, lora)
    model.train()

    examples = load_examples(Path(config.data), config.task, limit=config.limit, seed=config.seed,
                             balance=task.kind == "classify")
    if task.kind == "classify" and task.label_words:
        label_words = list(task.label_words.values())
        label_ids = torch.tensor(ChatPrompts(tokenizer).label_token_ids(label_words))
        encoded = [e for e in (encode_choice(x, tokenizer, config.max_length, label_words) for x in examples) if e]
        gather, loss_of = collate_choices, lambda model, batch: label_loss(model, batch, label_ids)
        loss_kind = LABEL_WORDS_LOSS
    else:
        encoded = [e for e in (encode(x, tokenizer, config.max_length) for x in examples) if e is not None]
        gather, loss_of = collate, answer_loss
        loss_kind = "answer"
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad],
                                  lr=config.learning_rate, weight_decay=0.0)
    if (checkpoint / "optimizer.pt").exists():
        optimizer.load_state_dict(torch.load(checkpoint / "optimizer.pt"))

    if "platform" in {f.name for f in task.fields}:
        write_scope(out, platforms_in(Path(config.data), task))
    (out / "train_config.json").write_text(json.dumps(asdict(config), ensure_ascii=False, indent=1))
    log = (out / "train_log.jsonl").open("a", encoding="utf-8")
    batches = length_grouped_batches([len(item[0]) for item in encoded], config.batch_size, config.seed)
    progress = tqdm(total=config.max_steps, initial=state["step"], desc=f"LoRA {config.task}")
    while state["step"] < config.max_steps:
        step = state["step"]
        started = time.perf_counter()
        # Deterministic batches: a resumed run sees exactly the batches it would have.
        indices = batches[step % len(batches)]
        batch = {k: v.to(device) for k, v in gather([encoded[i] for i in indices], tokenizer.pad_token_id).items()}
        for group in optimizer.param_groups:
            group["lr"] = _lr_at(step, config, restart)
        loss = loss_of(model, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        state["step"] = step + 1
        state["seconds"] += time.perf_counter() - started
        log.write(json.dumps({"step": step + 1, "loss": round(loss.item(), 4), "lr": _lr_at(step, config, restart),
                              "seconds": round(time.perf_counter() - started, 2)}) + "\n")
        log.flush()
        progress.update(1)
        progress.set_postfix(loss=f"{loss.item():.3f}")
        if state["step"] % config.save_every == 0 or state["step"] == config.max_steps:
            _save_checkpoint(model, optimizer, state, checkpoint)
            _save_adapter(model, {**state, "loss": loss_kind}, config, len(encoded), out)
    progress.close()
    return out


def _save_adapter(model, state: dict, config: TrainConfig, examples: int, out: Path) -> None:  # noqa: ANN001
    """The adapter serving loads, with how far training got."""
    from peft import get_peft_model_state_dict

    # The adapter is committed at each session's end to resume from: half precision halves each commit.
    weights = get_peft_model_state_dict(model)
    save_file({k: v.detach().to(torch.float16).contiguous() for k, v in weights.items()},
              str(out / "adapter_model.safetensors"), metadata={"format": "pt"})
    model.peft_config["default"].save_pretrained(str(out))
    (out / "train_state.json").write_text(json.dumps(
        {**state, "max_steps": config.max_steps, "examples": examples,
         "examples_seen": state["step"] * config.batch_size}, indent=1))
    # The card says what was seen so far (it reads train_state.json).
    write_card(out)


def _save_checkpoint(model, optimizer, state: dict, checkpoint: Path) -> None:  # noqa: ANN001
    staging = checkpoint.with_name("checkpoint.partial")
    staging.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(staging))
    torch.save(optimizer.state_dict(), staging / "optimizer.pt")
    (staging / "state.json").write_text(json.dumps(state))
    # Swap in whole, so a kill mid-save never leaves a half checkpoint.
    old = checkpoint.with_name("checkpoint.old")
    if checkpoint.exists():
        checkpoint.rename(old)
    staging.rename(checkpoint)
    if old.exists():
        import shutil

        shutil.rmtree(old)
