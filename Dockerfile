# The devicetrack API for a real deployment (see compose.yaml). The app is stateless:
# run more containers behind a proxy to scale out.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_LINK_MODE=copy
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY devicetrack ./devicetrack
COPY migrations ./migrations
RUN uv sync --no-dev
EXPOSE 8000
# `serve` migrates the database first (DATABASE_URL must be set).
CMD ["uv", "run", "--no-dev", "devicetrack", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
