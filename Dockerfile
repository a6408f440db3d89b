# mtlsweep container image: slim Python, non-root, nothing but the installed package.
#
#   docker build -t mtlsweep .
#   docker run --rm --read-only --tmpfs /tmp \
#     -v "$PWD/targets.yaml:/config/targets.yaml:ro" -v "$PWD/results:/results" \
#     mtlsweep scan /config/targets.yaml --output /results/results.jsonl --resume
#
# Volumes: /config holds the inventory (mount read-only); /results receives the output and
# must be writable by uid 10001. Temporary files (the spool of document formats) go to /tmp.
# tests/test_deploy.py checks that this file agrees with pyproject.toml (Python version,
# what is copied and installed, the entry point); .ci/image builds and smoke-tests it.

ARG PYTHON_VERSION=3.11

# --- build: make a wheel of the project and install it with its dependencies in a venv ----
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY scanner ./scanner
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
 && python -m venv /opt/mtlsweep \
 && /opt/mtlsweep/bin/pip install /wheels/*.whl \
 && /opt/mtlsweep/bin/pip uninstall --yes pip setuptools

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
