"""RouterBench wide CSV: one row per prompt, a score column and a ``<model>|total_cost`` column per model.

The prompt column holds a Python-list-looking string (``"['text']"``); its
items are joined with blank lines. Empty score cells are unknown (NaN).
``eval_name`` becomes the task.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .._dataset import RoutingDataset
from ..errors import DatasetError
from ._builder import RowBuilder, as_cost, as_score, convert_each
from ._csv import iter_csv
from ._prices import PriceSource, load_prices
from ._rows import RowReporter

__all__ = ["COST_SUFFIX", "load_routerbench", "looks_routerbench"]

COST_SUFFIX = "|total_cost"


def looks_routerbench(header: list[str]) -> bool:
    return "prompt" in header and any(h.endswith(COST_SUFFIX) for h in header)


def prompt_text(raw: str) -> str:
    """The prompt text from RouterBench's list-literal cell (or the cell itself)."""
    text = raw.strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return raw
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return "\n\n".join(value)
    return raw


def load_routerbench(
    path: Path, reporter: RowReporter, prices: PriceSource | None = None, name: str | None = None
) -> RoutingDataset:
    builder: RowBuilder | None = None
    for line, header, record in iter_csv(path):
        if builder is None:
            models = [h[: -len(COST_SUFFIX)] for h in header if h.endswith(COST_SUFFIX)]
            missing = [m for m in models if m not in header]
            if not models or missing or "prompt" not in header:
                raise DatasetError(
                    f"{path}:1: expected RouterBench columns 'prompt', one score column per model and "
                    f"'<model>{COST_SUFFIX}'; score columns missing for {missing or 'all models'}"
                )
            col = {h: i for i, h in enumerate(header)}
            id_col = col.get("sample_id")
            task_col = col.get("eval_name")
            builder = RowBuilder(reporter)
            builder.declare_models(models)
        if len(record) != len(header):
            reporter.bad(path, line, f"expected {len(header)} columns, got {len(record)}")
            continue
        try:
            scores = convert_each({m: record[col[m]] for m in models}, as_score, "score")
            costs = convert_each({m: record[col[m + COST_SUFFIX]] for m in models}, as_cost, "cost")
        except ValueError as exc:
            reporter.bad(path, line, str(exc))
            continue
        ident = record[id_col].strip() if id_col is not None else ""
        builder.add(
            path,
            line,
            id=ident or f"{path.stem}:{line}",
            prompt=prompt_text(record[col["prompt"]]),
            scores=scores,
            costs=costs,
            task=(record[task_col].strip() or None) if task_col is not None else None,
        )
    if builder is None:
        raise DatasetError(f"{path}: no data rows after the header")
    return builder.build(name or path.stem, load_prices(prices))
