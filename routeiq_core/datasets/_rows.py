"""Row-level problems in a data file: reported with ``file:line``, skipped or fatal, never silent."""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ..errors import DatasetError, RouteIQWarning

__all__ = ["DataRowWarning", "MalformedRowError", "OnError", "RowProblem", "RowReporter", "read_jsonl_objects"]

OnError = Literal["skip", "raise"]
logger = logging.getLogger("routeiq.datasets")

#: How many problems a warning message lists before summarising the rest.
_LISTED = 20


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One malformed row: where it is and what is wrong with it."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class MalformedRowError(DatasetError):
    """A malformed row in a data file (raised with ``on_error="raise"``)."""

    def __init__(self, problem: RowProblem) -> None:
        super().__init__(
            f"{problem} (pass on_error='skip' / --on-error skip to skip malformed rows and load the rest)"
        )
        self.problem = problem


class DataRowWarning(RouteIQWarning):
    """Malformed rows were skipped while loading a data set."""


@dataclass
class RowReporter:
    """Collects problems while a loader reads rows; raises at once with ``on_error="raise"``."""

    on_error: OnError = "skip"
    problems: list[RowProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.on_error not in ("skip", "raise"):
            raise DatasetError(f"on_error must be 'skip' or 'raise', got {self.on_error!r}")

    def bad(self, path: str | Path, line: int, message: str) -> None:
        problem = RowProblem(str(path), int(line), message)
        if self.on_error == "raise":
            raise MalformedRowError(problem)
        self.problems.append(problem)

    def note(self, message: str) -> None:
        """Something the loader did on purpose (e.g. dropped contaminated prompts)."""
        self.notes.append(message)
        logger.info(message)

    def finish(self, what: str) -> None:
        """Warn once about every skipped row (listing the first ones with file:line)."""
        if not self.problems:
            return
        listed = "\n  ".join(str(p) for p in self.problems[:_LISTED])
        more = len(self.problems) - _LISTED
        tail = f"\n  ... and {more} more" if more > 0 else ""
        message = f"{what}: skipped {len(self.problems)} malformed row(s):\n  {listed}{tail}"
        warnings.warn(message, DataRowWarning, stacklevel=3)


def read_jsonl_objects(path: Path, reporter: RowReporter) -> list[tuple[int, dict[str, Any]]]:
    """(line number, object) of each JSON-object line; bad lines go to the reporter, blank ones are skipped."""
    out: list[tuple[int, dict[str, Any]]] = []
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                reporter.bad(path, lineno, f"not valid JSON: {exc.msg} (column {exc.colno})")
                continue
            if not isinstance(row, dict):
                reporter.bad(path, lineno, f"expected a JSON object, got {type(row).__name__}")
                continue
            out.append((lineno, row))
    return out
