"""LLMRouter (RouterDC-preprocessed) JSON: a list of ``{"question", "scores": {model: q}}``.

Next to it, ``default_query_*.jsonl`` files add each question's ``task_name``
(joined on the exact question text; the file named after the split wins), and
``default_llm.json`` gives prices per 1M tokens. There are no token counts, so
cost is price x a token estimate (``RoutingDataset.cost_matrix``).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .._dataset import RoutingDataset
from ..errors import DatasetError
from ._builder import RowBuilder, as_score, convert_each
from ._prices import PriceSource, load_prices
from ._rows import RowReporter

__all__ = ["PRICE_FILE", "load_llmrouter", "looks_llmrouter"]

PRICE_FILE = "default_llm.json"


def looks_llmrouter(first: Any) -> bool:
    return isinstance(first, Mapping) and "question" in first and "scores" in first


def iter_json_array(path: Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line, element)`` for each element of a top-level JSON array.

    Parses element by element so that every element knows the line it starts on.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc.reason})") from None
    newlines = [i for i, ch in enumerate(text) if ch == "\n"]

    def line_of(pos: int) -> int:
        return bisect.bisect_right(newlines, pos - 1) + 1

    decoder = json.JSONDecoder()
    pos = _skip_ws(text, 0)
    if pos >= len(text) or text[pos] != "[":
        raise DatasetError(f"{path}:{line_of(pos)}: expected a JSON array of objects ('[' ...)")
    pos = _skip_ws(text, pos + 1)
    if pos < len(text) and text[pos] == "]":
        return
    while pos < len(text):
        try:
            value, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{exc.lineno}: not valid JSON: {exc.msg} (column {exc.colno})") from None
        yield line_of(pos), value
        pos = _skip_ws(text, end)
        if pos < len(text) and text[pos] == ",":
            pos = _skip_ws(text, pos + 1)
            continue
        if pos < len(text) and text[pos] == "]":
            return
        raise DatasetError(f"{path}:{line_of(pos)}: expected ',' or ']' between array elements")
    raise DatasetError(f"{path}: the JSON array is not closed (missing ']')")


def _skip_ws(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r\n":
        pos += 1
    return pos


def _task_index(path: Path) -> dict[str, str]:
    """question text -> task name from ``default_query_*.jsonl`` next to ``path``."""
    files = sorted(path.parent.glob("*query*.jsonl"))
    # The file named after this split (train/test) is read last, so it wins on conflicts.
    files.sort(key=lambda f: path.stem in f.stem)
    index: dict[str, str] = {}
    for file in files:
        with file.open(encoding="utf-8") as fh:
            for raw in fh:
                try:
                    row = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                if isinstance(row, Mapping) and isinstance(row.get("query"), str) and row.get("task_name"):
                    index[row["query"]] = str(row["task_name"])
    return index


def load_llmrouter(
    path: Path, reporter: RowReporter, prices: PriceSource | None = None, name: str | None = None
) -> RoutingDataset:
    tasks = _task_index(path)
    if prices is None and (path.parent / PRICE_FILE).is_file():
        prices = path.parent / PRICE_FILE
        reporter.note(f"{path.name}: prices from {prices}")
    builder = RowBuilder(reporter)
    joined = 0
    for index, (line, row) in enumerate(iter_json_array(path)):
        if not isinstance(row, Mapping):
            reporter.bad(path, line, f"expected an object with 'question' and 'scores', got {type(row).__name__}")
            continue
        question = row.get("question")
        if not isinstance(question, str):
            reporter.bad(path, line, "missing 'question' (a string)")
            continue
        raw_scores = row.get("scores")
        if not isinstance(raw_scores, Mapping) or not raw_scores:
            reporter.bad(path, line, "'scores' must be a non-empty object of model -> score in [0, 1]")
            continue
        try:
            scores = convert_each(raw_scores, as_score, "scores")
        except ValueError as exc:
            reporter.bad(path, line, str(exc))
            continue
        task = tasks.get(question)
        joined += task is not None
        builder.add(path, line, id=f"{path.stem}:{index}", prompt=question, scores=scores, task=task)
    if tasks:
        reporter.note(f"{path.name}: task names joined for {joined}/{len(builder.ids)} questions")
    return builder.build(name or f"llmrouter-{path.stem}", load_prices(prices))
