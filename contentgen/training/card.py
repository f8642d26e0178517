"""Model cards for adapters: data, steps, settings, metrics before/after, data licence."""

from __future__ import annotations

import json
from pathlib import Path

from contentgen.tasks import get_task

LICENCE_NOTE = (
    "训练数据来自 `../shared/data`（公开中文语料）。ChnSentiCorp、online_shopping_10_cats、waimai_10k、"
    "AdvertiseGen 未声明许可证；JDDC 为京东竞赛数据，仅限研究与原型。因此本适配器仅为**演示适配器**："
    "产品真正的用法是企业用自己的文案、客服记录和评论微调。\n\n"
    "Data: public Chinese corpora from `../shared/data`. ChnSentiCorp, online_shopping_10_cats, waimai_10k and "
    "AdvertiseGen state no licence; JDDC is JD.com competition data for research and prototyping only. "
    "This is a demonstration adapter."
)


GOLD_NOTE = (
    "训练数据是团队为本项目逐条撰写的金标准集（`finetune/gold/`，见其中的 README：谁写的、评审规则、切分），"
    "与仓库同为 Apache-2.0 许可。\n\n"
    "Data: the team-written gold set of this project (`finetune/gold/`, whose README says who wrote it, the "
    "rubric and the split), Apache-2.0 like the repository."
)


def licence_note(data: str) -> str:
    """What the training file's licence allows: the team's own gold set, or the research corpora."""
    return GOLD_NOTE if "finetune/gold/" in str(data).replace("\\", "/") else LICENCE_NOTE


def loss_line(task: str) -> str:
    spec = get_task(task)
    if spec.kind == "classify" and spec.label_words:
        words = "/".join(spec.label_words.values())
        return (f"- Loss: cross-entropy over the label words ({words}) after the prompt, the probabilities label"
                " scoring reads at inference; prompts are the same templates inference uses (`contentgen/tasks/`).")
    return "- Loss on answer tokens only; prompts are the same templates inference uses (`contentgen/tasks/`)."


def write_card(adapter_dir: Path, *, before: dict | None = None, after: dict | None = None,
               commands: list[str] | None = None, notes: str | None = None) -> Path:
    adapter_dir = Path(adapter_dir)
    config = json.loads((adapter_dir / "train_config.json").read_text(encoding="utf-8"))
    state = json.loads((adapter_dir / "train_state.json").read_text(encoding="utf-8"))
    if before is not None or after is not None:
        (adapter_dir / "metrics.json").write_text(
            json.dumps({"zero_shot": before, "adapter": after}, ensure_ascii=False, indent=1), encoding="utf-8")
    lora = config["lora"]
    lines = [
        f"# LoRA adapter: {config['task']} on {config['model']}",
        "",
        f"- Base model: `{config['model']}` (bf16 weights converted from the embedded GGUF)",
        f"- Training data: `{config['data']}`" + (f", first {config['limit']} shuffled examples" if config.get("limit") else ""),
        f"- Steps: {state['step']} of {state.get('max_steps', config['max_steps'])} planned, batch {config['batch_size']}"
        f" ({state.get('examples_seen', state['step'] * config['batch_size'])} examples seen),"
        f" {state['seconds'] / 3600:.1f} h on CPU",
        f"- LoRA: r={lora['rank']}, alpha={lora['alpha']}, dropout={lora['dropout']},"
        f" modules {', '.join(lora['target_modules'])}"
        + (f" of the last {lora['top_layers']} layers" if lora.get("top_layers") else "")
        + f"; lr {config['learning_rate']} cosine, warm-up {config['warmup_steps']}, max length {config['max_length']} tokens",
        loss_line(config["task"]),
        "",
        "## Metrics",
        "",
    ]
    if before is not None or after is not None:
        keys = [k for k in (after or before or {}) if isinstance((after or before)[k], (int, float))
                and k not in {"limit", "seed"}]
        lines += ["| metric | zero-shot | adapter |", "|---|---|---|"]
        for key in keys:
            lines.append(f"| {key} | {(before or {}).get(key, '')} | {(after or {}).get(key, '')} |")
    else:
        lines.append("Not evaluated yet.")
    if notes:
        lines += ["", notes.strip()]
    if commands:
        lines += ["", "Reproduce:", "", "```bash", *commands, "```"]
    lines += ["", "## Data and licence", "", licence_note(config["data"]), ""]
    path = adapter_dir / "README.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
