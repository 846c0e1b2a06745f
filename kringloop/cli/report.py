"""`kringloop report`: the workspace's report in the terminal, as an admin sees it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from kringloop.cli.common import checked_settings, console, database, refuse
from kringloop.org.organisation import load_organisation

commands = typer.Typer()  # joins `kringloop` itself, as commands of its own (see __init__)


@commands.command()
def report(
    program: Annotated[str, typer.Option(help="customer, employee or candidate")] = "customer",
    first: Annotated[datetime | None, typer.Option(
        "--from", formats=["%Y-%m-%d"], help="first day (UTC), e.g. 2026-01-01")] = None,
    last: Annotated[datetime | None, typer.Option(
        "--to", formats=["%Y-%m-%d"], help="last day (UTC), included")] = None,
    month: Annotated[str | None, typer.Option(
        help="one calendar month (UTC), e.g. 2026-11, instead of --from/--to; employee: the "
             "only period, a month that has ended; the last one if not given")] = None,
    group_by: Annotated[str | None, typer.Option(
        help="team, segment or week (default team); employee: segment only")] = None,
) -> None:
    """NPS per team, segment or week (small groups hidden) and how each team closes the loop,
    for the whole organisation, as an admin sees it in the workspace's report. eNPS: one
    calendar month, by department (segment)."""
    from kringloop.reports.adopted import adopted_report
    from kringloop.reports.loop_health import loop_report
    from kringloop.reports.nps import nps_report
    from kringloop.reports.periods import ReportRefused, report_grouping, report_period
    from kringloop.reports.rows import nps_rows

    settings = checked_settings()
    org = load_organisation(settings.org_file)
    if program not in org.programs:
        raise refuse(f"--program: {program} is not one of {', '.join(org.programs)}")
    try:
        window = report_period(program=program, today=datetime.now(UTC).date(),
                               first=first.date() if first else None,
                               last=last.date() if last else None, month=month)
        grouping = report_grouping(program=program, group_by=group_by)
    except ReportRefused as refused:
        raise refuse(f"--{refused.field.replace('_', '-')}: {refused.reason}") from None
    with database(settings) as session:
        nps = nps_report(session=session, org=org, program=program,  # type: ignore[arg-type]
                         group_by=grouping, window=window)
        loop = loop_report(session=session, org=org, programs=[program],
                           now=datetime.now(UTC), window=window)
        adopted = adopted_report(session=session, org=org, window=window) \
            if program == "customer" else None
    names = {t.id: t.name for t in org.teams}

    def signed(value: int | None) -> str:
        return "-" if value is None else f"{value:+d}" if value else "0"

    def share(pct: int | None, part: int, whole: int) -> str:
        return "-" if pct is None else f"{pct}% ({part}/{whole})"

    def hours(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} h"

    in_month = f" in {window.month}" if month or program == "employee" else ""
    table = Table(title=escape(f"NPS {program} by {grouping}{in_month} (groups under "
                               f"{nps.min_group_size} answers hidden)"))
    for column in (grouping, "answers", "promoters", "passives", "detractors", "NPS"):
        table.add_column(column, justify="left" if column == grouping else "right")
    for kind, key, hidden, n, promoters, passives, detractors, score in nps_rows(nps):
        label = "all" if kind == "overall" else names.get(key, key) if grouping == "team" \
            else key or "(no segment)"
        if hidden:
            table.add_row(escape(label), "hidden", "", "", "", "")
        else:
            table.add_row(escape(label), str(n), str(promoters), str(passives),
                          str(detractors), signed(score))
        if kind == "overall":
            table.add_section()
    console.print(table)

    # One column per team: the figures read down, and the table fits a terminal.
    health = Table(title=escape(f"Closing the loop: {program} cases opened in the period"
                                f"{in_month}"))
    health.add_column("")
    for row in loop.rows:
        health.add_column(escape(names.get(row.team or "", row.team or "no team yet")),
                          justify="right")
    figures = {
        "cases opened": [str(r.cases_opened) for r in loop.rows],
        "called back within SLA": [share(r.pct_within_sla, r.contacted_within_sla,
                                         r.sla_decided) for r in loop.rows],
        "median time to first contact": [hours(r.median_hours_to_first_contact)
                                         for r in loop.rows],
        "median time to resolution": [hours(r.median_hours_to_resolution) for r in loop.rows],
        "escalated (SLA missed)": [str(r.sla_breaches) for r in loop.rows],
        "waited on the respondent": [str(r.waited_on_respondent) for r in loop.rows],
        "reopened after a low re-survey": [str(r.reopened) for r in loop.rows],
        "resolved": [share(r.pct_resolved, r.resolved, r.cases_opened) for r in loop.rows],
        "re-survey answered": [share(r.resurvey_response_rate, r.resurveys_answered,
                                     r.resurveys_sent) for r in loop.rows],
        "detractors won back": [share(r.recovery_rate, r.recovered, r.recovery_base)
                                for r in loop.rows],
        "root causes": ["\n".join(escape(f"{c.root_cause} {c.cases}") for c in r.root_causes)
                        or "-" for r in loop.rows],
    }
    for figure, cells in figures.items():
        health.add_row(figure, *cells)
    console.print(health if loop.rows else "No cases were opened in the period.")

    if adopted and adopted.adopters:
        customers = Table(title="Adopted customers: scores in the period, oldest first")
        for column in ("colleague", "customer", "scores", "change"):
            customers.add_column(column)
        for adopter in adopted.adopters:
            for customer in adopter.customers:
                customers.add_row(
                    escape(adopter.name), escape(customer.name or customer.respondent_id),
                    " > ".join(f"{s.answered_at:%Y-%m-%d} {s.score}" for s in customer.scores)
                    or "-", signed(customer.change))
        console.print(customers)
