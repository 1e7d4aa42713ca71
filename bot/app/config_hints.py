"""Which keys a config table accepts, and the one a misspelt key probably meant.

``paht = "docs"`` in a source used to be reported as ``sources.0.path: required key is missing``
(the consequence) rather than the cause. The loader now names the unknown key first and asks
"did you mean `path`?", from the model's own fields, so the hint can never name a key that
does not exist.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, get_args, get_origin

from pydantic import BaseModel, Tag

__all__ = ["known_keys", "did_you_mean"]


def _models_in(annotation: Any) -> list[tuple[str | None, type[BaseModel]]]:
    """The models a field's type can hold, each with its union tag (``files``, ``git``...) if any."""
    if get_origin(annotation) is Annotated:
        inner, *meta = get_args(annotation)
        tag = next((m.tag for m in meta if isinstance(m, Tag)), None)
        return [(tag or found_tag, model) for found_tag, model in _models_in(inner)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [(None, annotation)]
    return [found for arg in get_args(annotation) for found in _models_in(arg)]


def known_keys(root: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The keys the table holding ``loc``'s last key accepts (pydantic's loc, union tags included);
    empty when the path cannot be followed."""
    candidates: list[tuple[str | None, type[BaseModel]]] = [(None, root)]
    for part in loc[:-1]:
        if isinstance(part, int):  # a list index: same element type
            continue
        tagged = {tag: model for tag, model in candidates if tag}
        if part in tagged:
            candidates = [(None, tagged[part])]
            continue
        if len(candidates) != 1 or part not in candidates[0][1].model_fields:
            return []
        candidates = _models_in(candidates[0][1].model_fields[part].annotation)
    if len(candidates) != 1:
        return []
    return list(candidates[0][1].model_fields)


def did_you_mean(unknown: str, keys: list[str]) -> str | None:
    """The accepted key closest to ``unknown`` (difflib), if one is close enough."""
    matches = difflib.get_close_matches(unknown, keys, n=1, cutoff=0.6)
    return matches[0] if matches else None
