"""notion-client calls with errors a run record can show, and cursor pagination."""

from __future__ import annotations

from typing import Any

import httpx

from indexer.formats import require
from indexer.sources.api.http import ApiError, AuthFailed, stopped_error
from indexer.sources.web.transport import Interrupted, Stopped

__all__ = ["call", "paged"]


def call(method: Any, **kwargs: Any) -> Any:
    """One notion-client call; ApiError (AuthFailed for 401/403) saying what Notion answered."""
    errors = require("notion_client.errors", "notion", "the notion source")
    try:
        return method(**kwargs)
    except errors.APIResponseError as exc:
        message = f"Notion answered HTTP {exc.status} ({exc.code})"
        if exc.status in (401, 403):
            raise AuthFailed(message, exc.status) from None
        raise ApiError(message, exc.status, transient=exc.status == 429 or exc.status >= 500) from None
    except errors.HTTPResponseError as exc:
        raise ApiError(f"Notion answered HTTP {exc.status}", exc.status, exc.status >= 500) from None
    except errors.RequestTimeoutError:
        raise ApiError("Notion did not answer in time", transient=True) from None
    except Stopped:
        raise stopped_error() from None
    except (Interrupted, httpx.TransportError) as exc:
        raise ApiError(f"the call was cut off ({type(exc).__name__}: {exc})", transient=True) from None


def paged(method: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Every result of a paginated call (``start_cursor``/``next_cursor``/``has_more``), 100 a call."""
    results: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = call(method, page_size=100, **kwargs, **({"start_cursor": cursor} if cursor else {}))
        results += [item for item in page.get("results", []) if isinstance(item, dict)]
        cursor = page.get("next_cursor")
        if not page.get("has_more") or not cursor:
            return results
