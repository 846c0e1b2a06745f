"""SurveyMonkey's and Qualtrics' response APIs as a local HTTP server, for the tests that fetch
the answers a webhook notice names: responses registered by id, the token each API expects,
a switch to make the next requests fail with 503, and a record of what was asked.

    async with answering("qualtrics", notice, body) as (apis, http):
        answers = await TOOL.fetch(notice, api=apis.api("qualtrics"), http=http)
    assert apis.requests[-1].headers["x-api-token"] == apis.tokens["qualtrics"]

The paths, the auth headers and the error bodies are the documented ones:
SurveyMonkey v3 (https://api.surveymonkey.com/v3/docs#survey-responses) answers
/surveys/{id}/responses/{id}/details with `Authorization: Bearer <token>`; Qualtrics v3
(https://api.qualtrics.com/1179a68b7183c-retrieve-a-survey-response) answers
/surveys/{id}/responses/{id} with `X-API-TOKEN: <token>`.
"""

from __future__ import annotations

import asyncio
import copy
import socket
import threading
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from kringloop.sources.reading import FetchLater, ToolApi

Tool = Literal["surveymonkey", "qualtrics"]
# Where each API lives under the fake's address, as the real hosts put their version.
PREFIXES: dict[Tool, str] = {"surveymonkey": "/surveymonkey/v3", "qualtrics": "/qualtrics/API/v3"}


@dataclass(frozen=True)
class ReceivedRequest:
    """One request as the fake API saw it (header names in lower case)."""

    tool: Tool
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class _State:
    tokens: dict[Tool, str]
    responses: dict[tuple[Tool, str, str], dict[str, Any]] = field(default_factory=dict)
    failures_left: int = 0
    failure_status: int = 503
    requests: list[ReceivedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeSurveyApis:
    """Both APIs on one free port of 127.0.0.1, served by uvicorn in a background thread."""

    def __init__(self, *, surveymonkey_token: str = "sm-access-token-0001",
                 qualtrics_token: str = "qx-api-token-0001") -> None:
        self._state = _State(tokens={"surveymonkey": surveymonkey_token,
                                     "qualtrics": qualtrics_token})
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # --- what a test sets up and reads back ---

    @property
    def tokens(self) -> Mapping[Tool, str]:
        return self._state.tokens

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._state.lock:
            return list(self._state.requests)

    def base_url(self, tool: Tool) -> str:
        return f"http://127.0.0.1:{self.port}{PREFIXES[tool]}"

    def api(self, tool: Tool, *, token: str | None = None) -> ToolApi:
        """Where to reach `tool`, with its right token unless told another."""
        return ToolApi(base_url=self.base_url(tool),
                       token=self._state.tokens[tool] if token is None else token)

    def add_response(self, tool: Tool, survey_id: str, response_id: str,
                     body: Mapping[str, Any]) -> None:
        """What the API answers for that response (SurveyMonkey: the `simple=true` details,
        whose question and answer texts the fake leaves out unless `simple=true` is asked)."""
        with self._state.lock:
            self._state.responses[(tool, survey_id, response_id)] = copy.deepcopy(dict(body))

    def fail_next(self, count: int, *, status: int = 503) -> None:
        """The next `count` requests (either API) are answered with `status`."""
        with self._state.lock:
            self._state.failures_left, self._state.failure_status = count, status

    # --- running ---

    def start(self) -> FakeSurveyApis:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        self.port = listener.getsockname()[1]
        config = uvicorn.Config(_app(self._state), log_level="warning", lifespan="off",
                                access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run,
                                        kwargs={"sockets": [listener]}, daemon=True,
                                        name="fake-survey-apis")
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake survey APIs did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        self._server = self._thread = None

    def __enter__(self) -> FakeSurveyApis:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()

    async def __aenter__(self) -> FakeSurveyApis:
        # Starting waits a few milliseconds for the socket; stopping joins the thread, which
        # the event loop must not sit through: both run beside the loop.
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await asyncio.to_thread(self.stop)


@asynccontextmanager
async def answering(tool: Tool, notice: FetchLater, body: Mapping[str, Any],
                    ) -> AsyncIterator[tuple[FakeSurveyApis, httpx.AsyncClient]]:
    """The fake APIs answering `body` for the response `notice` names, and a client to ask."""
    async with FakeSurveyApis() as apis, httpx.AsyncClient() as http:
        apis.add_response(tool, notice.survey_id, notice.response_id, body)
        yield apis, http


def _app(state: _State) -> Starlette:
    async def surveymonkey_details(request: Request) -> JSONResponse:
        refused = _gate(state, "surveymonkey", request)
        if refused is not None:
            return refused
        found = _found(state, "surveymonkey", request)
        if found is None:
            return JSONResponse({"error": {"id": "1020", "name": "Resource Not Found",
                                           "message": "The response was not found."}},
                                status_code=404)
        if request.query_params.get("simple") != "true":
            found = _without_texts(found)
        return JSONResponse(found)

    async def qualtrics_response(request: Request) -> JSONResponse:
        refused = _gate(state, "qualtrics", request)
        if refused is not None:
            return refused
        found = _found(state, "qualtrics", request)
        if found is None:
            return JSONResponse({"meta": {"httpStatus": "404 - Not Found", "error": {
                "errorMessage": "Response not found", "errorCode": "RESP_1"}}},
                status_code=404)
        return JSONResponse(found)

    details = "/surveys/{survey_id}/responses/{response_id}/details"
    single = "/surveys/{survey_id}/responses/{response_id}"
    return Starlette(routes=[
        Route(PREFIXES["surveymonkey"] + details, surveymonkey_details, methods=["GET"]),
        Route(PREFIXES["qualtrics"] + single, qualtrics_response, methods=["GET"]),
    ])


def _gate(state: _State, tool: Tool, request: Request) -> JSONResponse | None:
    """Record the request, then answer a planned failure or a wrong token as the API would."""
    with state.lock:
        state.requests.append(ReceivedRequest(
            tool=tool, method=request.method, path=request.url.path,
            query=dict(request.query_params), headers=dict(request.headers)))
        if state.failures_left > 0:
            state.failures_left -= 1
            return JSONResponse({"error": "temporarily unavailable"},
                                status_code=state.failure_status)
    token = state.tokens[tool]
    if tool == "surveymonkey" and request.headers.get("authorization") != f"Bearer {token}":
        return JSONResponse({"error": {"id": "1011", "name": "Authorization Error",
                                       "message": "The authorization token provided was "
                                                  "invalid."}}, status_code=401)
    if tool == "qualtrics" and request.headers.get("x-api-token") != token:
        return JSONResponse({"meta": {"httpStatus": "401 - Unauthorized", "error": {
            "errorMessage": "Invalid token", "errorCode": "AUTH_1"}}}, status_code=401)
    return None


def _found(state: _State, tool: Tool, request: Request) -> dict[str, Any] | None:
    key = (tool, request.path_params["survey_id"], request.path_params["response_id"])
    with state.lock:
        found = state.responses.get(key)
        return copy.deepcopy(found) if found is not None else None


def _without_texts(details: dict[str, Any]) -> dict[str, Any]:
    """SurveyMonkey's details without `simple=true`: ids only, no headings or option texts."""
    for page in details.get("pages", []):
        for question in page.get("questions", []):
            question.pop("heading", None)
            for answer in question.get("answers", []):
                answer.pop("simple_text", None)
    return details
