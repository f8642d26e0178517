"""What a fine-tuning run is given: the one place its defaults are written (the CLI, the UI's
training page and the worker all start from these)."""

from __future__ import annotations

from dataclasses import dataclass, field

from contentgen.config import DEFAULT_MODEL, Settings
from contentgen.tasks import get_task

ALL_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class LoraSettings:
    rank: int = 8
    alpha: int = 16
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    # Only the last N decoder layers get LoRA (None: all): the backward pass then stops there, which on a
    # CPU without bf16 is what makes thousands of classification examples affordable.
    top_layers: int | None = None


@dataclass(frozen=True)
class TrainConfig:
    task: str
    data: str
    out: str
    model: str = DEFAULT_MODEL
    max_steps: int = 200
    batch_size: int = 4
    learning_rate: float = 2e-4
    warmup_steps: int = 10
    max_length: int = 256
    limit: int | None = None
    save_every: int = 10
    # Full state (adapter + optimizer); defaults to <out>/checkpoint. Put it outside a git
    # work tree for long runs. <out> itself always holds the newest adapter and its step,
    # so a run can also resume from a committed adapter (with a fresh optimizer).
    checkpoint_dir: str | None = None
    # Recompute each layer's activations in the backward pass instead of keeping them: about a third more
    # time, a fraction of the memory (fp32 batch 8 x 320 tokens on every projection hit 24 GB on the 1.5B).
    gradient_checkpointing: bool = False
    seed: int = 0
    lora: LoraSettings = field(default_factory=LoraSettings)


def train_config(settings: Settings, *, task: str, data: str, out: str, steps: int | None = None,
                 batch_size: int | None = None, learning_rate: float | None = None, max_length: int | None = None,
                 limit: int | None = None, save_every: int | None = None, checkpoint_dir: str | None = None,
                 rank: int | None = None, modules: str = "attention", top_layers: int | None = None,
                 gradient_checkpointing: bool = False) -> TrainConfig:
    """A run's configuration: what the caller gives over `TrainConfig`'s and `LoraSettings`' defaults.
    modules: "attention" (q/k/v/o) or "all" (the MLP's gate/up/down too)."""
    get_task(task)
    rank = rank or LoraSettings.rank
    lora = LoraSettings(rank=rank, alpha=rank * 2, top_layers=top_layers,
                        **({"target_modules": ALL_PROJECTIONS} if modules == "all" else {}))
    given = {"max_steps": steps, "batch_size": batch_size, "learning_rate": learning_rate, "max_length": max_length,
             "save_every": save_every}
    return TrainConfig(task=task, data=str(data), out=str(out), model=settings.model.name_or_path, limit=limit,
                       checkpoint_dir=checkpoint_dir, lora=lora, gradient_checkpointing=gradient_checkpointing,
                       **{name: value for name, value in given.items() if value is not None})
