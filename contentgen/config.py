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
    # "auto": llama.cpp on the GGUF on a CPU (the embedded models), transformers otherwise
    # (see contentgen.engine.choose_backend); "transformers" or "llamacpp" (in process); or
    # "openai": any OpenAI-compatible server (vLLM, llama.cpp, SGLang) at api_base, where
    # name_or_path is the served base model's name.
    backend: str = "auto"
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
    # Ban English the prompt does not contain (copy); see engine/decoding.py.
    block_new_latin: bool = False
    # End of text is refused until the answer has this many visible characters (0: no minimum).
    min_chars: int = 0
    # No run of more digits than this unless the prompt has the number (0: no limit); see engine/decoding.py.
    max_digit_run: int = 0
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
class RulesConfig:
    """A company's own rule files; empty: the ones shipped in contentgen/rules/."""

    compliance_rules: str = ""  # 广告法 rules CSV (term, match, category, rule, suggestion)
    aspects: str = ""           # aspect keywords CSV (aspect, keywords)


@dataclass(frozen=True)
class BatchConfig:
    """Batch jobs: workers a server may run at once (each holds its own model: ~3 GB for the
    1.5B; jobs beyond these wait as 排队中 and start when a worker is free), and rows per job."""

    max_workers: int = 2
    per_user: int = 1
    max_rows: int = 100_000


@dataclass(frozen=True)
class TrainingConfig:
    # The only server folder the 模型微调 page may read training files from (empty: <cache>/training-data).
    data_dir: str = ""

    def resolved_data_dir(self, cache_dir: Path) -> Path:
        return Path(self.data_dir).expanduser() if self.data_dir else Path(cache_dir) / "training-data"


@dataclass(frozen=True)
class SupportConfig:
    # A URL that gets a JSON POST for each reply handed over to a person (empty: none).
    handoff_webhook: str = ""


@dataclass(frozen=True)
class AlertRule:
    """When to tell people that reviews turned negative: over the last `window_hours`, the negative
    share (metric "negative_share", threshold 0-1) or the number of negative reviews ("negative_count")
    of the reviews matching the filters, with at least `min_count` reviews. An aspect filter counts the
    aspect's own labels (物流 negative) instead of the whole review's."""

    name: str
    metric: str = "negative_share"
    threshold: float = 0.3
    window_hours: int = 24
    min_count: int = 5
    channel: str = ""
    brand: str = ""
    aspect: str = ""


@dataclass(frozen=True)
class AlertsConfig:
    """Where alerts and digests go, and when digests are due."""

    rules: tuple[AlertRule, ...] = ()
    webhook: str = ""            # a URL that gets each alert and digest as a POST
    webhook_format: str = "json"  # json | wecom (企业微信群机器人) | dingtalk (钉钉群机器人)
    email_to: tuple[str, ...] = ()
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""      # better in CONTENTGEN_SMTP_PASSWORD than in the file
    smtp_from: str = ""
    smtp_starttls: bool = False
    public_url: str = ""          # the app's address, for the evidence link (e.g. http://10.0.0.5:8501)
    digest: str = ""              # "daily 09:00" or "weekly mon 09:00" (UTC); empty: no digest

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "AlertsConfig":
        data = dict(data)
        rules = tuple(AlertRule(**rule) for rule in data.pop("rules", data.pop("rule", [])))
        email_to = data.pop("email_to", ())
        email_to = (email_to,) if isinstance(email_to, str) else tuple(email_to)
        return cls(rules=rules, email_to=email_to, **data)

    def to_dict(self) -> dict[str, Any]:
        return {**{f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("rules", "email_to")},
                "rules": [vars(rule) for rule in self.rules], "email_to": list(self.email_to)}


@dataclass(frozen=True)
class Settings:
    model: ModelConfig = field(default_factory=ModelConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)
    batch: BatchConfig = field(default_factory=BatchConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    support: SupportConfig = field(default_factory=SupportConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    user: str = "local"

    def with_overrides(self, *, model: str | None = None, db: str | None = None, user: str | None = None) -> "Settings":
        """These settings with a face's explicit choices (command-line flags) on top."""
        settings = self
        if model:
            settings = replace(settings, model=replace(settings.model, name_or_path=model))
        if db:
            settings = replace(settings, database=replace(settings.database, url=db))
        if user:
            settings = replace(settings, user=user)
        return settings

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data: how a worker process receives its parent's settings."""
        model = {f.name: getattr(self.model, f.name) for f in fields(self.model)}
        model["cache_dir"] = str(model["cache_dir"])
        return {"model": model, "database": {"url": self.database.resolved_url()},
                "rules": {f.name: getattr(self.rules, f.name) for f in fields(self.rules)},
                "batch": {f.name: getattr(self.batch, f.name) for f in fields(self.batch)},
                "training": {"data_dir": self.training.data_dir},
                "support": {"handoff_webhook": self.support.handoff_webhook}, "alerts": self.alerts.to_dict(),
                "user": self.user}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Settings":
        model = dict(data.get("model", {}))
        if "cache_dir" in model:
            model["cache_dir"] = Path(model["cache_dir"])
        return cls(model=ModelConfig(**model), database=DatabaseConfig(**data.get("database", {})),
                   rules=RulesConfig(**data.get("rules", {})), batch=BatchConfig(**data.get("batch", {})),
                   training=TrainingConfig(**data.get("training", {})),
                   support=SupportConfig(**data.get("support", {})),
                   alerts=AlertsConfig.from_dict(data.get("alerts", {})), user=data.get("user", "local"))


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


RULES_ENV = {"CONTENTGEN_COMPLIANCE_RULES": "compliance_rules", "CONTENTGEN_ASPECTS": "aspects"}
BATCH_ENV = {"CONTENTGEN_MAX_WORKERS": "max_workers", "CONTENTGEN_MAX_WORKERS_PER_USER": "per_user",
             "CONTENTGEN_BATCH_MAX_ROWS": "max_rows"}
ALERTS_ENV = {"CONTENTGEN_ALERT_WEBHOOK": "webhook", "CONTENTGEN_ALERT_WEBHOOK_FORMAT": "webhook_format",
              "CONTENTGEN_SMTP_HOST": "smtp_host", "CONTENTGEN_SMTP_USER": "smtp_user",
              "CONTENTGEN_SMTP_PASSWORD": "smtp_password", "CONTENTGEN_SMTP_FROM": "smtp_from",
              "CONTENTGEN_PUBLIC_URL": "public_url", "CONTENTGEN_DIGEST": "digest"}
_LOADED: dict[tuple, Settings] = {}


def load_settings() -> Settings:
    """The settings of this process: the settings file and environment variables, read once
    (again only if the environment names other values, as tests do)."""
    path = _settings_file()
    key = (tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("CONTENTGEN_"))),
           str(path), path.stat().st_mtime if path is not None and path.exists() else None)
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = _read_settings(path)
    return _LOADED[key]


def _read_settings(path: Path | None) -> Settings:
    model = ModelConfig()
    database = DatabaseConfig()
    rules = RulesConfig()
    batch = BatchConfig()
    training = TrainingConfig()
    support = SupportConfig()
    alerts = AlertsConfig()
    user = "local"

    if path is not None:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
        model_data = dict(data.get("model", {}))
        if "cache_dir" in model_data:
            model_data["cache_dir"] = Path(model_data["cache_dir"])
        model = replace(model, **model_data)
        database = replace(database, **data.get("database", {}))
        rules = replace(rules, **data.get("rules", {}))
        batch = replace(batch, **data.get("batch", {}))
        training = replace(training, **data.get("training", {}))
        support = replace(support, **data.get("support", {}))
        alerts = AlertsConfig.from_dict(data.get("alerts", {}))
        user = data.get("user", user)

    env = os.environ
    for variable, (name, convert) in MODEL_ENV.items():
        if env.get(variable):
            model = replace(model, **{name: convert(env[variable])})
    if env.get("CONTENTGEN_DATABASE_URL"):
        database = replace(database, url=env["CONTENTGEN_DATABASE_URL"])
    for variable, name in RULES_ENV.items():
        if env.get(variable):
            rules = replace(rules, **{name: env[variable]})
    for variable, name in BATCH_ENV.items():
        if env.get(variable):
            batch = replace(batch, **{name: int(env[variable])})
    if env.get("CONTENTGEN_TRAINING_DATA"):
        training = replace(training, data_dir=env["CONTENTGEN_TRAINING_DATA"])
    if env.get("CONTENTGEN_HANDOFF_WEBHOOK"):
        support = replace(support, handoff_webhook=env["CONTENTGEN_HANDOFF_WEBHOOK"])
    if env.get("CONTENTGEN_USER"):
        user = env["CONTENTGEN_USER"]
    for variable, name in ALERTS_ENV.items():
        if env.get(variable):
            alerts = replace(alerts, **{name: env[variable]})
    if env.get("CONTENTGEN_ALERT_EMAIL_TO"):
        alerts = replace(alerts, email_to=tuple(a.strip() for a in env["CONTENTGEN_ALERT_EMAIL_TO"].split(",") if a.strip()))
    return Settings(model=model, database=database, rules=rules, batch=batch, training=training, support=support,
                    alerts=alerts, user=user)
