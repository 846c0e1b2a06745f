# Kringloop's image: one image for every Kringloop part (web app, worker, schema migration,
# codec server); docker-compose.yml and deploy/kubernetes/ say which command each one runs.
# The image holds an installed Kringloop and nothing else of the repository: the templates,
# the migrations and the example organisation file travel inside the package
# (kringloop/resources.py). It runs as a user without rights on its own files and writes only
# a heartbeat in /tmp. tests/deploy/test_image_recipe.py builds this file tree from these
# lines, without Docker, and runs the compose file's Kringloop services on it.

FROM python:3.11.13-slim-bookworm AS build
RUN pip install --no-cache-dir uv==0.13.9
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
WORKDIR /app
# The dependencies first, in a layer of their own: a change to Kringloop's code reuses it.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY kringloop ./kringloop
COPY workflows ./workflows
COPY activities ./activities
COPY bench ./bench
COPY templates ./templates
COPY migrations ./migrations
COPY examples ./examples
COPY worker.py ./
# Not editable: Kringloop goes into the environment whole, with what it reads at run time.
RUN uv sync --locked --no-dev --no-editable

FROM python:3.11.13-slim-bookworm
# Only the environment: no source tree, no uv, nothing the running user may change.
COPY --from=build /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:$PATH" PYTHONUNBUFFERED=1 KRINGLOOP_WEB_HOST=0.0.0.0
WORKDIR /app
# nobody:nogroup, by number: Kubernetes' runAsNonRoot can only check a numeric user.
USER 65534:65534
EXPOSE 8000
# Whichever part runs here (`kringloop worker` or `kringloop web`): its heartbeat is fresh,
# and a web app's /health answers 200.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["kringloop", "health"]
CMD ["kringloop", "web"]
