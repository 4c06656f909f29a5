"""RouteIQ's own format: JSON Lines, one prompt a line.

``{"id": "q-17", "prompt": "...", "task": "math", "scores": {"model-a": 1.0},
"costs": {"model-a": 0.0021}, "user": "u1"}``; ``messages`` (OpenAI chat) may
replace ``prompt`` (the last user turn is the routed text). A model missing
from ``scores`` (or null) is unknown for that prompt, not zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._dataset import RoutingDataset
from .._request import parse_request
from ..errors import RequestError
from ._builder import RowBuilder, as_cost, as_score, convert_each
from ._prices import PriceSource, load_prices
from ._rows import RowReporter, read_jsonl_objects

__all__ = ["load_canonical", "looks_canonical"]


def looks_canonical(first: Mapping[str, Any]) -> bool:
    return "scores" in first and ("prompt" in first or "messages" in first)


def _text(row: Mapping[str, Any]) -> str:
    if "prompt" in row and row["prompt"] is not None:
        if not isinstance(row["prompt"], str):
            raise ValueError(f"'prompt' must be a string, got {type(row['prompt']).__name__}")
        return row["prompt"]
    if "messages" in row:
        try:
            return parse_request(messages=row["messages"]).prompt
        except RequestError as exc:
            raise ValueError(f"'messages': {exc}") from None
    raise ValueError("missing 'prompt' (a string) or 'messages' (OpenAI chat messages)")


def _per_model(row: Mapping[str, Any], key: str, convert: Any, required: bool) -> dict[str, float | None]:
    value = row.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping) or (required and not value):
        raise ValueError(f"'{key}' must be an object of model -> number" + (" with at least one model" if required else ""))
    return convert_each(value, convert, key)


def _optional_str(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    if value is None:
        return None
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise ValueError(f"'{key}' must be a string, got {type(value).__name__}")
    return str(value)


def load_canonical(
    path: Path, reporter: RowReporter, prices: PriceSource | None = None, name: str | None = None
) -> RoutingDataset:
    builder = RowBuilder(reporter)
    for lineno, row in read_jsonl_objects(path, reporter):
        try:
            ident = row.get("id")
            if not isinstance(ident, (str, int)) or isinstance(ident, bool) or str(ident) == "":
                raise ValueError("missing 'id' (a non-empty string)")
            text = _text(row)
            scores = _per_model(row, "scores", as_score, required=True)
            costs = _per_model(row, "costs", as_cost, required=False)
            task = _optional_str(row, "task")
            user = _optional_str(row, "user")
        except ValueError as exc:
            reporter.bad(path, lineno, str(exc))
            continue
        builder.add(path, lineno, id=str(ident), prompt=text, scores=scores, costs=costs, task=task, user=user)
    return builder.build(name or path.stem, load_prices(prices))
