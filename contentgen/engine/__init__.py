"""Engines: one interface, a transformers implementation, room for others."""

from contentgen.engine.base import Conversation, Engine, Generation

__all__ = ["Conversation", "Engine", "Generation", "load_engine"]


def load_engine(config=None) -> Engine:
    """Load the engine for a ModelConfig (defaults to the configured settings)."""
    from contentgen.config import load_settings
    from contentgen.errors import UserFacingError

    config = config or load_settings().model
    if config.backend == "openai":
        from contentgen.engine.openai_engine import OpenAIEngine

        return OpenAIEngine.from_config(config)
    if config.backend != "transformers":
        raise UserFacingError(f"未知后端“{config.backend}”，可选：transformers、openai。")
    from contentgen.engine.transformers_engine import TransformersEngine

    return TransformersEngine.from_config(config)
