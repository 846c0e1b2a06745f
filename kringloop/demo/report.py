"""The demo's closing report: what became of every response and case, read from the database."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from rich.table import Table
from sqlalchemy import Engine
from sqlmodel import col, select

from kringloop.cases.models import Case, TimelineEntry
from kringloop.database import session_for
from kringloop.mail.models import OutboxMessage
from kringloop.org.organisation import Organisation
from kringloop.responses.models import SurveyResponse

WAITING_FOR = {
    "open": "not yet routed and assigned",
    "assigned": "not resolved by its team member",
    "escalated": "not resolved",
    "resolved": "re-survey not sent yet",
    "resurveyed": "re-survey sent, no new score yet",
    "awaiting_resurvey": "waiting for the re-survey answer",
}


def nps(scores: Iterable[int]) -> int | None:
    """Net Promoter Score: % promoters (9-10) minus % detractors (0-6), from -100 to +100."""
    scores = list(scores)
    if not scores:
        return None
    promoters = sum(score >= 9 for score in scores)
    detractors = sum(score <= 6 for score in scores)
    return round(100 * (promoters - detractors) / len(scores))


def _signed(value: int | None) -> str:
    return "–" if value is None else f"{value:+d}" if value else "0"


def progress_counts(engine: Engine) -> tuple[int, int, int]:
    """(cases opened, resolved, closed) so far."""
    with session_for(engine) as session:
        cases = session.exec(select(Case.resolved_at, Case.status)).all()
    return (len(cases), sum(resolved is not None for resolved, _ in cases),
            sum(status == "closed" for _, status in cases))


def loose_ends(engine: Engine, org: Organisation, response_ids: Sequence[str]) -> list[str]:
    """Every low score posted must have a case, and every case must be closed."""
    problems: list[str] = []
    with session_for(engine) as session:
        responses = session.exec(
            select(SurveyResponse).where(col(SurveyResponse.id).in_(response_ids))).all()
        cases = {case.response_id: case for case in session.exec(select(Case)).all()}
        resurveyed = set(session.exec(
            select(OutboxMessage.case_id).where(OutboxMessage.kind == "resurvey")).all())
    for response in sorted(responses, key=lambda r: r.id):
        if response.score <= org.programs[response.program].case_threshold:  # type: ignore[index]
            if response.id not in cases:
                problems.append(f"{response.id}: score {response.score} but no case was opened")
    for case in sorted(cases.values(), key=lambda c: c.id):
        if case.status != "closed":
            who = f" ({case.assignee_name})" if case.assignee_name else ""
            # The database says "resolved" until the case closes, re-survey sent or not.
            step = "resurveyed" if case.id in resurveyed else case.status
            problems.append(f"{case.id}{who}: {case.status}, "
                            f"{WAITING_FOR.get(step, 'not closed')}")
    missing = set(response_ids) - {r.id for r in responses}
    problems.extend(f"{response_id}: posted but not stored" for response_id in sorted(missing))
    return problems


def summary_table(engine: Engine, org: Organisation, *, posted: int, seconds: float) -> Table:
    """The figures a programme manager would ask for after the demo."""
    with session_for(engine) as session:
        responses = session.exec(
            select(SurveyResponse).where(SurveyResponse.source != "resurvey")).all()
        cases = session.exec(select(Case)).all()
        sent = Counter(session.exec(
            select(OutboxMessage.kind).where(OutboxMessage.status == "sent")).all())
        reassigned = len(session.exec(
            select(TimelineEntry.id).where(TimelineEntry.kind == "reassigned")).all())
    table = Table(title=f"Kringloop demo ({seconds:.0f} s)", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    table.add_row("responses posted", str(posted))
    for program in ("customer", "employee", "candidate"):
        scores = [r.score for r in responses if r.program == program]
        if scores:
            table.add_row(f"  {program}: {len(scores)} responses, NPS", _signed(nps(scores)))
    table.add_section()
    table.add_row("cases opened", str(len(cases)))
    per_team = Counter(case.team_id for case in cases)
    for team in org.teams:
        if per_team[team.id]:
            table.add_row(f"  assigned to {team.name}", str(per_team[team.id]))
    called = [c for c in cases if c.first_attempt_at is not None]
    on_time = sum(c.callback_due_at is not None and c.first_attempt_at <= c.callback_due_at
                  for c in called)
    table.add_row("callbacks on time", str(on_time))
    table.add_row("callbacks late", str(len(called) - on_time))
    table.add_row("escalations to a team lead", str(sum(c.escalations for c in cases)))
    table.add_row("reassignments", str(reassigned))
    table.add_row("unreachable (we-tried-to-reach-you email)", str(sent["unreachable"]))
    table.add_row("resolved", str(sum(c.resolved_at is not None for c in cases)))
    table.add_row("closed", str(sum(c.status == "closed" for c in cases)))
    table.add_section()
    table.add_row("emails sent", str(sum(sent.values())))
    for kind, count in sorted(sent.items()):
        table.add_row(f"  {kind}", str(count))
    resurveyed = [c for c in cases if c.resurvey_score is not None]
    table.add_section()
    table.add_row("re-surveyed (new score given)", str(len(resurveyed)))
    table.add_row("recovered (now passive or promoter)",
                  str(sum(bool(c.recovered) for c in resurveyed)))
    before = nps(c.score for c in resurveyed)
    after = nps(c.resurvey_score for c in resurveyed if c.resurvey_score is not None)
    table.add_row("NPS of the re-surveyed, before → after",
                  f"{_signed(before)} → {_signed(after)}")
    return table
