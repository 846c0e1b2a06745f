"""The survey-fetch workflow's payloads: which notified response to fetch, from which source."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FetchOrder:
    """Fetch the answers of `response_id` (the tool's id) in `survey_id` from the source's
    API; `delivery_id` is the notification's row, where each failed try is recorded."""

    source: str
    delivery_id: str
    response_id: str
    survey_id: str


def fetch_workflow_id(order: FetchOrder) -> str:
    return f"fetch-{order.source}-{order.response_id}"
