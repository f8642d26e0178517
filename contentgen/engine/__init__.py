"""Engines: one interface, a transformers implementation, room for others."""

from contentgen.engine.base import Conversation, Engine, Generation

__all__ = ["Conversation", "Engine", "Generation", "load_engine"]


def load_engine(config=None) -> Engine:
    """Load the engine for a ModelConfig (defaults to the configured settings)."""
    from contentgen.config import load_settings
    from contentgen.engine.transformers_engine import TransformersEngine

    return TransformersEngine.from_config(config or load_settings().model)
