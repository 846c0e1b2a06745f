"""Timeouts and retry policies for activities, and how a workflow refuses an action: defined
once for every workflow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

# Database steps retry until the database is back: a case is never dropped.
DATABASE_STEP: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2,
                                maximum_interval=timedelta(minutes=1)),
}

# Working-time arithmetic: short, no database, run as a local activity in the workflow task.
WORKING_TIME: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=10),
    "retry_policy": DATABASE_STEP["retry_policy"],
}

# SMTP 4xx and connection errors retry with backoff; a 5xx is final (EmailRejected).
MAIL_DELIVERY: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=2,
                                maximum_interval=timedelta(minutes=5),
                                non_retryable_error_types=["EmailRejected", "NoAddress"]),
}

# A survey tool's API that is down or refuses our token is asked again, less and less often,
# for as long as it takes: the notification is all we have of the response.
SURVEY_FETCH: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(initial_interval=timedelta(seconds=5), backoff_coefficient=2,
                                maximum_interval=timedelta(minutes=30)),
}


def refusal(message: str, *, field: str | None = None, closed: bool = False) -> ApplicationError:
    """An action the case refuses, for good (an update validator's answer): the message for the
    person, and the form field it is about."""
    return ApplicationError(message, {"field": field},
                            type="CaseClosed" if closed else "InvalidAction", non_retryable=True)
