"""The rejection API's shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, EmailStr
from pydantic import Field as ApiField

from kringloop.cases.schemas import AssigneePublic, TimelineEntryPublic
from kringloop.rejections.models import ApplicationStage, RejectionStatus
from kringloop.shapes import LongText, PlainText, StrictShape, in_the_calendar


class ApplicantIn(StrictShape):
    id: PlainText = ApiField(min_length=1, max_length=64)
    name: PlainText = ApiField(min_length=1, max_length=200)
    email: EmailStr = ApiField(max_length=254)
    language: Literal["nl", "en"]


class VacancyIn(StrictShape):
    id: PlainText = ApiField(min_length=1, max_length=64)
    title: PlainText = ApiField(min_length=1, max_length=200)


class ReasonIn(StrictShape):
    """A reason code from the candidate program, and the sentence the applicant will read."""

    code: PlainText = ApiField(max_length=64)
    sentence: LongText = ApiField(max_length=600)


class RejectionCreate(StrictShape):
    """One rejection as a recruiter (or their applicant tracking system) posts it.

    How many reasons, and whether they say something, is checked with the organisation's rules
    (`kringloop.rejections.rules.rejection_refusal`) for a message a recruiter can act on.
    """

    applicant: ApplicantIn
    vacancy: VacancyIn
    stage: ApplicationStage
    reasons: list[ReasonIn] = ApiField(default_factory=list, max_length=20)
    recruiter: EmailStr | None = None
    send_at: Annotated[AwareDatetime | None, AfterValidator(in_the_calendar)] = None


class RejectionBatch(StrictShape):
    """Many rejections for one vacancy. Items are checked one by one, so one bad line never
    holds back the others; an item may leave out `vacancy` when `vacancy_title` is given."""

    vacancy_title: PlainText | None = ApiField(default=None, min_length=1, max_length=200)
    items: list[dict[str, Any]] = ApiField(min_length=1, max_length=1000)


class RejectionReceipt(BaseModel):
    rejection_id: str
    status: RejectionStatus
    send_at: datetime | None


class BatchItemResult(BaseModel):
    index: int
    applicant_id: str | None
    accepted: bool
    rejection_id: str | None = None
    status: RejectionStatus | None = None
    send_at: datetime | None = None
    message: str | None = None
    field: str | None = None


class BatchResult(BaseModel):
    vacancy_id: str
    accepted: int
    refused: int
    results: list[BatchItemResult]


class ReasonOut(BaseModel):
    code: str
    sentence: str


class RejectionPublic(BaseModel):
    rejection_id: str
    status: RejectionStatus
    applicant: dict[str, str]
    vacancy: dict[str, str]
    stage: ApplicationStage
    reasons: list[ReasonOut]
    recruiter: AssigneePublic
    send_at: datetime | None
    sent_at: datetime | None
    cancelled_at: datetime | None
    created_at: datetime
    # Cases this rejection led to: a feedback call, a low candidate-NPS score.
    case_ids: list[str]
    timeline: list[TimelineEntryPublic]
