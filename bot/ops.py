"""Operations endpoints for any ragbot process: GET /healthz, /readyz, /metrics.

``/healthz`` says the process is up; ``/readyz`` says it can answer (store reachable,
collection present, encoder loaded), so a load balancer or Kubernetes only routes to replicas
that are ready; ``/metrics`` is Prometheus text.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from aiohttp import web

from bot import metrics
from bot.core import RagCore
from bot.errors import ConfigError

__all__ = ["ops_routes", "readiness", "serve_http", "start_ops_thread"]

log = logging.getLogger(__name__)

_READY_TIMEOUT_S = 5.0


def readiness(core: RagCore) -> dict[str, str]:
    """Each check's result: "ok" or what is wrong."""
    checks: dict[str, str] = {}
    try:
        present = core.store.collection_exists()
        checks["store"] = "ok"
        checks["collection"] = "ok" if present else f"collection {core.settings.collection!r} missing: run an index"
    except Exception as exc:  # the store is down or refuses us: not ready, say why
        checks["store"] = f"unreachable: {exc}"
        checks["collection"] = "unknown"
    checks["model"] = "ok" if core.embedder.loaded else "encoder not loaded yet"
    return checks


def ops_routes(core: RagCore) -> list[web.RouteDef]:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        try:
            checks = await asyncio.wait_for(asyncio.to_thread(readiness, core), _READY_TIMEOUT_S)
        except TimeoutError:
            checks = {"store": f"no answer within {_READY_TIMEOUT_S:g} s"}
        ready = all(value == "ok" for value in checks.values())
        return web.json_response(
            {"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503
        )

    async def metrics_text(_: web.Request) -> web.Response:
        body, content_type = metrics.render()
        return web.Response(body=body, headers={"Content-Type": content_type})

    return [web.get("/healthz", healthz), web.get("/readyz", readyz), web.get("/metrics", metrics_text)]


async def serve_http(app: web.Application, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve ``app`` until ``stop`` is set."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise _bind_error(host, port, exc) from None
    log.info("HTTP on http://%s:%s (/healthz, /readyz, /metrics)", host, port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def start_ops_thread(core: RagCore, host: str, port: int) -> threading.Event:
    """The ops endpoints on a thread of their own, for processes without an event loop.

    Returns an event that stops the server when set. Raises if the port can't be bound.
    """
    stop_requested = threading.Event()
    started = threading.Event()
    failure: list[BaseException] = []

    async def main() -> None:
        app = web.Application()
        app.add_routes(ops_routes(core))
        runner = web.AppRunner(app)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            failure.append(exc)
            return
        finally:
            started.set()
        log.info("HTTP on http://%s:%s (/healthz, /readyz, /metrics)", host, port)
        try:
            await asyncio.to_thread(stop_requested.wait)
        finally:
            await runner.cleanup()

    threading.Thread(target=lambda: asyncio.run(main()), name="ops-http", daemon=True).start()
    started.wait(timeout=30)
    if failure:
        raise _bind_error(host, port, failure[0])
    return stop_requested


def _bind_error(host: str, port: int, exc: BaseException) -> ConfigError:
    return ConfigError(f"cannot serve HTTP on {host}:{port} ({exc}); set RAGBOT_HTTP_PORT to a free port")
