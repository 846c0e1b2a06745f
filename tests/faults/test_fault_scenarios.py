"""Faults, survived: a worker killed mid-load, a mail server down or refusing, the database
unavailable, Temporal restarted while cases wait on timers, one webhook delivered a thousand
times at once, one recipient refused for good. Each scenario drives real processes (`kringloop
worker`, `kringloop web`, a Temporal dev server, an SMTP server, SQLite or PostgreSQL) and ends
with the same audit (tests/faults/audit.py); the table of audits is printed after the run."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import holidays
import pytest

from kringloop.cases.messages import case_id_for
from tests.faults.audit import CASE_STEPS, FIRST_EMAILS, Audit, Expected, outbox_key
from tests.faults.breakable import DatabaseOutage, Launch, MailRelay, TemporalServer
from tests.faults.survey_tool import SurveyTool, detractors, respondent_email

pytestmark = pytest.mark.slow


def ids_of(responses: list[dict[str, object]]) -> list[str]:
    return [str(response["response_id"]) for response in responses]


async def test_a_worker_killed_three_times_mid_load_loses_no_case_and_no_email(
    kringloop: Launch, mail: MailRelay, audited: Audit,
) -> None:
    """Nor is any email sent twice, even when a SIGKILL falls between the mail server taking
    an email and the worker recording it (activities/outbox.py: the hand-over)."""
    deployment = await kringloop()
    survey_tool = SurveyTool(deployment.web_url)
    responses = detractors("worker-killed", 300)
    load = asyncio.create_task(survey_tool.deliver_all(responses))

    # Each SIGKILL at the worst moment: the mail server has just taken an email, and the worker
    # has yet to hear its 250. Early, so the tasks the killed worker held time out under load.
    for emails_so_far in (30, 100, 170):  # of 600, two per case
        await mail.fault_at_arrival(emails_so_far, deployment.killer("worker"))
        await deployment.kill("worker")
        await deployment.start("worker")  # as a process supervisor restarts it
    await load

    await audited("worker SIGKILLed 3x", Expected(ids_of(responses)), deployment, survey_tool)


# "A minute" shortened: MAIL_DELIVERY (workflows/policies.py) retries every 2, 4, 8, 16, 32,
# 64 ... s (at most 5 min apart) without an attempt limit, so a longer outage only waits longer.
MAIL_OUTAGES = {"connections-refused": ("refused", 20), "temporary-failures": ("451", 15)}


@pytest.mark.parametrize(("kind", "seconds"), MAIL_OUTAGES.values(), ids=MAIL_OUTAGES.keys())
async def test_a_mail_server_outage_delays_the_emails_but_loses_and_doubles_none(
    kringloop: Launch, mail: MailRelay, audited: Audit, kind: str, seconds: int,
) -> None:
    deployment = await kringloop()
    survey_tool = SurveyTool(deployment.web_url)
    responses = detractors(f"mail-{kind}", 60)
    load = asyncio.create_task(survey_tool.deliver_all(responses, per_second=4))

    await mail.received(10)  # the worker holds kept-open connections to the server by now
    await mail.outage(kind, seconds)  # the load goes on meanwhile
    await load

    await audited(f"SMTP {kind} for {seconds} s", Expected(ids_of(responses)), deployment,
                  survey_tool)


async def test_the_database_unavailable_for_30_seconds_mid_load_loses_and_doubles_nothing(
    kringloop: Launch, mail: MailRelay, audited: Audit, database_outage: DatabaseOutage,
) -> None:
    deployment = await kringloop(database=database_outage.url)
    survey_tool = SurveyTool(deployment.web_url)
    responses = detractors("database-down", 80)
    load = asyncio.create_task(survey_tool.deliver_all(responses, per_second=4))

    # The worst moment: the mail server has just accepted an email, and the worker has yet to
    # mark it sent in the outbox. The survey tool goes on posting, and retrying, meanwhile.
    await mail.fault_at_arrival(10, database_outage.begin)
    try:
        await asyncio.sleep(30)
    finally:
        database_outage.end()
    await load

    await audited(f"database {database_outage.how} 30 s", Expected(ids_of(responses)),
                  deployment, survey_tool)


# One team working round the clock on a day without holidays: with KRINGLOOP_TIME_SCALE=3600
# an hour of its time passes in a second, so the reminder is due 20 s after a case opens, the
# escalation 30 s after, and the reassignment after it a day away (the grace period).
ROUND_THE_CLOCK_ORG = """
name = "Storingsproef"

[programs.customer]
case_threshold = 6
root_causes = ["other"]
sla = [{{ low = 0, high = 6, business_hours = 30 }}]
reminder_before_hours = 10
escalation_grace_hours = 100000

[[teams]]
id = "dag-en-nacht"
name = "Dag en nacht"
time_zone = "UTC"
working_hours = [00:00:00, 23:59:59]
working_days = [1, 2, 3, 4, 5, 6, 7]
holiday_country = "{country}"
routes = [{{ programs = ["customer"] }}]
members = [
  {{ name = "Lea Leider", email = "lea@storing.example", role = "lead" }},
  {{ name = "Mo Medewerker", email = "mo@storing.example", capacity = 100 }},
  {{ name = "Iris Inval", email = "iris@storing.example", capacity = 100 }},
]
"""


def a_country_without_holidays_today() -> str:
    today = datetime.now(UTC).date()
    return next(country for country in ("NL", "GB", "US", "JP", "BR", "IN")
                if not {today, today + timedelta(days=1)} & set(holidays.country_holidays(
                    country, years=[today.year, today.year + 1])))


async def test_cases_waiting_on_timers_get_their_reminders_after_temporal_is_restarted(
    restartable_temporal: TemporalServer, kringloop: Launch, mail: MailRelay, audited: Audit,
    tmp_path: Path,
) -> None:
    org = tmp_path / "org.toml"
    org.write_text(ROUND_THE_CLOCK_ORG.format(country=a_country_without_holidays_today()))
    deployment = await kringloop(temporal=restartable_temporal, KRINGLOOP_ORG_FILE=str(org),
                                 KRINGLOOP_TIME_SCALE="3600")
    survey_tool = SurveyTool(deployment.web_url)
    responses = detractors("timers", 40)
    await survey_tool.deliver_all(responses)
    await mail.received(2 * len(responses))  # acknowledged and assigned: waiting on timers
    assert not any(m["X-Kringloop-Kind"] == "reminder" for m in mail.server.received)

    await restartable_temporal.kill()
    await asyncio.sleep(5)
    await restartable_temporal.start()  # same port, same database file

    await audited("Temporal restarted, timers", Expected(
        ids_of(responses), emails=(*FIRST_EMAILS, "reminder", "escalation"),
        steps=(*CASE_STEPS, "escalated")), deployment, survey_tool)


async def test_one_webhook_delivered_a_thousand_times_at_once_opens_one_case_and_one_email(
    kringloop: Launch, audited: Audit,
) -> None:
    # The intake limit (100/second per sender by default) is raised so that all 1,000
    # deliveries really arrive together; under the default the survey tool's 429 retries
    # would spread them over ten seconds.
    deployment = await kringloop(KRINGLOOP_RATE_LIMIT_INTAKE="5000/second")
    survey_tool = SurveyTool(deployment.web_url)
    response = detractors("same-webhook", 1)

    case_ids = await survey_tool.deliver_all(response * 1000, concurrency=1000)

    assert set(case_ids) == {case_id_for(ids_of(response)[0])}
    assert survey_tool.answers == {201: 1, 200: 999}
    await audited("same webhook 1,000x at once", Expected(ids_of(response)), deployment,
                  survey_tool)


async def test_a_recipient_refused_for_good_is_on_that_cases_timeline_and_the_rest_go_on(
    kringloop: Launch, mail: MailRelay, audited: Audit,
) -> None:
    refused = 7
    mail.server.refuse_recipients[respondent_email("refused", refused)] = (
        "550 5.1.1 mailbox unavailable")
    deployment = await kringloop()
    survey_tool = SurveyTool(deployment.web_url)
    responses = detractors("refused", 30)

    await survey_tool.deliver_all(responses)

    refused_case = case_id_for(ids_of(responses)[refused])
    await audited("SMTP 550 for one recipient", Expected(
        ids_of(responses), refused=frozenset({outbox_key(refused_case, "acknowledgement")})),
        deployment, survey_tool)
