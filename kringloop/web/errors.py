"""JSON errors with a message and the field they are about."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


class ApiError(Exception):
    def __init__(self, status_code: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.field = field


def refusal(status_code: int, message: str, field: str | None = None, *,
            headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The answer to a refused API request: what is wrong, and the field it is about."""
    return JSONResponse(status_code=status_code, content={"message": message, "field": field},
                        headers=headers)


def _field(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e["loc"]), "message": e["msg"]} for e in error.errors()]
        first = errors[0]
        return JSONResponse(status_code=422, content={
            "message": f"{first['field']}: {first['message']}", "field": first["field"],
            "errors": errors})

    @app.exception_handler(ApiError)
    async def _refused(_: Request, error: ApiError) -> JSONResponse:
        return refusal(error.status_code, error.message, error.field)
