"""A small, in-memory routing problem with a known answer, for conformance checks and tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._candidates import Candidate
from .._dataset import ModelPrice, RoutingDataset
from .._request import parse_request
from .._strategy import Query

__all__ = ["make_toy_dataset", "toy_candidates", "toy_queries"]

#: (input, output) USD per 1M tokens of the i-th toy model: each model costs more than the previous.
_PRICES = ((0.1, 0.4), (0.5, 1.5), (2.5, 10.0), (10.0, 30.0), (0.0, 0.0))


def make_toy_dataset(
    n_prompts: int = 60,
    dim: int = 384,
    models: Sequence[str] = ("a", "b", "c"),
    *,
    seed: int = 0,
    noise: float = 0.5,
    unknown_fraction: float = 0.05,
    costs: bool = True,
    name: str = "toy",
) -> RoutingDataset:
    """A separable routing data set: prompt ``i`` is on topic ``i % len(models)``.

    Each topic has a random unit centre; embeddings are the centre plus Gaussian
    noise (norm about ``noise``), L2-normalised, so they look like real sentence
    embeddings (cosine ~0.9 within a topic, ~0 across topics). Model ``j`` answers
    its own topic correctly with probability 0.9 and the others with 0.3; scores
    are 0/1 like most public routing data (so ties are common), with about
    ``unknown_fraction`` of entries unknown (NaN, never a whole row). Costs grow
    with the model index; ``tasks`` are ``topic<j>`` and ``users`` ``user<i % 4>``.
    """
    if n_prompts < 2 or dim < 2 or not models:
        raise ValueError("make_toy_dataset: need n_prompts >= 2, dim >= 2 and at least one model")
    rng = np.random.default_rng(seed)
    m = len(models)
    centres = rng.normal(size=(m, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    topic = np.arange(n_prompts) % m
    emb = centres[topic] + noise * rng.normal(size=(n_prompts, dim)) / np.sqrt(dim)
    emb = (emb / np.linalg.norm(emb, axis=1, keepdims=True)).astype(np.float32)
    p_correct = np.where(topic[:, None] == np.arange(m)[None, :], 0.9, 0.3)
    scores = (rng.random((n_prompts, m)) < p_correct).astype(np.float64)
    unknown = rng.random((n_prompts, m)) < unknown_fraction
    unknown[unknown.all(axis=1), 0] = False  # every prompt keeps at least one known score
    scores[unknown] = np.nan
    prices = {mod: ModelPrice(*_PRICES[j % len(_PRICES)]) for j, mod in enumerate(models)}
    cost_matrix = None
    if costs:
        tokens_in = rng.integers(20, 400, size=n_prompts)
        tokens_out = rng.integers(50, 600, size=n_prompts)
        cost_matrix = np.stack(
            [(tokens_in * prices[mod].input_cost_per_mtok + tokens_out * prices[mod].output_cost_per_mtok) / 1e6
             for mod in models],
            axis=1,
        )
    return RoutingDataset(
        ids=tuple(f"{name}-{i}" for i in range(n_prompts)),
        prompts=tuple(f"toy prompt {i} about topic {t}" for i, t in enumerate(topic)),
        models=tuple(models),
        scores=scores,
        costs=cost_matrix,
        tasks=tuple(f"topic{t}" for t in topic),
        users=tuple(f"user{i % 4}" for i in range(n_prompts)),
        embeddings=emb,
        embedding_model=f"toy-random-{dim}d",
        prices=prices,
        name=name,
    )


def toy_candidates(models: Sequence[str] | RoutingDataset = ("a", "b", "c")) -> list[Candidate]:
    """One candidate per toy model, priced like :func:`make_toy_dataset` (size grows with price)."""
    names = models.models if isinstance(models, RoutingDataset) else tuple(models)
    out = []
    for j, name in enumerate(names):
        inp, outp = _PRICES[j % len(_PRICES)]
        out.append(Candidate(name=name, model=name, input_cost_per_mtok=inp, output_cost_per_mtok=outp,
                             size_b=float(8 * (j + 1)), context_window=128_000))
    return out


def toy_queries(dataset: RoutingDataset, index: Sequence[int] | None = None) -> list[Query]:
    """Queries for rows of ``dataset`` (default: all), with embedding, request and user."""
    rows = range(len(dataset)) if index is None else index
    out = []
    for i in rows:
        user = dataset.users[i] if dataset.users is not None else None
        text = dataset.prompts[i]
        emb = None if dataset.embeddings is None else dataset.embeddings[i].copy()
        out.append(Query(text=text, embedding=emb, request=parse_request(text, metadata={"user": user})))
    return out
