"""How adopted customers score: per colleague who adopted them, each customer's scores in a
period."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection

from sqlmodel import Session, col, select

from kringloop.cases.adoptions import adoptions_of
from kringloop.org.organisation import Organisation
from kringloop.reports.nps import RESURVEY
from kringloop.reports.periods import ALL_TIME, Window
from kringloop.reports.schemas import AdoptedCustomer, AdoptedReport, AdoptedScore, AdopterReport
from kringloop.responses.models import SurveyResponse, category_of


def adopted_report(
    *, session: Session, org: Organisation, window: Window = ALL_TIME,
    adopters: Collection[str] | None = None,
) -> AdoptedReport:
    """Per adopter, how each of their adopted customers scored in the window, oldest first.
    Not hidden below the minimum group size: these customers are known by name to the colleague
    who adopted them; they are not anonymous answers. Adopted in the organisation file or from a
    case page alike."""
    adoptions = [a for a in adoptions_of(session=session, org=org)
                 if adopters is None or a.member in adopters]
    rows = session.exec(
        select(SurveyResponse.respondent_id, SurveyResponse.name, SurveyResponse.score,
               SurveyResponse.answered_at)
        .where(col(SurveyResponse.respondent_id).in_([a.respondent_id for a in adoptions]),
               SurveyResponse.program == "customer", SurveyResponse.source != RESURVEY,
               *window.conditions(SurveyResponse.answered_at))
        .order_by(col(SurveyResponse.answered_at))).all() if adoptions else []
    names: dict[str, str] = {}
    history: dict[str, list[AdoptedScore]] = defaultdict(list)
    for respondent_id, name, score, answered_at in rows:
        names[respondent_id] = name or names.get(respondent_id, "")
        history[respondent_id].append(AdoptedScore(answered_at=answered_at, score=score,
                                                   category=category_of(score)))
    by_member: dict[str, list[AdoptedCustomer]] = defaultdict(list)
    for adoption in adoptions:
        scores = history.get(adoption.respondent_id, [])
        by_member[adoption.member].append(AdoptedCustomer(
            respondent_id=adoption.respondent_id, name=names.get(adoption.respondent_id) or None,
            scores=scores, latest=scores[-1].score if scores else None,
            change=scores[-1].score - scores[0].score if len(scores) > 1 else None))
    reports = []
    for email, customers in by_member.items():
        now = Counter(category_of(c.latest) for c in customers if c.latest is not None)
        reports.append(AdopterReport(
            name=org.member(email).name, email=email, team=org.team_of(email).id,
            customers=customers, promoters_now=now["promoter"], passives_now=now["passive"],
            detractors_now=now["detractor"]))
    return AdoptedReport(adopters=sorted(reports, key=lambda r: (r.name, r.email)))
