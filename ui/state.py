"""Resources shared across Streamlit sessions, and small page helpers."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import streamlit as st

from contentgen.adapters import discover
from contentgen.config import ModelConfig, Settings, load_settings
from contentgen.errors import UserFacingError
from contentgen.runtime import build_engine, build_service, open_store
from contentgen.tasks import TASKS
from contentgen.usecases.accounts import (
    ROLE_TASKS,
    Account,
    AccountStore,
    session_expired,
)
from contentgen.usecases.feedback import give_feedback
from contentgen.usecases.service import ContentService
from ui.jobs import JobRegistry

_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: object) -> str:
    """User-provided text shown inside Markdown (names, brand fields, error messages):
    escaped so it reads as typed and cannot become a link, image, formula or markup."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text))


def settings() -> Settings:
    return load_settings()


@st.cache_resource(show_spinner="正在加载模型（首次启动需转换缓存，约 1 分钟）…")
def shared_engine(config: ModelConfig):  # noqa: ANN201  (contentgen.engine.Engine)
    # One model for every session of this server.
    return build_engine(config)


@st.cache_resource
def shared_store(url: str):  # noqa: ANN201  (db.database.Database)
    return open_store(url)


@st.cache_resource
def shared_jobs() -> JobRegistry:
    return JobRegistry()


# Pages that are not a task's own page (ui/views/<name>.py), with title and icon.
SHARED_PAGES = [
    ("batch", "批量任务", "📦"),
    ("dashboard", "情感看板", "📈"),
    ("history", "历史记录", "🗂️"),
    ("brands", "品牌档案", "🏷️"),
    ("training", "模型微调", "🛠️"),
    ("admin", "管理", "🔐"),
]
# Pages each role may open (admin: all): the pages of its tasks, and these.
ROLE_SHARED_PAGES = {"marketing": {"batch", "dashboard", "history", "brands"}, "support": {"batch", "history"}}
ROLE_PAGES = {role: {TASKS[t].page for t in tasks if TASKS[t].page} | ROLE_SHARED_PAGES.get(role, set())
              for role, tasks in ROLE_TASKS.items()}


def all_pages() -> list[tuple[str, str, str]]:
    """(file name, title, icon) of every page: the tasks' pages first, in registry order."""
    return [(t.page, t.title, t.icon) for t in TASKS.values() if t.page] + SHARED_PAGES


def allowed_tasks(tasks: tuple[str, ...]) -> list[str]:
    account = current_account()
    if account is None or account.is_admin:
        return list(tasks)
    return [t for t in tasks if t in ROLE_TASKS.get(account.role, ())]


def accounts() -> AccountStore:
    return AccountStore(store())


def login_required() -> bool:
    """Login is on once any account exists (a fresh install runs as one local user)."""
    return accounts().any_accounts()


def current_account() -> Account | None:
    """The logged-in account as the database has it now: a disabled account's session ends at
    its next rerun, and a changed role applies at once (one indexed read per call)."""
    auth = st.session_state.get("auth")
    if not auth:
        return None
    if session_expired(auth["last_seen"]):
        del st.session_state["auth"]
        st.session_state.auth_expired = True
        return None
    user = store().users.get(auth["name"])
    if user is None or not user.active:
        del st.session_state["auth"]
        st.session_state.auth_disabled = True
        return None
    auth["last_seen"], auth["role"] = datetime.now(timezone.utc), user.role
    return Account(user.name, user.role)


def log_in(account: Account) -> None:
    st.session_state.auth = {"name": account.name, "role": account.role, "last_seen": datetime.now(timezone.utc)}
    st.session_state.pop("auth_expired", None)


def guard(page: str) -> Account | None:
    """Stop the page unless the visitor may open it (pages are reachable by URL too)."""
    if not login_required():
        return None
    account = current_account()
    if account is None:
        if st.session_state.get("auth_disabled"):
            st.warning("该账号已停用，请联系管理员。")
        else:
            st.warning("请先登录。" if not st.session_state.get("auth_expired") else "登录已过期，请重新登录。")
        st.stop()
    if not account.is_admin and page not in ROLE_PAGES.get(account.role, set()):
        st.error("当前账号没有权限使用此页面，请联系管理员。")
        st.stop()
    return account


def current_user() -> str:
    account = current_account()
    if account is not None:
        return account.name
    return st.session_state.get("user_name") or settings().user


def visible_user() -> str | None:
    """Whose records this visitor may see: their own, or everyone's (None) for an admin or
    the single local user of an install without accounts."""
    account = current_account()
    return None if account is None or account.is_admin else account.name


def store():  # noqa: ANN201  (db.database.Database)
    return shared_store(settings().database.resolved_url())


def service() -> ContentService | None:
    """The service for this session, or None after showing a Chinese error."""
    config = settings()
    try:
        engine = shared_engine(config.model)
    except UserFacingError as exc:
        st.error(str(exc))
        return None
    except Exception as exc:  # a broken model directory, out of memory, ...
        st.error(f"模型加载失败：{plain(exc)}。请检查 CONTENTGEN_MODEL 设置后刷新页面。")
        return None
    return build_service(config, source="ui", engine=engine, store=store(), user_name=current_user())


def records_service() -> ContentService:
    """The service for reading records (insight, trends) without loading the model."""
    config = settings()
    return ContentService(None, store(), user_name=current_user(), source="ui", rules=config.rules)  # type: ignore[arg-type]


def keep_inputs(*keys: str) -> None:
    """Keep widget values when the user switches pages (Streamlit drops them otherwise)."""
    for key in keys:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def poll_interval(job) -> float | None:  # noqa: ANN001
    return 0.3 if job is not None and job.active else None


def render_generation(job_key: str, title: str, after_each=None) -> None:  # noqa: ANN001
    """Show a generation job's text as it grows; poll only while it runs."""
    job = shared_jobs().get(st.session_state.get(job_key))
    if job is None:
        return

    @st.fragment(run_every=poll_interval(job))
    def output() -> None:
        current = shared_jobs().get(job.id)
        if current is None:
            return
        if current.status == "error":
            st.error(plain(current.error))
        texts = current.texts or [""]
        for index, text in enumerate(texts):
            heading = f"{title} {index + 1}" if len(texts) > 1 else title
            st.markdown(f"**{heading}**")
            if text:
                # st.code gives agents and marketers a one-click copy button.
                st.code(text, language=None, wrap_lines=True)
                if after_each is not None and current.status == "done":
                    after_each(index, text)
            elif current.active:
                st.caption("生成中…")
        if current.active:
            st.caption(f"生成中…（已用 {time_since(current.created_at):.0f} 秒）")
        elif current.status == "done":
            st.caption(f"已保存到历史记录 #{current.request_id} · 模型 {current.result.model_id}"
                       f" · {adapter_label(current.result.adapter_id)}"
                       f" · 用时 {current.result.latency_ms / 1000:.1f} 秒")

    output()


def time_since(started: float) -> float:
    import time

    return time.time() - started


def adapter_label(adapter_id: str | None) -> str:
    return f"适配器 {adapter_id}" if adapter_id else "基座模型（未微调）"


def adapter_picker(task: str, key: str) -> str:
    """Which LoRA adapter answers: the task's own (default), the base model, or any other."""
    names = list(discover(settings().model))
    options = ["auto", "none", *names]
    labels = {"auto": f"自动（{task} 适配器）" if task in names else "自动（基座模型）", "none": "基座模型（未微调）"}
    return st.selectbox("模型适配器", options, key=key, format_func=lambda o: labels.get(o, f"适配器 {o}"))


def feedback_controls(request_id: int | None, index: int, text: str) -> None:
    """👍/👎 and an edit box under an output; the edit is stored beside the original."""
    if request_id is None:
        return
    record = store().history.get(request_id)
    if record is None or index >= len(record.results):
        return
    result = record.results[index]
    key = f"fb_{result.id}"
    up, down, _ = st.columns([1, 1, 6])
    up.button("👍", key=f"{key}_up", on_click=give_feedback, args=(store(), result.id), kwargs={"rating": 1})
    down.button("👎", key=f"{key}_down", on_click=give_feedback, args=(store(), result.id), kwargs={"rating": -1})
    if result.rating:
        st.caption("已评价：" + ("👍" if result.rating > 0 else "👎"))
    with st.expander("修改这段文字（修改会保存，并可导出为微调数据）"):
        edited = st.text_area("修改后的文字", value=result.edited_text or text, key=f"{key}_text")
        if st.button("保存修改", key=f"{key}_save"):
            give_feedback(store(), result.id, edited_text=edited)
            st.success("已保存修改。")


def submit_stream(job_key: str, task: str, request, *, adapter: str) -> None:  # noqa: ANN001
    """Validate, then run the task in a worker thread (streamed if the task streams);
    the page polls st.session_state[job_key]."""
    try:
        request.validate()
    except UserFacingError as exc:
        st.error(str(exc))
        return
    svc = service()
    if svc is None:
        return

    spec = TASKS[task]

    def work(job) -> None:  # noqa: ANN001
        if not spec.streams:
            job.result = svc.generate(task, request, adapter=adapter)
        else:
            job.texts = [""] * spec.versions(request)
            stream = svc.stream(task, request, adapter=adapter)
            for index, piece in stream:
                job.texts[index] += piece
            job.result = stream.result()
        job.request_id = job.result.request_id
        job.texts = job.result.outputs  # the exact text saved to the history

    st.session_state[job_key] = shared_jobs().submit(task, current_user(), work).id
