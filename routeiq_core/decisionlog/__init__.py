"""The decision log: every decision recorded, outcomes fed back, read by the CLI and the tools.

``Router(log="sqlite:///decisions.db")`` is all it takes; see ``docs/operations/decision-log.md``.
This package imports no database driver until a SQL log is opened.
"""

from __future__ import annotations

from ._backend import DecisionLog, LogFilter, MemoryLog, iter_log
from ._logger import DecisionLogger, open_log
from ._records import DecisionRecord, Feedback, LoggedDecision, Outcome, fingerprint
from ._writer import BackgroundWriter

__all__ = [
    "BackgroundWriter",
    "DecisionLog",
    "DecisionLogger",
    "DecisionRecord",
    "Feedback",
    "LogFilter",
    "LoggedDecision",
    "MemoryLog",
    "Outcome",
    "fingerprint",
    "iter_log",
    "open_log",
]
