# mtlsweep container image.
#   docker build -t mtlsweep .
#   docker run --rm -v "$PWD/targets.yaml:/work/targets.yaml:ro" -v "$PWD/out:/work/out" \
#     mtlsweep scan /work/targets.yaml --output /work/out/results.jsonl
# The Python version must satisfy pyproject.toml's requires-python (a test checks it).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY scanner ./scanner
RUN python -m venv /opt/mtlsweep \
 && /opt/mtlsweep/bin/pip install --no-cache-dir --upgrade pip \
 && /opt/mtlsweep/bin/pip install --no-cache-dir . \
 && find /opt/mtlsweep -name '__pycache__' -prune -exec rm -rf {} +

FROM python:3.11-slim
COPY --from=build /opt/mtlsweep /opt/mtlsweep
RUN useradd --system --uid 10001 --create-home --home-dir /work mtlsweep
ENV PATH=/opt/mtlsweep/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
USER mtlsweep
WORKDIR /work
VOLUME ["/work/out"]
ENTRYPOINT ["mtlsweep"]
CMD ["--help"]
