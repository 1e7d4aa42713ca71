"""A fake Qdrant server on 127.0.0.1: the REST endpoints ragbot's qdrant-client calls, answered
by qdrant-client's own in-process engine (local mode), so searches are real searches.

It can go away and come back on the same port (``stop()`` then ``start(port)``) with its data
kept, which is how tests take "Qdrant" down under a running ``ragbot serve``. ``echo_headers``
turns it into a broken proxy that answers ``echo_status`` with the request headers (values cut
to ``echo_chars``) in the body, as some proxies do: what a secret scan must catch.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from qdrant_client import QdrantClient, models

from tests.support.fakeserver import FakeServer, LoopThread

__all__ = ["FakeQdrant", "running_fake_qdrant"]

VERSION = "1.20.0"


def _dump(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list | tuple):
        return [_dump(v) for v in value]
    return value


def _ok(result: Any) -> web.Response:
    return web.json_response({"result": _dump(result), "status": "ok", "time": 0.0})


class FakeQdrant(FakeServer):
    def __init__(self, path: Path | None = None) -> None:
        self.engine = QdrantClient(path=str(path)) if path else QdrantClient(":memory:")
        self.calls: list[tuple[str, str]] = []  # (method, path)
        self.headers_seen: list[dict[str, str]] = []
        self.echo_headers = False
        self.echo_status = 502
        self.echo_chars = 28  # header values cut to this length, as the proxy in the bug report did
        self.port = 0
        self._lock = threading.Lock()
        self.url = ""

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/{path:.*}", self._handle)]

    def call_names(self) -> list[str]:
        return [f"{m} {p}" for m, p in self.calls]

    async def start(self, port: int = 0) -> str:  # type: ignore[override]
        """Listen on ``port`` (0: a free one); again on the same port after ``stop()``."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.add_routes(self.routes())
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port or self.port, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{self.port}"
        return self.url

    def close(self) -> None:
        self.engine.close()

    async def _handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        with self._lock:
            self.calls.append((request.method, path))
            self.headers_seen.append(dict(request.headers))
        if self.echo_headers:
            echoed = {k: v[: self.echo_chars] for k, v in request.headers.items()}
            return web.Response(status=self.echo_status, text=f"proxy error; request headers: {json.dumps(echoed)}")
        raw = await request.read()
        body = json.loads(raw) if raw else {}
        try:
            return self._answer(request.method, path.rstrip("/").split("/")[1:], body)
        except (ValueError, KeyError) as exc:  # unknown collection, bad request: as Qdrant says it
            return web.json_response({"status": {"error": f"Not found: {exc}"}, "time": 0.0}, status=404)

    def _answer(self, method: str, parts: list[str], body: dict[str, Any]) -> web.Response:
        engine = self.engine
        if not parts:
            return web.json_response({"title": "qdrant - fake", "version": VERSION})
        if parts[0] != "collections" or len(parts) < 2:
            return web.json_response({"status": {"error": "not implemented by the fake"}}, status=404)
        name, rest = parts[1], parts[2:]
        if rest == ["exists"]:
            return _ok(models.CollectionExistence(exists=engine.collection_exists(name)))
        if not rest and method == "GET":
            return _ok(engine.get_collection(name))
        if not rest and method == "PUT":
            create = models.CreateCollection.model_validate(body)
            engine.create_collection(
                name,
                vectors_config=create.vectors or {},
                sparse_vectors_config=create.sparse_vectors,
                metadata=create.metadata,
            )
            return _ok(True)
        if not rest and method == "PATCH":
            update = models.UpdateCollection.model_validate(body)
            engine.update_collection(name, metadata=update.metadata)
            return _ok(True)
        if not rest and method == "DELETE":
            return _ok(engine.delete_collection(name))
        if rest == ["index"]:
            return _ok(models.UpdateResult(operation_id=0, status=models.UpdateStatus.COMPLETED))
        if rest == ["points"] and method == "PUT":
            upsert = models.PointsList.model_validate(body)
            return _ok(engine.upsert(name, upsert.points, update_mode=upsert.update_mode))
        if rest == ["points"] and method == "POST":
            read = models.PointRequest.model_validate(body)
            return _ok(
                engine.retrieve(
                    name, read.ids, with_payload=read.with_payload or False, with_vectors=read.with_vector or False
                )
            )
        if rest == ["points", "payload"] and method == "POST":  # set_payload: merge keys into points
            update = models.SetPayload.model_validate(body)
            points: Any = update.points if update.points is not None else update.filter
            return _ok(engine.set_payload(name, payload=update.payload, points=points))
        if rest == ["points", "delete"]:
            if "points" in body:
                selector: Any = models.PointIdsList(points=body["points"])
            else:
                selector = models.FilterSelector(filter=models.Filter.model_validate(body["filter"]))
            return _ok(engine.delete(name, points_selector=selector))
        if rest == ["points", "query"]:
            query = models.QueryRequest.model_validate(body)
            return _ok(
                engine.query_points(
                    name,
                    query=query.query,
                    using=query.using,
                    prefetch=query.prefetch,
                    query_filter=query.filter,
                    limit=query.limit or 10,
                    with_payload=query.with_payload if query.with_payload is not None else False,
                    with_vectors=query.with_vector or False,
                )
            )
        if rest == ["points", "query", "batch"]:
            batch = models.QueryRequestBatch.model_validate(body)
            return _ok(engine.query_batch_points(name, requests=batch.searches))
        if rest == ["points", "scroll"]:
            scroll = models.ScrollRequest.model_validate(body)
            points, offset = engine.scroll(
                name,
                scroll_filter=scroll.filter,
                limit=scroll.limit or 10,
                offset=scroll.offset,
                with_payload=scroll.with_payload if scroll.with_payload is not None else True,
                with_vectors=scroll.with_vector or False,
            )
            return _ok(models.ScrollResult(points=points, next_page_offset=offset))
        if rest == ["points", "count"]:
            count = models.CountRequest.model_validate(body)
            return _ok(engine.count(name, count_filter=count.filter, exact=True))
        return web.json_response({"status": {"error": f"{method} {'/'.join(parts)} not implemented"}}, status=404)


@contextmanager
def running_fake_qdrant(**settings: Any) -> Iterator[FakeQdrant]:
    """A FakeQdrant serving on 127.0.0.1 on a loop thread of its own, stopped on exit;
    ``settings`` are set on it before it starts (e.g. ``echo_status=403``)."""
    loop = LoopThread()
    fake = FakeQdrant()
    for name, value in settings.items():
        setattr(fake, name, value)
    loop.run(fake.start())
    try:
        yield fake
    finally:
        loop.run(fake.stop())
        fake.close()
        loop.stop()
