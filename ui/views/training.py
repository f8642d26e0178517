"""模型微调 page (named so that `finetune`, the training package, is not shadowed by this script): train a LoRA adapter on your own data in a separate process."""

import pandas as pd
import streamlit as st

from contentgen.usecases import training_runs as training
from contentgen.adapters import discover
from contentgen.errors import UserFacingError
from contentgen.tasks import get_task, trainable
from ui.state import guard, plain, settings, shared_engine

guard("training")

TASK_NAMES = {t.name: t.title for t in trainable()}
FORMATS = """- 营销文案：列 `product`、`points`、`platform`、`copy`（或 AdvertiseGen 的 `content`、`summary`）
- 客服回复：列 `message`、`reply`（可选 `context`、`order`）
- 情感标签：列 `text`、`label`（positive / neutral / negative）
- 商品标题：列 `brand`、`product`、`points`、`platform`、`title`
- 也接受 LLaMA-Factory 的 alpaca（instruction/input/output）与 sharegpt（conversations）格式"""

st.header("模型微调")
st.caption("用企业自己的文案、客服记录或评论训练 LoRA 适配器。训练在独立进程中运行，关闭页面不会中断。")

config = settings()

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
    try:
        run_dir = training.start_run(config, task=task, name=name, steps=int(steps), batch_size=int(batch),
                                     upload=upload.getvalue() if upload is not None else None,
                                     upload_name=upload.name if upload is not None else "", server_path=server_path)
        st.session_state.ft_run = str(run_dir)
        st.success("训练已在后台启动。")
    except UserFacingError as exc:
        st.error(str(exc))


if training.runs(config):
    st.subheader("训练任务")

    @st.fragment(run_every=2.0)
    def show_runs() -> None:
        for run in training.runs(config):
            with st.expander(f"{plain(run.name)} · {get_task(run.task).title} · {run.status}", expanded=run.alive):
                st.progress(min(run.step / run.steps, 1.0), text=f"第 {run.step} / {run.steps} 步")
                if run.losses:
                    st.line_chart(pd.DataFrame(run.losses).set_index("step")["loss"])
                if not run.alive and not run.done:
                    st.code(run.log_tail or "（没有输出）", language=None)

    show_runs()

st.subheader("可用适配器")
available = discover(config.model)
if not available:
    st.info("还没有适配器。")
for adapter_name, path in available.items():
    left, right = st.columns([4, 1])
    left.write(f"**{plain(adapter_name)}** · `{path}`")
    if right.button("加载到服务", key=f"load_{adapter_name}"):
        shared_engine(config.model).load_adapter(adapter_name, str(path))
        st.success(f"已加载适配器 {adapter_name}，各页面的“模型适配器”中可选择它。")
