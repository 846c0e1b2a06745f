# Kringloop worker and web app image (the same image runs either part).
FROM python:3.11-slim
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy PYTHONUNBUFFERED=1
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY kringloop ./kringloop
COPY workflows ./workflows
COPY activities ./activities
COPY templates ./templates
COPY examples ./examples
COPY worker.py ./
RUN uv sync --locked --no-dev
ENV PATH="/app/.venv/bin:$PATH" KRINGLOOP_WEB_HOST=0.0.0.0
USER nobody
CMD ["kringloop", "web"]
