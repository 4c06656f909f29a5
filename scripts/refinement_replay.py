"""Progressive refinement of the zero-config router, replayed on every shared data set.

Usage (from the repository root; embeddings come from the disk cache when present)::

    nice python scripts/refinement_replay.py [--data ../shared/data] [--seed 0]

For each data set, the training part is the feedback stream, in file order: the centroid
router (profile ``auto``, 10% exploration among its top 3 under the default cost cap) decides
each prompt, is told the true score of what it served (``Router.feedback``), and refines.
After 100, 1,000 and all events it is frozen and measured on the test part: mean quality,
mean cost, and the *lift at its point* (quality minus the best mix of single models at the
same mean cost). Beside it: the static centroid (0 events), kNN trained on the same logged
stream (partial feedback, ``routeiq train --from-log``'s data), and kNN trained on the full
table (every model's score on every training prompt: more than a log ever has).

Writes ``docs/evaluation/refinement.md`` and ``docs/evaluation/refinement.png``.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "scripts"))
from run_public_evals import SETS  # noqa: E402

PAGE = REPO / "docs" / "evaluation" / "refinement.md"
PLOT = REPO / "docs" / "evaluation" / "refinement.png"
CHECKPOINTS = (0, 100, 1000)


class CachedEmbedder:
    """The shipped embedder, answering from a table of precomputed embeddings first."""

    def __init__(self, base: Any, table: dict[str, np.ndarray]) -> None:
        self.base, self.table = base, table

    @property
    def model_id(self) -> str:
        return str(self.base.model_id)

    @property
    def dim(self) -> int:
        return int(self.base.dim)

    def load(self) -> None:
        self.base.load()

    def embed(self, text: str) -> np.ndarray:
        found = self.table.get(text)
        return found if found is not None else self.base.embed(text)

    def embed_many(self, texts: Any) -> np.ndarray:
        return np.stack([self.embed(t) for t in texts])


def measure(router: Any, test: Any, column: dict[str, int], costs: np.ndarray) -> tuple[float, float]:
    decisions = [router.decide(p) for p in test.prompts]
    picks = np.array([column[d.name] for d in decisions])
    rows = np.arange(len(test))
    quality = np.nan_to_num(test.scores[rows, picks], nan=0.0)
    return float(quality.mean()), float(costs[rows, picks].mean())


def lift(point: tuple[float, float], singles: tuple[np.ndarray, np.ndarray]) -> float:
    from routeiq_core.evaluation.metrics import quality_at_cost

    q, c = point
    hull = quality_at_cost(singles[0], singles[1], c)
    return q - (hull if hull is not None else float(singles[1][np.argmin(singles[0])]))


def replay(spec: Any, data: Path, seed: int, log: Any) -> dict[str, Any]:
    from routeiq_core import Exploration, Router, default_embedder
    from routeiq_core._embedding_cache import embed_dataset
    from routeiq_core.datasets import load_dataset
    from routeiq_core.decisionlog import MemoryLog, iter_log
    from routeiq_core.decisionlog._training import dataset_from_log
    from routeiq_core.evaluation.harness import candidates_for
    from routeiq_strategies.knn import KNNStrategy

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train = load_dataset(data / spec.train)
        test = load_dataset(data / spec.test) if spec.test else None
        if test is None:
            train, test = train.split(0.7, seed=seed)
        base = default_embedder()
        train = embed_dataset(train, base, progress=False)
        test = embed_dataset(test, base, progress=False)
    assert train.embeddings is not None and test.embeddings is not None
    table = {p: e for p, e in zip(train.prompts, train.embeddings)} | {p: e for p, e in zip(test.prompts, test.embeddings)}
    embedder = CachedEmbedder(base, table)
    candidates = candidates_for(train)
    column = {c.name: train.models.index(c.model) for c in candidates}
    train_costs, test_costs = train.cost_matrix(), test.cost_matrix()
    singles = (np.nanmean(test_costs, axis=0), np.nanmean(np.nan_to_num(test.scores, nan=0.0), axis=0))

    log_backend = MemoryLog(capacity=1_000_000)
    router = Router(candidates, embedder=embedder, log=log_backend,
                    extensions=[Exploration(0.1, top_k=3, seed=seed)])
    frozen = Router(candidates, embedder=embedder)  # measured with the learner's evidence copied in
    points: dict[str, tuple[float, float]] = {}
    events = 0
    marks = sorted({*CHECKPOINTS, len(train)})
    for i, prompt in enumerate(train.prompts):
        if i in marks:
            frozen.strategy.load_refinement(router.strategy.refinement_state())
            points[f"refined after {i}" if i else "static centroid"] = measure(frozen, test, column, test_costs)
        d = router.decide(prompt)
        score = train.scores[i, column[d.name]]
        if math.isnan(score):
            continue
        router.feedback(d, score=float(score), cost_usd=float(train_costs[i, column[d.name]]))
        events += 1
        if events % 2000 == 0:  # a replay decides faster than any real traffic: let the writer keep up
            assert router.log is not None and router.log.flush()
    frozen.strategy.load_refinement(router.strategy.refinement_state())
    points[f"refined after all ({events})"] = measure(frozen, test, column, test_costs)
    assert router.log is not None and router.log.flush()

    partial = dataset_from_log(iter_log(log_backend))
    knn_log = KNNStrategy()
    knn_log.fit(partial)
    points["kNN on the same log (partial feedback)"] = measure(
        Router(candidates, embedder=embedder, strategy=knn_log), test, column, test_costs)
    knn_full = KNNStrategy()
    knn_full.fit(train)
    points["kNN on the full table"] = measure(Router(candidates, embedder=embedder, strategy=knn_full), test,
                                              column, test_costs)
    router.close()
    log(f"{spec.key}: {len(train)} stream / {len(test)} test prompts in {time.perf_counter() - t0:.0f}s")
    return {"spec": spec, "n_train": len(train), "n_test": len(test), "events": events,
            "points": {k: (q, c, lift((q, c), singles)) for k, (q, c) in points.items()},
            "best": (train.models[int(np.argmax(singles[1]))], float(singles[1].max()))}


def write(runs: list[dict[str, Any]], seed: int) -> None:
    lines = [
        "# Progressive refinement of the zero-config router",
        "",
        "Generated by `python scripts/refinement_replay.py` (seed "
        f"{seed}) from the shared data sets; every number comes from that run. The zero-config",
        "centroid router learns from feedback (see [decision log](../operations/decision-log.md#progressive-"
        "refinement)): each data set's training part is replayed **in file order** as a stream of decisions",
        "with 10% exploration, each told the true score of the candidate it served. Frozen after 100, 1,000 and",
        "all events, it is measured on the test part. **Lift at point** = quality minus the best mix of single",
        "models at the same mean cost (the single-model hull): above 0 beats every mix of fixed models at",
        "that spend. kNN on the same log learns from exactly the feedback the refined centroid saw; kNN on",
        "the full table knows every model's score on every training prompt (more than a log ever has).",
        "",
        "| data set | router | quality | cost | lift at point |",
        "|---|---|---|---|---|",
    ]
    for run in runs:
        for label, (q, c, lp) in run["points"].items():
            lines.append(f"| {run['spec'].title} | {label} | {q:.4f} | {c:.4g} | {lp:+.4f} |")
    lines += ["", "![lift at point against feedback events](refinement.png)", "", "In this run:", ""]
    for run in runs:
        pts = run["points"]
        static = pts["static centroid"][2]
        final = next(v[2] for k, v in pts.items() if k.startswith("refined after all"))
        best = max(v[2] for k, v in pts.items() if k.startswith("refined"))
        knn = pts["kNN on the same log (partial feedback)"][2]
        verdict = "better" if final > static + 0.005 else ("worse" if final < static - 0.005 else "unchanged")
        lines.append(f"- {run['spec'].title}: lift at point {static:+.3f} static, {final:+.3f} after all "
                     f"{run['events']} events ({verdict}; best checkpoint {best:+.3f}); kNN on the same log "
                     f"{knn:+.3f}.")
    lines += ["", "What it shows, and what it does not:", "",
              "- The static centroid's numbers here come from this script's protocol (the router's own choice "
              "rule over `candidates_for(data)`), not from the evaluation harness of `results.md`; compare the "
              "rows of one table with each other.",
              "- Refinement is measured at the `auto` profile's operating point only, on one seed; the test parts "
              "have 128 to 4,200 prompts, so differences of a point or two are within noise.",
              "- The stream is the training file's order, not real time; a data set sorted by task makes the early "
              "checkpoints see few categories.",
              "- Evidence is per (category, candidate), so refinement cannot separate easy from hard prompts within a "
              "category: that is what the embedding strategies (kNN) do.", ""]
    PAGE.write_text("\n".join(lines))


def plot(runs: list[dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for run in runs:
        refined = [(0, v[2]) if k == "static centroid" else (int(k.split()[2].strip("()")) if "all" not in k
                                                             else run["events"], v[2])
                   for k, v in run["points"].items() if k.startswith(("static", "refined"))]
        xs, ys = zip(*sorted(refined))
        ax.plot([max(x, 1) for x in xs], ys, marker="o", label=run["spec"].title)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("feedback events (log scale; the static centroid at 1)")
    ax.set_ylabel("lift at point (quality - single-model hull)")
    ax.set_title("Zero-config centroid refined by feedback, on the test parts")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO / ".." / "shared" / "data")
    parser.add_argument("--datasets", help="comma-separated keys (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    keys = set(args.datasets.split(",")) if args.datasets else None
    runs = [replay(spec, args.data.resolve(), args.seed, lambda m: print(m, file=sys.stderr, flush=True))
            for spec in SETS if keys is None or spec.key in keys]
    write(runs, args.seed)
    plot(runs)
    print(PAGE.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
