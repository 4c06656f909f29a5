"""Profiles: how predicted quality and cost become a choice.

Every profile is the same rule with different settings, so every strategy is
cost-aware in the same way::

    utility(c) = quality(c) - cost_weight * relative_cost(c)
    relative_cost(c) = log(1 + cost(c) / c_min) / log(1 + c_max / c_min)

where ``c_min`` and ``c_max`` are the smallest positive and the largest cost
among the eligible candidates (a free candidate has relative cost 0, the most
expensive 1). Costs are compared on a log scale because model prices span three
orders of magnitude: on a linear scale one very expensive model would make all
others look free. The highest utility wins; ties go to higher quality, then
lower cost, then name. ``cost_weight`` is the willingness-to-pay knob: 0 buys
the best predicted quality whatever it costs; 0.5 gives up half a quality point
to go from the most expensive candidate to a free one. Filters (free only,
required capabilities, minimum tier) are applied before the rule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ._candidates import CAPABILITIES, Candidate
from ._validation import format_validation_error
from .errors import ConfigError, UnknownProfileError

if TYPE_CHECKING:
    from ._request import Request

__all__ = ["BUILTIN_PROFILES", "Profile", "ProfileRules", "rank_indices", "resolve_profile", "utilities"]


class Profile(BaseModel):
    """A named routing policy. Define your own in ``Router(profiles={...})``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    cost_weight: float = Field(ge=0.0, allow_inf_nan=False)
    free_only: bool = False
    require: frozenset[str] = frozenset()
    min_tier: int = Field(0, ge=0, le=5)
    description: str = ""

    def model_post_init(self, __context: Any) -> None:
        unknown = set(self.require) - CAPABILITIES
        if unknown:
            raise ValueError(f"unknown capabilities {sorted(unknown)}; expected some of {sorted(CAPABILITIES)}")

    def admits(self, candidate: Candidate) -> str | None:
        """None if the candidate is eligible under this profile, else the reason it is not."""
        if self.free_only and not candidate.is_free:
            return f"profile {self.name!r} admits only free candidates"
        missing = self.require - candidate.capabilities
        if missing:
            return f"profile {self.name!r} requires {', '.join(sorted(missing))}"
        if candidate.tier < self.min_tier:
            return f"profile {self.name!r} requires tier >= {self.min_tier}"
        return None


BUILTIN_PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="auto",
            cost_weight=0.15,
            description="Balanced: the classifier's predicted quality, traded against cost at a moderate rate.",
        ),
        Profile(
            name="eco",
            cost_weight=0.5,
            description="Cheapest adequate: half a quality point separates the most expensive candidate from a free one.",
        ),
        Profile(
            name="premium",
            cost_weight=0.0,
            description="Strongest: the highest predicted quality, cost only breaks ties.",
        ),
        Profile(
            name="free",
            cost_weight=0.15,
            free_only=True,
            description="Only zero-cost candidates (local or free tiers), then as auto.",
        ),
        Profile(
            name="reasoning",
            cost_weight=0.1,
            require=frozenset({"reasoning"}),
            description="Only reasoning-capable candidates, quality first.",
        ),
    )
}


def resolve_profile(name: str, profiles: Mapping[str, Profile]) -> Profile:
    try:
        return profiles[name]
    except KeyError:
        raise UnknownProfileError(
            f"unknown profile {name!r}; expected one of {sorted(profiles)} "
            "(define more with Router(profiles={...}))"
        ) from None


def make_profiles(custom: Mapping[str, Profile | Mapping[str, Any]] | None) -> dict[str, Profile]:
    """Built-in profiles, overridden or extended by ``custom``."""
    out = dict(BUILTIN_PROFILES)
    if custom is not None and not isinstance(custom, Mapping):
        raise ConfigError(f"profiles: expected a mapping of name -> profile, got {type(custom).__name__}")
    for name, value in (custom or {}).items():
        if isinstance(value, Profile):
            profile = value
        elif isinstance(value, Mapping):
            try:
                profile = Profile(**{"name": name, **value})
            except ValidationError as exc:  # one line, as for candidates: "field: problem (got value)"
                raise ConfigError(
                    format_validation_error(exc, f"profiles[{name!r}]: invalid profile", root="profile")
                ) from None
            except ValueError as exc:
                raise ConfigError(f"profiles[{name!r}]: {exc}") from None
        else:
            raise ConfigError(f"profiles[{name!r}]: expected a Profile or a dict, got {type(value).__name__}")
        if profile.name != name:
            raise ConfigError(f"profiles[{name!r}]: the key and the profile's name ({profile.name!r}) differ")
        out[name] = profile
    return out


def relative_costs(cost: np.ndarray) -> np.ndarray:
    """Costs mapped to [0, 1] on a log scale along the last axis (0 = free, 1 = most expensive)."""
    cost = np.maximum(np.asarray(cost, dtype=np.float64), 0.0)
    positive = np.where(cost > 0, cost, np.inf)
    c_min = positive.min(axis=-1, keepdims=True)
    c_min = np.where(np.isfinite(c_min), c_min, 1.0)
    c_max = cost.max(axis=-1, keepdims=True)
    denom = np.log1p(c_max / c_min)
    return np.where(denom > 0, np.log1p(cost / c_min) / np.where(denom > 0, denom, 1.0), 0.0)


def utilities(quality: np.ndarray, cost: np.ndarray, cost_weight: float) -> np.ndarray:
    """The utility rule on arrays: ``quality - cost_weight * relative_cost`` along the last axis."""
    return np.asarray(quality, dtype=np.float64) - cost_weight * relative_costs(cost)


def rank_indices(
    quality: Sequence[float] | np.ndarray,
    cost: Sequence[float] | np.ndarray,
    cost_weight: float,
    names: Sequence[str] | None = None,
) -> tuple[list[int], list[float]]:
    """Candidate indices best first, and their utilities (deterministic tie-breaking).

    Plain Python: a request ranks tens of candidates, where numpy's per-call overhead
    costs more than the arithmetic. Same formula as :func:`utilities`.
    """
    q = [float(x) for x in quality]
    c = [x if x > 0.0 else 0.0 for x in map(float, cost)]
    positive = [x for x in c if x > 0]
    denom = math.log1p(max(c) / min(positive)) if positive else 0.0
    if denom > 0:
        c_min, log1p = min(positive), math.log1p
        u = [qi - cost_weight * (log1p(x / c_min) / denom) for qi, x in zip(q, c)]
    else:  # every candidate costs the same: quality alone
        u = q
    # Quantise to 1e-9 so that float noise never flips a tie; then quality, cost, name.
    # (floor(x * 1e9 + 0.5), as select_many does: 20x faster than round(x, 9) per value.)
    floor = math.floor
    key = [-floor(x * 1e9 + 0.5) for x in u]
    if len(set(key)) == len(key):  # no tie (the usual case): the utility alone orders them
        return sorted(range(len(key)), key=key.__getitem__), u
    ranked = sorted(zip(key, [-floor(x * 1e9 + 0.5) for x in q], c,
                        names if names is not None else [""] * len(q), range(len(q))))
    return [item[4] for item in ranked], u


def select_many(quality: np.ndarray, cost: np.ndarray, cost_weight: float) -> np.ndarray:
    """Vectorised choice for evaluation: (n, m) quality and cost -> (n,) chosen column.

    Same rule as :func:`rank_indices` up to exact ties (which go to lower cost here too).
    """
    u = np.floor(utilities(quality, cost, cost_weight) * 1e9 + 0.5)
    best = u.max(axis=1, keepdims=True)
    tied = u >= best
    q = np.where(tied, np.floor(np.asarray(quality, dtype=np.float64) * 1e9 + 0.5), -np.inf)
    tied &= q >= q.max(axis=1, keepdims=True)
    masked_cost = np.where(tied, cost, np.inf)
    return np.asarray(masked_cost.argmin(axis=1))


@dataclass(frozen=True)
class ProfileRules:
    """Which profile a request gets: the explicit one, else its metadata's, else its key's or
    team's default, else the router's default. Built (and checked) once per router."""

    profiles: Mapping[str, Profile]
    default: str = "auto"
    team_profiles: Mapping[str, str] | None = None
    key_profiles: Mapping[str, str] | None = None

    @classmethod
    def build(
        cls,
        profiles: Mapping[str, Profile | Mapping[str, Any]] | None = None,
        default: str = "auto",
        team_profiles: Mapping[str, str] | None = None,
        key_profiles: Mapping[str, str] | None = None,
    ) -> ProfileRules:
        table = make_profiles(profiles)
        return cls(
            table,
            resolve_profile(default, table).name,
            _checked_profile_map(team_profiles, "team_profiles", table),
            _checked_profile_map(key_profiles, "key_profiles", table),
        )

    def for_request(self, request: Request, explicit: object = None) -> Profile:
        if explicit is not None and not isinstance(explicit, str):
            raise UnknownProfileError(
                f"profile: expected a profile name such as 'auto', got {type(explicit).__name__}"
            )
        meta = request.metadata
        name = explicit or meta.profile
        if name is None and meta.key_alias is not None and self.key_profiles:
            name = self.key_profiles.get(meta.key_alias)
        if name is None and meta.team is not None and self.team_profiles:
            name = self.team_profiles.get(meta.team)
        return resolve_profile(name or self.default, self.profiles)


def _checked_profile_map(mapping: Mapping[str, str] | None, what: str, profiles: Mapping[str, Profile]) -> dict[str, str]:
    if mapping is not None and not isinstance(mapping, Mapping):
        raise ConfigError(f"{what}: expected a mapping of id -> profile name, got {type(mapping).__name__}")
    out = dict(mapping or {})
    for key, name in out.items():
        if name not in profiles:
            raise ConfigError(f"{what}[{key!r}] = {name!r} is not a profile; expected one of {sorted(profiles)}")
    return out
