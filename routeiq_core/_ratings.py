"""Public quality ratings: one dated, sourced general-strength number per known model.

The zero-config strategy cannot learn which model is good from the prompt alone, and price
says little about quality (RouterBench's claude-v1 costs 13x Mixtral and scores lower). A
public pairwise-preference leaderboard does say it: ``data/ratings.json`` holds the LMArena
text leaderboard's arena score of every model in the built-in catalog and in the shared
evaluation data sets, with the snapshot's date and where it was read from
(``scripts/build_ratings.py`` regenerates it). A candidate's own ``rating`` overrides it.

Arena scores are Bradley-Terry ratings: only differences within one snapshot mean anything,
so the strategy compares a candidate set's ratings with each other, never with a constant.
Loaded lazily on first use (``import routeiq_core`` does no I/O), bounded and validated.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["Rating", "RatingTable", "builtin_ratings", "rating_key"]

_BUILTIN = Path(__file__).parent / "data" / "ratings.json"
#: Bounds on what a ratings file may hold (it is data, read at run time).
MAX_RATINGS = 10_000
MAX_BYTES = 4 * 1024 * 1024
SCORE_RANGE = (0.0, 4000.0)


def rating_key(model: str) -> str:
    """How a model name is looked up: lower case, without the provider prefix
    (``"openai/gpt-4.1"`` and ``"GPT-4.1"`` -> ``"gpt-4.1"``)."""
    return model.strip().lower().rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Rating:
    score: float
    #: Where the number comes from, e.g. "LMArena text leaderboard, 2025-08-04".
    source: str
    ci95: float | None = None


@dataclass(frozen=True)
class RatingTable:
    """Model name (see :func:`rating_key`) -> :class:`Rating`."""

    ratings: dict[str, Rating]
    source: str

    def get(self, *names: str) -> Rating | None:
        """The rating of the first of ``names`` the table knows (e.g. a candidate's model, then its name)."""
        for name in names:
            found = self.ratings.get(rating_key(name))
            if found is not None:
                return found
        return None

    def __len__(self) -> int:
        return len(self.ratings)

    @classmethod
    def from_dict(cls, data: Any, where: str = "ratings") -> RatingTable:
        """Validate a parsed ratings document (the format of ``data/ratings.json``)."""
        if not isinstance(data, dict) or not isinstance(data.get("ratings"), dict):
            raise ConfigError(f"{where}: expected an object with a 'ratings' object, got {type(data).__name__}")
        raw_source = data.get("source")
        src: dict[str, Any] = raw_source if isinstance(raw_source, dict) else {}
        source = ", ".join(str(src[k]) for k in ("title", "as_of") if isinstance(src.get(k), str)) or where
        entries = data["ratings"]
        if len(entries) > MAX_RATINGS:
            raise ConfigError(f"{where}: {len(entries)} ratings, at most {MAX_RATINGS} are read")
        ratings = {}
        for name, entry in entries.items():
            score = entry.get("score") if isinstance(entry, dict) else None
            if (not isinstance(name, str) or not 0 < len(name) <= 200 or isinstance(score, bool)
                    or not isinstance(score, (int, float)) or not math.isfinite(score)
                    or not SCORE_RANGE[0] <= score <= SCORE_RANGE[1]):
                raise ConfigError(f"{where}: rating {str(name)[:60]!r}: expected a name and a 'score' in "
                                  f"{SCORE_RANGE[0]:g}..{SCORE_RANGE[1]:g}, got {str(entry)[:80]}")
            ci = entry.get("ci95")
            ratings[rating_key(name)] = Rating(
                float(score), source, float(ci) if isinstance(ci, (int, float)) and not isinstance(ci, bool) else None)
        return cls(ratings, source)


_lock = threading.Lock()
_builtin: RatingTable | None = None


def builtin_ratings() -> RatingTable:
    """The ratings shipped with RouteIQ (read once, on first use)."""
    global _builtin
    with _lock:
        if _builtin is None:
            raw = _BUILTIN.read_bytes()
            if len(raw) > MAX_BYTES:
                raise ConfigError(f"{_BUILTIN}: {len(raw)} bytes, at most {MAX_BYTES} are read")
            _builtin = RatingTable.from_dict(json.loads(raw), str(_BUILTIN.name))
        return _builtin
