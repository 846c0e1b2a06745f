"""A benchmark figure: its value, the goal, and the baseline it was measured against."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Figure:
    """One line of the report: `name: value (goal ...)`, plus what it was compared with."""

    name: str
    value: float | None
    goal: str  # e.g. ">= 0.8" or "<= 2"
    unit: str = ""
    baseline: str = ""  # what the value is a ratio of, or the baseline measured beside it
    versus: str = ""  # the baseline's own number, short, for the table
    note: str = ""  # why there is no value, or what was smaller in --quick
    details: dict[str, str] = field(default_factory=dict)

    @property
    def met(self) -> bool | None:
        if self.value is None:
            return None
        operator, _, bound = self.goal.partition(" ")
        limit = float(bound)
        return self.value >= limit if operator == ">=" else self.value <= limit

    def line(self) -> str:
        bound = self.goal.replace(">=", "≥").replace("<=", "≤")
        goal = f"goal {bound}{self.unit and ' '}{self.unit}"
        if self.value is None:
            return f"{self.name}: n/a ({self.note or 'not measured'})"
        verdict = "met" if self.met else "NOT met"
        return f"{self.name}: {self.value:.3g} ({goal}; {verdict})"


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (p95 of 200 samples is the 190th smallest)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2
