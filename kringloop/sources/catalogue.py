"""The survey tools Kringloop reads, by the `kind` a source names in the organisation file."""

from __future__ import annotations

from kringloop.org.organisation import SurveySource
from kringloop.sources.reading import SurveyTool
from kringloop.sources.tools import delighted, formbricks, qualtrics, surveymonkey, tally, typeform

TOOLS: dict[str, SurveyTool] = {module.TOOL.kind: module.TOOL for module in (
    typeform, delighted, tally, formbricks, surveymonkey, qualtrics)}


def tool_for(source: SurveySource) -> SurveyTool:
    return TOOLS[source.kind]


# Where a tool's API is unless the source says (Qualtrics has one per data center: required).
API_URLS = {"surveymonkey": "https://api.surveymonkey.com/v3"}


def default_api_url(source: SurveySource) -> str:
    return API_URLS[source.kind]
