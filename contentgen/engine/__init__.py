"""Engines: one interface; transformers, llama.cpp and OpenAI-compatible backends."""

from contentgen.config import load_settings
from contentgen.engine.base import Conversation, Engine, Generation
from contentgen.errors import UserFacingError
from contentgen.models import has_gguf

__all__ = ["Conversation", "Engine", "Generation", "choose_backend", "load_engine"]

BACKENDS = ("auto", "transformers", "llamacpp", "openai")
# Which in-process engine "auto" picks for batch jobs on a CPU, as bench/bench_engines.py
# measured it (docs/BENCHMARKS.md, "Engines"); interactive requests always take llama.cpp there.
BATCH_BACKEND_ON_CPU = "transformers"


def choose_backend(config, purpose: str = "interactive") -> str:
    """The backend for a ModelConfig: its setting, or for "auto" the fastest for the purpose.

    purpose: "interactive" (UI, API, CLI: batches of 1-8) or "batch" (batch jobs). On a CPU the
    quantized GGUF through llama.cpp reads a third of the bytes per token of the bf16 copy;
    on a GPU, or for a model without a GGUF, transformers.
    """
    import importlib.util


    if config.backend not in BACKENDS:
        raise UserFacingError(f"未知后端“{config.backend}”，可选：{'、'.join(BACKENDS)}。")
    if config.backend != "auto":
        return config.backend
    from contentgen.engine.hf_loading import pick_device  # lazy: torch

    if (pick_device(config.device) != "cpu" or importlib.util.find_spec("llama_cpp") is None
            or not has_gguf(config)):
        return "transformers"
    return "llamacpp" if purpose == "interactive" else BATCH_BACKEND_ON_CPU


def load_engine(config=None, purpose: str = "interactive") -> Engine:
    """Load the engine for a ModelConfig (defaults to the configured settings)."""

    config = config or load_settings().model
    backend = choose_backend(config, purpose)
    if backend == "openai":
        from contentgen.engine.openai_engine import OpenAIEngine  # lazy: httpx

        return OpenAIEngine.from_config(config)
    if backend == "llamacpp":
        from contentgen.engine.llamacpp_engine import LlamaCppEngine  # lazy: llama.cpp

        return LlamaCppEngine.from_config(config)
    from contentgen.engine.transformers_engine import TransformersEngine  # lazy: torch

    return TransformersEngine.from_config(config)
