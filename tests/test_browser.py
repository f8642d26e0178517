"""A real browser (Debian's chromium, driven by Playwright) logs in to the running app and
generates copy on the tiny model. The screenshot lands in test-artifacts/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from playwright import sync_api

from contentgen.usecases.accounts import AccountStore
from db.database import Database
from tests.conftest import missing
from tests.servers import free_port, wait_until_up

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def chromium_installed() -> None:
    if not Path(CHROMIUM).exists():
        missing("Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)")


@pytest.fixture
def app_url(tiny_model_dir, tmp_path):
    db_url = f"sqlite:///{tmp_path / 'history.db'}"
    AccountStore(Database(db_url)).add("小王", "marketing pw", "marketing")
    port = free_port()
    env = {**os.environ, "CONTENTGEN_MODEL": str(tiny_model_dir), "CONTENTGEN_DTYPE": "fp32",
           "CONTENTGEN_DATABASE_URL": db_url, "CONTENTGEN_CACHE_DIR": str(tmp_path / "cache")}
    log = open(tmp_path / "ui.log", "wb")  # noqa: SIM115
    server = subprocess.Popen([sys.executable, "-m", "contentgen.cli", "ui", "--port", str(port)],
                              env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    wait_until_up(f"{url}/_stcore/health", server, lambda: (tmp_path / "ui.log").read_text(errors="replace"), 60)
    yield url, db_url
    server.terminate()
    server.wait(timeout=20)
    log.close()


def test_log_in_and_generate_copy_in_chromium(app_url):
    url, db_url = app_url
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 1400})
        try:
            page.goto(url)
            page.get_by_label("用户名").fill("小王")
            page.get_by_label("密码").fill("wrong password")
            page.get_by_role("button", name="登录").click()
            page.get_by_text("用户名或密码错误").wait_for(timeout=30_000)
            page.get_by_label("密码").fill("marketing pw")
            page.get_by_role("button", name="登录").click()
            page.get_by_text("已登录").wait_for(timeout=30_000)
            page.get_by_label("商品名称").fill("便携榨汁杯")
            page.get_by_label("卖点（每行一个，或用逗号分隔）").fill("USB充电，一键清洗")
            page.get_by_role("button", name="生成文案").click()
            page.get_by_text("已保存到历史记录").wait_for(timeout=90_000)
            body = page.inner_text("body")
            page.screenshot(path=str(ARTIFACTS / "browser-copy.png"), full_page=True)
        finally:
            browser.close()
    assert "核对" in body
    # What the browser showed is what the history holds, under the logged-in user.
    [record] = Database(db_url).history.search("", task="copy")
    assert record.user_name == "小王" and record.inputs["product"] == "便携榨汁杯"
    assert (ARTIFACTS / "browser-copy.png").stat().st_size > 10_000
