"""Typed ORM models for every request and its results.

Portable types only (JSON, Text, DateTime with time zone): the same schema runs on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(moment: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they were written in UTC.
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment


class Base(DeclarativeBase):
    pass


class Brand(Base):
    """A brand profile: steers generation (tone, audience, keywords, examples) and checking."""

    __tablename__ = "brands"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    tone: Mapped[str] = mapped_column(String(200), default="")
    audience: Mapped[str] = mapped_column(String(200), default="")
    required_keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    banned_words: Mapped[list[str]] = mapped_column(JSON, default=list)
    example_copy: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Which 广告法 rule pack applies to its copy ("" general; 化妆品, 保健食品, 金融…).
    industry: Mapped[str] = mapped_column(String(20), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FaqEntry(Base):
    """One entry of the company's FAQ / policy knowledge base (support desk)."""

    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # A disabled entry stays in the table (and its hits) but is not retrieved.
    enabled: Mapped[bool] = mapped_column(default=True)
    # 直接回答: a message this entry answers gets its answer verbatim, without generation.
    direct_answer: Mapped[bool] = mapped_column(default=False)
    # Replies grounded in it (the entry that answered the message).
    hits: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class UnansweredQuestion(Base):
    """A customer question no knowledge-base entry answered, counted by its wording, until an
    agent turns it into an entry (`entry_id`)."""

    __tablename__ = "unanswered_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    # The question folded (no spaces or punctuation, lower case): the same wording counts once.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    count: Mapped[int] = mapped_column(Integer, default=1)
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("faq_entries.id", ondelete="SET NULL"), nullable=True)


class Request(Base):
    """One call of a task: what was asked, by whom, with which model and settings."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_name: Mapped[str] = mapped_column(String(100), index=True)
    task: Mapped[str] = mapped_column(String(32), index=True)
    # Where the call came from: ui, cli, batch, api.
    source: Mapped[str] = mapped_column(String(32), default="cli")
    # The inputs exactly as given (stored verbatim).
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The main text the user typed, kept flat for search.
    input_text: Mapped[str] = mapped_column(Text, default="")
    model_id: Mapped[str] = mapped_column(String(200))
    adapter_id: Mapped[str | None] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    # ok, error (error holds the message) or cancelled (partial output kept).
    status: Mapped[str] = mapped_column(String(16), default="ok", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    brand_id: Mapped[int | None] = mapped_column(ForeignKey("brands.id", ondelete="SET NULL"), index=True)
    # Where a tagged text came from (淘宝评论, 客服消息, …): the dashboard filters on it.
    channel: Mapped[str] = mapped_column(String(100), default="", index=True)
    # jieba words of the input and outputs, space-separated and padded (" 榨汁杯 充电 "), so a
    # search matches whole words in any order rather than raw substrings.
    search_text: Mapped[str] = mapped_column(Text, default="")

    results: Mapped[list[Result]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="Result.position"
    )


class Result(Base):
    """One output of a request: a copy variant, a reply, or a label."""

    __tablename__ = "results"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text, default="")
    label: Mapped[str | None] = mapped_column(String(32))
    confidence: Mapped[float | None] = mapped_column(Float)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    finish_reason: Mapped[str | None] = mapped_column(String(16))
    # Aspect sentiment: [{"aspect", "label", "confidence", "evidence"}].
    aspects: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Feedback: +1 / -1 from the user, and their edit kept beside the original text.
    rating: Mapped[int | None] = mapped_column(Integer)
    edited_text: Mapped[str | None] = mapped_column(Text)
    edited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    request: Mapped[Request] = relationship(back_populates="results")


class BatchJob(Base):
    """A batch run over an uploaded table. Its rows live in batch_items, so the job can be
    resumed (and its output rebuilt) from the database alone."""

    __tablename__ = "batch_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_name: Mapped[str] = mapped_column(String(100), index=True)
    task: Mapped[str] = mapped_column(String(32))
    input_name: Mapped[str] = mapped_column(String(500))
    output_path: Mapped[str] = mapped_column(String(1000), default="")
    # The input's columns in order, and which column feeds which task field.
    columns: Mapped[list[str]] = mapped_column(JSON)
    mapping: Mapped[dict[str, str]] = mapped_column(JSON)
    # Task options: platform, length, brand, adapter, channel ...
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # pending, running, done, failed.
    status: Mapped[str] = mapped_column(String(16), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    total: Mapped[int] = mapped_column(Integer, default=0)
    worker_pid: Mapped[int | None] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class BatchItem(Base):
    """One input row. `done` is set in the same transaction that writes its history row,
    so a killed worker leaves each row either finished once or still pending."""

    __tablename__ = "batch_items"
    __table_args__ = (UniqueConstraint("job_id", "row_index", name="uq_batch_items_job_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("batch_jobs.id", ondelete="CASCADE"), index=True)
    # 0-based position in the input (data rows, header excluded).
    row_index: Mapped[int] = mapped_column(Integer)
    # The row exactly as uploaded, column -> cell text.
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending, done, skipped (bad row: error says why), failed.
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    error: Mapped[str | None] = mapped_column(Text)
    # Result columns added to the output.
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class User(Base):
    """An account: marketing / support see their own work, admin sees everything."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # argon2id hash (never the password).
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Failed logins in a row, and until when the account refuses logins after too many.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ApiKey(Base):
    """A key for the HTTP API, issued by an admin to one user (it acts with that user's role)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_name: Mapped[str] = mapped_column(ForeignKey("users.name", ondelete="CASCADE"), index=True)
    # sha256 of the key: keys are 32 random bytes, so a fast hash is enough and lookups stay O(1).
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, to tell keys apart in listings.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked: Mapped[bool] = mapped_column(default=False)


class ComplianceRuleRow(Base):
    """A 广告法 rule an admin added or edited in the UI; it overrides the shipped rule with the
    same term and industries (enabled False: the shipped rule is switched off)."""

    __tablename__ = "compliance_rules"
    __table_args__ = (UniqueConstraint("term", "industries"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(200))
    match: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(50))
    rule: Mapped[str] = mapped_column(Text)
    suggestion: Mapped[str] = mapped_column(String(200), default="")
    industries: Mapped[str] = mapped_column(String(200), default="")
    platforms: Mapped[str] = mapped_column(String(200), default="")
    example: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(default=True)
    updated_by: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Notice(Base):
    """An alert or digest that was sent (or tried): so a rule fires once per window, a digest once
    per period, and the dashboard can list what people were told."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)   # alert | digest
    rule: Mapped[str] = mapped_column(String(100), index=True)  # the rule's name, or the digest's period
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    window_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    title: Mapped[str] = mapped_column(String(200))
    text: Mapped[str] = mapped_column(Text)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Channel -> whether it took the message (webhook, email).
    delivered: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
