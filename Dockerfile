# syntax=docker/dockerfile:1
# mtlsweep container image: slim Python, non-root, nothing but the installed package.
#
#   docker build -t mtlsweep .
#   docker run --rm --read-only --tmpfs /tmp \
#     -v "$PWD/targets.yaml:/config/targets.yaml:ro" -v "$PWD/results:/results" \
#     mtlsweep scan /config/targets.yaml --output /results/results.jsonl --resume
#
# Behind a private package index or a TLS-intercepting proxy (BuildKit):
#   docker build --build-arg PIP_INDEX_URL=https://pypi.internal.example/simple \
#     --secret id=ca_bundle,src=corp-root-ca.pem -t mtlsweep .
# An index URL with credentials goes in a secret instead of the build argument:
#   --secret id=pip_index_url,src=index-url.txt
# Neither reaches the runtime stage: build arguments and secrets of the build stage are not
# in the final image or its history.
#
# Dependencies are installed from requirements.lock (exact versions, hashes required), then
# the project's own wheel without dependencies, so every build gets the same versions.
#
# Volumes: /config holds the inventory (mount read-only); /results receives the output and
# must be writable by uid 10001. Temporary files (the spool of document formats) go to /tmp.
# tests/test_deploy.py checks that this file agrees with pyproject.toml (Python version,
# what is copied and installed, the entry point) and tests/test_lock_file.py that the lock
# file covers pyproject's dependencies; .ci/image builds and smoke-tests it.

ARG PYTHON_VERSION=3.11

# --- build: make a wheel of the project and install it with its dependencies in a venv ----
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ARG PIP_INDEX_URL=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY requirements.lock pyproject.toml README.md ./
COPY scanner ./scanner
# The secrets are optional: an empty mount leaves pip's defaults (PyPI, its own CA bundle);
# an extra CA bundle is added to pip's, not put in its place.
RUN --mount=type=secret,id=ca_bundle --mount=type=secret,id=pip_index_url \
    if [ -s /run/secrets/pip_index_url ]; then \
      PIP_INDEX_URL="$(cat /run/secrets/pip_index_url)"; fi \
 && if [ -n "$PIP_INDEX_URL" ]; then export PIP_INDEX_URL; else unset PIP_INDEX_URL; fi \
 && if [ -s /run/secrets/ca_bundle ]; then \
      cat "$(python -c 'import pip._vendor.certifi as c; print(c.where())')" \
        /run/secrets/ca_bundle > /tmp/pip-ca.pem \
      && export PIP_CERT=/tmp/pip-ca.pem; fi \
 && python -m venv /opt/mtlsweep \
 && /opt/mtlsweep/bin/pip install --require-hashes --no-deps -r requirements.lock \
 && python -m pip wheel --no-deps --wheel-dir /wheels . \
 && /opt/mtlsweep/bin/pip install --no-deps /wheels/*.whl \
 && /opt/mtlsweep/bin/pip uninstall --yes pip setuptools \
 && rm -f /tmp/pip-ca.pem

# --- runtime: the venv only; no compiler, no pip, no caches ------------------------------
FROM python:${PYTHON_VERSION}-slim-bookworm
LABEL org.opencontainers.image.title="mtlsweep" \
      org.opencontainers.image.description="Active mTLS/TLS endpoint scanner" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN python -m pip uninstall --yes --quiet setuptools wheel pip \
 && groupadd --system --gid 10001 mtlsweep \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin mtlsweep \
 && mkdir -p /config /results \
 && chown 10001:10001 /results
COPY --from=build /opt/mtlsweep /opt/mtlsweep
ENV PATH=/opt/mtlsweep/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /results
VOLUME ["/config", "/results"]
ENTRYPOINT ["mtlsweep"]
CMD ["--help"]
