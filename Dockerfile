# syntax=docker/dockerfile:1
# SOXauto service image: `soxauto serve` on port 8000 (API under /api/, dashboard under /).
# Built nowhere in CI (no Docker engine there); the install step below is the Makefile's, from the
# same lock (requirements.txt is the runtime part of requirements-dev.txt, resolved together), and
# tests/test_deployment_docs.py keeps the two identical. See docs/deployment.md.

# --- build: a virtual environment holding SOXauto and its runtime dependencies -------------
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md requirements.txt ./
COPY src ./src
RUN python -m venv /opt/venv
RUN /opt/venv/bin/pip install --quiet --no-deps --require-hashes -r requirements.txt
RUN /opt/venv/bin/pip install --quiet --no-deps --no-build-isolation .

# --- runtime: the environment only, run as an unprivileged user -----------------------------
FROM python:3.11-slim AS runtime
# unixODBC: pyodbc's driver manager, for the SQL Server engine (add Microsoft's ODBC driver in a
# derived image if you use it; its licence forbids shipping it here).
RUN apt-get update \
 && apt-get install -y --no-install-recommends unixodbc \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 soxauto \
 && useradd --system --uid 10001 --gid soxauto --home-dir /var/lib/soxauto --create-home --shell /usr/sbin/nologin soxauto
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SOXAUTO_HOME=/var/lib/soxauto
USER 10001:10001
WORKDIR /var/lib/soxauto
EXPOSE 8000
# python's urllib, not curl: the slim image has no curl, and a failed request exits non-zero
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
CMD ["soxauto", "serve", "--host", "0.0.0.0"]
