"""The :class:`DecisionLog` protocol, the query filter, and the two file-free backends.

A backend stores records and reads them back; it knows nothing of queues or threads (the
:class:`~routeiq_core.decisionlog.DecisionLogger` writes through a background writer).
``write`` may raise on a database error: the writer keeps the batch and retries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ._records import DecisionRecord, Feedback, LoggedDecision, Outcome

__all__ = ["DecisionLog", "LogFilter", "MemoryLog", "iter_log"]


#: The values of :attr:`LogFilter.outcome`.
OUTCOMES = (None, "success", "failure", "reported", "none")


@dataclass(frozen=True)
class LogFilter:
    """Which decisions a query returns. Every field is optional; set ones must all match."""

    since: float | None = None  # Unix time, inclusive
    until: float | None = None  # Unix time, exclusive
    after_id: str | None = None  # ids sort by time: page with the last id of the previous page
    model: str | None = None
    candidate: str | None = None
    category: str | None = None
    profile: str | None = None
    user: str | None = None
    team: str | None = None
    key_alias: str | None = None
    tag: str | None = None  # decisions carrying this tag
    session_id: str | None = None
    experiment: str | None = None
    arm: str | None = None
    with_feedback: bool = False
    #: "success" / "failure" (some report says so), "reported" (any feedback) or "none"
    outcome: str | None = None
    #: newest first (``routeiq log tail``); paging with ``after_id`` then goes backwards
    newest_first: bool = False

    def __post_init__(self) -> None:
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome: expected one of {', '.join(str(o) for o in OUTCOMES[1:])}, got {self.outcome!r}")

    def matches(self, r: DecisionRecord) -> bool:
        if self.since is not None and r.ts < self.since:
            return False
        if self.until is not None and r.ts >= self.until:
            return False
        if self.after_id is not None and (r.id >= self.after_id if self.newest_first else r.id <= self.after_id):
            return False
        for name in ("model", "candidate", "category", "profile", "user", "team", "key_alias", "session_id",
                     "experiment", "arm"):
            wanted = getattr(self, name)
            if wanted is not None and getattr(r, name) != wanted:
                return False
        return self.tag is None or self.tag in r.tags

    def outcome_matches(self, reports: Sequence[Feedback]) -> bool:
        """The feedback part of the filter (``with_feedback``, ``outcome``) for one decision's reports."""
        if self.with_feedback or self.outcome == "reported":
            return bool(reports)
        if self.outcome == "none":
            return not reports
        if self.outcome in ("success", "failure"):
            return any(f.success is (self.outcome == "success") for f in reports)
        return True


@runtime_checkable
class DecisionLog(Protocol):
    """Where decisions and their feedback are kept.

    ``url`` is the log's address with any password removed (safe to print).
    """

    url: str

    def write(self, decisions: Sequence[DecisionRecord], feedback: Sequence[Feedback]) -> None:
        """Store a batch (decisions first); raise on failure so the writer can retry."""

    def get(self, decision_id: str) -> LoggedDecision | None:
        """One decision with its merged outcome, or None."""

    def query(self, where: LogFilter, limit: int = 100) -> list[LoggedDecision]:
        """Up to ``limit`` matching decisions, oldest first (by id)."""

    def close(self) -> None:
        """Release connections and files."""


def select_rows(decisions: Sequence[DecisionRecord], feedback: Mapping[str, Sequence[Feedback]], where: LogFilter,
                limit: int) -> list[LoggedDecision]:
    """``query`` for backends that hold their rows in memory: filter, order by id, merge the feedback."""
    out = []
    for r in sorted(decisions, key=lambda r: r.id, reverse=where.newest_first):
        if not where.matches(r):
            continue
        reports = feedback.get(r.id, [])
        if not where.outcome_matches(reports):
            continue
        outcome = Outcome.merge(reports)
        out.append(LoggedDecision(r, outcome))
        if len(out) >= limit:
            break
    return out


def iter_log(log: DecisionLog, where: LogFilter | None = None, page: int = 1000) -> Iterator[LoggedDecision]:
    """Every matching decision, oldest first, read ``page`` rows at a time (bounded memory)."""
    where = where or LogFilter()
    after = where.after_id
    while True:
        batch = log.query(LogFilter(**{**where.__dict__, "after_id": after}), limit=page)
        yield from batch
        if len(batch) < page:
            return
        after = batch[-1].record.id


class MemoryLog:
    """An in-memory ring of the last ``capacity`` decisions (tests, notebooks): ``memory://``."""

    def __init__(self, url: str = "memory://", *, capacity: int = 10_000) -> None:
        self.url = url
        self.capacity = int(capacity)
        self._decisions: OrderedDict[str, DecisionRecord] = OrderedDict()
        self._feedback: defaultdict[str, list[Feedback]] = defaultdict(list)
        self._lock = threading.Lock()

    def write(self, decisions: Sequence[DecisionRecord], feedback: Sequence[Feedback]) -> None:
        with self._lock:
            for r in decisions:
                self._decisions[r.id] = r
                while len(self._decisions) > self.capacity:
                    old, _ = self._decisions.popitem(last=False)
                    self._feedback.pop(old, None)
            for f in feedback:
                self._feedback[f.decision_id].append(f)

    def get(self, decision_id: str) -> LoggedDecision | None:
        with self._lock:
            r = self._decisions.get(decision_id)
            return None if r is None else LoggedDecision(r, Outcome.merge(self._feedback.get(decision_id, [])))

    def query(self, where: LogFilter, limit: int = 100) -> list[LoggedDecision]:
        with self._lock:
            return select_rows(list(self._decisions.values()), self._feedback, where, limit)

    def __len__(self) -> int:
        return len(self._decisions)

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"<MemoryLog {len(self)} decisions>"

