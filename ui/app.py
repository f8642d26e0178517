"""contentgen Streamlit app: `contentgen ui` or `make run`."""

from pathlib import Path

import streamlit as st

from contentgen.usecases.accounts import ROLES
from contentgen.errors import UserFacingError
from ui.state import ROLE_PAGES, accounts, all_pages, current_account, log_in, login_required, plain, settings

st.set_page_config(page_title="contentgen 中文内容生成", page_icon="✍️", layout="wide")

VIEWS = Path(__file__).with_name("views")
PAGES = all_pages()


def login_form() -> None:
    st.header("登录 contentgen")
    if st.session_state.get("auth_expired"):
        st.info("登录已过期，请重新登录。")
    with st.form("login"):
        name = st.text_input("用户名", key="login_name")
        password = st.text_input("密码", type="password", key="login_password")
        submitted = st.form_submit_button("登录", type="primary")
    if submitted:
        try:
            log_in(accounts().authenticate(name, password, client=st.context.ip_address or "local"))
            st.rerun()
        except UserFacingError as exc:
            st.error(str(exc))


if login_required():
    account = current_account()
    if account is None:
        login_form()
        st.stop()
    allowed = [p for p in PAGES if account.is_admin or p[0] in ROLE_PAGES.get(account.role, set())]
    with st.sidebar:
        st.write(f"已登录：**{plain(account.name)}**（{ROLES[account.role]}）")
        if st.button("退出登录"):
            st.session_state.pop("auth", None)
            st.rerun()
else:
    allowed = [p for p in PAGES if p[0] != "admin"]
    with st.sidebar:
        st.session_state.setdefault("user_name", settings().user)
        st.text_input("用户名", key="user_name")
        st.caption("未启用登录（单机模式）。添加管理员后启用：contentgen user add --name 管理员 --role admin")
with st.sidebar:
    st.caption(f"模型：{settings().model.name_or_path}")

pages = [st.Page(str(VIEWS / f"{name}.py"), title=title, icon=icon, default=i == 0)
         for i, (name, title, icon) in enumerate(allowed)]
st.navigation(pages).run()
