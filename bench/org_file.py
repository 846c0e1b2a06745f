"""A changed copy of an organisation file, written as TOML again: teams working round the
clock (every benchmark), policies for scaled time (the timer benchmark)."""

from __future__ import annotations

import json
import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Any

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON's escapes are valid in TOML basic strings
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _dump(table: dict[str, Any], path: tuple[str, ...] = ()) -> list[str]:
    lines = [f"{_key(k)} = {_value(v)}" for k, v in table.items()
             if not isinstance(v, dict) and not _is_table_array(v)]
    for name, value in table.items():
        inner = (*path, _key(name))
        if isinstance(value, dict):
            lines += ["", f"[{'.'.join(inner)}]", *_dump(value, inner)]
        elif _is_table_array(value):
            for item in value:
                lines += ["", f"[[{'.'.join(inner)}]]", *_dump(item, inner)]
    return lines


def read(source: Path) -> dict[str, Any]:
    return tomllib.loads(source.read_text(encoding="utf-8"))


def write(raw: dict[str, Any], target: Path) -> Path:
    target.write_text("\n".join(_dump(raw)) + "\n", encoding="utf-8")
    return target


def round_the_clock(raw: dict[str, Any]) -> dict[str, Any]:
    """Every team working all day, every day, public holidays too: a benchmark measures
    Kringloop, and an email held for the team's morning would read as latency."""
    for team in raw["teams"]:
        team.update(working_days=[1, 2, 3, 4, 5, 6, 7], working_hours=[time(0), time.max],
                    holiday_country="")
        team.pop("holiday_subdivision", None)
    return raw
