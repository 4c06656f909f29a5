"""The eligibility stage: which candidates may serve a request, as a pure function.

Rules, in order: the caller's exclusions (cooldowns, failed attempts, an extension's
narrowing), the profile's filters (free only, required capabilities, minimum tier),
then the request's needs (tools, vision, audio) and the context window. Every
excluded candidate gets a reason; ``Decision.excluded`` shows them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, NamedTuple

from ._candidates import Candidate
from ._profiles import Profile
from ._types import Query
from .errors import NoCandidatesError, RequestError

__all__ = ["Eligibility", "eligible_candidates", "exclude_names"]


class Eligibility(NamedTuple):
    """The eligible candidates (in catalog order), why each other one is not, and notes."""

    candidates: tuple[Candidate, ...]
    excluded: dict[str, str]
    notes: tuple[str, ...]


def eligible_candidates(
    candidates: tuple[Candidate, ...],
    query: Query,
    profile: Profile,
    exclude: Collection[str] = frozenset(),
    *,
    min_context: int | None = None,
) -> Eligibility:
    """The candidates that may serve ``query`` under ``profile``, and why each other one may not.

    Hard rules raise :class:`NoCandidatesError` when nothing is left (everything excluded
    by the caller, or the profile admits none); soft rules (capabilities the request
    needs, the context window) narrow the pool only while something is left, else they
    are relaxed with a note. ``min_context`` (the smallest context window, precomputed)
    lets the common case skip every rule.
    """
    request = query.request
    assert request is not None, "eligibility needs a query built from a request"
    needed = query.input_tokens + query.output_tokens
    if min_context is None:
        min_context = min((c.context_window or 1 << 62) for c in candidates)
    if (not exclude and not profile.free_only and not profile.require and not profile.min_tier
            and not request.tools and not request.has_images and not request.has_audio
            and needed <= min_context):
        return Eligibility(candidates, {}, ())  # nothing to filter: the common case, kept cheap
    excluded: dict[str, str] = {}
    notes: list[str] = []
    pool = []
    for cand in candidates:
        if cand.name in exclude:
            excluded[cand.name] = "excluded by the caller (e.g. cooldown or a failed attempt)"
        else:
            pool.append(cand)
    if not pool:
        raise NoCandidatesError(
            f"every candidate was excluded by the caller ({sorted(exclude)}); nothing is left to route to"
        )
    admitted = []
    for cand in pool:
        why = profile.admits(cand)
        if why is None:
            admitted.append(cand)
        else:
            excluded[cand.name] = why
    if not admitted:
        if profile.free_only:
            raise NoCandidatesError(
                f"profile {profile.name!r} admits only free candidates, and none of "
                f"{[c.name for c in pool]} is free; add a candidate with free=True (e.g. a local model) "
                "or choose another profile"
            )
        raise NoCandidatesError(
            f"profile {profile.name!r} admits none of {[c.name for c in pool]} "
            f"({next(iter(excluded.values()))}); add a suitable candidate or choose another profile"
        )
    # Soft requirements: enforced only when some candidate declares the capability,
    # and relaxed (with a note) rather than failing the request.
    needs = []
    if request.tools:
        needs.append("tools")
    if request.has_images:
        needs.append("vision")
    if request.has_audio:
        needs.append("audio")
    for capability in needs:
        capable = [c for c in admitted if c.has(capability)]
        if capable and len(capable) < len(admitted):
            for c in admitted:
                if not c.has(capability):
                    excluded[c.name] = f"the request needs {capability}"
            admitted = capable
        elif not capable and any(c.capabilities for c in admitted):
            notes.append(f"no eligible candidate declares '{capability}', which the request needs")
    fits = [c for c in admitted if c.context_window is None or c.context_window >= needed]
    if fits and len(fits) < len(admitted):
        for c in admitted:
            if c not in fits:
                excluded[c.name] = f"context window {c.context_window} < ~{needed} tokens needed"
        admitted = fits
    elif not fits:
        largest = max(admitted, key=lambda c: c.context_window or 0)
        notes.append(f"no candidate's context window fits ~{needed} tokens; using the largest")
        for c in admitted:
            if c is not largest:
                excluded[c.name] = f"context window {c.context_window} < ~{needed} tokens needed"
        admitted = [largest]
    return Eligibility(tuple(admitted), excluded, tuple(notes))


_NOTHING: frozenset[str] = frozenset()


def exclude_names(exclude: Any) -> frozenset[str]:
    """``exclude`` as a set of names; a bare string is one name (not its characters or substrings)."""
    if exclude is None or (type(exclude) in (tuple, list, frozenset, set) and not exclude):
        return _NOTHING  # the common case: no ABC check on the hot path
    if isinstance(exclude, str):
        return frozenset((exclude,))
    if isinstance(exclude, (bytes, Mapping)) or not isinstance(exclude, Collection):
        raise RequestError(
            f"exclude: expected a list of candidate names, got {type(exclude).__name__}", field="exclude"
        )
    names = list(exclude)
    if not all(isinstance(n, str) for n in names):
        raise RequestError("exclude: expected candidate names (strings)", field="exclude")
    return frozenset(names)
