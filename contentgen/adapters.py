"""Where LoRA adapters live and which one answers each task.

Shipped adapters: `adapters/<base model>/<task>/` in this repository (small safetensors
plus a model card). A company's own adapters: `<cache dir>/adapters/<base model>/<name>/`,
registered by `contentgen finetune` or the UI. An adapter named after a task answers
that task by default, within its scope: a copy adapter trained only on 电商详情 copy
(`scope.json`: {"platforms": ["电商详情"]}) leaves 小红书 or 朋友圈 requests to the base model,
because it writes every platform in its training data's style and embellishes facts.
"""

from __future__ import annotations

import json
from pathlib import Path

from contentgen.config import ModelConfig

SHIPPED_DIR = Path(__file__).resolve().parents[1] / "adapters"


def base_key(config: ModelConfig) -> str:
    """Adapters belong to one base model: registry name, or the model directory's name."""
    return Path(config.name_or_path).name


def user_adapter_dir(config: ModelConfig) -> Path:
    return Path(config.cache_dir) / "adapters" / base_key(config)


def training_unfinished(path: Path) -> bool:
    """A run that stopped before its planned steps (it resumes next time): not served yet, so a
    half-trained adapter never answers a task by default."""
    state = path / "train_state.json"
    if not state.exists():
        return False
    progress = json.loads(state.read_text(encoding="utf-8"))
    return progress.get("step", 0) < progress.get("max_steps", 0)


def discover(config: ModelConfig) -> dict[str, Path]:
    """Adapter name -> directory; a user's adapter overrides a shipped one of the same name."""
    found: dict[str, Path] = {}
    for root in (SHIPPED_DIR / base_key(config), user_adapter_dir(config)):
        if root.is_dir():
            for candidate in sorted(root.iterdir()):
                if ((candidate / "adapter_config.json").exists()
                        and (candidate / "adapter_model.safetensors").exists()
                        and not training_unfinished(candidate)):
                    found[candidate.name] = candidate
    return found


SCOPE_FILE = "scope.json"


def write_scope(path: Path, platforms: set[str] | None) -> None:
    """Record which platforms an adapter learned; None (unknown, e.g. alpaca rows) means all."""
    scope_file = Path(path) / SCOPE_FILE
    if platforms:
        scope_file.write_text(json.dumps({"platforms": sorted(platforms)}, ensure_ascii=False), encoding="utf-8")
    else:
        scope_file.unlink(missing_ok=True)


def scope_platforms(location: str | Path) -> list[str] | None:
    """The platforms an adapter was trained for; None: no recorded scope (every platform)."""
    scope_file = Path(location) / SCOPE_FILE
    if not scope_file.is_file():
        return None
    return json.loads(scope_file.read_text(encoding="utf-8")).get("platforms") or None


def serves_by_default(location: str | Path) -> bool:
    """False when the adapter's card says it lost to the base model on its task's own evaluation
    (`scope.json`: {"default": false, "why": …}): it answers only when a user names it."""
    scope_file = Path(location) / SCOPE_FILE
    return not scope_file.is_file() or json.loads(scope_file.read_text(encoding="utf-8")).get("default", True)


def covers(location: str, request: object) -> bool:
    """Whether the adapter at `location` was trained for requests like this one."""
    if not serves_by_default(location):
        return False
    platform = getattr(request, "platform", None)
    platforms = scope_platforms(location)
    return platform is None or platforms is None or platform in platforms


LABEL_WORDS_LOSS = "label_words"  # train_state.json "loss": trained on the label words' probabilities


def trained_on_label_words(location: str | Path) -> bool:
    """A classification adapter trained on exactly what label scoring reads (`contentgen.training.train.label_loss`);
    older ones learned to write the answer."""
    state = Path(location) / "train_state.json"
    return state.is_file() and json.loads(state.read_text(encoding="utf-8")).get("loss") == LABEL_WORDS_LOSS


def card_metrics(path: Path) -> dict:
    """The evaluation figures recorded next to an adapter, if any."""
    metrics = path / "metrics.json"
    return json.loads(metrics.read_text(encoding="utf-8")) if metrics.exists() else {}
