"""contentgen Streamlit app: `contentgen ui` or `make run`."""

from pathlib import Path

import streamlit as st

from ui.state import settings

st.set_page_config(page_title="contentgen 中文内容生成", page_icon="✍️", layout="wide")

VIEWS = Path(__file__).with_name("views")
pages = [
    st.Page(str(VIEWS / "copy.py"), title="营销文案", icon="✍️", default=True),
    st.Page(str(VIEWS / "reply.py"), title="客服回复", icon="💬"),
    st.Page(str(VIEWS / "sentiment.py"), title="情感标签", icon="📊"),
    st.Page(str(VIEWS / "batch.py"), title="批量任务", icon="📦"),
    st.Page(str(VIEWS / "dashboard.py"), title="情感看板", icon="📈"),
    st.Page(str(VIEWS / "history.py"), title="历史记录", icon="🗂️"),
    st.Page(str(VIEWS / "brands.py"), title="品牌档案", icon="🏷️"),
    st.Page(str(VIEWS / "finetune.py"), title="模型微调", icon="🛠️"),
]

with st.sidebar:
    st.session_state.setdefault("user_name", settings().user)
    st.text_input("用户名", key="user_name")
    st.caption(f"模型：{settings().model.name_or_path}")

st.navigation(pages).run()
