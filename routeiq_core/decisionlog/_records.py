"""What the decision log stores: one :class:`DecisionRecord` per decision, :class:`Feedback` rows.

A record is built on the request's thread from the :class:`~routeiq_core.Decision` and the
request (a hash, a few copies: microseconds); serialising and writing happen on the log's
background writer. What is kept and why is documented in ``docs/operations/decision-log.md``:

* the **prompt fingerprint** (sha256 of the routed text), never the text itself, unless the
  user turns ``store_prompts`` on;
* identity metadata (user, team, key alias, session, tags), bounded and cleaned: strings are
  cut to :data:`MAX_FIELD` characters, text that is not valid UTF-8 is replaced, so a 5 MB
  or binary metadata value can neither bloat the log nor break a write;
* what was decided and why (candidate, ranking with predicted quality and cost, category,
  confidence, complexity, signals, warnings, stage timings, the selection propensity);
* the embedding as float16 (768 bytes for MiniLM) so ``routeiq train --from-log`` can learn
  from outcomes; ``store_embeddings=False`` turns it off.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .._ids import id_time, is_decision_id, new_decision_id
from .._validation import short_repr
from ..errors import FeedbackError

if TYPE_CHECKING:
    from .._decision import Decision
    from .._request import Request

__all__ = ["MAX_FIELD", "DecisionRecord", "Feedback", "LoggedDecision", "Outcome", "record_of"]

#: Longest string kept in a metadata field, a tag, a warning or an error message.
MAX_FIELD = 256
#: At most this many tags and ranked alternatives are kept.
MAX_TAGS = 32
MAX_RANKING = 64
MAX_WARNINGS = 16
#: Longest prompt kept when prompt storage is on.
MAX_PROMPT = 100_000


def clean_text(value: object, limit: int = MAX_FIELD) -> str:
    """``value`` as valid UTF-8 text of at most ``limit`` characters (cut ones end in ``…``)."""
    text = value if isinstance(value, str) else (
        value.decode("utf-8", "replace") if isinstance(value, (bytes, bytearray)) else str(value))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    # lone surrogates (e.g. from surrogateescape-decoded bytes) cannot be stored as UTF-8
    return text.encode("utf-8", "replace").decode("utf-8")


def _opt(value: object) -> str | None:
    return None if value is None else clean_text(value)


def fingerprint(text: str) -> str:
    """The sha256 of the routed text (hex): the same prompt gives the same fingerprint."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One logged decision (a row of the ``decisions`` table)."""

    id: str
    ts: float
    fingerprint: str
    profile: str
    strategy: str
    candidate: str
    model: str
    category: str | None = None
    confidence: float = 0.0
    complexity: int = 0
    propensity: float = 1.0
    fallback: bool = False
    user: str | None = None
    team: str | None = None
    key_alias: str | None = None
    session_id: str | None = None
    tags: tuple[str, ...] = ()
    artifact: str | None = None
    reason: str = ""
    #: (name, model, predicted quality, estimated cost USD, score), best first.
    ranking: tuple[tuple[str, str, float, float, float], ...] = ()
    signals: tuple[tuple[str, float, float], ...] = ()  # (name, value, weight)
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    experiment: str | None = None
    arm: str | None = None
    served: bool = True  # False for a shadow arm's decision
    shadow_of: str | None = None  # the served decision a shadow decision ran beside
    input_tokens: int = 0
    output_tokens: int = 0
    embedding_model: str | None = None  # the embedder's model_id (sha256), with the embedding
    embedding: bytes | None = None  # float16, little-endian
    prompt: str | None = None  # only when prompt storage is on

    def embedding_array(self) -> np.ndarray | None:
        """The stored embedding as float32, or None."""
        if not self.embedding:
            return None
        return np.frombuffer(self.embedding, dtype="<f2").astype(np.float32)

    def to_dict(self, *, embedding: bool = False) -> dict[str, Any]:
        """JSON-safe: the ranking and signals as objects, the embedding left out by default."""
        out = asdict(self)
        out["ranking"] = [{"name": n, "model": m, "quality": q, "cost_usd": c, "score": s}
                          for n, m, q, c, s in self.ranking]
        out["signals"] = [{"name": n, "value": v, "weight": w} for n, v, w in self.signals]
        out["tags"] = list(self.tags)
        out["warnings"] = list(self.warnings)
        out["timings_ms"] = dict(self.timings_ms)
        out.pop("embedding")
        if embedding:
            array = self.embedding_array()
            out["embedding"] = None if array is None else [round(float(x), 5) for x in array]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], embedding: bytes | None = None) -> DecisionRecord:
        """The inverse of :meth:`to_dict` (for the JSON-lines and SQL backends)."""
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["ranking"] = tuple((str(r["name"]), str(r["model"]), float(r["quality"]), float(r["cost_usd"]),
                                   float(r["score"])) for r in data.get("ranking") or ())
        values["signals"] = tuple((str(s["name"]), float(s["value"]), float(s["weight"]))
                                  for s in data.get("signals") or ())
        values["tags"] = tuple(data.get("tags") or ())
        values["warnings"] = tuple(data.get("warnings") or ())
        values["timings_ms"] = dict(data.get("timings_ms") or {})
        values["embedding"] = embedding
        return cls(**values)


def record_of(decision: Decision, request: Request, *, store_embedding: bool = True,
              store_prompt: bool = False, artifact: str | None = None,
              embedding_model: str | None = None) -> DecisionRecord:
    """The log record of ``decision`` (made for ``request``)."""
    md = request.metadata
    embedding = None
    query = decision.query
    if store_embedding and query is not None and query.embedding is not None:
        embedding = np.asarray(query.embedding, dtype="<f2").tobytes()
    prompt = request.prompt
    ranking = tuple((a.name, a.model, float(a.quality), float(a.cost), float(a.score))
                    for a in decision.ranking[:MAX_RANKING])
    return DecisionRecord(
        id=decision.id, ts=id_time(decision.id), fingerprint=fingerprint(prompt),
        profile=decision.profile, strategy=decision.strategy, candidate=decision.candidate.name,
        model=decision.candidate.model, category=decision.category, confidence=float(decision.confidence),
        complexity=int(decision.complexity), propensity=float(decision.propensity), fallback=decision.fallback,
        user=_opt(md.user), team=_opt(md.team), key_alias=_opt(md.key_alias), session_id=_opt(md.session_id),
        tags=tuple(clean_text(t) for t in md.tags[:MAX_TAGS]), artifact=artifact,
        reason=clean_text(decision.reason, 1000), ranking=ranking,
        signals=tuple((s.name, float(s.value), float(s.weight)) for s in decision.signals),
        timings_ms={k: round(v, 3) for k, v in decision.timings_ms.items()},
        warnings=tuple(clean_text(w, 500) for w in decision.warnings[:MAX_WARNINGS]),
        experiment=_opt(decision.details.get("experiment")), arm=_opt(decision.details.get("arm")),
        served=decision.details.get("served", True) is not False, shadow_of=_opt(decision.details.get("shadow_of")),
        input_tokens=int(query.input_tokens) if query is not None else 0,
        output_tokens=int(query.output_tokens) if query is not None else 0,
        embedding_model=embedding_model if embedding is not None else None, embedding=embedding, prompt=clean_text(prompt, MAX_PROMPT) if store_prompt else None,
    )


@dataclass(frozen=True, slots=True)
class Feedback:
    """One outcome report for a decision (a row of the ``feedback`` table).

    Feedback rows are appended, never updated: reporting twice for one decision keeps both,
    and readers merge them field by field, the later report winning (see :class:`Outcome`).
    """

    decision_id: str
    ts: float
    success: bool | None = None
    score: float | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    served_by: str | None = None
    error: str | None = None
    source: str = "user"
    #: This report's own id (a retried write never stores it twice).
    id: str = field(default_factory=new_decision_id)

    @classmethod
    def build(cls, decision_id: object, *, success: object = None, score: object = None, cost_usd: object = None,
              latency_ms: object = None, served_by: object = None, error: object = None,
              source: object = "user") -> Feedback:
        """Validated feedback: a bad value is a :class:`FeedbackError` saying what was expected."""
        if not is_decision_id(decision_id):
            raise FeedbackError(f"feedback: expected a decision id (a UUID string such as Decision.id), got "
                                f"{short_repr(decision_id)}", field="decision_id")
        if success is not None and not isinstance(success, bool):
            raise FeedbackError(f"feedback: success must be True, False or None, got {short_repr(success)}",
                                field="success")
        values = {"score": _number(score, "score", 0.0, 1.0), "cost_usd": _number(cost_usd, "cost_usd", 0.0, 1e6),
                  "latency_ms": _number(latency_ms, "latency_ms", 0.0, 1e9)}
        if not isinstance(source, str) or not source.strip():
            raise FeedbackError(f"feedback: source must be a non-empty string, got {short_repr(source)}",
                                field="source")
        if all(v is None for v in (success, *values.values(), served_by, error)):
            raise FeedbackError("feedback: nothing to record; give at least one of success, score, cost_usd, "
                                "latency_ms, served_by or error")
        return cls(str(decision_id), time.time(), success, values["score"], values["cost_usd"],
                   values["latency_ms"], _opt(served_by), None if error is None else clean_text(error, 500),
                   clean_text(source, 64))


def _number(value: object, name: str, low: float, high: float) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise FeedbackError(f"feedback: {name} must be a number, got {short_repr(value)}", field=name)
    number = float(value)
    if not math.isfinite(number) or not low <= number <= high:
        raise FeedbackError(f"feedback: {name} must be a finite number in [{low:g}, {high:g}], got "
                            f"{short_repr(value)}", field=name)
    return number


@dataclass(frozen=True, slots=True)
class Outcome:
    """Everything reported about one decision, merged: for each field the latest non-None value."""

    success: bool | None = None
    score: float | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None
    served_by: str | None = None
    error: str | None = None
    sources: tuple[str, ...] = ()
    reports: int = 0

    @classmethod
    def merge(cls, rows: Sequence[Feedback]) -> Outcome | None:
        if not rows:
            return None
        out = cls()
        for row in sorted(rows, key=lambda r: r.ts):
            changes = {k: getattr(row, k) for k in ("success", "score", "cost_usd", "latency_ms", "served_by", "error")
                       if getattr(row, k) is not None}
            sources = out.sources if row.source in out.sources else (*out.sources, row.source)
            out = replace(out, **changes, sources=sources, reports=out.reports + 1)
        return out

    @property
    def quality(self) -> float | None:
        """The outcome as a number in [0, 1]: the score, else 1/0 for success/failure."""
        if self.score is not None:
            return self.score
        if self.success is not None:
            return 1.0 if self.success else 0.0
        return None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["sources"] = list(self.sources)
        return out


@dataclass(frozen=True, slots=True)
class LoggedDecision:
    """A decision read back from a log, with its merged outcome (None without feedback)."""

    record: DecisionRecord
    outcome: Outcome | None = None

    def to_dict(self, *, embedding: bool = False) -> dict[str, Any]:
        out = self.record.to_dict(embedding=embedding)
        out["outcome"] = None if self.outcome is None else self.outcome.to_dict()
        return out
