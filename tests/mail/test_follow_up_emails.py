"""The emails around a callback as the respondent reads them: the closing email says a one-question
re-survey follows, the re-survey comes from the person who helped, and a feedback call's time
says which clock it is on."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Engine

from kringloop.cases.emails import compose, template_for
from kringloop.cases.queries import case_with_response
from kringloop.database import session_for
from kringloop.mail.rendering import render
from kringloop.org.organisation import Organisation
from kringloop.settings import Settings
from tests.support.mail import context_for

FOLLOWS = {"nl": "nog één e-mail van ons, met één vraag",
           "en": "one more email from us, with a single question"}


def visible_text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def composed(kind: str, engine: Engine, org: Organisation, settings: Settings,
             case_id: str, language: str) -> tuple[str, str, str]:
    """The case's `kind` email as compose makes it, in `language`: text, HTML, the assignee."""
    with session_for(engine) as session:
        found = case_with_response(session=session, case_id=case_id)
    assert found is not None
    case, origin = found
    origin.language = language
    case.action_taken, case.resolution_message = "Nieuwe band gestuurd.", "Sorry!"
    letter = compose(kind=kind, case=case, origin=origin, org=org, settings=settings)
    email = letter.render(template_for(kind, origin))
    return email.text, visible_text(email.html), str(case.assignee_name)


@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_closing_email_says_a_one_question_resurvey_follows(
    engine: Engine, org: Organisation, settings: Settings, assigned_case: str, language: str,
) -> None:
    text, html, _ = composed("closing", engine, org, settings, assigned_case, language)

    assert FOLLOWS[language] in text and FOLLOWS[language] in html
    # Without the re-survey's links in its context, nothing is promised.
    quiet = render("closing", language, context_for("closing", language))
    assert FOLLOWS[language] not in quiet.text and FOLLOWS[language] not in quiet.html


@pytest.mark.parametrize(("language", "team"), [("nl", "Het team van"), ("en", "team")])
def test_the_resurvey_is_signed_by_the_person_who_helped(
    engine: Engine, org: Organisation, settings: Settings, assigned_case: str, language: str,
    team: str,
) -> None:
    text, html, assignee = composed("resurvey", engine, org, settings, assigned_case, language)

    assert text.rstrip().endswith(f"{assignee}\n{org.name}")
    assert html.endswith(f"{assignee} {org.name}")
    assert f"{team} {org.name}" not in text + html


@pytest.mark.parametrize(("language", "zone"), [("nl", "(tijd in Londen)"),
                                                 ("en", "(London time)")])
def test_a_feedback_call_time_says_which_clock_it_is_on(language: str, zone: str) -> None:
    email = render("feedback_call", language,
                   context_for("feedback_call", language, time_zone="Europe/London"))

    assert zone in email.text and zone in visible_text(email.html)
    assert ("14:00 " + zone) in email.text  # 14:00 UTC is 14:00 in London in December
