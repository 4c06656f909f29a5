"""A JSON-lines decision log: ``jsonl:///path/decisions.jsonl``.

One line per decision (``{"type": "decision", ...}``) or feedback (``{"type": "feedback", ...}``),
appended; the embedding is base64 float16. Simple to read with ``jq`` or pandas; queries scan
the file, so use SQLite or PostgreSQL for anything large. A line that cannot be parsed (a
torn write, a hand edit) is skipped and counted in ``skipped_lines``.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..errors import DecisionLogError
from ._backend import LogFilter, select_rows
from ._records import DecisionRecord, Feedback, LoggedDecision, Outcome

__all__ = ["JsonLinesLog"]


class JsonLinesLog:
    def __init__(self, url: str, path: str | os.PathLike[str]) -> None:
        self.url = url
        self.path = Path(path)
        self.skipped_lines = 0
        self._lock = threading.Lock()
        if self.path.is_dir():
            raise DecisionLogError(f"decision log {url}: {self.path} is a directory; give a file path "
                                   "such as jsonl:///var/log/routeiq/decisions.jsonl")
        if not self.path.parent.is_dir():
            raise DecisionLogError(f"decision log {url}: the folder {self.path.parent} does not exist; create it "
                                   "or give another path")

    def write(self, decisions: Sequence[DecisionRecord], feedback: Sequence[Feedback]) -> None:
        lines = []
        for r in decisions:
            row = {"type": "decision", **r.to_dict()}
            if r.embedding:
                row["embedding_f16"] = base64.b64encode(r.embedding).decode("ascii")
            lines.append(json.dumps(row, ensure_ascii=False, allow_nan=False))
        lines.extend(json.dumps({"type": "feedback", **asdict(f)}, ensure_ascii=False) for f in feedback)
        if not lines:
            return
        with self._lock, open(self.path, "a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
            fh.flush()

    def _rows(self) -> Iterator[dict[str, Any]]:
        if not self.path.exists():
            return
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                except ValueError:
                    self.skipped_lines += 1
                    continue
                if isinstance(row, dict):
                    yield row

    def _scan(self) -> tuple[list[DecisionRecord], dict[str, list[Feedback]]]:
        decisions: list[DecisionRecord] = []
        feedback: defaultdict[str, list[Feedback]] = defaultdict(list)
        for row in self._rows():
            kind = row.pop("type", None)
            try:
                if kind == "decision":
                    blob = row.pop("embedding_f16", None)
                    decisions.append(DecisionRecord.from_dict(row, base64.b64decode(blob) if blob else None))
                elif kind == "feedback":
                    f = Feedback(**row)
                    feedback[f.decision_id].append(f)
            except (TypeError, ValueError, KeyError):
                self.skipped_lines += 1
        return decisions, feedback

    def get(self, decision_id: str) -> LoggedDecision | None:
        decisions, feedback = self._scan()
        for r in decisions:
            if r.id == decision_id:
                return LoggedDecision(r, Outcome.merge(feedback.get(r.id, [])))
        return None

    def query(self, where: LogFilter, limit: int = 100) -> list[LoggedDecision]:
        decisions, feedback = self._scan()
        return select_rows(decisions, feedback, where, limit)

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<JsonLinesLog {self.path}>"
