"""LiteLLM deployments -> RouteIQ candidates.

A deployment becomes a :class:`~routeiq_core.Candidate` named by its ``model_info.id``
and serving its ``litellm_params.model``. Each field comes from the first source that has it:

1. ``overrides`` given to the adapter, keyed by deployment id, group name or model string;
2. ``model_info.routeiq`` on the deployment (RouteIQ hints: tier, quality, capabilities, ...);
3. custom prices on the deployment (``input_cost_per_token`` ... in ``litellm_params`` or
   ``model_info``);
4. LiteLLM's cost map (``litellm.get_model_info``, by ``model_info.base_model`` then the model);
5. for a price nobody knows: the median known price of the group (so an unpriced deployment is
   neither free nor the most expensive), recorded as ``metadata["price_source"] = "group_median"``.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from routeiq_core import Candidate
from routeiq_core._validation import format_validation_error
from routeiq_core.errors import CandidateError

from ._compat import deployment_id

__all__ = ["cost_map_lookup", "deployment_candidates", "group_key"]

log = logging.getLogger("routeiq.litellm")

#: LiteLLM cost-map flags -> RouteIQ capabilities.
CAPABILITY_FLAGS = {
    "supports_function_calling": "tools",
    "supports_vision": "vision",
    "supports_reasoning": "reasoning",
    "supports_response_schema": "json",
    "supports_audio_input": "audio",
}
_CANDIDATE_FIELDS = frozenset(Candidate.model_fields) | {
    "input_cost_per_token",
    "output_cost_per_token",
}
_HINT_FIELDS = _CANDIDATE_FIELDS - {"name", "model", "metadata"}

ModelInfoLookup = Callable[[str], Mapping[str, Any] | None]


def cost_map_lookup(model: str) -> Mapping[str, Any] | None:
    """LiteLLM's cost-map entry for ``model``, or None when it is not mapped."""
    import litellm

    try:
        info = litellm.get_model_info(model)
    except Exception:  # litellm raises for unmapped models; that is an expected miss
        return None
    return info if isinstance(info, Mapping) else None


def group_key(deployments: Iterable[Mapping[str, Any]]) -> tuple[tuple[str, str], ...]:
    """Cache key of a group: its deployment ids and models (changes when the router is rebuilt)."""
    return tuple(
        (deployment_id(d), str((d.get("litellm_params") or {}).get("model", "")))
        for d in deployments
    )


def _first(*sources: Mapping[str, Any] | None, key: str) -> Any:
    for source in sources:
        if source and source.get(key) is not None:
            return source[key]
    return None


def _price(value: Any, dep_id: str, key: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise CandidateError(
            f"deployment {dep_id!r}: {key} must be a number, got {value!r}"
        ) from None


def _overrides_for(
    dep: Mapping[str, Any], overrides: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    """Merge overrides by model string, then group name, then deployment id (most specific wins)."""
    params = dep.get("litellm_params") or {}
    merged: dict[str, Any] = {}
    for key in (params.get("model"), dep.get("model_name"), deployment_id(dep)):
        if key is not None and str(key) in overrides:
            merged.update(overrides[str(key)])
    return merged


def deployment_candidates(
    deployments: Iterable[Mapping[str, Any]],
    *,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    lookup: ModelInfoLookup | None = None,
) -> tuple[Candidate, ...]:
    """Candidates for the deployments of one model group, in the group's order."""
    lookup = lookup or cost_map_lookup
    overrides = overrides or {}
    raw: list[dict[str, Any]] = []
    for dep in deployments:
        dep_id = deployment_id(dep)
        params = dep.get("litellm_params") or {}
        info = dep.get("model_info") or {}
        model = str(params.get("model") or dep.get("model_name") or dep_id)
        hints = dict(info.get("routeiq") or {}) if isinstance(info.get("routeiq"), Mapping) else {}
        hints.update(_overrides_for(dep, overrides))
        unknown = set(hints) - _HINT_FIELDS
        if unknown:
            raise CandidateError(
                f"deployment {dep_id!r}: unknown RouteIQ candidate fields {sorted(unknown)}; "
                f"expected some of {sorted(_HINT_FIELDS)}"
            )
        mapped = None
        for key in (info.get("base_model"), params.get("base_model"), model):
            if key:
                mapped = lookup(str(key))
                if mapped:
                    break
        fields: dict[str, Any] = {"name": dep_id, "model": model}
        sources = []
        for side in ("input", "output"):
            key = f"{side}_cost_per_token"
            if f"{side}_cost_per_mtok" in hints or key in hints or hints.get("free"):
                sources.append("routeiq")
            elif _first(params, info, key=key) is not None:
                fields[key] = _price(_first(params, info, key=key), dep_id, key)
                sources.append("deployment")
            elif _first(mapped, key=key) is not None:
                fields[key] = _price(_first(mapped, key=key), dep_id, key)
                sources.append("cost_map")
            else:
                sources.append("group_median")  # filled in below, once the group's prices are known
        source = next(
            (s for s in ("group_median", "cost_map", "deployment") if s in sources), "routeiq"
        )
        window = _first(info, mapped, key="max_input_tokens")
        if window and "context_window" not in hints:
            fields["context_window"] = int(window)
        if "capabilities" not in hints:
            flags = {**(mapped or {}), **{k: v for k, v in info.items() if k in CAPABILITY_FLAGS}}
            fields["capabilities"] = sorted(
                {cap for flag, cap in CAPABILITY_FLAGS.items() if flags.get(flag)}
            )
        fields.update(hints)
        fields["metadata"] = {"model_group": dep.get("model_name"), "price_source": source}
        raw.append(fields)
    _fill_unknown_prices(raw)
    out = []
    for fields in raw:
        try:
            out.append(Candidate.model_validate(fields))
        except ValidationError as exc:
            raise CandidateError(
                format_validation_error(
                    exc, f"deployment {fields['name']!r}: cannot describe it as a candidate"
                )
            ) from None
    return tuple(out)


def _fill_unknown_prices(raw: list[dict[str, Any]]) -> None:
    for side in ("input", "output"):
        known = [
            f[f"{side}_cost_per_token"] for f in raw if f.get(f"{side}_cost_per_token") is not None
        ] + [
            f[f"{side}_cost_per_mtok"] / 1e6
            for f in raw
            if f.get(f"{side}_cost_per_mtok") is not None
        ]
        median = statistics.median(known) if known else 0.0
        for f in raw:
            if f.get("free") or f"{side}_cost_per_token" in f or f"{side}_cost_per_mtok" in f:
                continue
            f[f"{side}_cost_per_token"] = median
            log.debug(
                "routeiq: deployment %s has no %s price; using the group median", f["name"], side
            )
