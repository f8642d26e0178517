"""Wire settings to an engine, a history store and the service."""

from __future__ import annotations

import logging

from contentgen.adapters import discover
from contentgen.config import ModelConfig, Settings
from contentgen.engine import Engine, load_engine
from contentgen.tasks.sentiment.head import Head, find_head
from contentgen.usecases.service import ContentService
from db.database import Database

log = logging.getLogger(__name__)


def build_engine(config: ModelConfig, *, with_adapters: bool = True, purpose: str = "interactive") -> Engine:
    """The engine with every adapter found for its base model loaded (switchable per request).

    purpose: "interactive" or "batch"; with backend "auto" it picks the faster engine for it."""
    engine = load_engine(config, purpose)
    # A remote server lists its own adapters; local ones load into the in-process model.
    if with_adapters and config.backend != "openai":
        for name, path in discover(config).items():
            try:
                engine.load_adapter(name, str(path))
            except Exception as exc:  # noqa: BLE001 - one broken adapter must not keep the app from starting
                log.warning("适配器“%s”（%s）无法加载，已跳过：%s。请重新训练或删除该目录。", name, path, exc)
        engine.heads = load_heads(config)
    return engine


def load_heads(config: ModelConfig) -> dict[str, Head]:
    """Task -> its classification head for this base model (read over the model's hidden states)."""
    heads = {}
    for task in ("sentiment",):
        path = find_head(config, task)
        if path is not None:
            try:
                heads[task] = Head.load(path)
            except Exception as exc:  # noqa: BLE001 - label scoring still answers without it
                log.warning("分类头“%s”无法加载，已改用标签打分：%s。请重新训练或删除该目录。", path, exc)
    return heads


def build_store(settings: Settings) -> Database:
    return open_store(settings.database.resolved_url())


def open_store(url: str) -> Database:
    """The history database at a URL (SQLite file, sqlite:// in memory, or PostgreSQL)."""
    return Database(url)


def build_service(settings: Settings, *, source: str, engine: Engine | None = None,
                  store: Database | None = None, user_name: str | None = None) -> ContentService:
    return ContentService(
        engine or build_engine(settings.model, purpose="batch" if source == "batch" else "interactive"),
        store or build_store(settings),
        user_name=user_name or settings.user,
        source=source,
        rules=settings.rules,
        handoff_webhook=settings.support.handoff_webhook,
    )
