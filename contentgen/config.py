"""Typed configuration, one dataclass per concern.

Values come from (lowest to highest priority): defaults, a TOML settings file
(`CONTENTGEN_SETTINGS` or ./contentgen.toml), environment variables.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

DEFAULT_MODEL = "qwen2.5-coder-1.5b"


def default_cache_dir() -> Path:
    return Path(os.environ.get("CONTENTGEN_CACHE_DIR", Path.home() / ".cache" / "contentgen"))


@dataclass(frozen=True)
class ModelConfig:
    """Which model to serve and where it runs."""

    # A registry name (see contentgen.models.REGISTRY) or a Hugging Face model directory.
    name_or_path: str = DEFAULT_MODEL
    # "auto": cuda if present, else cpu.
    device: str = "auto"
    # "auto": bf16 on GPU and on CPUs with native bf16, fp32 otherwise.
    dtype: str = "auto"
    cache_dir: Path = field(default_factory=default_cache_dir)
    threads: int | None = None
    # Sequences per forward pass; None: as many as fit the memory budget (see engine).
    batch_size: int | None = None
    # "transformers" (in process) or "openai": any OpenAI-compatible server (vLLM, llama.cpp,
    # SGLang) at api_base, where name_or_path is the served base model's name.
    backend: str = "transformers"
    api_base: str = ""
    api_key: str = ""


@dataclass(frozen=True)
class GenerationParams:
    """Decoding settings. Defaults stop the loops the zero-shot model falls into on copy."""

    max_new_tokens: int = 256
    temperature: float = 0.7
    top_p: float = 0.9
    top_k: int = 50
    repetition_penalty: float = 1.1
    # Counted in tokens; most Chinese tokens are one or two characters.
    no_repeat_ngram_size: int = 6
    # A 4-character phrase may occur at most this often in one text (0: no limit); see engine/decoding.py.
    max_phrase_repeats: int = 0
    do_sample: bool = True
    seed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class DatabaseConfig:
    url: str = ""

    def resolved_url(self) -> str:
        if self.url:
            return self.url
        return f"sqlite:///{default_cache_dir() / 'history.db'}"


@dataclass(frozen=True)
class Settings:
    model: ModelConfig = field(default_factory=ModelConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    user: str = "local"


# Environment variable -> ModelConfig field (and how to read it).
MODEL_ENV: dict[str, tuple[str, Any]] = {
    "CONTENTGEN_MODEL": ("name_or_path", str),
    "CONTENTGEN_DEVICE": ("device", str),
    "CONTENTGEN_DTYPE": ("dtype", str),
    "CONTENTGEN_THREADS": ("threads", int),
    "CONTENTGEN_BATCH_SIZE": ("batch_size", int),
    "CONTENTGEN_BACKEND": ("backend", str),
    "CONTENTGEN_API_BASE": ("api_base", str),
    "CONTENTGEN_API_KEY": ("api_key", str),
}


def _settings_file() -> Path | None:
    explicit = os.environ.get("CONTENTGEN_SETTINGS")
    if explicit:
        return Path(explicit)
    local = Path("contentgen.toml")
    return local if local.exists() else None


def load_settings() -> Settings:
    """Build settings from the settings file and environment variables."""
    model = ModelConfig()
    database = DatabaseConfig()
    user = "local"

    path = _settings_file()
    if path is not None:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        model_data = dict(data.get("model", {}))
        if "cache_dir" in model_data:
            model_data["cache_dir"] = Path(model_data["cache_dir"])
        model = replace(model, **model_data)
        database = replace(database, **data.get("database", {}))
        user = data.get("user", user)

    env = os.environ
    for variable, (name, convert) in MODEL_ENV.items():
        if env.get(variable):
            model = replace(model, **{name: convert(env[variable])})
    if env.get("CONTENTGEN_DATABASE_URL"):
        database = replace(database, url=env["CONTENTGEN_DATABASE_URL"])
    if env.get("CONTENTGEN_USER"):
        user = env["CONTENTGEN_USER"]
    return Settings(model=model, database=database, user=user)
