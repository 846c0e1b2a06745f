"""JSON errors with a message and the field they are about (null when about no field): for
invalid requests, Refused, and any HTTPException an API client gets. Pages keep their own."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException

from kringloop.refusal import Refused


def refusal(status_code: int, message: str, field: str | None = None, *,
            headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The answer to a refused API request: what is wrong, and the field it is about."""
    return JSONResponse(status_code=status_code, content={"message": message, "field": field},
                        headers=headers)


def wants_json(request: Request) -> bool:
    """An API route, or a client asking for JSON rather than a page."""
    path, accept = request.url.path, request.headers.get("accept", "")
    return (path == "/api" or path.startswith("/api/")
            or ("application/json" in accept and "text/html" not in accept))


def _field(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


# How long a client should wait before trying again when the database cannot take a write.
DATABASE_RETRY_AFTER_S = 30


def disk_is_full(error: OperationalError) -> bool:
    """Whether the database refused for want of room: SQLite's SQLITE_FULL, PostgreSQL's
    disk_full (SQLSTATE 53100)."""
    cause = error.orig
    return (getattr(cause, "sqlite_errorname", None) == "SQLITE_FULL"
            or getattr(cause, "sqlstate", None) == "53100")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(OperationalError)
    async def _database_unavailable(_: Request, error: OperationalError) -> JSONResponse:
        """The database cannot take this now (a full disk, a lock, a lost connection): the
        transaction was rolled back, so nothing was half stored, and the sender may retry."""
        problem = ("the database has no room left to store this (disk full)"
                   if disk_is_full(error) else "the database cannot be reached right now")
        return refusal(503, f"{problem}; nothing was stored: try again later",
                       headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)})

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e["loc"]), "message": e["msg"]} for e in error.errors()]
        first = errors[0]
        return JSONResponse(status_code=422, content={
            "message": f"{first['field']}: {first['message']}", "field": first["field"],
            "errors": errors})

    @app.exception_handler(Refused)
    async def _refused(_: Request, error: Refused) -> JSONResponse:
        return refusal(error.status_code, error.message, error.field)

    # Starlette's, so that its own 404 and 405 (no such address, method) answer alike too.
    @app.exception_handler(HTTPException)
    async def _http_refusal(request: Request, error: HTTPException) -> Response:
        if not wants_json(request):
            return await http_exception_handler(request, error)
        return refusal(error.status_code, str(error.detail), headers=error.headers)
