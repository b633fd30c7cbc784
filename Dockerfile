FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY server.py settings.py auth.py services.py embedded.py cli.py ./
COPY schema ./schema
COPY resolvers ./resolvers
COPY dal ./dal
RUN pip install --no-cache-dir .
EXPOSE 8000
# `zebros init` is idempotent: creating what exists is a no-op.
CMD ["sh", "-c", "zebros init && zebros serve --host 0.0.0.0 --port 8000"]
