"""Accumulate rows (id, prompt, per-model scores/costs) into a RoutingDataset."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._dataset import ModelPrice, RoutingDataset
from ..errors import DatasetError
from ._rows import RowReporter

__all__ = ["RowBuilder", "as_cost", "as_score", "convert_each"]

_TRUE = {"true", "yes"}
_FALSE = {"false", "no"}


def as_score(value: object) -> float | None:
    """A quality in [0, 1] from a number, bool or text; None = unknown (empty / null).

    Raises ValueError with a short reason for anything else.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, str):
        text = value.strip()
        if not text or text.lower() in ("nan", "none", "null"):
            return None
        low = text.lower()
        if low in _TRUE:
            return 1.0
        if low in _FALSE:
            return 0.0
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"expected a score in [0, 1], True/False or empty, got {text[:40]!r}") from None
    elif isinstance(value, (int, float)):
        number = float(value)
    else:
        raise ValueError(f"expected a score in [0, 1], got {type(value).__name__}")
    if math.isnan(number):
        return None
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"score {number} is outside [0, 1]")
    return number


def as_cost(value: object) -> float | None:
    """A cost in USD >= 0; None = unknown. Raises ValueError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("expected a cost in USD, got a boolean")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"expected a cost in USD, got {str(value)[:40]!r}") from None
    if math.isnan(number):
        return None
    if not math.isfinite(number) or number < 0:
        raise ValueError(f"cost {number} must be finite and >= 0")
    return number


def convert_each(values: Mapping[str, object], convert: Callable[[object], float | None], what: str) -> dict[str, float | None]:
    """Convert every model's value; a ValueError names the model."""
    out: dict[str, float | None] = {}
    for model, value in values.items():
        try:
            out[str(model)] = convert(value)
        except ValueError as exc:
            raise ValueError(f"{what}[{model!r}]: {exc}") from None
    return out


@dataclass
class RowBuilder:
    """Rows in, one RoutingDataset out. Duplicate ids are reported as row problems."""

    reporter: RowReporter
    models: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    prompts: list[str] = field(default_factory=list)
    tasks: list[str | None] = field(default_factory=list)
    users: list[str | None] = field(default_factory=list)
    scores: list[dict[str, float]] = field(default_factory=list)
    costs: list[dict[str, float]] = field(default_factory=list)
    _seen: dict[str, tuple[str, int]] = field(default_factory=dict)
    _model_index: dict[str, int] = field(default_factory=dict)

    def declare_models(self, models: Sequence[str]) -> None:
        for m in models:
            if m not in self._model_index:
                self._model_index[m] = len(self.models)
                self.models.append(m)

    def add(
        self,
        path: str | Path,
        line: int,
        *,
        id: str,
        prompt: str,
        scores: Mapping[str, float | None],
        costs: Mapping[str, float | None] | None = None,
        task: str | None = None,
        user: str | None = None,
    ) -> bool:
        if id in self._seen:
            first = self._seen[id]
            self.reporter.bad(path, line, f"duplicate id {id!r} (first at {first[0]}:{first[1]})")
            return False
        if not prompt.strip():
            self.reporter.bad(path, line, "empty prompt")
            return False
        known = {m: s for m, s in scores.items() if s is not None}
        if not known:
            self.reporter.bad(path, line, "no model has a score; expected at least one")
            return False
        self._seen[id] = (str(path), line)
        self.declare_models(list(scores))
        self.ids.append(id)
        self.prompts.append(prompt)
        self.tasks.append(task)
        self.users.append(user)
        self.scores.append(known)
        self.costs.append({m: c for m, c in (costs or {}).items() if c is not None})
        return True

    def build(self, name: str, prices: Mapping[str, ModelPrice] | None = None) -> RoutingDataset:
        if not self.ids:
            problems = self.reporter.problems
            detail = f" ({len(problems)} malformed, first: {problems[0]})" if problems else ""
            raise DatasetError(f"{name}: no usable rows; every row was malformed or the file is empty{detail}")
        n, m = len(self.ids), len(self.models)
        score_arr = np.full((n, m), np.nan)
        cost_arr = np.full((n, m), np.nan)
        for i, (row_scores, row_costs) in enumerate(zip(self.scores, self.costs)):
            for model, value in row_scores.items():
                score_arr[i, self._model_index[model]] = value
            for model, value in row_costs.items():
                if model not in self._model_index:
                    self.declare_models([model])
                    score_arr = np.pad(score_arr, ((0, 0), (0, 1)), constant_values=np.nan)
                    cost_arr = np.pad(cost_arr, ((0, 0), (0, 1)), constant_values=np.nan)
                cost_arr[i, self._model_index[model]] = value
        has_costs = bool(np.isfinite(cost_arr).any())
        return RoutingDataset(
            ids=tuple(self.ids),
            prompts=tuple(self.prompts),
            models=tuple(self.models),
            scores=score_arr,
            costs=cost_arr if has_costs else None,
            tasks=tuple(self.tasks) if any(t is not None for t in self.tasks) else None,
            users=tuple(self.users) if any(u is not None for u in self.users) else None,
            prices=dict(prices or {}),
            name=name,
        )
