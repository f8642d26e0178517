import hashlib
from pathlib import Path

import pytest

from contentgen import models
from contentgen.config import ModelConfig, load_settings
from contentgen.errors import UserFacingError


def fake_model(parts: list[bytes]) -> models.EmbeddedModel:
    whole = b"".join(parts)
    return models.EmbeddedModel(name="fake", description="", distribution_prefix="fake-part",
                                part_count=len(parts), gguf_size=len(whole),
                                gguf_sha256=hashlib.sha256(whole).hexdigest())


@pytest.fixture
def installed_parts(tmp_path, monkeypatch):
    """Twelve fake part wheels: part10..12 must come after part9, not after part1."""
    parts = [f"<{i}>".encode() for i in range(1, 13)]
    for i, data in enumerate(parts, start=1):
        (tmp_path / f"part{i:02d}.bin").write_bytes(data)
    monkeypatch.setattr(models, "_part_file",
                        lambda dist: tmp_path / f"part{int(dist.removeprefix('fake-part')):02d}.bin")
    return parts


def test_parts_are_assembled_in_numeric_order_and_verified(installed_parts, tmp_path):
    model = fake_model(installed_parts)
    gguf = models.assemble_gguf(model, tmp_path / "cache")
    assert gguf.read_bytes() == b"".join(installed_parts)
    assert models.assemble_gguf(model, tmp_path / "cache") == gguf  # cached


def test_a_corrupt_part_is_refused_with_a_chinese_fix(installed_parts, tmp_path):
    model = fake_model(installed_parts)
    (tmp_path / "part03.bin").write_bytes(b"<x>")
    with pytest.raises(UserFacingError, match="校验失败"):
        models.assemble_gguf(model, tmp_path / "cache")
    assert not list((tmp_path / "cache" / "gguf").glob("*"))  # no half-written file left


def test_missing_model_package_says_how_to_install():
    with pytest.raises(UserFacingError, match="make run"):
        models._part_file("contentgen-no-such-part1")


def test_registry_parts_are_installed():
    # The real data wheels are declared dependencies: every part must be found.
    for model in models.REGISTRY.values():
        files = models.part_files(model)
        assert len(files) == model.part_count and all(f.exists() for f in files)
        assert sum(f.stat().st_size for f in files) == model.gguf_size


def test_model_directory_and_unknown_names(tiny_model_dir, tmp_path):
    assert models.resolve_model_dir(ModelConfig(name_or_path=str(tiny_model_dir))) == tiny_model_dir
    with pytest.raises(UserFacingError, match="qwen2.5-coder-1.5b"):
        models.resolve_model_dir(ModelConfig(name_or_path=str(tmp_path / "missing")))


def test_settings_file_then_environment(tmp_path, monkeypatch):
    settings_file = tmp_path / "contentgen.toml"
    settings_file.write_text('user = "小王"\n[model]\nname_or_path = "qwen2.5-coder-0.5b"\ndtype = "fp32"\n'
                             '[database]\nurl = "sqlite:///x.db"\n', encoding="utf-8")
    monkeypatch.setenv("CONTENTGEN_SETTINGS", str(settings_file))
    for name in ("CONTENTGEN_MODEL", "CONTENTGEN_DATABASE_URL", "CONTENTGEN_USER", "CONTENTGEN_DTYPE"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert (settings.model.name_or_path, settings.model.dtype, settings.user) == ("qwen2.5-coder-0.5b", "fp32", "小王")
    assert settings.database.resolved_url() == "sqlite:///x.db"
    monkeypatch.setenv("CONTENTGEN_MODEL", "/models/Qwen2.5-7B-Instruct")
    monkeypatch.setenv("CONTENTGEN_DATABASE_URL", "postgresql+psycopg://u@h/db")
    settings = load_settings()
    assert settings.model.name_or_path == "/models/Qwen2.5-7B-Instruct"
    assert settings.database.resolved_url() == "postgresql+psycopg://u@h/db"


def test_default_database_is_sqlite_in_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("CONTENTGEN_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("CONTENTGEN_DATABASE_URL", raising=False)
    monkeypatch.delenv("CONTENTGEN_SETTINGS", raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_settings().database.resolved_url() == f"sqlite:///{Path(tmp_path) / 'history.db'}"
