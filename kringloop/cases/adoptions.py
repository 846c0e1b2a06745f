"""Adopted customers (seed 004's "adoptieklanten"): declared in the organisation file, or
adopted by a member from a customer's case page. An adopted customer's cases go to the adopter."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from kringloop.cases.models import Case, CaseOrigin, CustomerAdoption
from kringloop.org.organisation import Adoption, Organisation
from kringloop.responses.models import SurveyResponse


def adoptable(case: Case, origin: CaseOrigin) -> bool:
    """A customer we can contact and will know again: a customer case with their id and email."""
    return (case.program == "customer" and isinstance(origin, SurveyResponse)
            and bool(origin.respondent_id) and bool(origin.email))


def adoptions_of(*, session: Session, org: Organisation) -> list[Adoption]:
    """Every adoption: the organisation file's first, then those made in the workspace (of
    customers the file leaves free, by people who are still members)."""
    adopted = list(org.adopted)
    declared = {a.respondent_id for a in adopted}
    members = org.member_emails
    for row in session.exec(select(CustomerAdoption)
                            .order_by(col(CustomerAdoption.adopted_at))).all():
        if row.respondent_id not in declared and row.member_email in members:
            adopted.append(Adoption(respondent_id=row.respondent_id, member=row.member_email))
    return adopted


def adopter_of(*, session: Session, org: Organisation, respondent_id: str | None) -> str | None:
    """The member who adopted this customer, if anyone did."""
    if not respondent_id:
        return None
    declared = org.adopter_of(respondent_id)
    if declared is not None:
        return declared
    row = session.get(CustomerAdoption, respondent_id)
    return row.member_email if row is not None and row.member_email in org.member_emails else None


def adopt(*, session: Session, org: Organisation, respondent_id: str, member_email: str,
          now: datetime) -> str:
    """`member_email` adopts the customer unless someone already has; returns the adopter."""
    current = adopter_of(session=session, org=org, respondent_id=respondent_id)
    if current is not None:
        return current
    # A former member's adoption (no longer in the organisation file) is taken over.
    row = session.get(CustomerAdoption, respondent_id) or CustomerAdoption(
        respondent_id=respondent_id, member_email=member_email, adopted_at=now)
    row.member_email, row.adopted_at = member_email, now
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()  # a colleague adopted them at the same moment
        return adopter_of(session=session, org=org, respondent_id=respondent_id) or member_email
    return member_email
