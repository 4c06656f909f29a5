"""AutoMix: answer with the small model, let it verify itself, escalate when the verification is weak.

AutoMix (Madaan et al., NeurIPS 2024) is a two-model cascade. Per decision:

1. the small candidate answers the query (1 LLM call);
2. the verifier (by default the small model itself) judges that answer
   ``n_verifications`` times ("Verification Decision: Correct / Incorrect");
   ``p_ver`` is the share of "Correct" (n LLM calls);
3. a policy on ``p_ver`` decides whether to escalate to the large candidate.

So one decision costs ``1 + n_verifications`` calls, all to the small model unless
``verifier_model`` is set; the large model is only called by the router if chosen.

**Training.** Routing data has no verifier outputs, so ``fit`` simulates them: a
prompt's ``p_ver`` is drawn as ``Binomial(n, tpr * s + fpr * (1 - s)) / n`` where ``s``
is the small model's score and ``tpr``/``fpr`` the assumed verifier hit and false-alarm
rates (``sim_tpr``, ``sim_fpr``). With real verifier outputs use
:meth:`AutoMixStrategy.fit_with_verifier`. From the (p_ver, small score, large score)
triples it learns, per ``p_ver`` bin, the expected quality of both models, and the
threshold policy "escalate iff p_ver < threshold" that maximises AutoMix's IBC lift
(incremental benefit per cost over the straight small-to-large line) with AutoMix's
relative costs (small 1, large 50, each verification 1).

**Output.** Every known model's quality is its expected training score given the
``p_ver`` bin (a failed verification also says the prompt is hard for the others);
the policy fixes the order of the small and the large model (the small one is at
least as good as the large one exactly when the policy stays). Candidates unknown
to the training data get the prior. ``details`` has the answer's length,
``p_ver``, the verdicts and ``escalate``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from routeiq_core import BaseStrategy, Candidate, Estimate, Query, RoutingDataset, StrategyTags
from routeiq_core.errors import DatasetError

from ._base import model_columns
from .llm_callable import LLMParams, LLMRequest, LLMStrategy, Procedure

__all__ = ["AutoMixStrategy", "ibc_lift", "parse_verdict"]

_ANSWER_SYSTEM = "Answer the question concisely. Give only the answer."
_VERIFY_TEMPLATE = (
    "Question:\n{question}\n\nProposed answer:\n{answer}\n\n"
    "Check the proposed answer against the question. Is it correct?\n"
    "Finish with exactly one line: 'Verification Decision: Correct' or 'Verification Decision: Incorrect'."
)
_INCORRECT = re.compile(r"\b(in ?correct|not\s+correct|wrong|false)\b", re.IGNORECASE)
_CORRECT = re.compile(r"\b(correct|right|true)\b", re.IGNORECASE)
_DECISION = re.compile(r"verification decision\s*[:\-]?\s*(.*)", re.IGNORECASE)


def parse_verdict(text: str) -> float | None:
    """1.0 for "Correct", 0.0 for "Incorrect", None when the reply says neither.

    The "Verification Decision:" line wins when present; "incorrect" is checked
    before "correct" (it contains it).
    """
    decision = _DECISION.search(text or "")
    for part in ([decision.group(1)] if decision else []) + [text or ""]:
        if _INCORRECT.search(part):
            return 0.0
        if _CORRECT.search(part):
            return 1.0
    return None


def ibc_lift(escalate: np.ndarray, small: np.ndarray, large: np.ndarray, cost_small: float, cost_large: float,
             cost_verify: float) -> float:
    """AutoMix's IBC lift of a cascade decision vector over the straight small-to-large line.

    IBC(method) = (P_method - P_small) / (C_method - C_small); the lift is
    IBC(method) / IBC(always large) - 1. Returns -inf when undefined.
    """
    p_small, p_large = float(small.mean()), float(large.mean())
    p_method = float(np.where(escalate, large, small).mean())
    c_method = cost_small + cost_verify + float(escalate.mean()) * cost_large
    base = (p_large - p_small) / cost_large
    if base <= 0 or c_method <= cost_small:
        return -np.inf
    return ((p_method - p_small) / (c_method - cost_small)) / base - 1.0


class AutoMixParams(LLMParams):
    small_model: str | None = Field(None, description="Small model; None = the cheapest candidate / training model.")
    large_model: str | None = Field(None, description="Large model; None = the best candidate / training model.")
    verifier_model: str | None = Field(None, description="Verifier; None = the small model (self-verification).")
    n_verifications: int = Field(2, ge=1, le=16, description="Verification samples per decision.")
    policy: Literal["threshold", "self_consistency"] = "threshold"
    threshold: float | None = Field(None, ge=0, le=1.01, description="Fixed threshold instead of the fitted one.")
    num_bins: int = Field(8, ge=2, le=64, description="p_ver bins for the calibration and threshold grid.")
    cost_small: float = Field(1.0, gt=0)
    cost_large: float = Field(50.0, gt=0)
    cost_verify: float = Field(1.0, ge=0)
    sim_tpr: float = Field(0.8, ge=0, le=1, description="Simulated P(verifier says Correct | answer correct).")
    sim_fpr: float = Field(0.3, ge=0, le=1, description="Simulated P(verifier says Correct | answer wrong).")
    answer_chars: int = Field(4000, ge=100, description="Longest answer passed to the verifier.")
    seed: int = 0


class AutoMixStrategy(LLMStrategy[AutoMixParams]):
    """The AutoMix cascade: small model answers, self-verifies, and a fitted threshold decides to escalate.

    Attributes set by fit:
        small_model_, large_model_: the cascade's models in the training data.
        threshold_: escalate iff p_ver < threshold_ (0 = never, > 1 = always).
        bin_edges_: (bins + 1,) p_ver bins.
        bin_quality_: (bins, m) expected score of every training model given the p_ver bin
            (non-decreasing for the small model).
        ibc_lift_: the training IBC lift of the chosen threshold.
        models_, model_mean_: training models and their mean scores (priors of other candidates).
    """

    name: ClassVar[str] = "automix"
    partial_feedback: ClassVar[bool | None] = False
    nan_allowed: ClassVar[frozenset[str]] = frozenset({"bin_quality_"})  # NaN = an empty bin
    tags: ClassVar[StrategyTags] = StrategyTags(
        requires_fit=True, deterministic=False, needs_embedding=False, calls_llm=True
    )

    # ------------------------------------------------------------------ training
    def fit_with_verifier(self, dataset: RoutingDataset, p_ver: Sequence[float] | np.ndarray) -> AutoMixStrategy:
        """Fit on real verifier outputs: ``p_ver[i]`` = share of "Correct" for prompt ``i``."""
        arr = np.asarray(p_ver, dtype=np.float64)
        if arr.shape != (len(dataset),) or np.isnan(arr).any() or (arr < 0).any() or (arr > 1).any():
            raise DatasetError(
                f"{self.name}: p_ver must be {len(dataset)} values in [0, 1], one per prompt; got shape {arr.shape}"
            )
        self._given_p_ver = arr
        try:
            return self.fit(dataset)
        finally:
            del self._given_p_ver

    def _pick_models(self, dataset: RoutingDataset) -> tuple[int, int]:
        models = list(dataset.models)
        means = np.nan_to_num(np.nanmean(np.where(np.isnan(dataset.scores), np.nan, dataset.scores), axis=0))
        for given in (self.params.small_model, self.params.large_model):
            if given is not None and given not in models:
                raise DatasetError(f"{self.name}: model {given!r} is not in the training data {models}")
        if self.params.large_model is not None:
            large = models.index(self.params.large_model)
        else:
            large = int(np.argmax(means))
        if self.params.small_model is not None:
            small = models.index(self.params.small_model)
        else:
            try:
                cost = dataset.cost_matrix().mean(axis=0)
            except DatasetError:
                cost = means  # no prices: the weakest model plays the small one
            order = sorted((j for j in range(len(models)) if j != large), key=lambda j: (cost[j], -means[j]))
            small = order[0] if order else large
        if small == large:
            raise DatasetError(f"{self.name}: needs two different models (small and large); got {models}")
        return small, large

    def _fit(self, dataset: RoutingDataset) -> None:
        p = self.params
        super()._fit(dataset)
        small, large = self._pick_models(dataset)
        rows = ~np.isnan(dataset.scores[:, small]) & ~np.isnan(dataset.scores[:, large])
        if rows.sum() < 2:
            raise DatasetError(f"{self.name}: fewer than 2 prompts have scores for both cascade models")
        s_small = dataset.scores[rows, small]
        s_large = dataset.scores[rows, large]
        given = getattr(self, "_given_p_ver", None)
        if given is not None:
            p_ver = given[rows]
        else:
            rng = np.random.default_rng(p.seed)
            hit = p.sim_tpr * s_small + p.sim_fpr * (1.0 - s_small)
            p_ver = rng.binomial(p.n_verifications, np.clip(hit, 0, 1)) / p.n_verifications
        edges = np.linspace(0.0, 1.0, p.num_bins + 1)
        bins = _bin(p_ver, edges)
        self.small_model_ = dataset.models[small]
        self.large_model_ = dataset.models[large]
        self.bin_edges_ = edges
        columns = [_per_bin(dataset.scores[rows, j], bins, p.num_bins, monotone=(j == small))
                   for j in range(len(dataset.models))]
        self.bin_quality_ = np.stack(columns, axis=1)
        candidates_tau = np.append(edges, 1.01)
        lifts = [ibc_lift(p_ver < t, s_small, s_large, p.cost_small, p.cost_large, p.cost_verify)
                 for t in candidates_tau]
        best = int(np.argmax(lifts))
        self.threshold_ = float(candidates_tau[best]) if np.isfinite(lifts[best]) else 0.0
        self.ibc_lift_ = float(lifts[best]) if np.isfinite(lifts[best]) else 0.0

    def _threshold(self) -> float:
        if self.params.threshold is not None:
            return float(self.params.threshold)
        if self.params.policy == "self_consistency":
            return 0.5
        return float(self.threshold_)

    # ------------------------------------------------------------------ deciding
    def _cascade(self, candidates: Sequence[Candidate], prior: dict[str, float]) -> tuple[Candidate, Candidate]:
        cols = model_columns(candidates, self.models_)
        by_model = {self.models_[c]: cand for cand, c in zip(candidates, cols) if c is not None}
        small = by_model.get(self.small_model_)
        large = by_model.get(self.large_model_)
        if small is None:
            pool = [c for c in candidates if c is not large]
            small = min(pool, key=lambda c: (c.blended_cost_per_mtok, prior[c.name], c.name)) if pool else candidates[0]
        if large is None or large is small:
            pool = [c for c in candidates if c is not small]
            large = max(pool, key=lambda c: (prior[c.name], c.blended_cost_per_mtok, c.name)) if pool else small
        return small, large

    def _procedure(self, query: Query, candidates: Sequence[Candidate]) -> Procedure:
        p = self.params
        prior = self._prior(query, candidates)
        small, large = self._cascade(candidates, prior)
        if small is large:
            return Estimate(quality=prior, details={"cascade": [small.name], "note": "one candidate: nothing to verify"})
        answer = yield LLMRequest.user(small.model, query.text, system=_ANSWER_SYSTEM, purpose="answer")
        verifier = p.verifier_model or small.model
        prompt = _VERIFY_TEMPLATE.format(question=query.text, answer=answer[: p.answer_chars])
        replies = yield [LLMRequest.user(verifier, prompt, purpose="verify") for _ in range(p.n_verifications)]
        verdicts = [parse_verdict(r) for r in replies]
        valid = [v for v in verdicts if v is not None]
        base: dict[str, Any] = {"cascade": [small.name, large.name], "verifier": verifier, "answer_chars": len(answer),
                "verdicts": verdicts}
        if not valid:
            return self._fallback(query, candidates, "no verification reply said Correct or Incorrect", **base)
        p_ver = float(np.mean(valid))
        b = int(_bin(np.array([p_ver]), self.bin_edges_)[0])
        quality = dict(prior)
        for cand, col in zip(candidates, model_columns(candidates, self.models_)):
            if col is not None:
                quality[cand.name] = float(self.bin_quality_[b, col])
        q_small, q_large = quality[small.name], quality[large.name]
        escalate = p_ver < self._threshold()
        if escalate and q_small >= q_large:
            quality[small.name] = max(0.0, q_large - 1e-6)
        elif not escalate and q_small < q_large:
            quality[small.name] = q_large
        return Estimate(quality=quality, confidence=abs(p_ver - 0.5) * 2,
                        details={**base, "p_ver": p_ver, "threshold": self._threshold(), "escalate": escalate})

    @classmethod
    def conformance_instances(cls) -> Sequence[BaseStrategy[Any]]:
        """Self-verification that says Correct, and one that says Incorrect (a FakeLLM test double)."""
        from routeiq_core.testing import FakeLLM, FakeRule

        say = [FakeRule(r"Verification Decision", "Verification Decision: Correct")]
        deny = [FakeRule(r"Verification Decision", "Verification Decision: Incorrect")]
        return [cls(llm=FakeLLM(say, default="42")), cls(llm=FakeLLM(deny, default="42"), n_verifications=3)]


def _bin(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.clip(np.searchsorted(edges, values, side="right") - 1, 0, len(edges) - 2)


def _per_bin(values: np.ndarray, bins: np.ndarray, n_bins: int, *, monotone: bool) -> np.ndarray:
    """Mean of ``values`` per bin; empty bins take the nearest filled bin; optionally non-decreasing."""
    sums = np.bincount(bins, weights=values, minlength=n_bins)
    counts = np.bincount(bins, minlength=n_bins)
    filled = np.flatnonzero(counts)
    means = np.empty(n_bins)
    for b in range(n_bins):
        nearest = filled[np.argmin(np.abs(filled - b))]
        means[b] = sums[nearest] / counts[nearest]
    if monotone:
        means = _isotonic(means, np.maximum(counts, 1e-9))
    return means


def _isotonic(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted non-decreasing fit (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [value, weight, length]
    for v, wt in zip(y, w):
        blocks.append([float(v), float(wt), 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return np.concatenate([np.full(int(n), v) for v, _, n in blocks])

