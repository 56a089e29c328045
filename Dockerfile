# The code-location image of infra/dagster-ecs.yaml: Dagster's webserver, its daemon and every run task.
#   docker build -t txdagster .   then push it to your registry and pass its URI: make deploy … IMAGE=<uri>
#   (docs/deploying.md)
# It holds neither moto nor txdagster/local/ (.dockerignore): the embedded AWS stack is for development.
# A test installs the project the same way into a clean venv, without moto, and validates the code location
# from a folder holding only what this image copies beside it (tests/e2e/test_image.py).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DAGSTER_HOME=/opt/dagster/home

WORKDIR /opt/txdagster
COPY pyproject.toml README.md ./
COPY txdagster ./txdagster
COPY lambdas ./lambdas
# the ingest road's C parts (txdagster/ingest/_native.c) are compiled here; the compiler leaves with its layer
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install . \
    && apt-get purge -y --auto-remove gcc libc6-dev && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home-dir /opt/dagster dagster

COPY workspace.yaml ./
COPY infra/dagster/dagster.yaml /opt/dagster/home/dagster.yaml

USER dagster
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import txdagster.definitions" || exit 1
# the ECS task definitions give the command: dagster-webserver … or dagster-daemon run …
CMD ["dagster-webserver", "-h", "0.0.0.0", "-p", "3000", "-w", "workspace.yaml"]
