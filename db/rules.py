"""广告法 rules an admin added or edited (the shipped ones live in contentgen/rules/)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from db.models import ComplianceRuleRow, utcnow

RULE_FIELDS = ("term", "match", "category", "rule", "suggestion", "industries", "platforms", "example")


class ComplianceRuleStore:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def list(self) -> list[ComplianceRuleRow]:
        with self.sessions() as session:
            return list(session.scalars(select(ComplianceRuleRow).order_by(ComplianceRuleRow.id)).all())

    @staticmethod
    def _find(session: Session, term: str, industries: str) -> ComplianceRuleRow | None:
        return session.scalar(select(ComplianceRuleRow).where(
            ComplianceRuleRow.term == term, ComplianceRuleRow.industries == industries))

    def save(self, fields: dict[str, str], *, enabled: bool = True, updated_by: str = "") -> int:
        """Create or replace the rule with this term and industries."""
        with self.sessions.begin() as session:
            row = self._find(session, fields["term"], fields.get("industries", "")) or ComplianceRuleRow()
            for name in RULE_FIELDS:
                setattr(row, name, fields.get(name, ""))
            row.enabled, row.updated_by, row.updated_at = enabled, updated_by, utcnow()
            session.add(row)
            session.flush()
            return row.id

    def delete(self, term: str, industries: str) -> bool:
        """Remove the rule with this term and industries; False when there is none."""
        with self.sessions.begin() as session:
            row = self._find(session, term, industries)
            if row is None:
                return False
            session.delete(row)
            return True
