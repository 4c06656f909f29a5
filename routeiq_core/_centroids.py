"""Task-category centroids: the zero-config classifier.

Each category's centroid is the L2-normalised mean embedding of seed prompts
written for this project (``data/seed_prompts.json``). Two more vectors, the
"easy" and "hard" anchors, give an embedding-based difficulty estimate.
``routeiq centroids build`` rebuilds them; the build is deterministic (one text
per forward pass, no padding), and the manifest records the sha256 of the seed
file, of the embedding model and of the arrays so a rebuild can be checked.

Classification decides on margins, not raw similarity: cosine similarities of
MiniLM are low in absolute terms, so the confidence is a softmax over the
similarities with a small temperature, and the top-two margin is reported.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._artifacts import read_artifact, write_artifact
from ._embedding import Embedder
from ._safe_io import as_path
from ._types import Classification
from .errors import ArtifactError, CentroidError

__all__ = ["DEFAULT_CENTROIDS", "DEFAULT_SEEDS", "CategoryInfo", "CentroidSet", "Classification"]

DATA = Path(__file__).parent / "data"
DEFAULT_CENTROIDS = DATA / "centroids"
DEFAULT_SEEDS = DATA / "seed_prompts.json"
KIND = "routeiq-centroids"
#: Softmax temperature over cosine similarities (MiniLM similarities differ by a few hundredths).
TEMPERATURE = 0.03
#: Slope of the difficulty sigmoid over (cos(hard) - cos(easy)).
DIFFICULTY_SLOPE = 12.0


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    name: str
    description: str
    floor_tier: int
    output_tokens: int


class CentroidSet:
    """Category centroids plus easy/hard difficulty anchors for one embedding model."""

    def __init__(
        self,
        categories: Sequence[CategoryInfo],
        centroids: np.ndarray,
        easy: np.ndarray,
        hard: np.ndarray,
        *,
        embedding_model: str,
        manifest: Mapping[str, Any] | None = None,
    ) -> None:
        centroids = np.asarray(centroids, dtype=np.float32)
        if centroids.ndim != 2 or centroids.shape[0] != len(categories) or len(categories) < 2:
            raise CentroidError(
                f"expected one centroid per category (>= 2 categories), got array {centroids.shape} "
                f"for {len(categories)} categories; rebuild with 'routeiq centroids build'"
            )
        for name, arr in (("easy", easy), ("hard", hard)):
            if np.shape(arr) != (centroids.shape[1],):
                raise CentroidError(
                    f"the {name} anchor has shape {np.shape(arr)}, expected ({centroids.shape[1]},); "
                    "rebuild with 'routeiq centroids build'"
                )
        for c in categories:
            if not (isinstance(c.name, str) and isinstance(c.floor_tier, int) and 1 <= c.floor_tier <= 5
                    and isinstance(c.output_tokens, int) and c.output_tokens > 0):
                raise CentroidError(
                    f"category {c.name!r}: expected a name, floor_tier 1..5 and output_tokens > 0 (integers), "
                    f"got floor_tier={c.floor_tier!r}, output_tokens={c.output_tokens!r}; "
                    "rebuild with 'routeiq centroids build'"
                )
        for name, arr in (("centroids", centroids), ("easy", easy), ("hard", hard)):
            if not np.all(np.isfinite(arr)):
                raise CentroidError(f"{name} contain non-finite values; rebuild with 'routeiq centroids build'")
        norms = np.linalg.norm(centroids, axis=1)
        if np.any(norms < 1e-6):
            raise CentroidError("a centroid is all zeros; rebuild with 'routeiq centroids build'")
        self.categories = tuple(categories)
        self.names = tuple(c.name for c in categories)
        self.matrix = centroids / norms[:, None]
        self.easy = np.asarray(easy, dtype=np.float32)
        self.hard = np.asarray(hard, dtype=np.float32)
        self.embedding_model = embedding_model
        self.manifest = dict(manifest or {})
        self._stacked = np.vstack([self.matrix, self.easy[None, :], self.hard[None, :]]).astype(np.float32)
        self._info = {c.name: c for c in categories}

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def info(self, category: str) -> CategoryInfo:
        return self._info[category]

    # ------------------------------------------------------------------ classify
    def classify(self, embedding: np.ndarray) -> Classification:
        if embedding.shape != (self.dim,):
            raise CentroidError(
                f"embedding has shape {embedding.shape}, the centroids expect ({self.dim},); "
                "rebuild the centroids for this embedding model with 'routeiq centroids build'"
            )
        # One product against the centroids and both anchors; the rest is plain Python on
        # ten numbers (numpy's per-call overhead would dominate on arrays this small).
        values = (self._stacked @ embedding).tolist()
        sims, easy, hard = values[:-2], values[-2], values[-1]
        best = max(sims)
        top = sims.index(best)
        others = sims.copy()
        others[top] = -math.inf
        second = others.index(max(others))
        weights = [math.exp((s - best) / TEMPERATURE) for s in sims]
        difficulty = 1.0 / (1.0 + math.exp(-DIFFICULTY_SLOPE * (hard - easy)))
        return Classification(
            category=self.names[top],
            confidence=weights[top] / sum(weights),
            runner_up=self.names[second],
            margin=best - sims[second],
            similarities=dict(zip(self.names, sims)),
            difficulty=difficulty,
            floor_tier=self.categories[top].floor_tier,
            runner_up_floor_tier=self.categories[second].floor_tier,
        )

    # ------------------------------------------------------------------ persistence
    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None) -> CentroidSet:
        """Read a centroid directory (default: the shipped one)."""
        root = as_path(path, "centroids", CentroidError) if path is not None else DEFAULT_CENTROIDS
        try:
            manifest, arrays = read_artifact(root, kind=KIND)
        except ArtifactError as exc:
            raise CentroidError(f"cannot load centroids: {exc}; rebuild with 'routeiq centroids build'") from None
        try:
            categories = [CategoryInfo(**c) for c in manifest["categories"]]
            cset = cls(
                categories,
                arrays["centroids"],
                arrays["easy"],
                arrays["hard"],
                embedding_model=str(manifest["embedding_model"]),
                manifest=manifest,
            )
            _check_stored(root, manifest, arrays)
            return cset
        except (KeyError, TypeError) as exc:
            raise CentroidError(
                f"{root}: malformed centroid manifest or arrays ({exc!r}); rebuild with 'routeiq centroids build'"
            ) from None

    def save(self, path: str | os.PathLike[str]) -> Path:
        manifest = dict(self.manifest)
        manifest.update(
            format=KIND,
            embedding_model=self.embedding_model,
            dim=self.dim,
            categories=[
                {"name": c.name, "description": c.description, "floor_tier": c.floor_tier,
                 "output_tokens": c.output_tokens}
                for c in self.categories
            ],
            arrays_sha256=self.arrays_sha256(),
        )
        return write_artifact(path, manifest, {"centroids": self.matrix, "easy": self.easy, "hard": self.hard})

    def arrays_sha256(self) -> str:
        return _digest(self.matrix, self.easy, self.hard)

    # ------------------------------------------------------------------ building
    @classmethod
    def build(cls, embedder: Embedder, seeds: str | os.PathLike[str] | None = None) -> CentroidSet:
        """Embed the seed prompts and average them per category (deterministic)."""
        seed_path = Path(seeds) if seeds is not None else DEFAULT_SEEDS
        try:
            raw = seed_path.read_bytes()
            data = json.loads(raw)
        except (OSError, json.JSONDecodeError) as exc:
            raise CentroidError(f"cannot read seed prompts {seed_path}: {exc}") from None
        try:
            spec = data["categories"]
            easy_prompts = list(data["difficulty"]["easy"])
            hard_prompts = list(data["difficulty"]["hard"])
            categories = [
                CategoryInfo(
                    name=name,
                    description=str(body.get("description", "")),
                    floor_tier=int(body.get("floor_tier", 1)),
                    output_tokens=int(body.get("output_tokens", 300)),
                )
                for name, body in spec.items()
            ]
            prompt_lists = [list(body["prompts"]) for body in spec.values()]
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise CentroidError(
                f"{seed_path}: expected {{'categories': {{name: {{'prompts': [...]}}}}, "
                f"'difficulty': {{'easy': [...], 'hard': [...]}}}}; problem: {exc!r}"
            ) from None
        if any(len(p) < 3 for p in prompt_lists) or len(easy_prompts) < 3 or len(hard_prompts) < 3:
            raise CentroidError(f"{seed_path}: every category and anchor set needs at least 3 prompts")

        def mean(texts: list[str]) -> np.ndarray:
            vec = embedder.embed_many(texts).astype(np.float64).mean(axis=0)
            return np.asarray(vec / np.linalg.norm(vec), dtype=np.float32)

        matrix = np.stack([mean(p) for p in prompt_lists])
        manifest = {
            "seeds_file": seed_path.name,
            "seeds_sha256": hashlib.sha256(raw).hexdigest(),
            "seed_counts": {c.name: len(p) for c, p in zip(categories, prompt_lists)},
        }
        return cls(categories, matrix, mean(easy_prompts), mean(hard_prompts),
                   embedding_model=embedder.model_id, manifest=manifest)


def _digest(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for arr in arrays:
        digest.update(np.ascontiguousarray(arr, dtype=np.float32).tobytes())
    return digest.hexdigest()


#: How far from 1 a stored centroid or anchor norm may be (they are saved unit-normalised).
NORM_TOLERANCE = 1e-3


def _check_stored(root: Path, manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """The stored arrays are the ones the manifest recorded, finite and unit-normalised."""
    for name in ("centroids", "easy", "hard"):
        arr = arrays[name]
        if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)):
            raise CentroidError(f"{root}: array {name!r} has non-finite values or is not floating point; "
                                "rebuild with 'routeiq centroids build'")
        norms = np.linalg.norm(np.atleast_2d(arr).astype(np.float64), axis=1)
        if np.any(norms < 1e-6):
            raise CentroidError(f"{root}: a row of {name!r} is all zeros; rebuild with 'routeiq centroids build'")
        if np.any(np.abs(norms - 1.0) > NORM_TOLERANCE):
            raise CentroidError(f"{root}: array {name!r} is not unit-normalised (norms {norms.min():.4f}.."
                                f"{norms.max():.4f}); rebuild with 'routeiq centroids build'")
    recorded = manifest.get("arrays_sha256")
    if recorded is not None and recorded != _digest(arrays["centroids"], arrays["easy"], arrays["hard"]):
        raise CentroidError(f"{root}: the arrays do not match the arrays_sha256 recorded in the manifest "
                            "(changed after the build); rebuild with 'routeiq centroids build'")
