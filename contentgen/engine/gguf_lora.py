"""PEFT LoRA adapter -> GGUF LoRA adapter, for llama.cpp (written with the `gguf` package).

The file holds what llama.cpp's own `convert_lora_to_gguf.py` writes: general.type "adapter",
adapter.type "lora", adapter.lora.alpha, and for every adapted weight `<gguf name>.lora_a`
(rank x in) and `.lora_b` (out x rank). llama.cpp then applies scale * alpha / rank * B(A x),
which is what peft computes (alpha / rank, or alpha / sqrt(rank) with rsLoRA: folded into alpha).
Converted files are cached by the adapter's content, so a retrained adapter converts again.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import numpy as np

from contentgen.errors import UserFacingError

LAYER = re.compile(r"\.layers\.(\d+)\.")


def adapter_digest(adapter_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        digest.update((adapter_dir / name).read_bytes())
    return digest.hexdigest()[:16]


def _check_supported(config: dict, adapter_dir: Path) -> None:
    problems = []
    if config.get("peft_type", "LORA") != "LORA":
        problems.append(f"类型 {config.get('peft_type')}")
    if config.get("use_dora"):
        problems.append("DoRA")
    if config.get("rank_pattern") or config.get("alpha_pattern"):
        problems.append("按层不同的秩（rank_pattern/alpha_pattern）")
    if config.get("modules_to_save"):
        problems.append("modules_to_save")
    if config.get("bias", "none") != "none" or config.get("lora_bias"):
        problems.append("bias")
    if problems:
        raise UserFacingError(
            f"适配器“{adapter_dir.name}”含 llama.cpp 引擎不支持的设置（{'、'.join(problems)}），"
            "请改用 transformers 引擎（CONTENTGEN_BACKEND=transformers）加载它。"
        )


def convert_peft_lora(adapter_dir: Path, out_path: Path, architecture: str) -> Path:
    """Write the GGUF LoRA file for a PEFT adapter directory; return out_path."""
    import gguf
    from safetensors.numpy import load_file

    adapter_dir = Path(adapter_dir)
    config = json.loads((adapter_dir / "adapter_config.json").read_text(encoding="utf-8"))
    _check_supported(config, adapter_dir)
    rank, alpha = int(config["r"]), float(config["lora_alpha"])
    if config.get("use_rslora"):
        alpha = alpha * math.sqrt(rank)  # peft scales by alpha/sqrt(r); llama.cpp by alpha/r

    tensors = load_file(str(adapter_dir / "adapter_model.safetensors"))
    layers = [int(m.group(1)) for name in tensors if (m := LAYER.search(name))]
    arch = next((a for a, n in gguf.MODEL_ARCH_NAMES.items() if n == architecture), None)
    if arch is None:
        raise UserFacingError(f"llama.cpp 引擎不认识模型结构“{architecture}”，请改用 transformers 引擎。")
    names = gguf.get_tensor_name_map(arch, max(layers, default=0) + 1)

    pairs: dict[str, dict[str, np.ndarray]] = {}
    for name, value in tensors.items():
        part = "lora_a" if ".lora_A." in name else "lora_b" if ".lora_B." in name else None
        if part is None:
            raise UserFacingError(f"适配器“{adapter_dir.name}”含非 LoRA 权重 {name}，llama.cpp 引擎无法加载。")
        base = re.sub(r"\.lora_[AB](\.default)?\.weight$", ".weight", name.replace("base_model.model.", "", 1))
        target = names.get_name(base, try_suffixes=(".weight",))
        if target is None:
            raise UserFacingError(f"适配器“{adapter_dir.name}”的权重 {name} 在 llama.cpp 模型中找不到对应层。")
        pairs.setdefault(target, {})[part] = value.astype(np.float16)

    partial = out_path.with_suffix(".partial")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(partial), architecture)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
    for target, parts in sorted(pairs.items()):
        if set(parts) != {"lora_a", "lora_b"}:
            raise UserFacingError(f"适配器“{adapter_dir.name}”的 {target} 缺少 lora_A 或 lora_B。")
        writer.add_tensor(f"{target}.lora_a", parts["lora_a"])
        writer.add_tensor(f"{target}.lora_b", parts["lora_b"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(out_path)
    return out_path


def cached_gguf_lora(adapter_dir: Path, cache_dir: Path, architecture: str) -> Path:
    """The converted file for this adapter's current content, converting on first use."""
    adapter_dir = Path(adapter_dir)
    target = Path(cache_dir) / "converted" / "lora" / f"{adapter_dir.name}-{adapter_digest(adapter_dir)}.gguf"
    return target if target.exists() else convert_peft_lora(adapter_dir, target, architecture)
