"""Alerts and digests that reach people: a negative surge per rule (brand, channel, aspect; window and
threshold from `[alerts]` in contentgen.toml) and a daily or weekly digest, sent to a webhook (plain
JSON, or the 企业微信 / 钉钉 group-robot message format) and/or by e-mail, with a link to the evidence.

`run_due` is one pass: every rule checked, a digest sent when one is due. `contentgen alerts run`
calls it once (for cron), `contentgen alerts watch` every few minutes. A rule fires at most once per
window and a digest once per period: what was sent is kept in `db.notices`.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

from contentgen.config import AlertRule, AlertsConfig
from contentgen.errors import UserFacingError
from contentgen.notify import post_json
from contentgen.tasks.sentiment.trends import window_figures
from contentgen.usecases.rules import find_brand
from db.database import Database
from db.models import aware

log = logging.getLogger(__name__)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
METRICS = {"negative_share": "负面占比", "negative_count": "负面条数"}
WEBHOOK_FORMATS = ("json", "wecom", "dingtalk")


@dataclass(frozen=True)
class Message:
    kind: str           # alert | digest
    rule: str
    title: str
    text: str           # Markdown: 企业微信 and 钉钉 show it as is, e-mail as plain text
    link: str
    figures: dict[str, Any]
    window_start: datetime
    window_end: datetime


def check_config(config: AlertsConfig) -> None:
    """Settings a person typed: say in Chinese what is wrong before anything is sent."""
    if config.webhook_format not in WEBHOOK_FORMATS:
        raise UserFacingError(f"告警 webhook_format 只能是 {'、'.join(WEBHOOK_FORMATS)}，现在是“{config.webhook_format}”。")
    for rule in config.rules:
        if rule.metric not in METRICS:
            raise UserFacingError(f"告警规则“{rule.name}”的 metric 只能是 negative_share（负面占比）或 negative_count（负面条数）。")
        if rule.metric == "negative_share" and not 0 < rule.threshold < 1:
            raise UserFacingError(f"告警规则“{rule.name}”：负面占比阈值应在 0 到 1 之间（如 0.3）。")
        if rule.window_hours <= 0:
            raise UserFacingError(f"告警规则“{rule.name}”：window_hours 应为正整数。")
    if config.email_to and not config.smtp_host:
        raise UserFacingError("配置了告警收件人但没有 smtp_host：请填写邮件服务器地址。")
    if config.digest:
        digest_period(config.digest)


def evidence_link(config: AlertsConfig, start: datetime, end: datetime, rule: AlertRule | None = None) -> str:
    """The dashboard with the window and the rule's filters filled in (the page reads them)."""
    if not config.public_url:
        return ""
    query = {"from": start.date().isoformat(), "to": end.date().isoformat()}
    if rule is not None:
        query.update({k: v for k, v in (("channel", rule.channel), ("brand", rule.brand), ("aspect", rule.aspect)) if v})
    return f"{config.public_url.rstrip('/')}/dashboard?{urlencode(query)}"


def scope_words(rule: AlertRule) -> str:
    parts = [f"品牌“{rule.brand}”" if rule.brand else "", f"来源“{rule.channel}”" if rule.channel else "",
             f"方面“{rule.aspect}”" if rule.aspect else ""]
    return "、".join(p for p in parts if p) or "全部评论"


def brand_id(store: Database, name: str) -> int | None:
    brand = find_brand(store, name, required=True)
    return brand.id if brand is not None else None


def check_rule(store: Database, config: AlertsConfig, rule: AlertRule, now: datetime) -> Message | None:
    """The rule's message when its window crosses the threshold, else None. The previous window is
    given beside it so the reader sees the change."""
    end, window = now, timedelta(hours=rule.window_hours)
    filters = {"channel": rule.channel or None, "brand_id": brand_id(store, rule.brand), "aspect": rule.aspect or None}
    current = window_figures(store.history, end - window, end, **filters)
    previous = window_figures(store.history, end - 2 * window, end - window, **filters)
    share = rule.metric == "negative_share"
    figure = "negative_share" if share else "negative"
    value, previous_value = current[figure], previous[figure]
    if current["count"] < rule.min_count or value <= rule.threshold:
        return None
    shown = (lambda v: f"{v:.0%}") if share else (lambda v: f"{v:g} 条")
    title = f"负面评论告警：{rule.name}"
    link = evidence_link(config, end - window, end, rule)
    text = "\n".join([
        f"### {title}",
        f"- 范围：{scope_words(rule)}，近 {rule.window_hours} 小时",
        f"- {METRICS[rule.metric]}：**{shown(value)}**（阈值 {shown(rule.threshold)}；共 {current['count']} 条，负面 {current['negative']} 条）",
        f"- 上一个同长时段：{shown(previous_value)}（共 {previous['count']} 条）",
        *([f"- 查看证据：[情感看板]({link})"] if link else []),
    ])
    return Message("alert", rule.name, title, text, link,
                   {"current": current, "previous": previous, "metric": rule.metric, "threshold": rule.threshold},
                   end - window, end)


def digest_period(spec: str) -> tuple[str, int | None, int, int]:
    """"daily 09:00" -> ("daily", None, 9, 0); "weekly mon 09:00" -> ("weekly", 0, 9, 0)."""
    parts = spec.lower().split()
    try:
        if parts[0] == "daily" and len(parts) == 2:
            hour, minute = map(int, parts[1].split(":"))
            return "daily", None, hour, minute
        if parts[0] == "weekly" and len(parts) == 3 and parts[1] in WEEKDAYS:
            hour, minute = map(int, parts[2].split(":"))
            return "weekly", WEEKDAYS.index(parts[1]), hour, minute
    except ValueError:
        pass
    raise UserFacingError(f"摘要时间“{spec}”看不懂：请写成“daily 09:00”或“weekly mon 09:00”（UTC）。")


def last_due(spec: str, now: datetime) -> datetime:
    """The latest scheduled time at or before now."""
    kind, weekday, hour, minute = digest_period(spec)
    due = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if kind == "daily":
        return due if due <= now else due - timedelta(days=1)
    due -= timedelta(days=(now.weekday() - weekday) % 7)
    return due if due <= now else due - timedelta(days=7)


def digest(store: Database, config: AlertsConfig, now: datetime) -> Message:
    kind, *_ = digest_period(config.digest)
    length = timedelta(days=1 if kind == "daily" else 7)
    end = last_due(config.digest, now)
    start = end - length
    current = window_figures(store.history, start, end)
    previous = window_figures(store.history, start - length, start)
    name = "日报" if kind == "daily" else "周报"
    title = f"评论情感{name}（{start:%m-%d %H:%M} 至 {end:%m-%d %H:%M} UTC）"
    lines = [f"### {title}", f"- 评论 {current['count']} 条，负面 {current['negative']} 条，"
                             f"负面占比 **{current['negative_share']:.0%}**（上期 {previous['negative_share']:.0%}，{previous['count']} 条）"]
    for rule in config.rules:
        figures = window_figures(store.history, start, end, channel=rule.channel or None,
                                 brand_id=brand_id(store, rule.brand), aspect=rule.aspect or None)
        lines.append(f"- {rule.name}（{scope_words(rule)}）：负面占比 {figures['negative_share']:.0%}，共 {figures['count']} 条")
    link = evidence_link(config, start, end)
    if link:
        lines.append(f"- 查看详情：[情感看板]({link})")
    return Message("digest", kind, title, "\n".join(lines), link, {"current": current, "previous": previous}, start, end)


def webhook_payload(message: Message, webhook_format: str) -> dict[str, Any]:
    """企业微信群机器人: {"msgtype": "markdown", "markdown": {"content"}}; 钉钉: {"msgtype": "markdown",
    "markdown": {"title", "text"}}; json: the message's fields."""
    if webhook_format == "wecom":
        return {"msgtype": "markdown", "markdown": {"content": message.text}}
    if webhook_format == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": message.title, "text": message.text}}
    return {"event": message.kind, "rule": message.rule, "title": message.title, "text": message.text,
            "link": message.link, "figures": message.figures,
            "window_start": message.window_start.isoformat(), "window_end": message.window_end.isoformat()}


def send_email(config: AlertsConfig, message: Message, timeout: float = 10) -> bool:
    email = EmailMessage()
    email["Subject"] = message.title
    email["From"] = config.smtp_from or config.smtp_user or "contentgen@localhost"
    email["To"] = ", ".join(config.email_to)
    email.set_content(message.text.replace("### ", "").replace("**", ""))
    try:
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=timeout) as smtp:
            if config.smtp_starttls:
                smtp.starttls()
            if config.smtp_user:
                smtp.login(config.smtp_user, config.smtp_password)
            smtp.send_message(email)
        return True
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("告警邮件发送失败（%s:%s）：%s", config.smtp_host, config.smtp_port, exc)
        return False


def deliver(store: Database, config: AlertsConfig, message: Message) -> dict[str, bool]:
    delivered = {}
    if config.webhook:
        delivered["webhook"] = post_json(config.webhook, webhook_payload(message, config.webhook_format))
    if config.email_to:
        delivered["email"] = send_email(config, message)
    store.notices.add(kind=message.kind, rule=message.rule, window_start=message.window_start,
                      window_end=message.window_end, title=message.title, text=message.text,
                      figures=message.figures, delivered=delivered)
    return delivered


def notice_row(notice) -> dict[str, Any]:  # noqa: ANN001  (db.models.Notice)
    """One sent alert or digest as the CLI (--json) and the API show it."""
    return {"id": notice.id, "kind": notice.kind, "rule": notice.rule, "created_at": notice.created_at.isoformat(),
            "title": notice.title, "text": notice.text, "figures": notice.figures, "delivered": notice.delivered}


def send_test(store: Database, config: AlertsConfig, now: datetime | None = None) -> dict[str, bool]:
    """A message to every configured channel, so an admin sees the robot and the mailbox work."""
    now = now or datetime.now(timezone.utc)
    title = "contentgen 告警测试"
    text = f"### {title}\n- 这是一条测试消息：收到即表示告警通道可用。"
    return deliver(store, config, Message("test", "test", title, text, evidence_link(config, now, now), {}, now, now))


def run_due(store: Database, config: AlertsConfig, now: datetime | None = None) -> list[Message]:
    """Check every rule and the digest once; send what is due. Returns what was sent."""
    check_config(config)
    now = now or datetime.now(timezone.utc)
    sent = []
    for rule in config.rules:
        last = store.notices.last("alert", rule.name)
        # Told already within this window. The window's end is the clock of the check that sent it
        # (`now`), not when the row was written, so an injected clock and the real one agree.
        if last is not None and aware(last.window_end) > now - timedelta(hours=rule.window_hours):
            continue
        message = check_rule(store, config, rule, now)
        if message is not None:
            deliver(store, config, message)
            sent.append(message)
    if config.digest:
        kind, *_ = digest_period(config.digest)
        last = store.notices.last("digest", kind)
        if last is None or aware(last.window_end) < last_due(config.digest, now):
            message = digest(store, config, now)
            deliver(store, config, message)
            sent.append(message)
    return sent


