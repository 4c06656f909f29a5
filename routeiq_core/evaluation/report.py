"""Write an evaluation as Markdown, JSON, a cost-quality PNG and (with matplotlib) an HTML page."""

from __future__ import annotations

import base64
import io
import json
import os
from pathlib import Path
from typing import Any

from .._safe_io import atomic_write
from ..errors import ConfigError, MissingDependencyError
from .harness import EvaluationResult

__all__ = ["html_report", "markdown_report", "report_blocks", "summary_rows", "write_report"]


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


#: A report is a list of blocks, written out as Markdown (report.md) or HTML (report.html):
#: ("h1" | "h2" | "p", text), ("table", header, rows), ("ul", items), ("img", alt, file name).
#: Text may hold **bold**, *emphasis* and `code`.
Block = tuple[Any, ...]


def interval_text(interval: tuple[float, float] | None, fmt: str) -> str:
    """`` [low, high]`` (a 95% bootstrap interval), or nothing without a bootstrap."""
    return "" if interval is None else f" [{fmt.format(interval[0])}, {fmt.format(interval[1])}]"


def match_interval_text(s: Any) -> str:
    """The cost-to-match interval, or the share of resamples that reach the best model."""
    if s.reaches_best_share is None:
        return ""
    if s.cost_to_match_best_pct_ci is None:
        return f" (reached in {100 * s.reaches_best_share:.1f}% of resamples)"
    low, high = s.cost_to_match_best_pct_ci
    return f" [{low:.0f}%, {high:.0f}%]"


def _strategy_table(result: EvaluationResult) -> Block:
    two = result.strong_model is not None
    head = ["strategy", "quality", f"cost ({result.cost_unit})", "hull lift", "cost to match best",
            "quality at best's cost", "vs chord", "ECE"]
    if two:
        head += ["APGR", "CPT(50%)", "CPT(80%)", "AUC"]
    rows: list[list[str]] = []
    for s in result.strategies:
        if s.error:
            rows.append([s.name, f"failed: {s.error}", *[""] * (len(head) - 2)])
            continue
        cells = [s.name + ("" if s.trained else " (no training)"), _num(s.quality) + interval_text(s.quality_ci, "{:.4f}"),
                 _cost(s.cost), f"{s.hull_lift:+.4f}" + interval_text(s.hull_lift_ci, "{:+.4f}"),
                 _pct(s.cost_to_match_best_pct) + match_interval_text(s), _num(s.quality_at_best_cost),
                 f"{s.chord_gap:+.4f}", _num(s.ece, 3)]
        if two and s.routellm is not None:
            r = s.routellm
            cells += [_num(r.apgr, 3), f"{r.cpt50:.1f}%", f"{r.cpt80:.1f}%", _num(r.auc, 4)]
        rows.append(cells)
    return ("table", head, rows)


def report_blocks(result: EvaluationResult, plot_name: str | None = None) -> list[Block]:
    """The evaluation report, section by section (see :data:`Block`)."""
    best = result.best
    out: list[Block] = [
        ("h1", f"Routing evaluation: {result.dataset}"),
        ("p", f"Train {result.n_train} prompts, test {result.n_test} prompts, {len(result.models)} models; "
              f"profile `{result.profile}` (cost weight {result.cost_weight}); seed {result.seed}. "
              f"Cost unit: {result.cost_unit}."),
        ("p", f"Best single model: **{best.name}** (quality {best.quality:.4f} at cost {_cost(best.cost)})."),
        ("h2", "Strategies"),
        ("p", "Quality and cost are means over the test prompts at the profile's cost weight. *Hull lift*: the "
              "largest quality gain over the single models' upper hull at equal cost, along the whole curve. "
              "*Cost to match best*: the lowest cost at which the strategy's curve reaches the best single "
              "model's quality, as % of that model's cost. *vs chord*: quality minus the straight line from "
              "the cheapest to the most expensive model, at the strategy's cost. *ECE*: expected calibration "
              "error of the predicted qualities over every test prompt and model (0: a predicted 0.7 is "
              "reached 70% of the time; see the reliability plot)."
              + (f" Brackets: 95% bootstrap intervals over {result.bootstrap} resamples of the test prompts "
                 "(`--bootstrap`); two strategies whose intervals overlap widely cannot be told apart here."
                 if result.bootstrap else "")),
        _strategy_table(result),
    ]
    if result.strong_model is not None:
        out.append(("p", f"Two-model metrics as RouteLLM defines them (strong = `{result.strong_model}`, weak = "
                         f"`{result.weak_model}`): the strategy's score is the cost weight at which it switches to "
                         "the strong model; thresholds are its 10 quantile bins; CPT = % strong calls to recover "
                         "x% of the quality gap; APGR = area under the curve between weak (0) and strong (1)."))
        out.append(("ul", [f"{name} routing (seeded): APGR {r.apgr:.3f}, CPT(50%) {r.cpt50:.1f}%, "
                           f"CPT(80%) {r.cpt80:.1f}%" for name, r in result.routellm_baselines.items()]))
    out += [("h2", "Baselines"),
            ("table", ["policy", "quality", f"cost ({result.cost_unit})"],
             [[b.name + (" (best)" if b.name == result.best_model else ""), f"{b.quality:.4f}", _cost(b.cost)]
              for b in result.baselines])]
    if result.candidates:
        out += [("h2", "Candidates (as the router sees them)"),
                ("p", "Prices in USD per 1M tokens (input / output) from the data set's price table, or derived "
                      "from the mean per-prompt cost; tiers inferred from price."),
                ("table", ["model", "input", "output", "tier"],
                 [[c["name"], f"{c['input_cost_per_mtok']:.4g}", f"{c['output_cost_per_mtok']:.4g}", str(c["tier"])]
                  for c in result.candidates])]
    out.append(("h2", "Routing distribution (share of test prompts per model)"))
    ok = [s for s in result.strategies if not s.error]
    if ok:
        out.append(("table", ["model", *(s.name for s in ok)],
                    [[model, *(f"{100 * s.distribution.get(model, 0):.1f}%" for s in ok)] for model in result.models]))
    if result.tasks and ok:
        out += [("h2", "Per task (quality at the profile's cost weight)"),
                ("table", ["task", "n", "best model", "best model quality", "oracle", *(s.name for s in ok)],
                 [[task, str(info["n"]), info["best_model"], f"{info['best_model_quality']:.3f}",
                   f"{info['oracle_quality']:.3f}",
                   *(f"{s.per_task.get(task, {}).get('quality', float('nan')):.3f}" for s in ok)]
                  for task, info in result.tasks.items()])]
    if plot_name:
        out += [("h2", "Cost-quality curves"), ("img", "cost-quality curves", plot_name)]
        out += [("h2", "Reliability"),
                ("p", "Mean observed quality against mean predicted quality, in ten bins of the prediction, over "
                      "every test prompt and model; the diagonal is perfect calibration, a dot's size its share."),
                ("img", "reliability plot", RELIABILITY_PNG)]
    if result.notes:
        out += [("h2", "Notes"), ("ul", list(result.notes))]
    if result.timings or ok:
        parts = [f"{k.replace('_seconds', '')} {v:.1f}s" for k, v in result.timings.items()]
        parts += [f"{s.name} fit {s.fit_seconds:.1f}s / decide {s.predict_seconds:.1f}s" for s in ok]
        out += [("h2", "Timings"), ("p", "; ".join(parts))]
    return out


def _markdown_cell(text: str) -> str:
    return str(text).replace("|", "/")


def markdown_report(result: EvaluationResult, plot_name: str | None = None) -> str:
    """The report as Markdown (``report.md``)."""
    lines: list[str] = []
    for block in report_blocks(result, plot_name):
        kind = block[0]
        if kind == "h1":
            lines += [f"# {block[1]}", ""]
        elif kind == "h2":
            lines += [f"## {block[1]}", ""]
        elif kind == "p":
            lines += [block[1], ""]
        elif kind == "ul":
            lines += [*(f"- {item}" for item in block[1]), ""]
        elif kind == "img":
            lines += [f"![{block[1]}]({block[2]})", ""]
        elif kind == "table":
            head, rows = block[1], block[2]
            lines += ["| " + " | ".join(map(_markdown_cell, head)) + " |", "|" + "---|" * len(head)]
            lines += ["| " + " | ".join(map(_markdown_cell, row)) + " |" for row in rows]
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


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
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))  # outside: it covers nothing
    fig.tight_layout()
    _label_points(fig, ax, [(b.name.split("/")[-1], b.cost, b.quality) for b in singles])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return atomic_write(path, buffer.getvalue(), "plot", ConfigError)


RELIABILITY_PNG = "reliability.png"


def reliability_plot(result: EvaluationResult, path: Path) -> Path:
    """Each strategy's reliability curve (observed vs predicted quality per bin), with its ECE (PNG)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 6), dpi=110)
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfectly calibrated")
    shown = [s for s in result.strategies if not s.error and s.reliability]
    colors = plt.get_cmap("tab20" if len(shown) > 10 else "tab10")
    total = max(1, sum(b["n"] for b in shown[0].reliability)) if shown else 1
    for k, s in enumerate(shown):
        xs, ys = [b["predicted"] for b in s.reliability], [b["observed"] for b in s.reliability]
        sizes = [8 + 400 * b["n"] / total for b in s.reliability]
        color = colors(k % colors.N)
        ax.plot(xs, ys, lw=1.2, color=color, label=f"{s.name} (ECE {s.ece:.3f})")
        ax.scatter(xs, ys, s=sizes, color=color, alpha=0.6, zorder=3)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("mean predicted quality")
    ax.set_ylabel("mean observed quality")
    ax.set_title(f"{result.dataset}: reliability of predicted quality")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return atomic_write(path, buffer.getvalue(), "plot", ConfigError)


#: Where a point's label may go, in points from the point, tried in this order.
_LABEL_OFFSETS = ((4, 4), (4, -10), (-4, 4), (-4, -10), (6, -3), (-6, -3), (0, 9), (0, -14), (10, 12), (10, -18),
                  (-10, 12), (-10, -18))


def _label_points(fig: Any, ax: Any, points: list[tuple[str, float, float]]) -> None:
    """Label each point where the label overlaps no other label, no point and stays inside the axes
    (greedy, in the order given; the first free place wins, else the least crowded one). Labels
    get a translucent white box, so the curves drawn through them do not hide them."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    dots = [ax.transData.transform((x, y)) for _, x, y in points]
    placed: list[Any] = []
    for name, x, y in points:
        best, best_score = None, None
        for dx, dy in _LABEL_OFFSETS:
            text = ax.annotate(name, (x, y), fontsize=7, xytext=(dx, dy), textcoords="offset points",
                               ha="left" if dx >= 0 else "right",
                               bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75})
            box = text.get_window_extent(renderer)
            score = sum(box.overlaps(other) for other in placed) * 10
            score += sum(box.contains(*d) for d in dots)
            score += 0 if (frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1) \
                else 5
            if best_score is None or score < best_score:
                if best is not None:
                    best.remove()
                best, best_score = text, score
            else:
                text.remove()
            if score == 0:
                break
        if best is not None:
            placed.append(best.get_window_extent(renderer))


def _inline(text: str) -> Any:
    """Escaped text with the report's inline Markdown (**bold**, *emphasis*, `code`) as HTML."""
    import re

    from markupsafe import Markup, escape

    out = str(escape(text))
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", out)
    out = re.sub(r"\*([^*]+)\*", r"<em>\1</em>", out)
    return Markup(out)


def html_report(result: EvaluationResult, png: Path | None, reliability: Path | None = None) -> str:
    """The report as one self-contained HTML page (``report.html``): the dashboard's template and
    stylesheet, real tables, the plot embedded; nothing loaded from anywhere, readable offline."""
    try:
        import jinja2
    except ImportError:
        raise MissingDependencyError("the HTML report needs Jinja2: pip install 'routeiq[plot]'") from None
    from ..dashboard._app import HERE as UI

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(UI / "templates")), autoescape=True)
    images = {p.name: "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode("ascii")
              for p in (png, reliability) if p is not None}
    blocks = [(kind, *rest) for kind, *rest in report_blocks(result, png.name if png else None)]
    return env.get_template("report.html").render(
        title=f"RouteIQ evaluation: {result.dataset}", blocks=blocks, images=images, inline=_inline,
        css=(UI / "static" / "style.css").read_text(encoding="utf-8"))


def write_report(result: EvaluationResult, out_dir: str | os.PathLike[str], *, plots: bool = True) -> dict[str, Path]:
    """Write ``report.md``, ``results.json``, ``cost_quality.png``, ``reliability.png`` and ``report.html``
    into ``out_dir``.

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
            paths["reliability"] = reliability_plot(result, out / RELIABILITY_PNG)
        except MissingDependencyError as exc:
            result.notes.append(f"no plot: {exc}")
    markdown = markdown_report(result, png.name if png else None)
    paths["markdown"] = out / "report.md"
    atomic_write(paths["markdown"], (markdown + "\n").encode("utf-8"), "report", ConfigError)
    paths["json"] = out / "results.json"
    atomic_write(paths["json"], (json.dumps(result.to_dict(), indent=1) + "\n").encode("utf-8"), "results", ConfigError)
    if png is not None:
        paths["html"] = out / "report.html"
        atomic_write(paths["html"], html_report(result, png, paths.get("reliability")).encode("utf-8"), "report",
                     ConfigError)
    return paths
