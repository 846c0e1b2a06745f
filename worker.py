"""The Kringloop worker: runs the case, rejection and team-rhythm workflows and their activities
on the `kringloop-cases` queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.cases import CaseActivities
from activities.digests import DigestActivities
from activities.erasure import ErasureActivities
from activities.mail import MailActivities
from activities.rejection_mailing import RejectionMailingActivities
from activities.rejections import RejectionActivities
from activities.sources import SourceActivities
from kringloop.org.organisation import Organisation
from kringloop.settings import Settings
from workflows.case import CaseWorkflow
from workflows.digest import DailyDigestWorkflow, WeeklySpotlightWorkflow
from workflows.rejection import RejectionWorkflow
from workflows.rejection_mailing import RejectionMailingWorkflow
from workflows.retention import RetentionWorkflow
from workflows.survey_fetch import SurveyFetchWorkflow

# RejectionWorkflow sends the rejections made before vacancy mailings; it stays for them.
WORKFLOWS = [CaseWorkflow, RejectionMailingWorkflow, RejectionWorkflow, DailyDigestWorkflow,
             WeeklySpotlightWorkflow, RetentionWorkflow, SurveyFetchWorkflow]


def worker_tuning(*, strict_sandbox: bool = False) -> dict[str, Any]:
    """Kringloop's worker settings (the benchmark's bare baseline uses them too).

    The passthrough sandbox imports modules once for all workflows instead of again in each
    one's sandbox: less CPU per workflow task and less memory per cached case. It also stops
    the sandbox from catching `datetime.now()` and the like, so the test suite runs every
    workflow in the strict sandbox (and tests/test_replay.py replays histories in it).
    """
    restrictions = SandboxRestrictions.default
    if not strict_sandbox:
        restrictions = restrictions.with_passthrough_all_modules()
    return {
        "max_concurrent_activities": 50,
        "workflow_runner": SandboxedWorkflowRunner(restrictions=restrictions),
        # Sleeping cases need no cache; a smaller one keeps memory flat under many open cases.
        "max_cached_workflows": 500,
    }


class KringloopWorker(Worker):
    """The worker, and the activities that read the organisation file (routing, teams,
    templates' names): a reloaded file reaches them without a restart."""

    def __init__(self, client: Client, *, org_readers: list[Any], **options: Any) -> None:
        super().__init__(client, **options)
        self._org_readers = org_readers

    def use_organisation(self, org: Organisation) -> None:
        for activities in self._org_readers:
            activities.org = org


def build_worker(client: Client, *, settings: Settings, org: Organisation, engine: Engine,
                 strict_sandbox: bool = False, outbox: Path | None = None) -> KringloopWorker:
    """`outbox`: the embedded SMTP sink's folder, whose copies retention also deletes."""
    case_activities = CaseActivities(engine=engine, org=org, time_scale=settings.time_scale)
    mail_activities = MailActivities(engine=engine, org=org, settings=settings)
    rejection_activities = RejectionActivities(engine=engine, org=org, settings=settings)
    mailing_activities = RejectionMailingActivities(engine=engine, org=org, settings=settings)
    digest_activities = DigestActivities(engine=engine, org=org, settings=settings)
    erasure_activities = ErasureActivities(engine=engine, outbox=outbox)
    source_activities = SourceActivities(client=client, engine=engine, org=org,
                                         settings=settings)
    return KringloopWorker(
        client,
        org_readers=[case_activities, mail_activities, rejection_activities, mailing_activities,
                     digest_activities, source_activities],
        task_queue=settings.task_queue,
        workflows=WORKFLOWS,
        activities=[
            case_activities.open_case,
            case_activities.plan_case,
            case_activities.assign_member,
            case_activities.schedule_callback,
            case_activities.record_timeline,
            case_activities.working_moment,
            case_activities.working_hours_between,
            case_activities.record_action,
            case_activities.record_resurvey,
            case_activities.record_booking,
            case_activities.record_respondent_mail,
            mail_activities.send_case_email,
            rejection_activities.schedule_rejection,
            rejection_activities.schedule_survey,
            rejection_activities.record_step,
            rejection_activities.send_rejection_email,
            mailing_activities.mail_due,
            digest_activities.plan_team_morning,
            digest_activities.send_digest,
            digest_activities.send_spotlight,
            erasure_activities.purge_expired_personal_data,
            source_activities.fetch_and_take_in,
        ],
        **worker_tuning(strict_sandbox=strict_sandbox),
    )

