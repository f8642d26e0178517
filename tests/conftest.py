from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.tiny_model import build_tiny_model

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# CI sets it (.ci/run): what a test needs and cannot find is a failure there, not a skip.
STRICT = os.environ.get("CONTENTGEN_TEST_STRICT") == "1"


def missing(reason: str) -> None:
    """A resource this test needs is not on the machine: skip by hand, fail in CI."""
    if STRICT:
        pytest.fail(f"CONTENTGEN_TEST_STRICT=1 and {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-qwen2"))


@pytest.fixture(scope="session")
def tiny_engine(tiny_model_dir):
    from contentgen.config import ModelConfig
    from contentgen.engine.transformers_engine import TransformersEngine

    return TransformersEngine.from_config(ModelConfig(name_or_path=str(tiny_model_dir), dtype="fp32"))


@pytest.fixture(scope="session")
def tiny_llama_engine(tiny_model_dir, tmp_path_factory):
    """The same tiny model as an f32 GGUF on the llama.cpp engine (same tokenizer, same weights)."""
    from transformers import AutoTokenizer

    from contentgen.engine.llamacpp_engine import LlamaCppEngine
    from tests.tiny_model import write_tiny_gguf

    folder = tmp_path_factory.mktemp("tiny-gguf")
    gguf = write_tiny_gguf(tiny_model_dir, folder)
    return LlamaCppEngine(gguf, AutoTokenizer.from_pretrained(str(tiny_model_dir)), "tiny-qwen2",
                          batch_size=4, cache_dir=folder)


@pytest.fixture(params=["transformers", "llamacpp"])
def any_engine(request):
    """Each in-process engine in turn: the contract tests hold for both."""
    return request.getfixturevalue("tiny_engine" if request.param == "transformers" else "tiny_llama_engine")


@pytest.fixture
def db_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'history.db'}"


POSTGRES_URL = os.environ.get("CONTENTGEN_TEST_POSTGRES_URL", "")


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request, tmp_path) -> str:
    """SQLite, and a fresh database on the PostgreSQL server .ci/run starts
    (CONTENTGEN_TEST_POSTGRES_URL, an account allowed to create databases)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'history.db'}"
        return
    if not POSTGRES_URL:
        missing("PostgreSQL not configured: set CONTENTGEN_TEST_POSTGRES_URL (.ci/run starts a server)")
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"contentgen_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" ENCODING \'UTF8\' TEMPLATE template0'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def store(db_url):
    from db.database import Database

    return Database(db_url)


@pytest.fixture
def service(tiny_engine, store):
    from contentgen.usecases.service import ContentService

    return ContentService(tiny_engine, store, user_name="测试员", source="test")


@pytest.fixture
def app_env(monkeypatch, tiny_model_dir, db_url):
    """Environment for AppTest pages and CLI runs: the tiny model and a fresh history."""
    monkeypatch.setenv("CONTENTGEN_MODEL", str(tiny_model_dir))
    monkeypatch.setenv("CONTENTGEN_DTYPE", "fp32")
    monkeypatch.setenv("CONTENTGEN_DATABASE_URL", db_url)
    monkeypatch.chdir(REPO)
    return db_url


@pytest.fixture
def any_store(any_db_url):
    from db.database import Database

    store = Database(any_db_url)
    yield store
    store.engine.dispose()


ENGINE_SETTINGS = ("batch_size", "reuse_prefix", "score_token_budget", "adapters")


@pytest.fixture(autouse=True)
def engine_left_as_found(request):
    """The tiny engine is shared by the whole session: a test that changes a setting must undo it
    (monkeypatch.setattr), or later tests would run on another configuration."""
    def settings(engine) -> dict:  # noqa: ANN001
        values = {name: getattr(engine, name, None) for name in ENGINE_SETTINGS}
        return {name: dict(v) if isinstance(v, dict) else v for name, v in values.items()}

    names = [n for n in ("tiny_engine", "tiny_llama_engine") if n in request.fixturenames]
    engines = [request.getfixturevalue(n) for n in names]
    before = [settings(e) for e in engines]
    yield
    after = [settings(e) for e in engines]
    assert after == before, f"test left a shared engine changed: {before} -> {after}"
