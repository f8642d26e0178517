"""One database: its connection and a store per concern.

    db = Database(url)
    db.history.record(...) / db.history.search(...)      requests and results
    db.brands, db.faq, db.unanswered, db.feedback          brand profiles, knowledge base and what it lacks, ratings and edits
    db.batches                                             batch jobs and their rows
    db.users, db.api_keys                                  accounts and API keys (rows; policy in contentgen.usecases.accounts)
    db.rules                                               广告法 rules an admin added or edited
    db.notices                                             alerts and digests that were sent
"""

from __future__ import annotations

from db.accounts import ApiKeyRows, UserStore
from db.batches import BatchStore
from db.content import BrandStore, FaqStore, FeedbackStore, UnansweredStore
from db.history import HistoryStore
from db.notices import NoticeStore
from db.rules import ComplianceRuleStore
from db.session import create_db_engine, migrate, session_factory


class Database:
    def __init__(self, url: str, *, run_migrations: bool = True) -> None:
        self.url = url
        self.engine = create_db_engine(url)
        if run_migrations:
            migrate(self.engine)
        self.sessions = session_factory(self.engine)
        self.history = HistoryStore(self.sessions)
        self.brands = BrandStore(self.sessions)
        self.faq = FaqStore(self.sessions)
        self.unanswered = UnansweredStore(self.sessions)
        self.feedback = FeedbackStore(self.sessions)
        self.batches = BatchStore(self)
        self.users = UserStore(self.sessions)
        self.api_keys = ApiKeyRows(self.sessions)
        self.rules = ComplianceRuleStore(self.sessions)
        self.notices = NoticeStore(self.sessions)

    def dispose(self) -> None:
        self.engine.dispose()
