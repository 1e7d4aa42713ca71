"""Operations endpoints for any ragbot process: GET /healthz, /readyz, /metrics.

``/healthz`` says the process is up; ``/readyz`` says it can answer (store reachable,
collection present, encoder loaded), so a load balancer or Kubernetes only routes to replicas
that are ready; ``/metrics`` is Prometheus text.

A process starts and stays up while the store is unreachable: ``/healthz`` answers 200,
``/readyz`` 503 with ``qdrant unreachable at <url, credentials masked>``, and a
:class:`StoreWatch` keeps probing with backoff and logs when the store comes back. Each
``/readyz`` asks the store afresh, so it turns 200 as soon as the store answers again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Sequence

from aiohttp import web

from bot import metrics
from bot.core import RagCore
from bot.errors import ConfigError, StoreUnavailable
from bot.logs import redact

__all__ = ["ops_routes", "readiness", "serve_http", "start_ops_thread", "StoreWatch"]

log = logging.getLogger(__name__)

_READY_TIMEOUT_S = 5.0


def readiness(core: RagCore, watch: StoreWatch | None = None) -> dict[str, str]:
    """Each check's result: "ok" or what is wrong (redacted: /readyz is often public).

    With ``watch``, the probe's outcome also updates it (so an outage or a recovery that a
    readiness probe sees first is logged at once)."""
    checks: dict[str, str] = {}
    try:
        present = core.probe_store()  # a fresh call: a cached answer would hide an outage
        checks["store"] = "ok"
        checks["collection"] = "ok" if present else f"collection {core.settings.collection!r} missing: run an index"
        if watch is not None:
            watch.observe(None)
    except Exception as exc:  # unreachable, or it refuses us: not ready, say why
        shown = str(exc) if isinstance(exc, StoreUnavailable) else f"error: {type(exc).__name__}: {exc}"
        checks["store"] = redact(shown)
        checks["collection"] = "unknown"
        if watch is not None:
            watch.observe(exc)
    checks["model"] = "ok" if core.embedder_loaded else "encoder not loaded yet"
    return checks


class StoreWatch:
    """Probes the store in the background: after a failure again after 1 s, 2 s, 4 s … up to
    ``max_delay_s``; while it answers, every ``interval_s``. Logs each outage once and each
    recovery, and keeps ``ragbot_store_up`` current, so a serving process never has to exit
    (or restart) because Qdrant went away."""

    def __init__(
        self, core: RagCore, first_delay_s: float = 1.0, max_delay_s: float = 30.0, interval_s: float = 30.0
    ) -> None:
        self.core = core
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.interval_s = interval_s
        self.up: bool | None = None  # None until the first probe
        self._down_since = 0.0
        self._delay = 0.0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="store-watch", daemon=True)

    def start(self) -> StoreWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def probe_once(self) -> float:
        """One probe; returns how long to wait before the next."""
        try:
            self.core.probe_store()
        except Exception as exc:  # StoreUnavailable, or a refusal: both mean "not now"
            self.observe(exc)
            return self._delay
        self.observe(None)
        return self.interval_s

    def observe(self, failure: Exception | None) -> None:
        """Record one probe's outcome (ours or a readiness check's): log transitions, set the gauge."""
        with self._lock:
            if failure is not None:
                self._delay = self.first_delay_s if self.up is not False else min(self._delay * 2, self.max_delay_s)
                if self.up is not False:
                    self._down_since = time.monotonic()
                    log.warning(
                        "%s; retrying with backoff (up to every %.0f s)", redact(str(failure)), self.max_delay_s
                    )
                self.up = False
                metrics.STORE_UP.set(0)
                return
            if self.up is False:
                log.warning("the store answers again after %.0f s", time.monotonic() - self._down_since)
            self.up = True
            metrics.STORE_UP.set(1)

    def _run(self) -> None:
        wait = 0.0
        while not self._stop.wait(wait):
            wait = self.probe_once()


def ops_routes(core: RagCore, watch: StoreWatch | None = None) -> list[web.RouteDef]:
    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readyz(_: web.Request) -> web.Response:
        try:
            checks = await asyncio.wait_for(asyncio.to_thread(readiness, core, watch), _READY_TIMEOUT_S)
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


async def _open(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Bind and start serving ``app``; ConfigError if the port is taken."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise _bind_error(host, port, exc) from None
    log.info("HTTP on http://%s:%s (/healthz, /readyz, /metrics)", host, port)
    return runner


async def serve_http(app: web.Application, host: str, port: int, stop: asyncio.Event) -> None:
    """Serve ``app`` until ``stop`` is set."""
    runner = await _open(app, host, port)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def start_ops_thread(core: RagCore, host: str, port: int, routes: Sequence[web.RouteDef] = ()) -> Callable[[], None]:
    """The ops endpoints (and ``routes``, e.g. /admin) on an event loop in a thread of their own,
    for processes without one.

    Returns the function that stops the server. Raises ConfigError if the port can't be bound.
    """
    loop = asyncio.new_event_loop()
    threading.Thread(target=loop.run_forever, name="ops-http", daemon=True).start()
    app = web.Application()
    app.add_routes([*ops_routes(core), *routes])
    try:
        runner = asyncio.run_coroutine_threadsafe(_open(app, host, port), loop).result(timeout=30)
    except BaseException:
        loop.call_soon_threadsafe(loop.stop)
        raise

    def stop() -> None:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)

    return stop


def _bind_error(host: str, port: int, exc: BaseException) -> ConfigError:
    return ConfigError(f"cannot serve HTTP on {host}:{port} ({exc}); set RAGBOT_HTTP_PORT to a free port")
