# The example app (app_example) in production mode; compose.yaml runs it with PostgreSQL and Redis.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_FROZEN=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv

RUN pip install --no-cache-dir uv

WORKDIR /app

# Dependencies first (production only: no dev group, no `embedded` extra, the `metrics`
# extra for /metrics, the `smtp` extra for mail, the `speedups` extra: uvloop, httptools,
# hiredis), so code changes do not reinstall them.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --extra metrics --extra smtp --extra speedups --no-install-project

COPY authgate ./authgate
COPY app_example ./app_example
RUN uv sync --frozen --no-dev --extra metrics --extra smtp --extra speedups

RUN useradd --system --uid 10001 --home-dir /app authgate && chown -R authgate /app
USER authgate

EXPOSE 8000
# --no-proxy-headers: uvicorn must not turn X-Forwarded-For into the client address by
# itself; authgate reads it only from AUTHGATE_TRUSTED_PROXIES (see the README).
CMD ["uv", "run", "--no-dev", "uvicorn", "app_example.main:app", "--no-proxy-headers", "--host", "0.0.0.0", "--port", "8000"]
