"""Run the evaluation on every shared public data set and regenerate docs/evaluation/results.md.

Usage (from the repository root; takes a while on 2 cores, embeddings are cached)::

    nice python scripts/run_public_evals.py [--data ../shared/data] [--out eval-out/public]
        [--datasets routerbench-arc,...] [--strategies knn,mlp,...] [--seed 0]

Every number in the generated page comes from the runs it just made; the per-data-set
reports (Markdown, JSON, PNG, HTML) are written under ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS_PAGE = REPO / "docs" / "evaluation" / "results.md"

#: Bootstrap resamples of each test set behind the 95% intervals (``--bootstrap``).
BOOTSTRAP = 200
# Trained strategies whose APGR the issue asks for on RouteLLM MMLU / GSM8K.
APGR_STRATEGIES = ("knn", "mlp", "mf")
#: Claims published by RouteLLM (lm-sys/RouteLLM; project page and paper), quoted, not recomputed.
ROUTELLM_CLAIMS = {
    "routellm-mmlu": "45% cost reduction vs GPT-4 only at 95% of GPT-4's quality (≈ 55% strong calls)",
    "routellm-gsm8k": "35% cost reduction vs GPT-4 only at 95% of GPT-4's quality (≈ 65% strong calls)",
    "routellm-mt-bench": "85% cost reduction at 95% of GPT-4's quality; MF router (GPT-4-judge augmented) APGR 0.802",
}


@dataclass(frozen=True)
class PublicSet:
    key: str
    title: str
    train: str
    test: str | None  # None: seeded 70/30 split of train
    note: str = ""


SETS = (
    PublicSet("routerbench-arc", "RouterBench ARC-Challenge", "routerbench/arc_challenge_train.csv",
              "routerbench/arc_challenge_test.csv", "provided train/test split; 11 models; per-prompt USD cost"),
    PublicSet("routerbench-mbpp", "RouterBench MBPP", "routerbench/mbpp_train.csv", "routerbench/mbpp_test.csv",
              "provided train/test split; 11 models; per-prompt USD cost"),
    PublicSet("routerbench-winogrande", "RouterBench Winogrande", "routerbench/winograde_train.csv",
              "routerbench/winograde_test.csv", "provided train/test split; 11 models; per-prompt USD cost"),
    PublicSet("llmrouter", "LLMRouter (9 NVIDIA NIM models)", "llmrouter/train.json", "llmrouter/test.json",
              "provided train/test; cost = $/1M price x token estimate (no token counts in the data)"),
    PublicSet("routellm-mmlu", "RouteLLM MMLU (GPT-4 vs Mixtral)", "routellm/mmlu", None,
              "seeded 70/30 split after dropping contaminated prompts; cost = share of GPT-4 calls"),
    PublicSet("routellm-gsm8k", "RouteLLM GSM8K (GPT-4 vs Mixtral)", "routellm/gsm8k/gsm8k_responses.csv", None,
              "seeded 70/30 split after dropping contaminated prompts; cost = share of GPT-4 calls"),
)


def default_strategies() -> list[str]:
    """Every strategy shipped with RouteIQ that needs no LLM at routing time (plugins left out)."""
    from routeiq_core._registry import default_registry

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        registry = default_registry()
        return [info.name for info in registry.infos()
                if info.distribution == "routeiq" and not getattr(info.cls.tags, "calls_llm", False)]


def price_only_centroid() -> type:
    """The zero-config strategy with public ratings off: what a data set whose models no rating
    covers gets (tiers from price or size only)."""
    from routeiq_core._centroid_strategy import CentroidStrategy

    class CentroidPriceOnly(CentroidStrategy):
        name = "centroid_price_only"

        def __init__(self) -> None:
            super().__init__(use_ratings=False)

    return CentroidPriceOnly


def load_split(spec: PublicSet, data: Path, seed: int) -> tuple[Any, Any, list[str]]:
    """(train, test, malformed rows skipped) of one shared set: its own split, or a seeded 70/30."""
    from routeiq_core.datasets import load_dataset_report

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = load_dataset_report(data / spec.train)
        if spec.test is None:
            train, test = first.dataset.split(0.7, seed=seed)
            return train, test, list(first.problems)
        second = load_dataset_report(data / spec.test)
        return first.dataset, second.dataset, list(first.problems) + list(second.problems)


def run_one(spec: PublicSet, data: Path, out: Path, strategies: list[Any], seed: int, progress: bool,
            log: Callable[[str], None], bootstrap: int = BOOTSTRAP) -> dict[str, Any]:
    from routeiq_core.evaluation import evaluate, write_report

    t0 = time.perf_counter()
    train, test, skipped = load_split(spec, data, seed)
    overlap = len(set(train.prompts) & set(test.prompts))
    result = evaluate(train, test, strategies, seed=seed, progress=progress, log=lambda m: log(f"  {m}"),
                      bootstrap=bootstrap)
    if overlap:
        result.notes.append(f"{overlap} test prompt texts also occur in the training part (the data repeats them)")
    if skipped:
        result.notes.append(f"{len(skipped)} malformed row(s) skipped while loading, e.g. {skipped[0]}")
    paths = write_report(result, out / spec.key)
    seconds = time.perf_counter() - t0
    log(f"{spec.key}: done in {seconds:.0f}s -> {paths['markdown']}")
    return {"spec": spec, "result": result, "seconds": seconds, "overlap": overlap}


# ---------------------------------------------------------------------------- the page
def _f(x: float | None, d: int = 4) -> str:
    return "—" if x is None or x != x else f"{x:.{d}f}"


def _c(x: float | None) -> str:
    if x is None or x != x:
        return "—"
    return f"{x:.4g}" if x == 0 or 1e-3 <= abs(x) < 1e4 else f"{x:.3e}"


def _pct(x: float | None) -> str:
    return "not reached" if x is None else f"{x:.0f}%"


def dataset_section(run: dict[str, Any]) -> list[str]:
    spec: PublicSet = run["spec"]
    r = run["result"]
    best, two = r.best, r.strong_model is not None
    cheap = min((b for b in r.baselines if b.kind == "model"), key=lambda b: (b.cost, -b.quality))
    lines = [
        f"### {spec.title}",
        "",
        f"{r.n_train} train / {r.n_test} test prompts; {spec.note}. Best single model **{best.name}** "
        f"(quality {best.quality:.4f}, cost {_c(best.cost)}); cheapest {cheap.name} ({cheap.quality:.4f}, "
        f"{_c(cheap.cost)}); oracle {r.baseline('oracle').quality:.4f}; random {r.baseline('random').quality:.4f}. "
        f"Cost unit: {r.cost_unit}. Full report: `{spec.key}/report.md` under the output folder.",
        "",
    ]
    if run.get("overlap"):
        lines += [f"Note: {run['overlap']} of the {r.n_test} test prompt texts also occur in the training part (the "
                  "data repeats them); strategies that memorise neighbours (kNN) profit from it.", ""]
    head = ["strategy", "quality", "cost", "hull lift", "cost to match best", "quality at best's cost", "vs chord",
            "ECE"]
    if two:
        head += ["APGR", "CPT(50%)", "CPT(80%)"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in r.strategies:
        if s.error:
            lines.append(f"| {s.name} | failed: {s.error[:120].replace('|', '/')} |" + " |" * (len(head) - 2))
            continue
        lift = f"{s.hull_lift:+.4f}"
        if s.hull_lift_ci is not None:
            lift += f" [{s.hull_lift_ci[0]:+.3f}, {s.hull_lift_ci[1]:+.3f}]"
        match = _pct(s.cost_to_match_best_pct)
        if s.reaches_best_share is not None:
            match += (f" [{s.cost_to_match_best_pct_ci[0]:.0f}, {s.cost_to_match_best_pct_ci[1]:.0f}]"
                      if s.cost_to_match_best_pct_ci is not None else f" ({100 * s.reaches_best_share:.1f}% reach)")
        row = [s.name + ("" if s.trained else " *"), _f(s.quality), _c(s.cost), lift, match,
               _f(s.quality_at_best_cost), f"{s.chord_gap:+.4f}", _f(s.ece, 3)]
        if two and s.routellm is not None:
            row += [f"{s.routellm.apgr:.3f}", f"{s.routellm.cpt50:.1f}%", f"{s.routellm.cpt80:.1f}%"]
        lines.append("| " + " | ".join(row) + " |")
    if two:
        rnd = r.routellm_baselines.get("random")
        if rnd is not None:
            lines += ["", f"Random routing on this test split: APGR {rnd.apgr:.3f}, CPT(50%) {rnd.cpt50:.1f}%, "
                      f"CPT(80%) {rnd.cpt80:.1f}%."]
    lines.append("")
    return lines


def _trained(r: Any) -> list[Any]:
    return [s for s in r.strategies if not s.error and s.trained]


MATCH_TARGET_PCT = 60.0


def _mark(ok: bool) -> str:
    return "✓" if ok else "✗"


def targets_section(runs: list[dict[str, Any]]) -> list[str]:
    lines = ["## Targets", "",
             "| data set | best trained strategy (by hull lift) | hull lift > 0 | cost to match best single < 60% | "
             "centroid on/above chord | APGR > 0.5 (knn / mlp / mf) |",
             "|---|---|---|---|---|---|"]
    misses: list[str] = []
    for run in runs:
        r = run["result"]
        key = run["spec"].key
        trained = _trained(r)
        best = max(trained, key=lambda s: s.hull_lift, default=None)
        lift = f"{_mark(bool(best and best.hull_lift > 0))} {best.hull_lift:+.4f}" if best else "—"
        reach = [s for s in trained if s.cost_to_match_best_pct is not None]
        cheapest = min(reach, key=lambda s: s.cost_to_match_best_pct, default=None)
        ok_match = bool(cheapest and cheapest.cost_to_match_best_pct < MATCH_TARGET_PCT)
        match = (f"{_mark(ok_match)} {cheapest.name}: {cheapest.cost_to_match_best_pct:.0f}%" if cheapest
                 else "✗ not reached")
        if not ok_match:
            misses.append(_why_no_match(key, r, cheapest))
        centroid = next((s for s in r.strategies if s.name == "centroid" and not s.error), None)
        chord = "—"
        if centroid:
            ok_chord = centroid.chord_gap >= -1e-9
            chord = f"{_mark(ok_chord)} {centroid.chord_gap:+.4f}"
            if not ok_chord:
                misses.append(_why_below_chord(key, r, centroid))
        apgr = "—"
        if r.strong_model is not None:
            parts = []
            for name in APGR_STRATEGIES:
                s = next((x for x in r.strategies if x.name == name and not x.error and x.routellm), None)
                parts.append(f"{_mark(s.routellm.apgr > 0.5)} {s.routellm.apgr:.3f}" if s else "n/a")
                if s and s.routellm.apgr <= 0.5:
                    misses.append(f"- **{key}, APGR of {name}**: {s.routellm.apgr:.3f}, not above random routing "
                                  f"({r.routellm_baselines['random'].apgr:.3f} on this split): its predicted gain of "
                                  f"the strong model does not rank the prompts where only the strong model is right.")
            apgr = " / ".join(parts)
        lines.append(f"| {key} | {best.name if best else '—'} | {lift} | {match} | {chord} | {apgr} |")
    lines += ["", "*Cost to match best single*: the lowest cost at which a trained strategy's curve reaches the best "
              "single model's test quality, as % of that model's cost (the cheapest strategy shown)."]
    if misses:
        lines += ["", "### Where a target is missed, and why", "", *misses]
    return [*lines, ""]


def _why_no_match(key: str, r: Any, cheapest: Any) -> str:
    from routeiq_core.evaluation import cost_to_reach, quality_at_cost

    best = r.best
    budget = MATCH_TARGET_PCT / 100 * best.cost
    singles = [b for b in r.baselines if b.kind == "model"]
    under = [b for b in singles if b.cost <= budget]
    oracle = r.baseline("oracle")
    at_budget = [(quality_at_cost(s.curve_cost, s.curve_quality, budget), s.name) for s in _trained(r)]
    at_budget = [(q, n) for q, n in at_budget if q is not None]
    q_best, n_best = max(at_budget) if at_budget else (None, "—")
    parts = [f"- **{key}, cost to match**: the best single model {best.name} scores {best.quality:.4f}."]
    if under:
        top = max(under, key=lambda b: b.quality)
        parts.append(f"The best model costing at most {MATCH_TARGET_PCT:.0f}% of it is {top.name} "
                     f"({top.quality:.4f}, {best.quality - top.quality:.4f} lower).")
    else:
        parts.append(f"No other model costs {MATCH_TARGET_PCT:.0f}% of it or less.")
    oracle_pct = cost_to_reach(r.oracle_curve[0], r.oracle_curve[1], best.quality)
    oracle_pct = None if oracle_pct is None else 100 * oracle_pct / best.cost
    if oracle_pct is not None and oracle_pct < MATCH_TARGET_PCT:
        parts.append(f"A perfect router (the oracle, {oracle.quality:.4f} at best) would match it at "
                     f"{oracle_pct:.0f}% of its cost, so the data leaves room, but the strategies cannot tell from "
                     "the prompt which prompts the cheaper models get right:")
    else:
        parts.append("The data does not allow it: even a perfect router (the oracle) needs "
                     f"{oracle_pct:.0f}% of its cost to match it, because the best model is itself one of the cheap "
                     "ones;" if oracle_pct is not None else "The data does not allow it even for the oracle;")
    if q_best is not None:
        parts.append(f"at {MATCH_TARGET_PCT:.0f}% of the cost the best curve ({n_best}) reaches {q_best:.4f},")
    parts.append(f"and the cheapest strategy to match it ({cheapest.name}) needs {cheapest.cost_to_match_best_pct:.0f}%."
                 if cheapest else "and no strategy reaches it at any cost.")
    return " ".join(parts)


def _why_below_chord(key: str, r: Any, centroid: Any) -> str:
    import numpy as np

    from routeiq_core._ratings import builtin_ratings

    table = builtin_ratings()
    top = max(centroid.distribution, key=centroid.distribution.get)
    names = [c["name"] for c in r.candidates]
    rated = {n: table.get(n) for n in names}
    scored = [(rated[n].score, r.baseline(n).quality) for n in names if rated[n] is not None]  # type: ignore[union-attr]
    head = (f"- **{key}, zero-config centroid**: {centroid.chord_gap:+.4f} below the chord. It sent "
            f"{100 * centroid.distribution[top]:.0f}% of prompts to {top} (quality {r.baseline(top).quality:.4f}"
            + (f", arena {rated[top].score:.0f})." if rated[top] is not None else ", no public rating).")  # type: ignore[union-attr]
            )
    if len(scored) < 2:
        return head + (" No other model of the set has a public rating, so tiers come from price or size, which "
                       "cannot tell a weak model of a tier from a strong one.")
    arena, quality = (np.argsort(np.argsort(np.array(col))) for col in zip(*scored))
    rho = float(np.corrcoef(arena, quality)[0, 1])
    return head + (f" Public ratings cover {len(scored)} of {len(names)} models (the others are rated by their "
                   f"tier), and on this data they rank the rated models differently from the benchmark (Spearman "
                   f"{rho:+.2f} between arena score and test quality); without training, a general rating cannot "
                   "tell which prompts a cheaper model gets right.")


def _lift_at_point(r: Any, s: Any) -> float:
    """Quality minus the best mix of single models at the same mean cost (the single models' hull)."""
    from routeiq_core.evaluation import hull_lift

    singles = [b for b in r.baselines if b.kind == "model"]
    return hull_lift([s.cost], [s.quality], [b.cost for b in singles], [b.quality for b in singles])[0]


def zero_config_section(runs: list[dict[str, Any]]) -> list[str]:
    from routeiq_core._ratings import builtin_ratings

    ratings = builtin_ratings()
    lines = ["## Zero-config router", "",
             f"The `centroid` strategy needs no training. With public ratings (RouteIQ's built-in {ratings.source} "
             "snapshot, see [public ratings](../strategies/reference.md#public-ratings)) a candidate's strength is its "
             "rating plus a quarter tier per price tier; `centroid_price_only` is the same strategy with ratings off (tiers from price "
             "or size), what a data set whose models no rating covers gets. *Lift at point*: quality minus the best "
             "mix of single models at the router's own mean cost (target at least -0.01). *vs chord*: quality minus the "
             "line from the cheapest to the priciest model at that cost; *vs random*: quality minus random "
             "routing's.",
             "",
             "| data set | rated models | centroid: lift at point | vs chord | vs random | where it sent prompts | "
             "price only: lift at point | vs chord | vs random |",
             "|---|---|---|---|---|---|---|---|---|"]
    for run in runs:
        r = run["result"]
        names = [c["name"] for c in r.candidates]
        rated = sum(ratings.get(n) is not None for n in names)
        cells = [run["spec"].key, f"{rated} of {len(names)}"]
        for variant in ("centroid", "centroid_price_only"):
            s = next((x for x in r.strategies if x.name == variant and not x.error), None)
            if s is None:
                cells += ["—", "—", "—"] + (["—"] if variant == "centroid" else [])
                continue
            lift = _lift_at_point(r, s)
            rnd = s.quality - r.baseline("random").quality
            cells += [f"{_mark(lift >= -0.01)} {lift:+.4f}", f"{_mark(s.chord_gap >= -1e-9)} {s.chord_gap:+.4f}",
                      f"{_mark(rnd > 0)} {rnd:+.4f}"]
            if variant == "centroid":
                top = sorted(s.distribution.items(), key=lambda kv: -kv[1])[:2]
                cells.append(", ".join(f"{n.rsplit('/', 1)[-1]} {100 * v:.0f}%" for n, v in top if v > 0))
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, ""]


#: The stack's default bases (its lift is compared with theirs and with every single strategy's).
STACK_BASES = ("knn", "mlp", "svm", "mf")


def _lift_text(s: Any) -> str:
    text = f"{s.hull_lift:+.4f}"
    return text + (f" [{s.hull_lift_ci[0]:+.3f}, {s.hull_lift_ci[1]:+.3f}]" if s.hull_lift_ci is not None else "")


def _match_text(s: Any) -> str:
    text = _pct(s.cost_to_match_best_pct)
    if s.reaches_best_share is None:
        return text
    if s.cost_to_match_best_pct_ci is not None:
        return text + f" [{s.cost_to_match_best_pct_ci[0]:.0f}, {s.cost_to_match_best_pct_ci[1]:.0f}]"
    return text + f" ({100 * s.reaches_best_share:.0f}% reach)"


def stack_section(runs: list[dict[str, Any]]) -> list[str]:
    """The stacked strategy against the best single strategy and the best of its bases, per data set."""
    rows, beats, cheap = [], 0, 0
    for run in runs:
        r = run["result"]
        by_name = {s.name: s for s in _trained(r)}
        stack = by_name.get("stack")
        if stack is None:
            continue
        singles = [s for s in _trained(r) if s.name != "stack"]
        best = max(singles, key=lambda s: s.hull_lift)
        base = max((by_name[b] for b in STACK_BASES if b in by_name), key=lambda s: s.hull_lift)
        ok_lift = stack.hull_lift >= best.hull_lift
        ok_match = stack.cost_to_match_best_pct is not None and stack.cost_to_match_best_pct <= 60
        beats += ok_lift
        cheap += ok_match
        rows.append(f"| {run['spec'].key} | {best.name}: {_lift_text(best)}, {_match_text(best)} | "
                    f"{_lift_text(stack)}, {_match_text(stack)}, ECE {stack.ece:.3f} | "
                    f"{base.name}: {_lift_text(base)}, {_match_text(base)}, ECE {base.ece:.3f} | "
                    f"{_mark(ok_lift)} | {_mark(ok_match)} |")
    if not rows:
        return []
    return ["## The stacked strategy", "",
            f"`stack` combines {', '.join(STACK_BASES)} per model with a logistic meta-model fitted on their "
            "out-of-fold predictions (see the [strategy reference](../strategies/reference.md#stack)). Each cell: "
            "hull lift [95% CI], cost to match the best single model [95% CI] (% of its cost). "
            f"The stack's hull lift is at least the best single strategy's on **{beats} of {len(rows)}** sets, "
            f"and it matches the best single model at ≤ 60% of its cost on **{cheap} of {len(rows)}** (targets: "
            f"all {len(rows)}, and 4).", "",
            "| data set | best single strategy | stack | best of its bases | stack ≥ best single | stack cost to match ≤ 60% |",
            "|---|---|---|---|---|---|", *rows, ""]


def routellm_section(runs: list[dict[str, Any]]) -> list[str]:
    rows = [run for run in runs if run["result"].strong_model is not None]
    if not rows:
        return []
    lines = ["## Beside RouteLLM's published numbers", "",
             "RouteLLM's routers were trained on Chatbot Arena preferences (out of domain) and evaluated on the "
             "whole benchmark; RouteIQ's strategies here are trained on 70% of the benchmark itself (in domain) "
             "and evaluated on the other 30%, with the same metric code path (10 quantile thresholds, CPT by "
             "`np.interp`, APGR by trapezoids). The numbers are therefore comparable in definition, not in "
             "setting.", "",
             "| data set | RouteLLM (published) | best RouteIQ APGR | CPT(95%) of that strategy |", "|---|---|---|---|"]
    for run in rows:
        r = run["result"]
        scored = [s for s in r.strategies if not s.error and s.routellm is not None and s.trained]
        best = max(scored, key=lambda s: s.routellm.apgr, default=None)
        lines.append(f"| {run['spec'].key} | {ROUTELLM_CLAIMS.get(r.dataset, '—')} | "
                     f"{f'{best.name} {best.routellm.apgr:.3f}' if best else '—'} | "
                     f"{f'{best.routellm.cpt95:.1f}% strong calls' if best else '—'} |")
    return [*lines, ""]


def write_page(runs: list[dict[str, Any]], strategies: list[str], seed: int, total: float,
               cache_note: str | None, path: Path) -> None:
    resamples = runs[0]["result"].bootstrap if runs else 0
    lines = [
        "# Results on public data",
        "",
        "Generated by `scripts/run_public_evals.py` from real runs on the shared public data sets "
        f"(seed {seed}, profile `auto`, {platform.machine()} CPU, {os.cpu_count()} cores, "
        f"{_dt.date.today().isoformat()}, {total / 60:.0f} min in all). Do not edit by hand; rerun the script.",
        "",
        f"Strategies: {', '.join(strategies)} (every strategy shipped with RouteIQ that needs no LLM at "
        "routing time). "
        "`*` = not trained (zero-config or fixed baseline). Quality and cost are test means at the `auto` "
        "profile's cost weight; the other columns use the whole curve obtained by sweeping the cost weight. "
        "See [Evaluating on your data](index.md) for the definitions. *ECE*: expected calibration error of "
        "the predicted qualities over every test prompt and model (per-model strategies calibrate their "
        "predictions by default, see [calibrated quality](../strategies/reference.md#calibrated-quality)); "
        "each set's `reliability.png` under the output folder plots it."
        + (f" Brackets: 95% bootstrap intervals over {resamples} resamples of each test set (hull lift; cost to "
           "match in % of the best model's cost, or the share of resamples that reach it). The hull lift is a "
           "maximum over the curve, so its interval leans upward; two strategies whose intervals overlap widely "
           "cannot be told apart on that set." if resamples else ""),
        "",
        "Also measured on these sets: [calibration to a target](calibration.md) (achieved vs asked on each test "
        "part) and [the three embedders](embedders.md) (hull lift with the static table and the cascade against "
        "the full model, with intervals).",
        "",
        *targets_section(runs),
        *zero_config_section(runs),
        *stack_section(runs),
        *routellm_section(runs),
        "## Per data set",
        "",
    ]
    for run in runs:
        lines += dataset_section(run)
    if cache_note:
        lines += ["## Embedding cache", "", cache_note, ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(os.environ.get("ROUTEIQ_SHARED_DATA", REPO / ".." / "shared" / "data")))
    parser.add_argument("--out", type=Path, default=REPO / "eval-out" / "public")
    parser.add_argument("--datasets", help="comma-separated keys (default: all): " + ", ".join(s.key for s in SETS))
    parser.add_argument("--strategies", help="comma-separated names (default: every registered non-LLM strategy)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--page", type=Path, default=RESULTS_PAGE, help="where to write the results page")
    parser.add_argument("--cache-note", type=Path, help="a Markdown file (from benchmarks/eval_cache.py) to include")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--bootstrap", type=int, default=BOOTSTRAP,
                        help=f"resamples for the 95%% intervals (default {BOOTSTRAP}; 0: none)")
    args = parser.parse_args(argv)
    data = args.data.resolve()
    if not data.is_dir():
        print(f"shared data not found at {data}; pass --data", file=sys.stderr)
        return 2
    keys = args.datasets.split(",") if args.datasets else [s.key for s in SETS]
    unknown = set(keys) - {s.key for s in SETS}
    if unknown:
        print(f"unknown data sets {sorted(unknown)}", file=sys.stderr)
        return 2
    strategies: list[Any] = args.strategies.split(",") if args.strategies else default_strategies()
    if "centroid" in strategies:
        strategies.append(price_only_centroid())
    def log(m: str) -> None:
        print(m, file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    runs = []
    for spec in SETS:
        if spec.key in keys:
            log(f"{spec.key}: evaluating {len(strategies)} strategies")
            runs.append(run_one(spec, data, args.out, strategies, args.seed, not args.no_progress, log,
                                args.bootstrap))
    total = time.perf_counter() - t0
    note = args.cache_note.read_text(encoding="utf-8").strip() if args.cache_note and args.cache_note.is_file() else None
    names = [x if isinstance(x, str) else x.name for x in strategies]
    write_page(runs, names, args.seed, total, note, args.page)
    summary = {run["spec"].key: run["result"].to_dict() for run in runs}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    log(f"wrote {args.page} and {args.out / 'summary.json'} ({total / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
