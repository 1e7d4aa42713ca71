"""A fake OpenAI-compatible chat completions server on 127.0.0.1.

Answers with one JSON completion, or, when the request asks to stream and ``pieces`` are set,
with server-sent chunks ``delay_s`` apart, as vLLM, TGI and Ollama do.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from aiohttp import web

from tests.support.fakeserver import FakeServer

__all__ = ["FakeLLM"]


class FakeLLM(FakeServer):
    def __init__(
        self,
        reply: str = "",
        status: int = 200,
        pieces: list[str] | None = None,
        delay_s: float = 0.0,
        malformed: bool = False,  # stream events that are not completion chunks
    ) -> None:
        self.malformed = malformed
        self.reply = reply
        self.status = status
        self.pieces = pieces
        self.delay_s = delay_s
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.sent_at: list[float] = []  # monotonic time each streamed piece went out

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/v1/chat/completions", self._complete)]

    def call_names(self) -> list[str]:
        return ["chat/completions"] * len(self.requests)

    async def _complete(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if self.status != 200:
            return web.json_response({"error": {"message": "nope"}}, status=self.status)
        if not (body.get("stream") and self.pieces is not None):
            return web.json_response({"choices": [{"message": {"role": "assistant", "content": self.reply}}]})
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await self._event(response, {"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
        for piece in self.pieces:
            await asyncio.sleep(self.delay_s)
            chunk = (
                {"error": "overloaded"} if self.malformed else {"choices": [{"index": 0, "delta": {"content": piece}}]}
            )
            await self._event(response, chunk)
            self.sent_at.append(time.monotonic())
        await self._event(response, {"choices": [], "usage": {"completion_tokens": len(self.pieces)}})
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    @staticmethod
    async def _event(response: web.StreamResponse, payload: dict[str, Any]) -> None:
        await response.write(f"data: {json.dumps(payload)}\n\n".encode())
