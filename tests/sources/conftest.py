"""Sources in the tests: the example organisation's six, with SurveyMonkey's and Qualtrics'
APIs served by a local fake, and each tool's signing secret in the environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kringloop.org.organisation import Organisation
from tests.support.survey_tool_apis import FakeSurveyApis
from tests.support.survey_tools import SECRETS


@pytest.fixture
def survey_apis() -> Iterator[FakeSurveyApis]:
    with FakeSurveyApis() as apis:
        yield apis


@pytest.fixture
def org(org: Organisation, survey_apis: FakeSurveyApis,
        monkeypatch: pytest.MonkeyPatch) -> Organisation:
    """The example organisation, its fetching sources pointed at the fake APIs."""
    for variable, secret in SECRETS.items():
        monkeypatch.setenv(variable, secret)
    monkeypatch.setenv("KRINGLOOP_SURVEYMONKEY_TOKEN", survey_apis.tokens["surveymonkey"])
    monkeypatch.setenv("KRINGLOOP_QUALTRICS_TOKEN", survey_apis.tokens["qualtrics"])
    apis = {"surveymonkey": survey_apis.base_url("surveymonkey"),
            "qualtrics": survey_apis.base_url("qualtrics")}
    return org.model_copy(update={"sources": [
        source.model_copy(update={"api_url": apis[source.kind]}) if source.kind in apis
        else source for source in org.sources]})
