"""Fine-tuning runs as the faces use them: a run folder, its arguments, a worker process, progress.

The UI starts a run in a worker (`start_run`) and lists runs with their progress (`runs`);
`contentgen finetune` trains in the foreground from the same `train_config`.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from contentgen import processes
from contentgen.adapters import user_adapter_dir
from contentgen.config import Settings
from contentgen.errors import UserFacingError
from contentgen.processes import process_alive
from contentgen.training.config import LoraSettings, TrainConfig, train_config
from contentgen.training.train import train

ADAPTER_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
DATA_SUFFIXES = {".jsonl", ".json", ".csv", ".xlsx"}


def runs_dir(settings: Settings) -> Path:
    return Path(settings.model.cache_dir) / "finetune-runs"


def start_run(settings: Settings, *, task: str, name: str, steps: int, batch_size: int,
              upload: bytes | None = None, upload_name: str = "", server_path: str = "") -> Path:
    """A run folder (the upload is kept there, whatever happens to the run) and a worker training in it."""

    if not ADAPTER_NAME.fullmatch(name or ""):
        raise UserFacingError("请填写适配器名称：只能包含字母、数字、- 和 _。")
    allowed = settings.training.resolved_data_dir(settings.model.cache_dir).resolve()
    if upload is None:
        if not server_path.strip():
            raise UserFacingError("请上传训练数据文件，或填写服务器上的数据文件路径。")
        if not Path(server_path).expanduser().resolve().is_relative_to(allowed):
            raise UserFacingError(f"服务器上的训练数据只能放在 {allowed} 中（管理员可在配置 training.data_dir 中更改）。")
        if not Path(server_path).expanduser().resolve().is_file():
            raise UserFacingError(f"找不到文件“{server_path}”，请检查路径。")
    run_dir = runs_dir(settings) / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
    run_dir.mkdir(parents=True, exist_ok=False)
    if upload is not None:
        suffix = Path(upload_name).suffix.lower()
        data_path = run_dir / f"data{suffix if suffix in DATA_SUFFIXES else '.jsonl'}"
        data_path.write_bytes(upload)
    else:
        data_path = Path(server_path).expanduser().resolve()
    out = user_adapter_dir(settings.model) / name
    config = train_config(settings, task=task, data=str(data_path), out=str(out), steps=steps, batch_size=batch_size)
    (run_dir / "run.json").write_text(json.dumps({"name": name, "task": task, "config": asdict(config),
                                                  "upload_name": upload_name}, ensure_ascii=False), encoding="utf-8")
    process = processes.start_worker(settings, {"kind": "train", "run_dir": str(run_dir)}, log_path=run_dir / "output.log")
    _update(run_dir, pid=process.pid)
    return run_dir


def _update(run_dir: Path, **values: Any) -> None:
    path = run_dir / "run.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(values)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def train_run(settings: Settings, run_dir: Path) -> Path:
    """What the worker does: train with the run's saved arguments."""
    saved = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["config"]
    config = TrainConfig(**{**saved, "lora": LoraSettings(**{**saved["lora"],
                                                            "target_modules": tuple(saved["lora"]["target_modules"])})})
    return train(config, engine_config=settings.model)


@dataclass(frozen=True)
class RunStatus:
    folder: Path
    name: str
    task: str
    steps: int
    step: int
    losses: list[dict[str, Any]]
    alive: bool
    log_tail: str

    @property
    def done(self) -> bool:
        return self.step >= self.steps

    @property
    def status(self) -> str:
        return "已完成" if self.done else ("训练中" if self.alive else "已停止（可用相同参数重新运行以继续）")


def runs(settings: Settings, limit: int = 5) -> list[RunStatus]:
    """The newest runs with their progress, read from each adapter's train_log.jsonl."""
    found = []
    for run_file in sorted(runs_dir(settings).glob("*/run.json"), reverse=True)[:limit]:
        run = json.loads(run_file.read_text(encoding="utf-8"))
        log_path = Path(run["config"]["out"]) / "train_log.jsonl"
        steps_log = [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.exists() else []
        output = run_file.parent / "output.log"
        found.append(RunStatus(run_file.parent, run["name"], run["task"], run["config"]["max_steps"],
                               steps_log[-1]["step"] if steps_log else 0, steps_log, process_alive(run.get("pid")),
                               output.read_text(errors="replace")[-1500:] if output.exists() else ""))
    return found
