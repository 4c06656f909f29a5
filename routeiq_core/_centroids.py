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

**Prototypes.** One mean per category loses the shape of a category (code asked as
a traceback, a config file or a one-liner). The set also keeps every seed prompt's
embedding as a prototype, and a category's score is ``(1 - w) * cos(centroid) +
w * mean of its k most similar prototypes``. The build chooses ``w`` and ``k`` by
repeated k-fold cross-validation over the seed prompts themselves (no held-out prompt
is looked at) and records the table in the manifest; ``w = 0`` is the plain
nearest-centroid rule. One more matrix product per decision (a few hundred rows).
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
from ._embedding import Embedder, embed_with_instruction
from ._instruction import instruction_of
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
#: Prototype settings the build tries (weight of the prototype term, prototypes averaged).
PROTOTYPE_WEIGHTS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
PROTOTYPE_KS = (1, 2, 3, 4, 5, 6, 8, 10)
#: Cross-validation behind the choice: repeats x folds over the seed prompts, seeded.
CV_REPEATS, CV_FOLDS = 5, 5
MAX_PROTOTYPES = 20_000
#: Weights of the instruction's category scores the build tries for "instruction: pasted text"
#: prompts, by leave-one-out over the seed prompts of that shape; with fewer than
#: MIN_INSTRUCTION_SEEDS of them the rule stays off (weight 0).
INSTRUCTION_WEIGHTS = (0.0, 0.2, 0.3, 0.5, 0.7, 1.0)
MIN_INSTRUCTION_SEEDS = 10


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
        prototypes: np.ndarray | None = None,
        prototype_labels: np.ndarray | None = None,
        prototype_weight: float = 0.0,
        prototype_k: int = 1,
        instruction_weight: float = 0.0,
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
        self._info = {c.name: c for c in categories}
        if isinstance(instruction_weight, bool) or not isinstance(instruction_weight, (int, float)) or \
                not 0.0 <= float(instruction_weight) <= 1.0:
            raise CentroidError(f"instruction weight: expected a number in [0, 1], got {instruction_weight!r}; "
                                "rebuild with 'routeiq centroids build'")
        #: how much the instruction of an "instruction: pasted text" prompt counts (0: not read)
        self.instruction_weight = float(instruction_weight)
        self.prototypes, self.prototype_labels, self.prototype_weight, self.prototype_k = _check_prototypes(
            prototypes, prototype_labels, prototype_weight, prototype_k, len(categories), centroids.shape[1])
        rows = [self.matrix, self.easy[None, :], self.hard[None, :]]
        #: (categories, most prototypes of a category): indices into the prototype scores, and
        #: -inf where a category has fewer, so one take + sort gives every category's top k.
        self._groups: np.ndarray | None = None
        self._pad: np.ndarray | None = None
        self._starts: np.ndarray | None = None  # with k = 1: where each category's prototype rows begin
        if self.prototypes is not None and self.prototype_labels is not None and self.prototype_weight > 0:
            # The weights are folded into the rows: (1 - w) * centroid, and w / k * prototype, so a
            # category's score is its centroid product plus the sum of its top k prototype products.
            w = self.prototype_weight
            rows = [(1.0 - w) * self.matrix, *rows[1:], (w / self.prototype_k) * self.prototypes]
            members = [np.flatnonzero(self.prototype_labels == i) for i in range(len(categories))]
            width = max(len(m) for m in members)
            self._groups = np.zeros((len(categories), width), dtype=np.intp)
            self._pad = np.full((len(categories), width), -np.inf, dtype=np.float32)
            for i, m in enumerate(members):
                self._groups[i, :len(m)] = m
                self._pad[i, :len(m)] = 0.0
            if self.prototype_k == 1 and all(len(m) for m in members):
                # The nearest prototype alone (the shipped set): rows grouped by category, so one
                # maximum.reduceat replaces take + sort + sum (the same maxima, a third of the calls).
                order = np.concatenate(members)
                rows[-1] = rows[-1][order]
                self._starts = np.cumsum([0, *(len(m) for m in members[:-1])])
        self._stacked = np.vstack(rows).astype(np.float32)

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    def info(self, category: str) -> CategoryInfo:
        return self._info[category]

    # ------------------------------------------------------------------ classify
    def instruction(self, text: str) -> str | None:
        """The instruction of ``text`` to embed for :meth:`classify`, or None when there is none
        or this set does not read instructions (weight 0: sets built before the rule, or from
        seeds with too few prompts of that shape)."""
        return instruction_of(text) if self.instruction_weight > 0 else None

    def classify(self, embedding: np.ndarray, instruction: np.ndarray | None = None) -> Classification:
        """The category of a prompt's embedding. ``instruction``: the embedding of the prompt's
        instruction alone (the words before ``:`` in "Summarise this article: <text>"); its
        category scores count ``instruction_weight``, so the pasted text's topic does not decide
        the task. The difficulty always comes from the whole prompt."""
        sims, easy, hard = self._scores(embedding)
        w = self.instruction_weight
        if instruction is not None and w > 0:
            head = self._scores(instruction)[0]
            sims = [(1.0 - w) * a + w * b for a, b in zip(sims, head)]
        return self._classification(sims, easy, hard)

    def _scores(self, embedding: np.ndarray) -> tuple[list[float], float, float]:
        """Category scores and the easy/hard anchor similarities: one matrix product."""
        if embedding.shape != (self.dim,):
            raise CentroidError(
                f"embedding has shape {embedding.shape}, the centroids expect ({self.dim},); "
                "rebuild the centroids for this embedding model with 'routeiq centroids build'"
            )
        product = self._stacked @ embedding
        k = len(self.names)
        easy, hard = float(product[k]), float(product[k + 1])
        if self._starts is not None:
            return (product[:k] + np.maximum.reduceat(product[k + 2:], self._starts)).tolist(), easy, hard
        if self._groups is None:
            return product[:k].tolist(), easy, hard
        scores = product[k + 2:].take(self._groups) + self._pad
        scores.sort(axis=1)
        nearest = scores[:, scores.shape[1] - self.prototype_k:].sum(axis=1)
        return (product[:k] + nearest).tolist(), easy, hard

    def _classification(self, sims: list[float], easy: float, hard: float) -> Classification:
        # Plain Python on a handful of numbers (numpy's per-call overhead would dominate).
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
            settings = manifest.get("prototypes") or {}
            cset = cls(
                categories,
                arrays["centroids"],
                arrays["easy"],
                arrays["hard"],
                embedding_model=str(manifest["embedding_model"]),
                manifest=manifest,
                prototypes=arrays.get("prototypes"),
                prototype_labels=arrays.get("prototype_labels"),
                prototype_weight=settings.get("weight", 0.0),
                prototype_k=settings.get("k", 1),
                instruction_weight=(manifest.get("instruction") or {}).get("weight", 0.0),
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
        if self.prototypes is not None:
            manifest["prototypes"] = {**dict(manifest.get("prototypes") or {}),
                                      "weight": self.prototype_weight, "k": self.prototype_k}
        manifest["instruction"] = {**dict(manifest.get("instruction") or {}), "weight": self.instruction_weight}
        return write_artifact(path, manifest, self._arrays())

    def _arrays(self) -> dict[str, np.ndarray]:
        """The arrays a save writes (prototypes only when the set has them)."""
        arrays = {"centroids": self.matrix, "easy": self.easy, "hard": self.hard}
        if self.prototypes is not None and self.prototype_labels is not None:
            arrays.update(prototypes=self.prototypes, prototype_labels=self.prototype_labels)
        return arrays

    def arrays_sha256(self) -> str:
        return _arrays_sha256(self._arrays())

    def largest_difference(self, other: CentroidSet) -> float:
        """The largest absolute difference between this set's arrays and ``other``'s; infinite when
        the categories, shapes, prototype labels or rule settings differ. A rebuild with another
        numpy or onnxruntime build differs in the last float bits (so its sha256 does too)."""
        mine, theirs = self._arrays(), other._arrays()
        settings = (self.names, self.prototype_weight, self.prototype_k, self.instruction_weight)
        if settings != (other.names, other.prototype_weight, other.prototype_k, other.instruction_weight) \
                or mine.keys() != theirs.keys() or any(mine[k].shape != theirs[k].shape for k in mine):
            return math.inf
        if not np.array_equal(mine.get("prototype_labels", 0), theirs.get("prototype_labels", 0)):
            return math.inf
        return max(float(np.max(np.abs(mine[k].astype(np.float64) - theirs[k].astype(np.float64))))
                   for k in mine if mine[k].dtype.kind == "f")

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
            return _unit_mean(np.asarray(embedder.embed_many(texts), dtype=np.float64))

        vectors = [np.asarray(embedder.embed_many(p), dtype=np.float64) for p in prompt_lists]
        matrix = np.stack([_unit_mean(v) for v in vectors])
        prototypes = np.vstack(vectors)
        prototypes /= np.linalg.norm(prototypes, axis=1, keepdims=True)
        labels = np.concatenate([np.full(len(v), i, dtype=np.int32) for i, v in enumerate(vectors)])
        weight, top, table = choose_prototype_settings(prototypes, labels)
        texts = [t for p in prompt_lists for t in p]
        heads = [(i, h) for i, h in enumerate(instruction_of(t) for t in texts) if h is not None]
        head_vectors = (np.asarray([embed_with_instruction(embedder, texts[i], h)[1] for i, h in heads],
                                   dtype=np.float64).reshape(len(heads), -1)
                        if len(heads) >= MIN_INSTRUCTION_SEEDS else np.zeros((0, prototypes.shape[1])))
        head_weight, head_table = choose_instruction_weight(
            prototypes, labels, [i for i, _ in heads] if len(head_vectors) else [], head_vectors, weight, top)
        manifest = {
            "seeds_file": seed_path.name,
            "seeds_sha256": hashlib.sha256(raw).hexdigest(),
            "seed_counts": {c.name: len(p) for c, p in zip(categories, prompt_lists)},
            "prototypes": {"weight": weight, "k": top, "selection": (
                f"{CV_REPEATS}x{CV_FOLDS}-fold cross-validation over the seed prompts (seeded); accuracy per "
                "setting below, the centroid-only rule is weight 0"), "cv_accuracy": table},
            "instruction": {"weight": head_weight, "seeds": len(heads), "selection": (
                "leave-one-out over the seed prompts shaped 'instruction: pasted text' (each classified without "
                "its own prototype, its instruction embedded as routing embeds it); off below "
                f"{MIN_INSTRUCTION_SEEDS} of them"), "loo_correct": head_table},
        }
        return cls(categories, matrix, mean(easy_prompts), mean(hard_prompts),
                   embedding_model=embedder.model_id, manifest=manifest,
                   prototypes=prototypes.astype(np.float32), prototype_labels=labels,
                   prototype_weight=weight, prototype_k=top, instruction_weight=head_weight)


def _unit_mean(vectors: np.ndarray) -> np.ndarray:
    vec = vectors.mean(axis=0)
    return np.asarray(vec / np.linalg.norm(vec), dtype=np.float32)


def _scores(train: np.ndarray, labels: np.ndarray, queries: np.ndarray, n: int, weight: float, top: int) -> np.ndarray:
    """Category scores of ``queries`` against a training part (the rule :meth:`CentroidSet.classify` runs)."""
    cents = np.stack([train[labels == i].mean(axis=0) for i in range(n)])
    cents /= np.linalg.norm(cents, axis=1, keepdims=True)
    out: np.ndarray = (1.0 - weight) * (queries @ cents.T)
    if weight > 0:
        sims = queries @ train.T
        for i in range(n):
            block = sims[:, labels == i]
            out[:, i] += weight * -np.sort(-block, axis=1)[:, :top].mean(axis=1)
    return out


def choose_prototype_settings(prototypes: np.ndarray, labels: np.ndarray) -> tuple[float, int, dict[str, float]]:
    """The (weight, k) with the most correct held-out predictions over repeated k-fold splits of
    the seed prompts; ties go to the smaller weight, then the smaller k. Also the accuracy table."""
    n = int(labels.max()) + 1
    smallest = min(int((labels == i).sum()) for i in range(n))
    x = prototypes.astype(np.float64)
    correct: dict[tuple[float, int], int] = {}
    total = 0
    for repeat in range(CV_REPEATS):
        folds = np.random.default_rng(repeat).permutation(len(x)) % CV_FOLDS
        for f in range(CV_FOLDS):
            train, test = folds != f, folds == f
            fold_smallest = min(int((labels[train] == i).sum()) for i in range(n))
            total += int(test.sum())
            for weight in PROTOTYPE_WEIGHTS:
                for top in PROTOTYPE_KS if weight > 0 else (1,):
                    if top > min(smallest, fold_smallest):
                        continue
                    guess = _scores(x[train], labels[train], x[test], n, weight, top).argmax(axis=1)
                    correct[weight, top] = correct.get((weight, top), 0) + int((guess == labels[test]).sum())
    best = min(correct, key=lambda key: (-correct[key], key))
    table = {f"weight {w:g}, k {k}": round(c / total, 4) for (w, k), c in sorted(correct.items())}
    return best[0], best[1], table


def choose_instruction_weight(
    prototypes: np.ndarray, labels: np.ndarray, rows: Sequence[int], heads: np.ndarray, weight: float, top: int,
) -> tuple[float, dict[str, int]]:
    """The instruction weight with the most seeds right when each seed of the shape (``rows``,
    with its instruction's embedding in ``heads``) is classified without its own prototype;
    ties go to the smaller weight. Also the count per weight."""
    if not len(rows):
        return 0.0, {}
    n = int(labels.max()) + 1
    x = prototypes.astype(np.float64)
    correct = dict.fromkeys(INSTRUCTION_WEIGHTS, 0)
    for j, row in enumerate(rows):
        keep = np.arange(len(x)) != row
        if min(int((labels[keep] == i).sum()) for i in range(n)) < top:
            continue
        whole = _scores(x[keep], labels[keep], x[row][None, :], n, weight, top)[0]
        head = _scores(x[keep], labels[keep], heads[j][None, :], n, weight, top)[0]
        for w in INSTRUCTION_WEIGHTS:
            correct[w] += int(np.argmax((1.0 - w) * whole + w * head) == labels[row])
    best = min(correct, key=lambda w: (-correct[w], w))
    return best, {f"weight {w:g}": c for w, c in correct.items()}


def _check_prototypes(
    prototypes: np.ndarray | None, labels: np.ndarray | None, weight: object, top: object, n: int, dim: int,
) -> tuple[np.ndarray | None, np.ndarray | None, float, int]:
    """Validated prototype arrays and settings (none at all is valid: the centroid-only rule)."""
    fix = "rebuild with 'routeiq centroids build'"
    if prototypes is None and labels is None:
        return None, None, 0.0, 1
    if prototypes is None or labels is None:
        raise CentroidError(f"prototypes and prototype_labels come together; {fix}")
    protos = np.asarray(prototypes)
    labs = np.asarray(labels)
    if (protos.ndim != 2 or protos.shape[1] != dim or not 0 < len(protos) <= MAX_PROTOTYPES
            or protos.dtype.kind != "f" or labs.shape != (len(protos),) or labs.dtype.kind not in "iu"):
        raise CentroidError(f"prototypes: expected up to {MAX_PROTOTYPES} rows of {dim} floats with one integer "
                            f"label each, got {protos.dtype} {protos.shape} and labels {labs.dtype} {labs.shape}; {fix}")
    if not np.all(np.isfinite(protos)) or labs.min() < 0 or labs.max() >= n:
        raise CentroidError(f"prototypes: non-finite values or labels outside 0..{n - 1}; {fix}")
    counts = np.bincount(labs, minlength=n)
    if (isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0.0 <= float(weight) <= 1.0
            or isinstance(top, bool) or not isinstance(top, int) or not 1 <= top <= int(counts.min())):
        raise CentroidError(f"prototype settings: expected a weight in [0, 1] and k in 1..{int(counts.min())} "
                            f"(the fewest prototypes of a category), got weight={weight!r}, k={top!r}; {fix}")
    return protos.astype(np.float32), labs.astype(np.int32), float(weight), top


def _arrays_sha256(arrays: Mapping[str, np.ndarray]) -> str:
    """The manifest's ``arrays_sha256``: centroids, anchors and, when present, the prototypes."""
    extra = (arrays["prototypes"], np.asarray(arrays["prototype_labels"]).astype(np.float32)) if (
        "prototypes" in arrays and "prototype_labels" in arrays) else ()
    return _digest(arrays["centroids"], arrays["easy"], arrays["hard"], *extra)


def _digest(*arrays: np.ndarray) -> str:
    digest = hashlib.sha256()
    for arr in arrays:
        digest.update(np.ascontiguousarray(arr, dtype=np.float32).tobytes())
    return digest.hexdigest()


#: How far from 1 a stored centroid or anchor norm may be (they are saved unit-normalised).
NORM_TOLERANCE = 1e-3


def _check_stored(root: Path, manifest: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> None:
    """The stored arrays are the ones the manifest recorded, finite and unit-normalised."""
    for name in ("centroids", "easy", "hard", *(("prototypes",) if "prototypes" in arrays else ())):
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
    if recorded is not None and recorded != _arrays_sha256(arrays):
        raise CentroidError(f"{root}: the arrays do not match the arrays_sha256 recorded in the manifest "
                            "(changed after the build); rebuild with 'routeiq centroids build'")
