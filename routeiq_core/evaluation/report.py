"""Write an evaluation as Markdown, JSON, a cost-quality PNG and (with matplotlib) an HTML page."""

from __future__ import annotations

import base64
import html
import io
import json
import os
from pathlib import Path

from .._safe_io import atomic_write
from ..errors import ConfigError, MissingDependencyError
from .harness import EvaluationResult

__all__ = ["markdown_report", "summary_rows", "write_report"]


def _num(value: float | None, digits: int = 4) -> str:
    if value is None or value != value:  # None or NaN
        return "—"
    return f"{value:.{digits}f}"


def _cost(value: float | None) -> str:
    if value is None or value != value:
        return "—"
    if value == 0 or 1e-3 <= abs(value) < 1e4:
        return f"{value:.4g}"
    return f"{value:.3e}"


def _pct(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.1f}%"


def summary_rows(result: EvaluationResult) -> list[dict[str, object]]:
    """One row per strategy with the headline numbers (used by the report and by scripts)."""
    rows: list[dict[str, object]] = []
    for s in result.strategies:
        row: dict[str, object] = {"strategy": s.name, "quality": s.quality, "cost": s.cost,
                                  "hull_lift": s.hull_lift, "cost_to_match_best_pct": s.cost_to_match_best_pct,
                                  "quality_at_best_cost": s.quality_at_best_cost, "chord_gap": s.chord_gap,
                                  "error": s.error}
        if s.routellm is not None:
            row.update(apgr=s.routellm.apgr, cpt50=s.routellm.cpt50, cpt80=s.routellm.cpt80, auc=s.routellm.auc)
        rows.append(row)
    return rows


def _strategy_table(result: EvaluationResult) -> list[str]:
    two = result.strong_model is not None
    head = ["strategy", "quality", f"cost ({result.cost_unit})", "hull lift", "cost to match best",
            "quality at best's cost", "vs chord"]
    if two:
        head += ["APGR", "CPT(50%)", "CPT(80%)", "AUC"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for s in result.strategies:
        if s.error:
            lines.append(f"| {s.name} | failed: {s.error.replace('|', '/')} |" + " |" * (len(head) - 2))
            continue
        cells = [s.name + ("" if s.trained else " (no training)"), _num(s.quality), _cost(s.cost),
                 f"{s.hull_lift:+.4f}", _pct(s.cost_to_match_best_pct), _num(s.quality_at_best_cost),
                 f"{s.chord_gap:+.4f}"]
        if two and s.routellm is not None:
            r = s.routellm
            cells += [_num(r.apgr, 3), f"{r.cpt50:.1f}%", f"{r.cpt80:.1f}%", _num(r.auc, 4)]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def markdown_report(result: EvaluationResult, plot_name: str | None = None) -> str:
    best = result.best
    out = [
        f"# Routing evaluation: {result.dataset}",
        "",
        f"Train {result.n_train} prompts, test {result.n_test} prompts, {len(result.models)} models; "
        f"profile `{result.profile}` (cost weight {result.cost_weight}); seed {result.seed}. "
        f"Cost unit: {result.cost_unit}.",
        "",
        f"Best single model: **{best.name}** (quality {best.quality:.4f} at cost {_cost(best.cost)}).",
        "",
        "## Strategies",
        "",
        "Quality and cost are means over the test prompts at the profile's cost weight. *Hull lift*: the "
        "largest quality gain over the single models' upper hull at equal cost, along the whole curve. "
        "*Cost to match best*: the lowest cost at which the strategy's curve reaches the best single "
        "model's quality, as % of that model's cost. *vs chord*: quality minus the straight line from "
        "the cheapest to the most expensive model, at the strategy's cost.",
        "",
        *_strategy_table(result),
        "",
    ]
    if result.strong_model is not None:
        out += [
            f"Two-model metrics as RouteLLM defines them (strong = `{result.strong_model}`, weak = "
            f"`{result.weak_model}`): the strategy's score is the cost weight at which it switches to "
            "the strong model; thresholds are its 10 quantile bins; CPT = % strong calls to recover "
            "x% of the quality gap; APGR = area under the curve between weak (0) and strong (1).",
            "",
        ]
        for name, r in result.routellm_baselines.items():
            out.append(f"- {name} routing (seeded): APGR {r.apgr:.3f}, CPT(50%) {r.cpt50:.1f}%, "
                       f"CPT(80%) {r.cpt80:.1f}%")
        out.append("")
    out += ["## Baselines", "", f"| policy | quality | cost ({result.cost_unit}) |", "|---|---|---|"]
    for b in result.baselines:
        label = b.name + (" (best)" if b.name == result.best_model else "")
        out.append(f"| {label} | {b.quality:.4f} | {_cost(b.cost)} |")
    if result.candidates:
        out += ["", "## Candidates (as the router sees them)", "",
                "Prices in USD per 1M tokens (input / output) from the data set's price table, or derived from "
                "the mean per-prompt cost; tiers inferred from price.", "",
                "| model | input | output | tier |", "|---|---|---|---|"]
        out += [f"| {c['name']} | {c['input_cost_per_mtok']:.4g} | {c['output_cost_per_mtok']:.4g} | {c['tier']} |"
                for c in result.candidates]
    out += ["", "## Routing distribution (share of test prompts per model)", ""]
    ok = [s for s in result.strategies if not s.error]
    if ok:
        out.append("| model | " + " | ".join(s.name for s in ok) + " |")
        out.append("|---|" + "---|" * len(ok))
        for model in result.models:
            out.append(f"| {model} | " + " | ".join(f"{100 * s.distribution.get(model, 0):.1f}%" for s in ok) + " |")
        out.append("")
    if result.tasks and ok:
        out += ["## Per task (quality at the profile's cost weight)", "",
                "| task | n | best model | best model quality | oracle | " + " | ".join(s.name for s in ok) + " |",
                "|---|---|---|---|---|" + "---|" * len(ok)]
        for task, info in result.tasks.items():
            cells = [f"{s.per_task.get(task, {}).get('quality', float('nan')):.3f}" for s in ok]
            out.append(f"| {task} | {info['n']} | {info['best_model']} | {info['best_model_quality']:.3f} | "
                       f"{info['oracle_quality']:.3f} | " + " | ".join(cells) + " |")
        out.append("")
    if plot_name:
        out += ["## Cost-quality curves", "", f"![cost-quality curves]({plot_name})", ""]
    if result.notes:
        out += ["## Notes", "", *[f"- {n}" for n in result.notes], ""]
    if result.timings or ok:
        parts = [f"{k.replace('_seconds', '')} {v:.1f}s" for k, v in result.timings.items()]
        parts += [f"{s.name} fit {s.fit_seconds:.1f}s / decide {s.predict_seconds:.1f}s" for s in ok]
        out += ["## Timings", "", "; ".join(parts), ""]
    return "\n".join(out)


def plot(result: EvaluationResult, path: Path) -> Path:
    """The cost-quality plot (PNG). Needs matplotlib (the ``plot`` extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("the cost-quality plot needs matplotlib: pip install 'routeiq[plot]'") from None
    fig, ax = plt.subplots(figsize=(10.5, 6), dpi=110)
    singles = [b for b in result.baselines if b.kind == "model"]
    ax.scatter([b.cost for b in singles], [b.quality for b in singles], color="black", zorder=3, s=18,
               label="single models")
    for b in singles:
        ax.annotate(b.name.split("/")[-1], (b.cost, b.quality), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    ax.plot(result.hull[0], result.hull[1], "k--", lw=1, label="single-model hull")
    ax.plot(result.oracle_curve[0], result.oracle_curve[1], color="grey", lw=1, alpha=0.6, label="oracle")
    rnd = result.baseline("random")
    ax.scatter([rnd.cost], [rnd.quality], marker="x", color="grey", label="random")
    shown = [s for s in result.strategies if not s.error]
    colors = plt.get_cmap("tab20" if len(shown) > 10 else "tab10")
    for k, s in enumerate(shown):
        order = sorted(range(len(s.curve_cost)), key=lambda i: s.curve_weight[i], reverse=True)
        color = colors(k % colors.N)
        ax.plot([s.curve_cost[i] for i in order], [s.curve_quality[i] for i in order], lw=1.3, color=color,
                linestyle="-" if s.trained else ":", label=s.name)
        ax.scatter([s.cost], [s.quality], color=color, edgecolor="black", zorder=4, s=36)
    costs = [b.cost for b in singles if b.cost > 0]
    if costs and max(costs) / min(costs) > 20:
        ax.set_xscale("log")
    ax.set_xlabel(f"mean cost ({result.cost_unit})")
    ax.set_ylabel("mean quality")
    ax.set_title(f"{result.dataset}: cost vs quality (dots: profile '{result.profile}'; dotted: untrained)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return atomic_write(path, buffer.getvalue(), "plot", ConfigError)


def _html_page(result: EvaluationResult, markdown: str, png: Path | None) -> str:
    image = ""
    if png is not None:
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        image = f'<img alt="cost-quality curves" src="data:image/png;base64,{data}" style="max-width:100%">'
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>RouteIQ evaluation: {html.escape(result.dataset)}</title>"
        "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}pre{white-space:pre-wrap}</style>"
        f"</head><body><h1>RouteIQ evaluation: {html.escape(result.dataset)}</h1>{image}"
        f"<pre>{html.escape(markdown)}</pre></body></html>\n"
    )


def write_report(result: EvaluationResult, out_dir: str | os.PathLike[str], *, plots: bool = True) -> dict[str, Path]:
    """Write ``report.md``, ``results.json``, ``cost_quality.png`` and ``report.html`` into ``out_dir``.

    The PNG and HTML need matplotlib; without it they are skipped (the Markdown says so).
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    png: Path | None = None
    if plots:
        try:
            png = plot(result, out / "cost_quality.png")
            paths["png"] = png
        except MissingDependencyError as exc:
            result.notes.append(f"no plot: {exc}")
    markdown = markdown_report(result, png.name if png else None)
    paths["markdown"] = out / "report.md"
    atomic_write(paths["markdown"], (markdown + "\n").encode("utf-8"), "report", ConfigError)
    paths["json"] = out / "results.json"
    atomic_write(paths["json"], (json.dumps(result.to_dict(), indent=1) + "\n").encode("utf-8"), "results", ConfigError)
    if png is not None:
        paths["html"] = out / "report.html"
        atomic_write(paths["html"], _html_page(result, markdown, png).encode("utf-8"), "report", ConfigError)
    return paths
