"""The same figures as rows: for CSV files and the terminal."""

from __future__ import annotations

from typing import Any

from kringloop.reports.schemas import LoopHealth, LoopReport, NpsReport

NPS_COLUMNS = ("row", "key", "hidden", "n", "promoters", "passives", "detractors", "nps")
LOOP_COLUMNS = tuple(LoopHealth.model_fields)


def nps_rows(report: NpsReport) -> list[list[Any]]:
    """One row for the overall, then one per group; a hidden one has no counts."""
    def row(kind: str, key: str | None, figures: Any) -> list[Any]:
        values = figures.model_dump()
        return [kind, key, values["hidden"], *(values.get(c) for c in NPS_COLUMNS[3:])]
    return [row("overall", None, report.overall),
            *(row("group", group.key, group) for group in report.groups)]


def loop_rows(report: LoopReport) -> list[list[Any]]:
    """One row per program and team; root causes as "cause=count; ..." in Pareto order."""
    def cell(health: LoopHealth, column: str) -> Any:
        if column == "root_causes":
            return "; ".join(f"{rc.root_cause}={rc.cases}" for rc in health.root_causes)
        return getattr(health, column)
    return [[cell(health, column) for column in LOOP_COLUMNS] for health in report.rows]
