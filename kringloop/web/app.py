"""Builds the FastAPI app from the services it needs."""

from __future__ import annotations

from fastapi import FastAPI

from kringloop.web.deps import Services
from kringloop.web.errors import install_error_handlers
from kringloop.web.routes import cases, health, responses, resurvey


def create_app(services: Services) -> FastAPI:
    app = FastAPI(title="Kringloop", version="0.1.0",
                  description="Closed-loop follow-up for Net Promoter programs.")
    app.state.services = services
    install_error_handlers(app)
    for module in (responses, cases, resurvey, health):
        app.include_router(module.router)
    return app
