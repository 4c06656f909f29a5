"""Model price tables: USD per 1M input / output tokens by model name."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .._dataset import ModelPrice
from ..errors import DatasetError

__all__ = ["PriceSource", "load_prices"]

PriceSource = Mapping[str, Any] | str | os.PathLike[str]

# (input key, output key, multiplier to USD per 1M tokens), in order of preference.
_KEYS = (
    ("input_cost_per_mtok", "output_cost_per_mtok", 1.0),
    ("input_cost_per_token", "output_cost_per_token", 1e6),
    ("input_price", "output_price", 1.0),  # LLMRouter's default_llm.json (per 1M)
)


def _one(model: str, value: Any, where: str) -> ModelPrice:
    if isinstance(value, ModelPrice):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _checked(model, float(value), float(value), where)
    if isinstance(value, Mapping):
        for in_key, out_key, scale in _KEYS:
            if in_key in value or out_key in value:
                try:
                    inp = float(value.get(in_key, value.get(out_key)))
                    out = float(value.get(out_key, value.get(in_key)))
                except (TypeError, ValueError):
                    break
                price = _checked(model, inp * scale, out * scale, where)
                size = parse_size_b(value.get("size_b", value.get("size")))
                return ModelPrice(price.input_cost_per_mtok, price.output_cost_per_mtok, size)
    raise DatasetError(
        f"{where}: price of {model!r} must be a number (USD per 1M tokens) or an object with "
        f"input_cost_per_mtok/output_cost_per_mtok (or *_cost_per_token, or input_price/output_price "
        f"per 1M); got {value!r:.80}"
    )


def parse_size_b(value: Any) -> float | None:
    """A model size in billions of parameters: ``7``, ``"7B"``, ``"512M"``, ``"1.5T"``; None if unknown."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if math.isfinite(value) and value > 0 else None
    if isinstance(value, str):
        text = value.strip().upper()
        scale = {"M": 1e-3, "B": 1.0, "T": 1e3}.get(text[-1:], None)
        number = text[:-1] if scale is not None else text
        try:
            size = float(number) * (scale or 1.0)
        except ValueError:
            return None
        return size if math.isfinite(size) and size > 0 else None
    return None


def _checked(model: str, inp: float, out: float, where: str) -> ModelPrice:
    if not (math.isfinite(inp) and math.isfinite(out)) or inp < 0 or out < 0:
        raise DatasetError(f"{where}: price of {model!r} must be finite and >= 0, got {inp}, {out}")
    return ModelPrice(inp, out)


def load_prices(source: PriceSource | None) -> dict[str, ModelPrice]:
    """A price table from a mapping or a JSON file.

    Accepted shapes: ``{model: number}`` (USD per 1M tokens, input = output),
    ``{model: {input_cost_per_mtok, output_cost_per_mtok}}`` (or ``*_cost_per_token``,
    or LLMRouter's ``input_price``/``output_price`` per 1M), or a catalog
    ``{"candidates": [{"name"/"model", ...prices}]}``. Candidates are indexed by
    both ``name`` and ``model``.
    """
    if source is None:
        return {}
    where = "prices"
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        where = str(path)
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DatasetError(f"price table not found: {path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DatasetError(f"{path}: not a readable JSON price table: {exc}") from None
    else:
        data = source
    if isinstance(data, Mapping) and isinstance(data.get("candidates"), list):
        data = data["candidates"]
    out: dict[str, ModelPrice] = {}
    if isinstance(data, list):
        for i, item in enumerate(data):
            if not isinstance(item, Mapping) or not (item.get("name") or item.get("model")):
                raise DatasetError(f"{where}[{i}]: expected an object with a name or model and prices")
            price = _one(str(item.get("name") or item["model"]), item, f"{where}[{i}]")
            for key in (item.get("name"), item.get("model")):
                if key:
                    out[str(key)] = price
        return out
    if not isinstance(data, Mapping):
        raise DatasetError(f"{where}: expected a JSON object of model -> price, got {type(data).__name__}")
    for model, value in data.items():
        out[str(model)] = _one(str(model), value, where)
    return out
