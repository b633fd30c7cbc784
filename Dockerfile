# The API for containers: `zebros serve` (uvicorn), no embedded stores (the
# `embedded` extra, moto and fakeredis, is not installed): point it at DynamoDB,
# S3 and Redis with ZEBROS_AWS__* and ZEBROS_REDIS__URL (docker-compose.yml does).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md requirements.lock ./
COPY server.py aws_lambda.py settings.py auth.py services.py embedded.py cli.py ./
COPY schema ./schema
COPY resolvers ./resolvers
COPY dal ./dal
COPY edge ./edge
COPY observe ./observe
COPY deploy ./deploy
COPY jobs ./jobs
# Every install takes its versions from requirements.lock (see README, 'Dependencies').
# ZEBROS_ENV=prod: no development JWT secret is accepted; set the key settings.
ENV ZEBROS_ENV=prod
RUN pip install --no-cache-dir --constraint requirements.lock . \
    && useradd --system --uid 10001 --home-dir /app zebros
USER zebros
EXPOSE 8000
# /healthz answers while the process serves; /readyz also needs the stores.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
STOPSIGNAL SIGTERM
# `zebros init` is idempotent; SIGTERM lets requests in flight finish
# (ZEBROS_SERVER__GRACEFUL_SHUTDOWN_SECONDS, default 10; keep docker's stop timeout above it).
CMD ["sh", "-c", "zebros init && exec zebros serve --host 0.0.0.0 --port 8000 --workers ${ZEBROS_WORKERS:-1}"]
