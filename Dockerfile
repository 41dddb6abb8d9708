# switchboard: the gateway image. Configure vendors with SWITCHBOARD_* variables (README);
# with none configured it serves the built-in emulators and demo calls.
#
# Layers, slowest-changing first: the locked dependencies (requirements.lock, every
# version and hash pinned; regenerate with `make lock`), then the code. A code change
# rebuilds only the last layer.
FROM python:3.11-slim AS dependencies

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/venv
COPY requirements.lock /tmp/requirements.lock
# --require-hashes: what is installed is byte for byte what was locked.
RUN /opt/venv/bin/pip install --require-hashes --no-deps -r /tmp/requirements.lock

FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SWITCHBOARD_HOST=0.0.0.0 \
    SWITCHBOARD_PORT=8000
# A numeric, non-root user (Kubernetes runAsNonRoot checks the number; the name is only
# for `ps`). No home, no shell, owns nothing in the image.
RUN groupadd --gid 10001 switchboard \
 && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin switchboard
COPY --from=dependencies /opt/venv /opt/venv
WORKDIR /opt/switchboard
# The code runs from here (python -m app); app/web/static holds the wallboard's and
# GraphiQL's assets, served by switchboard itself.
COPY app ./app

USER 10001:10001
EXPOSE 8000
# Follows SWITCHBOARD_PORT, whatever it is set to at run time (docker run -e ...).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["python", "-c", "import os, sys, urllib.request; port = os.environ.get('SWITCHBOARD_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=2).status == 200 else 1)"]
CMD ["python", "-m", "app"]
