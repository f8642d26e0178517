"""模型微调 page: train a LoRA adapter on your own data in a separate process."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from contentgen.adapters import discover, user_adapter_dir
from contentgen.processes import process_alive
from ui.state import settings, shared_engine
from ui.state import guard

guard("finetune")

TASK_NAMES = {"copy": "营销文案", "reply": "客服回复", "sentiment": "情感标签"}
FORMATS = """- 营销文案：列 `product`、`points`、`platform`、`copy`（或 AdvertiseGen 的 `content`、`summary`）
- 客服回复：列 `message`、`reply`（可选 `context`、`order`）
- 情感标签：列 `text`、`label`（positive / neutral / negative）
- 也接受 LLaMA-Factory 的 alpaca（instruction/input/output）与 sharegpt（conversations）格式"""

st.header("模型微调")
st.caption("用企业自己的文案、客服记录或评论训练 LoRA 适配器。训练在独立进程中运行，关闭页面不会中断。")

config = settings().model
runs_dir = Path(config.cache_dir) / "finetune-runs"
runs_dir.mkdir(parents=True, exist_ok=True)

with st.form("finetune_form"):
    task = st.selectbox("任务", list(TASK_NAMES), format_func=TASK_NAMES.get, key="ft_task")
    name = st.text_input("适配器名称（字母、数字、-、_）", key="ft_name", placeholder="my-brand-copy")
    upload = st.file_uploader("训练数据（JSONL / JSON / CSV / XLSX）", type=["jsonl", "json", "csv", "xlsx"])
    server_path = st.text_input("或填写服务器上的数据文件路径（大文件）", key="ft_path")
    st.markdown(FORMATS)
    left, right = st.columns(2)
    steps = left.number_input("训练步数", min_value=1, max_value=100_000, value=200, key="ft_steps")
    batch = right.number_input("批大小", min_value=1, max_value=64, value=4, key="ft_batch")
    start = st.form_submit_button("开始训练", type="primary")

if start:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name or ""):
        st.error("请填写适配器名称：只能包含字母、数字、- 和 _。")
    elif upload is None and not (server_path and Path(server_path).is_file()):
        st.error("请上传训练数据文件，或填写服务器上存在的数据文件路径。")
    else:
        run_dir = runs_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}"
        run_dir.mkdir(parents=True)
        if upload is not None:
            data_path = run_dir / upload.name  # the upload is kept, whatever happens to the run
            data_path.write_bytes(upload.getvalue())
        else:
            data_path = Path(server_path)
        out = user_adapter_dir(config) / name
        command = [sys.executable, "-m", "contentgen.cli", "finetune", "--task", task, "--data", str(data_path),
                   "--out", str(out), "--steps", str(int(steps)), "--batch-size", str(int(batch)),
                   "--model", config.name_or_path]
        with open(run_dir / "output.log", "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        (run_dir / "run.json").write_text(json.dumps(
            {"name": name, "task": task, "out": str(out), "pid": process.pid, "steps": int(steps),
             "command": command}, ensure_ascii=False))
        st.session_state.ft_run = str(run_dir)
        st.success(f"训练已在后台启动（进程 {process.pid}）。")


runs = sorted(runs_dir.glob("*/run.json"), reverse=True)
if runs:
    st.subheader("训练任务")

    @st.fragment(run_every=2.0)
    def show_runs() -> None:
        for run_file in runs[:5]:
            run = json.loads(run_file.read_text(encoding="utf-8"))
            log_path = Path(run["out"]) / "train_log.jsonl"
            steps_log = [json.loads(line) for line in log_path.read_text().splitlines()] if log_path.exists() else []
            alive = process_alive(run["pid"])
            done = bool(steps_log) and steps_log[-1]["step"] >= run["steps"]
            status = "已完成" if done else ("训练中" if alive else "已停止（可用相同参数重新运行以继续）")
            with st.expander(f"{run['name']} · {TASK_NAMES[run['task']]} · {status}", expanded=alive):
                current = steps_log[-1]["step"] if steps_log else 0
                st.progress(min(current / run["steps"], 1.0), text=f"第 {current} / {run['steps']} 步")
                if steps_log:
                    st.line_chart(pd.DataFrame(steps_log).set_index("step")["loss"])
                if not alive and not done:
                    tail = (run_file.parent / "output.log").read_text(errors="replace")[-1500:]
                    st.code(tail or "（没有输出）", language=None)

    show_runs()

st.subheader("可用适配器")
available = discover(config)
if not available:
    st.info("还没有适配器。")
for adapter_name, path in available.items():
    left, right = st.columns([4, 1])
    left.write(f"**{adapter_name}** · `{path}`")
    if right.button("加载到服务", key=f"load_{adapter_name}"):
        shared_engine(config).load_adapter(adapter_name, str(path))
        st.success(f"已加载适配器 {adapter_name}，各页面的“模型适配器”中可选择它。")
