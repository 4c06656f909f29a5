"""Loaders for per-prompt x per-model routing data.

``load_dataset(path)`` detects the format (or takes ``format=``) and returns a
:class:`~routeiq_core.RoutingDataset`. Formats:

=================  =============================================================
``canonical``      RouteIQ's JSON Lines (``{"id", "prompt"|"messages", "scores", ...}``)
``routerbench``    RouterBench wide CSV (score + ``<model>|total_cost`` columns)
``llmrouter``      LLMRouter JSON list (+ ``default_query_*.jsonl`` tasks, ``default_llm.json`` prices)
``routellm-mmlu``  RouteLLM MMLU: a ``mmlu_<subject>.csv`` or the folder of them
``routellm-csv``   RouteLLM GSM8K (or any ``prompt,<model>,<model>`` True/False CSV)
``mt-bench``       RouteLLM MT-Bench ``judgements.jsonl`` + ``question.jsonl``
=================  =============================================================

Malformed rows are reported with ``file:line``: skipped with one
:class:`DataRowWarning` listing them (``on_error="skip"``), or raised as
:class:`MalformedRowError` (``on_error="raise"``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .._dataset import RoutingDataset
from .._safe_io import as_path
from ..errors import DatasetError
from ._prices import PriceSource, load_prices
from ._rows import DataRowWarning, MalformedRowError, OnError, RowProblem, RowReporter

__all__ = [
    "FORMATS",
    "DataRowWarning",
    "LoadResult",
    "MalformedRowError",
    "RowProblem",
    "detect_format",
    "load_dataset",
    "load_dataset_report",
    "load_prices",
]

FORMATS = ("canonical", "routerbench", "llmrouter", "routellm-mmlu", "routellm-csv", "mt-bench")


@dataclass(frozen=True)
class LoadResult:
    """A loaded data set with what happened on the way (skipped rows, deliberate drops)."""

    dataset: RoutingDataset
    format: str
    problems: tuple[RowProblem, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)


def _first_json_line(path: Path) -> object:
    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            if raw.strip():
                try:
                    return json.loads(raw)
                except json.JSONDecodeError:
                    return None
    return None


def _first_array_element(path: Path) -> object:
    from .llmrouter import iter_json_array

    try:
        for _, element in iter_json_array(path):
            return element
    except DatasetError:
        return None
    return None


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format name of a data file or folder (see :data:`FORMATS`)."""
    from ._csv import read_csv_header
    from .canonical import looks_canonical
    from .llmrouter import looks_llmrouter
    from .routellm import looks_routellm_csv
    from .routerbench import looks_routerbench

    p = Path(path)
    if not p.exists():
        raise DatasetError(f"data path not found: {p}")
    if p.is_dir():
        if (p / "judgements.jsonl").is_file():
            return "mt-bench"
        if any(p.glob("mmlu_*.csv")) or any((p / "responses").glob("mmlu_*.csv")):
            return "routellm-mmlu"
        raise DatasetError(
            f"{p}: a folder is read only for RouteLLM MMLU (mmlu_<subject>.csv files) or MT-Bench "
            "(judgements.jsonl); for other formats pass the file itself"
        )
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":
            header = read_csv_header(p)
            if looks_routerbench(header):
                return "routerbench"
            if looks_routellm_csv(header):
                return "routellm-mmlu" if p.stem.startswith("mmlu_") else "routellm-csv"
            raise DatasetError(
                f"{p}: unrecognised CSV header {header[:6]}; expected RouterBench "
                "('prompt', model score columns, '<model>|total_cost') or RouteLLM ('prompt,<model>,<model>')"
            )
        if suffix in (".jsonl", ".ndjson"):
            first = _first_json_line(p)
            if isinstance(first, dict) and looks_canonical(first):
                return "canonical"
            if isinstance(first, dict) and {"question_id", "model", "score"} <= set(first):
                return "mt-bench"
            raise DatasetError(
                f"{p}: the first line is not a canonical row; expected an object with 'id', "
                "'prompt' (or 'messages') and 'scores'"
            )
        if suffix == ".json":
            if looks_llmrouter(_first_array_element(p)):
                return "llmrouter"
            raise DatasetError(f"{p}: expected a JSON list of {{'question', 'scores'}} objects (LLMRouter)")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{p}: not UTF-8 text ({exc.reason})") from None
    raise DatasetError(
        f"{p}: cannot tell the format from the extension {suffix or '(none)'!r}; pass format= one of {FORMATS}"
    )


def _loader(fmt: str) -> Callable[..., RoutingDataset]:
    from . import canonical, llmrouter, routellm, routerbench

    def mmlu(path: Path, reporter: RowReporter, prices: PriceSource | None, name: str | None) -> RoutingDataset:
        if path.is_dir():
            return routellm.load_routellm_mmlu_dir(path, reporter, name)
        return routellm.load_routellm_csv(path, reporter, name)

    table: dict[str, Callable[..., RoutingDataset]] = {
        "canonical": canonical.load_canonical,
        "routerbench": routerbench.load_routerbench,
        "llmrouter": llmrouter.load_llmrouter,
        "routellm-mmlu": mmlu,
        "routellm-csv": lambda path, reporter, prices, name: routellm.load_routellm_csv(path, reporter, name),
        "mt-bench": lambda path, reporter, prices, name: routellm.load_mt_bench(path, reporter, name),
    }
    return table[fmt]


def load_dataset_report(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    on_error: OnError = "skip",
    prices: PriceSource | None = None,
    name: str | None = None,
) -> LoadResult:
    """Like :func:`load_dataset`, also returning skipped rows and notes (for reports and the CLI)."""
    p = as_path(path, "data set", DatasetError)
    if format is not None and format not in FORMATS:
        raise DatasetError(f"unknown data format {format!r}; expected one of {FORMATS}")
    if not p.exists():
        raise DatasetError(f"data path not found: {p}")
    fmt = format or detect_format(p)
    reporter = RowReporter(on_error)
    try:
        dataset = _loader(fmt)(p, reporter, prices, name)
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{p}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise DatasetError(f"cannot read {p}: {exc}") from None
    if dataset.costs is None:
        unpriced = [m for m in dataset.models if m not in dataset.prices]
        if unpriced:
            reporter.note(
                f"{dataset.name}: no per-prompt costs and no price for {unpriced}; their cost is estimated "
                "as the mean of the priced models (pass prices= / --prices)"
            )
    reporter.finish(f"{p} ({fmt})")
    return LoadResult(dataset, fmt, tuple(reporter.problems), tuple(reporter.notes))


def load_dataset(
    path: str | os.PathLike[str],
    format: str | None = None,
    *,
    on_error: OnError = "skip",
    prices: PriceSource | None = None,
    name: str | None = None,
) -> RoutingDataset:
    """Read a routing data set (format auto-detected unless ``format`` is given).

    Args:
        path: a data file, or a folder for RouteLLM MMLU / MT-Bench.
        format: one of :data:`FORMATS`; default: detected from the file.
        on_error: ``"skip"`` malformed rows (one warning lists them with file:line) or
            ``"raise"`` :class:`MalformedRowError` at the first one.
        prices: a model price table (mapping or JSON file; see :func:`load_prices`),
            used when the data has no per-prompt cost. LLMRouter data finds
            ``default_llm.json`` next to it by itself.
        name: a label for reports (default: from the file name).
    """
    return load_dataset_report(path, format, on_error=on_error, prices=prices, name=name).dataset
