"""Candidates (deployments a request may go to) and the catalog they come from.

A :class:`Candidate` is one deployment: a unique ``name`` (the deployment id),
the ``model`` it serves, prices, context window, capabilities and a tier.
Missing tiers are inferred from price, so a user can describe a deployment
with a model name and two prices and still get sensible routing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ._files import read_structured_file
from ._safe_io import as_path
from ._validation import format_validation_error
from .errors import CandidateError, NoCandidatesError

__all__ = ["CAPABILITIES", "TIER_NAMES", "Candidate", "Catalog", "PoolCache", "load_candidates"]

T = TypeVar("T")

CAPABILITIES = frozenset({"reasoning", "tools", "vision", "audio", "json", "long_context", "code"})

#: Tier 1 (smallest) .. 5 (frontier). Complexity levels use the same scale.
TIER_NAMES = {1: "nano", 2: "small", 3: "medium", 4: "large", 5: "frontier"}

# Blended price (3 input : 1 output, USD per 1M tokens) upper bounds of tiers 1..4.
_TIER_PRICE_BOUNDS = (0.2, 1.0, 4.0, 12.0)


def infer_tier(input_cost_per_mtok: float, output_cost_per_mtok: float) -> int:
    """Guess a tier from price: the blended price (3:1 input:output) against fixed bounds."""
    blended = (3 * input_cost_per_mtok + output_cost_per_mtok) / 4
    for tier, bound in enumerate(_TIER_PRICE_BOUNDS, start=1):
        if blended < bound:
            return tier
    return 5


# Parameter-count (billions) upper bounds of tiers 1..4.
_TIER_SIZE_BOUNDS = (4.0, 15.0, 40.0, 100.0)


def infer_tier_from_size(size_b: float) -> int:
    """Guess a tier from the parameter count: a better signal of capability than price when known."""
    for tier, bound in enumerate(_TIER_SIZE_BOUNDS, start=1):
        if size_b < bound:
            return tier
    return 5


class Candidate(BaseModel):
    """One deployment a request can be routed to.

    Prices are USD per 1M tokens. ``input_cost_per_token`` / ``output_cost_per_token``
    (LiteLLM's per-token spelling) are accepted too and converted.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, description="Unique deployment id.")
    model: str = Field(default="", description="Model served, e.g. 'openai/gpt-4o-mini'. Defaults to name.")
    input_cost_per_mtok: float = Field(0.0, ge=0.0, allow_inf_nan=False)
    output_cost_per_mtok: float = Field(0.0, ge=0.0, allow_inf_nan=False)
    context_window: int | None = Field(None, gt=0)
    capabilities: frozenset[str] = frozenset()
    tier: int = Field(
        0, ge=0, le=5,
        description="1 (nano) .. 5 (frontier); 0 or omitted = infer from size_b if given, else from price.",
    )
    free: bool = False
    quality: float | None = Field(
        None, ge=0.0, le=1.0, description="Optional general-strength prior in [0, 1]; refines the tier."
    )
    rating: float | None = Field(
        None, ge=0.0, le=4000.0, allow_inf_nan=False,
        description="Optional public arena-style rating (e.g. an LMArena score); overrides RouteIQ's built-in "
                    "ratings for this candidate. Only differences between candidates' ratings matter.",
    )
    size_b: float | None = Field(None, gt=0, description="Parameter count in billions, if known.")
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _accept_per_token_prices(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            data = dict(data)
            for side in ("input", "output"):
                per_token = data.pop(f"{side}_cost_per_token", None)
                if per_token is not None:
                    if f"{side}_cost_per_mtok" in data:
                        raise ValueError(f"give {side}_cost_per_mtok or {side}_cost_per_token, not both")
                    try:
                        data[f"{side}_cost_per_mtok"] = float(per_token) * 1e6
                    except (TypeError, ValueError):
                        raise ValueError(f"{side}_cost_per_token: expected a number, got {per_token!r:.40}") from None
        return data

    @field_validator("capabilities", mode="before")
    @classmethod
    def _known_capabilities(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if value is not None and not isinstance(value, Iterable):
            raise ValueError(f"expected a list of capabilities, got {type(value).__name__}")
        caps = frozenset(str(v).strip().lower() for v in (value or ()))
        unknown = caps - CAPABILITIES
        if unknown:
            raise ValueError(f"unknown capabilities {sorted(unknown)}; expected some of {sorted(CAPABILITIES)}")
        return caps

    @model_validator(mode="after")
    def _fill_defaults(self) -> Candidate:
        if not self.model:
            object.__setattr__(self, "model", self.name)
        if self.free and (self.input_cost_per_mtok or self.output_cost_per_mtok):
            raise ValueError("a free candidate must have zero prices")
        if self.tier == 0:
            tier = (infer_tier_from_size(self.size_b) if self.size_b is not None
                    else infer_tier(self.input_cost_per_mtok, self.output_cost_per_mtok))
            object.__setattr__(self, "tier", tier)
        return self

    def __hash__(self) -> int:  # metadata (a dict) is left out; equal candidates still hash equal
        return hash((self.name, self.model, self.input_cost_per_mtok, self.output_cost_per_mtok,
                     self.context_window, self.capabilities, self.tier, self.free, self.quality, self.rating))

    @property
    def is_free(self) -> bool:
        return self.free or (self.input_cost_per_mtok == 0 and self.output_cost_per_mtok == 0)

    @property
    def blended_cost_per_mtok(self) -> float:
        return (3 * self.input_cost_per_mtok + self.output_cost_per_mtok) / 4

    def expected_cost(self, input_tokens: float, output_tokens: float) -> float:
        """USD for one call with the given token counts."""
        return (self.input_cost_per_mtok * input_tokens + self.output_cost_per_mtok * output_tokens) / 1e6

    def strength(self) -> float:
        """General strength in [0, 1]: the quality prior if given, else derived from the tier."""
        if self.quality is not None:
            return self.quality
        return 0.45 + 0.1 * self.tier

    def has(self, capability: str) -> bool:
        return capability in self.capabilities


def _candidate_error(exc: ValidationError, where: str) -> CandidateError:
    return CandidateError(format_validation_error(exc, f"{where}: invalid candidate", root="candidate"))


def make_candidates(items: Iterable[Candidate | Mapping[str, Any]]) -> tuple[Candidate, ...]:
    """Validate candidates: objects or dicts, unique names, at least one."""
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise CandidateError(
            f"candidates: expected a list of Candidate objects or dicts, got {type(items).__name__}"
        )
    out: list[Candidate] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        if isinstance(item, Candidate):
            cand = item
        elif isinstance(item, Mapping):
            try:
                cand = Candidate.model_validate(item)
            except ValidationError as exc:
                raise _candidate_error(exc, f"candidates[{i}]") from None
        else:
            raise CandidateError(
                f"candidates[{i}]: expected a Candidate or a dict, got {type(item).__name__}"
            )
        if cand.name in seen:
            raise CandidateError(
                f"candidates[{i}]: duplicate candidate name {cand.name!r}; names must be unique deployment ids"
            )
        seen.add(cand.name)
        out.append(cand)
    return tuple(out)


class Catalog(BaseModel):
    """A named set of candidates with provenance (where the prices come from, and when)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "custom"
    prices_as_of: str | None = None
    source: str | None = None
    candidates: tuple[Candidate, ...]

    @field_validator("candidates", mode="before")
    @classmethod
    def _validate_candidates(cls, value: Any) -> Any:
        return make_candidates(value)

    @classmethod
    def builtin(cls) -> Catalog:
        """The catalog shipped with RouteIQ (prices from the providers' public price lists)."""
        return _load_file(Path(__file__).parent / "data" / "catalog.json")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Catalog:
        """Read a catalog from JSON or YAML: a list of candidates or ``{"candidates": [...]}``."""
        return _load_file(as_path(path, "candidates file", CandidateError))

    def extend(self, extra: Iterable[Candidate | Mapping[str, Any]], *, replace: bool = True) -> Catalog:
        """A new catalog with ``extra`` added; same-named candidates are replaced (or rejected)."""
        new = make_candidates(extra)
        names = {c.name for c in new}
        if not replace:
            clash = names & {c.name for c in self.candidates}
            if clash:
                raise CandidateError(f"candidates already in the catalog: {sorted(clash)}")
        kept = [c for c in self.candidates if c.name not in names]
        return Catalog(name=self.name, prices_as_of=self.prices_as_of, source=self.source,
                       candidates=tuple(kept) + new)

    def get(self, name: str) -> Candidate:
        for cand in self.candidates:
            if cand.name == name:
                return cand
        raise CandidateError(f"no candidate named {name!r}; known: {[c.name for c in self.candidates]}")


def _load_file(path: Path) -> Catalog:
    data = read_structured_file(path, "candidates file", CandidateError)
    if isinstance(data, list):
        data = {"candidates": data}
    if not isinstance(data, Mapping) or "candidates" not in data:
        raise CandidateError(
            f"{path}: expected a list of candidates or an object with a 'candidates' list, "
            f"got {type(data).__name__}"
        )
    data = dict(data)
    data.setdefault("name", path.stem)
    try:
        return Catalog.model_validate(data)
    except ValidationError as exc:
        raise _candidate_error(exc, str(path)) from None


def load_candidates(source: str | os.PathLike[str] | Sequence[Candidate | Mapping[str, Any]]) -> tuple[Candidate, ...]:
    """Candidates from a file path or a sequence of candidates/dicts."""
    if isinstance(source, (str, os.PathLike)):
        return Catalog.from_file(source).candidates
    return make_candidates(source)


CandidatesLike = Sequence[Candidate | Mapping[str, Any]] | Catalog | str | os.PathLike[str]


def as_catalog(candidates: CandidatesLike | None) -> Catalog:
    """A catalog from what a Router accepts: None (built-in), a Catalog, a file, or candidates."""
    if candidates is None:
        catalog = Catalog.builtin()
    elif isinstance(candidates, Catalog):
        catalog = candidates
    elif isinstance(candidates, (str, os.PathLike)):
        catalog = Catalog.from_file(candidates)
    else:
        catalog = Catalog(name="custom", candidates=make_candidates(candidates))
    if not catalog.candidates:
        raise NoCandidatesError("no candidates: pass at least one Candidate (or use the built-in catalog)")
    return catalog


class PoolCache(Generic[T]):
    """A value computed from a candidate pool, kept while callers pass the same pool object.

    Keyed by identity: the Router passes one tuple while its candidate set is unchanged, so a
    lookup is a dict get and an ``is``. The pool itself is held, so its id cannot be reused by
    another object while the entry lives; the cache is cleared when ``size`` pools are kept.
    Only tuples are kept unless ``keep_mutable``: a list may be changed in place after a call.
    """

    __slots__ = ("_build", "_entries", "_keep_mutable", "_size")

    def __init__(self, build: Callable[[Sequence[Candidate]], T], *, size: int = 64,
                 keep_mutable: bool = False) -> None:
        self._build, self._size, self._keep_mutable = build, size, keep_mutable
        self._entries: dict[int, tuple[Sequence[Candidate], T]] = {}

    def __call__(self, candidates: Sequence[Candidate]) -> T:
        hit = self._entries.get(id(candidates))
        if hit is not None and hit[0] is candidates:
            return hit[1]
        value = self._build(candidates)
        if self._keep_mutable or isinstance(candidates, tuple):
            if len(self._entries) >= self._size:
                self._entries.clear()
            self._entries[id(candidates)] = (candidates, value)
        return value
