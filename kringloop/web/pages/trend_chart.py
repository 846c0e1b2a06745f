"""The report page's NPS trend as an SVG chart drawn on the server: one column per ISO week (eNPS:
per month, each month hidden on its own), a line broken wherever a column is hidden or empty."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from math import ceil
from typing import Literal

from kringloop.reports.periods import Month, week_of
from kringloop.reports.schemas import HiddenFigures, HiddenGroup, NpsCounts, NpsGroup, NpsReport


@dataclass(frozen=True)
class Column:
    """One week or month of the trend: its figures, hidden ones, or None without any answer."""

    key: str
    label: str  # under the axis
    figures: NpsCounts | HiddenFigures | None


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    key: str
    nps: int
    n: int


@dataclass(frozen=True)
class Gap:
    """A week or month without a point: hidden (too few answers to show) or without answers."""

    x: float
    key: str
    hidden: bool


@dataclass(frozen=True)
class TrendChart:
    unit: Literal["week", "month"]
    width: int
    height: int
    left: int
    top: int
    plot_width: float
    plot_height: float
    step: float
    points: list[Point]
    lines: list[str]  # one polyline per run of columns shown; a gap breaks the line
    gaps: list[Gap]
    x_labels: list[tuple[float, str]]
    y_ticks: list[tuple[float, int]]
    first: str | None
    last: str | None


def _monday(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def weekly_columns(weekly: NpsReport) -> list[Column]:
    """One column per ISO week from the first to the last week with answers."""
    keys = [g.key for g in weekly.groups if g.key]
    by_week = {g.key: g for g in weekly.groups}
    columns: list[Column] = []
    if keys:
        monday, last = _monday(min(keys)), _monday(max(keys))
        while monday <= last:
            week = week_of(datetime(monday.year, monday.month, monday.day, tzinfo=UTC))
            group = by_week.get(week)
            columns.append(Column(key=week, label=week.split("-W")[1].lstrip("0"), figures=(
                None if group is None else HiddenFigures(hidden=True)
                if isinstance(group, HiddenGroup) else NpsCounts(**group.model_dump(
                    exclude={"key"})))))
            monday += timedelta(days=7)
    return columns


def monthly_columns(months: list[tuple[Month, NpsReport]], label: Callable[[Month], str]
                    ) -> list[Column]:
    """One column per month, each month's own overall; none before the first with answers."""
    columns = [Column(key=str(month), label=label(month),
                      figures=report.overall if report.groups else None)
               for month, report in months]
    while columns and columns[0].figures is None:
        columns.pop(0)
    return columns


def trend_chart(columns: list[Column], *, unit: Literal["week", "month"] = "week",
                width: int = 720, height: int = 280) -> TrendChart:
    """Where every column goes: NPS from -100 (bottom) to +100 (top), one column per week or
    month."""
    left, right, top, bottom = 56, 16, 16, 56
    plot_width, plot_height = width - left - right, height - top - bottom
    step = plot_width / max(len(columns), 1)

    def y(nps: float) -> float:
        return round(top + (100 - nps) * plot_height / 200, 1)

    points: list[Point] = []
    gaps: list[Gap] = []
    runs: list[list[Point]] = [[]]
    for index, column in enumerate(columns):
        x = round(left + step * (index + 0.5), 1)
        figures = column.figures
        if isinstance(figures, NpsCounts) and figures.nps is not None:
            point = Point(x=x, y=y(figures.nps), key=column.key, nps=figures.nps, n=figures.n)
            points.append(point)
            runs[-1].append(point)
        else:
            gaps.append(Gap(x=x, key=column.key, hidden=figures is not None))
            runs.append([])
    every = ceil(len(columns) / 13) if columns else 1
    return TrendChart(
        unit=unit, width=width, height=height, left=left, top=top, plot_width=plot_width,
        plot_height=plot_height, step=round(step, 1), points=points, gaps=gaps,
        lines=[" ".join(f"{p.x},{p.y}" for p in run) for run in runs if len(run) > 1],
        x_labels=[(round(left + step * (i + 0.5), 1), column.label)
                  for i, column in enumerate(columns) if i % every == 0],
        y_ticks=[(y(v), v) for v in (100, 50, 0, -50, -100)],
        first=columns[0].key if columns else None, last=columns[-1].key if columns else None)


def monthly_groups(columns: list[Column]) -> list[NpsGroup | HiddenGroup]:
    """The eNPS trend's months as table rows: those with answers."""
    return [HiddenGroup(key=c.key, hidden=True) if isinstance(c.figures, HiddenFigures)
            else NpsGroup(key=c.key, **c.figures.model_dump(exclude={"hidden"}))
            for c in columns if c.figures is not None]
