"""The admin's erasure route: forget one person (a customer, an employee, an applicant)."""

from __future__ import annotations

from fastapi import APIRouter, status

from kringloop.privacy.erasure import erase_respondent
from kringloop.privacy.footprints import ErasureSummary
from kringloop.refusal import Refused
from kringloop.web.deps import ApiCaller, ServicesDep

router = APIRouter(prefix="/api/respondents", tags=["privacy"])


@router.delete("/{respondent_id}", response_model=ErasureSummary)
async def erase(respondent_id: str, services: ServicesDep, caller: ApiCaller) -> ErasureSummary:
    """Erase the person's personal data: their answers, what their cases and rejections say
    about them, the outbox's addresses, and (embedded) the outbox copies; their running cases
    and rejections stop contacting them. Scores, teams and timings stay, so reports still add
    up. Admins only; 404 when nothing is found (an unknown id, or one erased before)."""
    missing = Refused(status.HTTP_404_NOT_FOUND, f"no personal data for {respondent_id}")
    if not caller.is_admin:
        raise missing  # like a case outside one's team: nobody learns that the person exists
    summary = await erase_respondent(respondent_id, engine=services.engine,
                                     temporal=services.temporal, outbox=services.outbox,
                                     actor=caller.email)
    if not summary.found:
        raise missing
    return summary
