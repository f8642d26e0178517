"""Accounts: hashed passwords, roles, rate-limited logins, expiry, per-user isolation in the UI."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from contentgen.usecases.accounts import LOCKOUT, MAX_FAILED_LOGINS, SESSION_TTL, AccountStore, session_expired
from contentgen.cli import main
from contentgen.errors import UserFacingError
from db.history import ResultRecord
from db.models import User, utcnow

APP = Path(__file__).resolve().parents[1] / "ui" / "app.py"
VIEWS = APP.with_name("views")


def test_passwords_are_hashed_and_checked(any_store):
    store = any_store
    accounts = AccountStore(store)
    assert not accounts.any_accounts()
    accounts.add("小王", "correct horse", "marketing")
    with store.sessions() as session:
        stored = session.scalar(select(User.password_hash))
    assert "correct horse" not in stored and stored.startswith("$argon2")
    assert accounts.authenticate("小王", "correct horse").role == "marketing"
    with pytest.raises(UserFacingError, match="用户名或密码错误"):
        accounts.authenticate("小王", "wrong password")
    with pytest.raises(UserFacingError, match="用户名或密码错误"):  # same message for an unknown name
        accounts.authenticate("nobody", "whatever1")
    with pytest.raises(UserFacingError, match="至少 8 位"):
        accounts.add("小李", "short", "support")
    with pytest.raises(UserFacingError, match="已存在"):
        accounts.add("小王", "another password", "support")


def test_failed_logins_lock_the_account_for_a_while(any_store):
    store = any_store
    accounts = AccountStore(store)
    accounts.add("agent", "good password", "support")
    now = utcnow()
    for _ in range(MAX_FAILED_LOGINS):
        with pytest.raises(UserFacingError, match="用户名或密码错误"):
            accounts.authenticate("agent", "bad password", now=now)
    with pytest.raises(UserFacingError, match="锁定"):  # even the right password is refused now
        accounts.authenticate("agent", "good password", now=now)
    assert accounts.authenticate("agent", "good password", now=now + LOCKOUT + timedelta(seconds=1))


def test_disabled_accounts_and_session_expiry(store):
    accounts = AccountStore(store)
    accounts.add("temp", "good password", "marketing")
    accounts.update("temp", active=False)
    with pytest.raises(UserFacingError, match="停用"):
        accounts.authenticate("temp", "good password")
    assert session_expired(utcnow() - SESSION_TTL - timedelta(minutes=1))
    assert not session_expired(utcnow() - timedelta(minutes=5))


def test_cli_adds_the_first_admin(app_env, capsys, monkeypatch, store):
    monkeypatch.setattr("sys.stdin", io.StringIO("admin password\n"))
    assert main(["user", "add", "--name", "boss", "--role", "admin", "--password-stdin"]) == 0
    assert "需要登录" in capsys.readouterr().out
    assert AccountStore(store).authenticate("boss", "admin password").is_admin


def page_as(page: str, name: str | None = None, role: str = "", last_seen=None) -> AppTest:  # noqa: ANN001
    """A page run by a logged-in user (or anonymously with name=None)."""
    at = AppTest.from_file(str(VIEWS / f"{page}.py"), default_timeout=60)
    if name is not None:
        at.session_state.auth = {"name": name, "role": role, "last_seen": last_seen or utcnow()}
    return at.run()


def login(at: AppTest, name: str, password: str) -> AppTest:
    at.text_input(key="login_name").input(name)
    at.text_input(key="login_password").input(password)
    at.button[0].click().run()
    return at


def test_app_asks_for_login_once_an_account_exists(app_env, store):
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception and "单机模式" in " ".join(c.value for c in at.caption)
    AccountStore(store).add("小王", "marketing pw", "marketing")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert at.header[0].value == "登录 contentgen"
    login(at, "小王", "not it")
    assert "用户名或密码错误" in at.error[0].value
    login(at, "小王", "marketing pw")
    assert not at.exception, at.exception
    assert any("已登录" in m.value for m in at.sidebar.markdown)


def test_each_user_sees_only_their_own_history(app_env, store):
    accounts = AccountStore(store)
    accounts.add("小王", "marketing pw", "marketing")
    accounts.add("客服小李", "support pw", "support")
    accounts.add("boss", "admin password", "admin")
    for user, text in [("小王", "小王的羽绒服文案"), ("客服小李", "小李的快递回复")]:
        store.history.record(task="copy", inputs={}, input_text=text, results=[ResultRecord(text=text)],
                     model_id="m", params={}, user_name=user)

    def history_as(name: str, role: str) -> str:
        at = page_as("history", name, role)
        assert not at.exception, at.exception
        return " ".join(str(frame.value.to_dict()) for frame in at.dataframe)

    mine = history_as("小王", "marketing")
    assert "小王的羽绒服文案" in mine and "小李的快递回复" not in mine
    assert "小李的快递回复" in history_as("客服小李", "support") and "羽绒服" not in history_as("客服小李", "support")
    everything = history_as("boss", "admin")
    assert "小王的羽绒服文案" in everything and "小李的快递回复" in everything


def test_pages_refuse_the_wrong_role_and_anonymous_visitors(app_env, store):
    AccountStore(store).add("客服小李", "support pw", "support")
    assert "请先登录" in page_as("copy").warning[0].value
    assert "没有权限" in page_as("copy", "客服小李", "support").error[0].value
    assert "没有权限" in page_as("admin", "客服小李", "support").error[0].value


def test_admin_page_creates_accounts(app_env, store):
    AccountStore(store).add("boss", "admin password", "admin")
    store.brands.save("第一坊", tone="专业可信", banned_words=["全网"])
    at = page_as("admin", "boss", "admin")
    assert not at.exception, at.exception
    at.text_input(key="admin_new_name").input("新人")
    at.selectbox(key="admin_new_role").select("support")
    at.text_input(key="admin_new_password").input("new person pw")
    [create] = [b for b in at.button if b.label == "创建"]
    create.click().run()
    assert not at.exception, at.exception
    assert AccountStore(store).authenticate("新人", "new person pw").role == "support"
    assert any("第一坊" in frame.value["品牌"].tolist() for frame in at.dataframe if "品牌" in frame.value)


def test_admin_page_shows_each_adapters_scope(app_env, store, monkeypatch, tmp_path, tiny_model_dir):
    from contentgen.adapters import write_scope

    monkeypatch.setenv("CONTENTGEN_CACHE_DIR", str(tmp_path))
    adapter = tmp_path / "adapters" / tiny_model_dir.name / "my-copy"
    adapter.mkdir(parents=True)
    (adapter / "adapter_config.json").write_text("{}")
    (adapter / "adapter_model.safetensors").write_bytes(b"")
    write_scope(adapter, {"小红书", "朋友圈"})
    AccountStore(store).add("boss", "admin password", "admin")
    at = page_as("admin", "boss", "admin")
    assert not at.exception, at.exception
    [line] = [m.value for m in at.markdown if "my-copy" in m.value]
    assert "未加载" in line and "适用平台：小红书、朋友圈" in line  # broken files: skipped, app still up
    [load] = [b for b in at.button if b.key == "admin_load_my-copy"]
    load.click().run()
    assert not at.exception, at.exception
    assert "无法加载" in at.error[0].value


def test_expired_session_must_log_in_again(app_env, store):
    AccountStore(store).add("小王", "marketing pw", "marketing")
    at = page_as("history", "小王", "marketing", last_seen=utcnow() - SESSION_TTL * 2)
    assert "登录已过期" in at.warning[0].value


def test_admin_page_issues_an_api_key_that_works(app_env, store):
    from contentgen.usecases.accounts import ApiKeyStore

    AccountStore(store).add("boss", "admin password", "admin")
    at = page_as("admin", "boss", "admin")
    [issue] = [b for b in at.button if b.label == "签发 Key"]
    issue.click().run()
    assert not at.exception, at.exception
    key = at.code[0].value
    assert ApiKeyStore(store).account(key).name == "boss"
    ApiKeyStore(store).revoke(key[:10])
    assert ApiKeyStore(store).account(key) is None


def test_batch_page_offers_only_the_tasks_of_the_role(app_env, store):
    AccountStore(store).add("客服小李", "support pw", "support")
    at = page_as("batch", "客服小李", "support")
    assert not at.exception, at.exception
    assert at.selectbox(key="batch_task").options == ["客服回复", "情感标签"]


def test_a_disabled_or_demoted_user_is_re_checked_on_every_rerun(app_env, store):
    accounts = AccountStore(store)
    accounts.add("小王", "marketing pw", "marketing")
    accounts.add("boss", "admin password", "admin")
    at = page_as("copy", "小王", "marketing")
    assert not at.error and not at.warning
    accounts.update("小王", active=False)
    at.run()
    assert "已停用" in at.warning[0].value and "auth" not in at.session_state
    admin = page_as("admin", "boss", "admin")
    assert not admin.error, admin.error
    accounts.update("boss", role="support")  # demoted: 管理 closes at the next rerun
    admin.run()
    assert "没有权限" in admin.error[0].value


def test_a_stranger_cannot_lock_a_user_out_or_learn_which_names_exist(store):
    accounts = AccountStore(store)
    accounts.add("boss", "admin password", "admin")
    now = utcnow()
    answers = {}
    for name in ("boss", "nobody"):
        for _ in range(MAX_FAILED_LOGINS + 1):
            with pytest.raises(UserFacingError) as error:
                accounts.authenticate(name, "guess guess", now=now, client="203.0.113.9")
        answers[name] = str(error.value)
    assert answers["boss"] == answers["nobody"] and "锁定" in answers["boss"]  # same answer for both
    # The owner, on their own client, still logs in.
    assert accounts.authenticate("boss", "admin password", now=now, client="198.51.100.7").is_admin


def test_one_client_guessing_many_names_is_slowed_down(store):
    from contentgen.usecases.accounts import MAX_CLIENT_FAILURES

    accounts = AccountStore(store)
    accounts.add("小王", "marketing pw", "marketing")
    now = utcnow()
    for index in range(MAX_CLIENT_FAILURES):
        with pytest.raises(UserFacingError, match="用户名或密码错误"):
            accounts.authenticate(f"name{index}", "guess guess", now=now, client="203.0.113.9")
    with pytest.raises(UserFacingError, match="锁定"):
        accounts.authenticate("小王", "marketing pw", now=now, client="203.0.113.9")
    assert accounts.authenticate("小王", "marketing pw", now=now, client="198.51.100.7").name == "小王"


def test_admin_page_adds_a_rule_and_switches_a_shipped_one_off(app_env, store):
    from contentgen.usecases.rules import check_text

    AccountStore(store).add("boss", "admin password", "admin")
    at = page_as("admin", "boss", "admin")
    assert not at.exception, at.exception
    assert any("完美" in frame.value["词语"].tolist() for frame in at.dataframe if "词语" in frame.value)
    at.text_input(key="admin_rule_term").input("秒到账")
    at.text_input(key="admin_rule_category_name").input("金融")
    at.text_input(key="admin_rule_statute").input("《广告法》第二十五条：不得对未来效果作保证性承诺")
    at.multiselect(key="admin_rule_industries").select("金融")
    at.text_input(key="admin_rule_example").input("今天上新。")  # the rule does not find it: refused
    [save] = [b for b in at.button if b.label == "保存规则"]
    save.click().run()
    assert any("示例句没有被这条规则查出来" in e.value for e in at.error) and store.rules.list() == []
    at.text_input(key="admin_rule_example").input("借款秒到账。")
    [save] = [b for b in at.button if b.label == "保存规则"]
    save.click().run()
    assert not at.exception and [r.term for r in store.rules.list()] == ["秒到账"]
    assert not check_text(store, "借款秒到账。投资有风险。", industry="金融")["compliant"]
    at.selectbox(key="admin_rule_pick").select("完美（全部行业）").run()
    [off] = [b for b in at.button if b.label == "停用"]
    off.click().run()
    assert not at.exception, at.exception
    assert check_text(store, "完美贴合脚型。")["compliant"]
