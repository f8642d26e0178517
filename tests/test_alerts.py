"""Alerts and digests reach a local webhook receiver and a local SMTP server started in the test."""

import email
import email.policy
import json
import socket
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from aiosmtpd.controller import Controller

from contentgen.usecases.alerts import check_config, last_due, run_due, webhook_payload
from contentgen.config import AlertRule, AlertsConfig
from contentgen.errors import UserFacingError
from db.history import ResultRecord
from db.models import Request

NOW = datetime(2026, 12, 4, 10, 30, tzinfo=timezone.utc)  # a Friday


def seed(store, when, label, *, channel="淘宝", aspects=None, brand_id=None):
    request_id = store.history.record(task="sentiment", inputs={"text": label}, input_text=f"评论 {label}",
                                      results=[ResultRecord(text=label, label=label, confidence=0.9, aspects=aspects)],
                                      model_id="m", params={}, user_name="u", channel=channel, brand_id=brand_id)
    with store.sessions.begin() as session:
        session.get(Request, request_id).created_at = when


@pytest.fixture
def receiver():
    """A local HTTP server that keeps every JSON body POSTed to it."""
    bodies = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"])).decode("utf-8")))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"errcode":0}')

        def log_message(self, *args):  # quiet
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/robot", bodies
    server.shutdown()


@pytest.fixture
def mailbox():
    """A local SMTP server (aiosmtpd) that keeps every message it receives."""
    messages = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802, ARG002
            parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
            messages.append((envelope.rcpt_tos, str(parsed["Subject"]), parsed.get_content()))
            return "250 OK"

    with socket.socket() as probe:  # a free port (aiosmtpd's start-up check cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port, messages
    controller.stop()


def surge(store):
    """The last 24 hours: 6 of 8 reviews negative on 淘宝; the day before: 1 of 8."""
    for i in range(8):
        seed(store, NOW - timedelta(hours=2 + i), "negative" if i < 6 else "positive")
        seed(store, NOW - timedelta(hours=26 + i), "negative" if i < 1 else "positive")
    seed(store, NOW - timedelta(hours=1), "positive", channel="京东")


@pytest.mark.parametrize("webhook_format", ["wecom", "dingtalk", "json"])
def test_a_negative_surge_reaches_the_webhook_and_the_mailbox_once_per_window(store, receiver, mailbox, webhook_format):
    surge(store)
    url, bodies = receiver
    port, messages = mailbox
    config = AlertsConfig(rules=(AlertRule(name="淘宝差评", channel="淘宝", threshold=0.5),),
                          webhook=url, webhook_format=webhook_format, email_to=("ops@example.com",),
                          smtp_host="127.0.0.1", smtp_port=port, public_url="http://app.example:8501")
    sent = run_due(store, config, now=NOW)
    assert [m.rule for m in sent] == ["淘宝差评"]
    body = bodies[0]
    if webhook_format == "wecom":
        assert body["msgtype"] == "markdown" and "75%" in body["markdown"]["content"]
    elif webhook_format == "dingtalk":
        assert body["msgtype"] == "markdown" and body["markdown"]["title"] == "负面评论告警：淘宝差评"
        assert "75%" in body["markdown"]["text"]
    else:
        assert body["figures"]["current"] == {"count": 8, "negative": 6, "negative_share": 0.75}
        assert body["figures"]["previous"]["negative_share"] == 0.125
    text = json.dumps(body, ensure_ascii=False)
    assert "http://app.example:8501/dashboard?from=2026-12-03&to=2026-12-04" in text and "channel=" in text  # the evidence
    recipients, subject, content = messages[0]
    assert recipients == ["ops@example.com"] and subject == "负面评论告警：淘宝差评" and "75%" in content
    assert store.notices.last("alert", "淘宝差评").delivered == {"webhook": True, "email": True}
    # Within the same window nothing is sent again; after it, a surge that lasts is told again.
    assert run_due(store, config, now=NOW + timedelta(hours=1)) == []
    assert len(bodies) == 1
    later = NOW + timedelta(hours=25)
    for i in range(8):  # the next day is as bad
        seed(store, later - timedelta(hours=1 + i), "negative" if i < 6 else "positive")
    assert [m.rule for m in run_due(store, config, now=later)] == ["淘宝差评"]
    assert len(bodies) == 2


def test_the_re_send_window_follows_the_injected_clock_not_the_machine_clock(store, receiver):
    """A check run for a time before the machine's clock (a back-fill, a test) must still repeat after
    the window: the dedup once compared the row's real write time with the injected clock."""
    url, bodies = receiver
    config = AlertsConfig(rules=(AlertRule(name="淘宝差评", channel="淘宝", threshold=0.5),), webhook=url)
    past = datetime(2020, 3, 2, 10, 0, tzinfo=timezone.utc)
    for day in (0, 2):
        when = past + timedelta(days=day)
        for i in range(8):
            seed(store, when - timedelta(hours=1 + i), "negative" if i < 6 else "positive")
    assert len(run_due(store, config, now=past)) == 1
    assert run_due(store, config, now=past + timedelta(hours=3)) == []
    assert len(run_due(store, config, now=past + timedelta(days=2))) == 1
    assert len(bodies) == 2


def test_below_the_threshold_or_too_few_reviews_nothing_is_sent(store, receiver):
    surge(store)
    url, bodies = receiver
    quiet = AlertsConfig(rules=(AlertRule(name="高阈值", threshold=0.9), AlertRule(name="京东", channel="京东"),
                                AlertRule(name="条数", metric="negative_count", threshold=6)), webhook=url)
    assert run_due(store, quiet, now=NOW) == [] and bodies == []
    volume = AlertsConfig(rules=(AlertRule(name="条数", metric="negative_count", threshold=5),), webhook=url)
    assert [m.rule for m in run_due(store, volume, now=NOW)] == ["条数"]


def test_an_aspect_rule_counts_the_aspects_own_labels(store, receiver):
    url, bodies = receiver
    for i in range(5):  # positive reviews that complain about 物流
        seed(store, NOW - timedelta(hours=1 + i), "positive",
             aspects=[{"aspect": "物流", "label": "negative", "confidence": 0.8, "evidence": "物流太慢"}])
    config = AlertsConfig(rules=(AlertRule(name="物流", aspect="物流", threshold=0.5), AlertRule(name="整体")),
                          webhook=url)
    assert [m.rule for m in run_due(store, config, now=NOW)] == ["物流"]


def test_a_brand_rule_reads_that_brand_only(store, receiver):
    url, _ = receiver
    brand = store.brands.save("声悦")
    for i in range(5):
        seed(store, NOW - timedelta(hours=1 + i), "negative", brand_id=brand)
        seed(store, NOW - timedelta(hours=1 + i), "positive")
    config = AlertsConfig(rules=(AlertRule(name="声悦", brand="声悦", threshold=0.5),
                                 AlertRule(name="全部", threshold=0.5)), webhook=url)
    assert [m.rule for m in run_due(store, config, now=NOW)] == ["声悦"]
    with pytest.raises(UserFacingError, match="没有名为“不存在的牌子”的品牌档案"):
        run_due(store, AlertsConfig(rules=(AlertRule(name="x", brand="不存在的牌子"),)), now=NOW)


def test_the_digest_is_sent_once_per_period_when_due(any_store, receiver):
    store = any_store  # SQLite and PostgreSQL: the notices table and its times
    surge(store)
    url, bodies = receiver
    config = AlertsConfig(webhook=url, webhook_format="wecom", digest="daily 09:00",
                          rules=(AlertRule(name="淘宝差评", channel="淘宝", threshold=0.99),))
    sent = run_due(store, config, now=NOW)
    assert [m.kind for m in sent] == ["digest"]
    content = bodies[0]["markdown"]["content"]
    assert "评论情感日报" in content and "淘宝差评" in content
    assert run_due(store, config, now=NOW + timedelta(hours=5)) == []  # 15:30: still today's
    assert [m.kind for m in run_due(store, config, now=NOW + timedelta(days=1))] == ["digest"]


@pytest.mark.parametrize("spec, now, due", [
    ("daily 09:00", NOW, datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)),
    ("daily 11:00", NOW, datetime(2026, 12, 3, 11, 0, tzinfo=timezone.utc)),
    ("weekly mon 09:00", NOW, datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)),
    ("weekly fri 11:00", NOW, datetime(2026, 11, 27, 11, 0, tzinfo=timezone.utc)),
])
def test_digest_schedule(spec, now, due):
    assert last_due(spec, now) == due


@pytest.mark.parametrize("config, words", [
    (AlertsConfig(webhook_format="slack"), "webhook_format"),
    (AlertsConfig(rules=(AlertRule(name="a", threshold=30),)), "0 到 1"),
    (AlertsConfig(rules=(AlertRule(name="a", metric="share"),)), "metric"),
    (AlertsConfig(email_to=("a@b.c",)), "smtp_host"),
    (AlertsConfig(digest="每天九点"), "daily 09:00"),
])
def test_bad_settings_are_a_chinese_error(config, words):
    with pytest.raises(UserFacingError, match=words):
        check_config(config)


def test_a_receiver_that_is_down_is_recorded_not_raised(store):
    surge(store)
    config = AlertsConfig(rules=(AlertRule(name="淘宝差评", channel="淘宝", threshold=0.5),),
                          webhook="http://127.0.0.1:9/nothing-listens")
    assert len(run_due(store, config, now=NOW)) == 1
    assert store.notices.last("alert", "淘宝差评").delivered == {"webhook": False}


def test_webhook_formats_of_the_robots():
    from contentgen.usecases.alerts import Message

    message = Message("alert", "r", "标题", "### 标题\n- 内容", "", {}, NOW, NOW)
    assert webhook_payload(message, "wecom") == {"msgtype": "markdown", "markdown": {"content": "### 标题\n- 内容"}}
    assert webhook_payload(message, "dingtalk") == {"msgtype": "markdown",
                                                    "markdown": {"title": "标题", "text": "### 标题\n- 内容"}}


def test_cli_reads_the_rules_from_the_settings_file_runs_lists_and_tests(app_env, store, receiver, tmp_path,
                                                                         monkeypatch, capsys):
    from contentgen.cli import main

    url, bodies = receiver
    settings = tmp_path / "contentgen.toml"
    settings.write_text(f"""
[alerts]
webhook = "{url}"
webhook_format = "dingtalk"

[[alerts.rules]]
name = "全部差评"
threshold = 0.4
window_hours = 48
""", encoding="utf-8")
    monkeypatch.setenv("CONTENTGEN_SETTINGS", str(settings))
    now = datetime.now(timezone.utc)
    for i in range(6):
        seed(store, now - timedelta(hours=1 + i), "negative" if i < 4 else "positive")
    assert main(["alerts", "run", "--json"]) == 0
    assert [m["rule"] for m in json.loads(capsys.readouterr().out)] == ["全部差评"]
    assert bodies[0]["markdown"]["title"] == "负面评论告警：全部差评"
    assert main(["alerts", "list", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["rule"] == "全部差评" and listed[0]["delivered"] == {"webhook": True}
    assert main(["alerts", "test"]) == 0 and "webhook：成功" in capsys.readouterr().out
    settings.write_text('[alerts]\nwebhook_format = "slack"\n', encoding="utf-8")
    code = main(["alerts", "run"])
    assert code == 2 and "webhook_format" in capsys.readouterr().err


def test_alerts_watch_checks_then_stops_with_the_app_that_started_it(app_env, store, receiver, tmp_path,
                                                                      monkeypatch, capsys):
    """`contentgen alerts watch --parent <pid>` (what `contentgen ui` starts): it checks at once, and when
    the app's process is gone it returns instead of running on alone."""
    import subprocess
    import sys

    from contentgen.cli import main

    url, bodies = receiver
    settings = tmp_path / "contentgen.toml"
    settings.write_text(f'[alerts]\nwebhook = "{url}"\n\n[[alerts.rules]]\nname = "全部差评"\nthreshold = 0.4\n',
                        encoding="utf-8")
    monkeypatch.setenv("CONTENTGEN_SETTINGS", str(settings))
    now = datetime.now(timezone.utc)
    for i in range(6):
        seed(store, now - timedelta(hours=1 + i), "negative" if i < 4 else "positive")
    app = subprocess.Popen([sys.executable, "-c", "pass"])
    app.wait()  # the app has ended: its pid is no longer alive
    assert main(["alerts", "watch", "--every", "1", "--parent", str(app.pid), "--json"]) == 0
    assert [m["rule"] for m in json.loads(capsys.readouterr().out)] == ["全部差评"] and len(bodies) == 1
