# The application image: the worker, the starter (coordinators' CLI), the codec server and the
# one-shot jobs of docker-compose.yml (migrations, Temporal namespace and search attributes).
# Which program a container runs is its command; the default is the worker.
#
#   docker build -t inkanteling-app:dev .
#
# Pinned base: a Python patch release on a Debian release, the interpreter the lock was
# resolved with (requirements.lock says Python 3.11). Bump it deliberately, like the lock.
FROM python:3.11.14-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# Exactly the locked dependencies: every distribution must match a hash in the lock, and
# nothing is resolved beyond it (--no-deps). The lock comes first and alone, so a change of
# the code reuses this layer.
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

# A system user without a login or a home; containers run as it unless compose says
# otherwise (INKANTELING_UID, so that secret files the operator owns stay readable).
RUN groupadd --system --gid 10001 inkanteling \
    && useradd --system --uid 10001 --gid inkanteling --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin inkanteling

# Only the application: its packages and top-level modules, owned by root and read-only to
# the user that runs them (tests, docs, benchmarks and secrets stay out; see .dockerignore).
COPY activities/ activities/
COPY cli/ cli/
COPY codec/ codec/
COPY db/ db/
COPY lblod/ lblod/
COPY metrics/ metrics/
COPY operations/ operations/
COPY phrasing/ phrasing/
COPY register/ register/
COPY report/ report/
COPY rules/ rules/
COPY scenarios/ scenarios/
COPY schemas/ schemas/
COPY stack/ stack/
COPY templates/ templates/
COPY workflows/ workflows/
COPY deploy/__init__.py deploy/temporal_setup.py deploy/
COPY *.py ./

USER 10001:10001

# The worker's Prometheus endpoint and the codec server (INKANTELING_METRICS_PORT,
# INKANTELING_CODEC_PORT); which one listens depends on the command.
EXPOSE 9464 8234

CMD ["python", "worker.py"]
