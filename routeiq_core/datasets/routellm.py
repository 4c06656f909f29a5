"""RouteLLM's evaluation data: MMLU / GSM8K response CSVs and MT-Bench judgements.

Two models (a strong and a weak one). As in RouteLLM's own evaluation, prompts
listed as ``eval_prompt`` in ``contaminated_prompts.jsonl`` (found next to the
data or one folder up) are dropped, and cost is the share of strong-model calls:
the strong model costs 1 per prompt, the weak one 0.

* MMLU: ``mmlu/responses/mmlu_<subject>.csv`` (``prompt,<weak>,<strong>`` with
  True/False); a directory loads every subject (task = subject), in name order.
* GSM8K: ``gsm8k_responses.csv`` (same, plus ``<model>_response`` columns).
* MT-Bench: ``judgements.jsonl`` (GPT-4 judge scores 1-10 per question, model
  and turn) + ``question.jsonl``; quality = mean score over both turns / 10,
  the routed text is turn 1 (RouteLLM routes on it), task = category.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from .._dataset import RoutingDataset
from ..errors import DatasetError
from ._builder import RowBuilder, as_score, convert_each
from ._csv import iter_csv
from ._rows import RowReporter, read_jsonl_objects

__all__ = [
    "STRONG_MODEL",
    "WEAK_MODEL",
    "load_mt_bench",
    "load_routellm_csv",
    "load_routellm_mmlu_dir",
    "looks_routellm_csv",
]

STRONG_MODEL = "gpt-4-1106-preview"
WEAK_MODEL = "mistralai/Mixtral-8x7B-Instruct-v0.1"
CONTAMINATED = "contaminated_prompts.jsonl"
RESPONSE_SUFFIX = "_response"


def looks_routellm_csv(header: list[str]) -> bool:
    models = _model_columns(header)
    return bool(header) and header[0] == "prompt" and len(models) >= 2


def _model_columns(header: list[str]) -> list[str]:
    return [h for h in header[1:] if h and not h.endswith(RESPONSE_SUFFIX)]


def find_contaminated(path: Path) -> Path | None:
    start = path if path.is_dir() else path.parent
    for folder in (start, start.parent):
        if (folder / CONTAMINATED).is_file():
            return folder / CONTAMINATED
    return None


def contaminated_prompts(path: Path) -> set[str]:
    """``eval_prompt`` texts from the decontamination list that applies to ``path`` (empty if none)."""
    file = find_contaminated(path)
    if file is None:
        return set()
    out: set[str] = set()
    for _, row in read_jsonl_objects(file, RowReporter(on_error="raise")):
        if isinstance(row.get("eval_prompt"), str):
            out.add(row["eval_prompt"])
    return out


def _two_model_costs(models: list[str], scores: np.ndarray) -> tuple[np.ndarray, str]:
    """Cost 1 for the strong model, 0 for the others: mean cost = share of strong calls."""
    if STRONG_MODEL in models:
        strong = STRONG_MODEL
    else:  # another pair: the model with the higher mean quality is the strong one
        strong = models[int(np.nanargmax(np.nanmean(scores, axis=0)))]
    costs = np.zeros_like(scores)
    costs[:, models.index(strong)] = 1.0
    return costs, strong


def _with_strong_costs(ds: RoutingDataset, reporter: RowReporter) -> RoutingDataset:
    from dataclasses import replace

    costs, strong = _two_model_costs(list(ds.models), ds.scores)
    reporter.note(f"{ds.name}: cost = share of calls to the strong model {strong!r} (1 per call, others 0)")
    return replace(ds, costs=costs)


def _read_routellm_csv(
    path: Path, builder: RowBuilder, reporter: RowReporter, dropped: set[str], task: str | None, id_prefix: str
) -> int:
    """Add one RouteLLM CSV's rows; returns how many contaminated prompts were dropped."""
    n_dropped = 0
    models: list[str] | None = None
    for line, header, record in iter_csv(path):
        if models is None:
            models = _model_columns(header)
            if not header or header[0] != "prompt" or len(models) < 2:
                raise DatasetError(
                    f"{path}:1: expected RouteLLM columns 'prompt,<model>,<model>[,<model>_response...]', "
                    f"got {header[:5]}"
                )
            col = {h: i for i, h in enumerate(header)}
            builder.declare_models(models)
        if len(record) != len(header):
            reporter.bad(path, line, f"expected {len(header)} columns, got {len(record)}")
            continue
        prompt = record[0]
        if prompt in dropped:
            n_dropped += 1
            continue
        try:
            scores = convert_each({m: record[col[m]] for m in models}, as_score, "score")
        except ValueError as exc:
            reporter.bad(path, line, str(exc))
            continue
        builder.add(path, line, id=f"{id_prefix}:{line}", prompt=prompt, scores=scores, task=task)
    return n_dropped


def load_routellm_csv(path: Path, reporter: RowReporter, name: str | None = None) -> RoutingDataset:
    """One RouteLLM response CSV (an MMLU subject file or GSM8K)."""
    dropped = contaminated_prompts(path)
    builder = RowBuilder(reporter)
    task = path.stem[len("mmlu_"):] if path.stem.startswith("mmlu_") else None
    n = _read_routellm_csv(path, builder, reporter, dropped, task, path.stem)
    reporter.note(f"{path.name}: dropped {n} contaminated prompt(s) listed in {find_contaminated(path)}")
    label = name or ("routellm-gsm8k" if "gsm8k" in path.stem else f"routellm-{path.stem}")
    return _with_strong_costs(builder.build(label), reporter)


def load_routellm_mmlu_dir(path: Path, reporter: RowReporter, name: str | None = None) -> RoutingDataset:
    """Every ``mmlu_<subject>.csv`` under ``path`` (or ``path/responses``), subjects as tasks."""
    folder = path / "responses" if (path / "responses").is_dir() else path
    files = sorted(folder.glob("mmlu_*.csv"))
    if not files:
        raise DatasetError(f"{path}: no mmlu_<subject>.csv files; expected RouteLLM's mmlu/responses folder")
    dropped = contaminated_prompts(folder)
    builder = RowBuilder(reporter)
    n = sum(
        _read_routellm_csv(f, builder, reporter, dropped, f.stem[len("mmlu_"):], f.stem) for f in files
    )
    reporter.note(f"MMLU: {len(files)} subjects; dropped {n} contaminated prompt(s)")
    return _with_strong_costs(builder.build(name or "routellm-mmlu"), reporter)




def load_mt_bench(path: Path, reporter: RowReporter, name: str | None = None) -> RoutingDataset:
    """MT-Bench judgements (file or its folder) -> a per-question two-model quality matrix."""
    folder = path if path.is_dir() else path.parent
    judgements = path if path.is_file() else folder / "judgements.jsonl"
    questions_file = folder / "question.jsonl"
    if not judgements.is_file():
        raise DatasetError(f"{folder}: no judgements.jsonl; expected RouteLLM's mt_bench folder")
    if not questions_file.is_file():
        raise DatasetError(
            f"{folder}: no question.jsonl next to {judgements.name}; the question texts are needed to route"
        )
    questions: dict[str, tuple[int, str, str | None]] = {}
    dropped = contaminated_prompts(folder)
    n_dropped = 0
    for lineno, row in read_jsonl_objects(questions_file, reporter):
        turns = row.get("turns")
        if "question_id" not in row or not isinstance(turns, list) or not turns or not all(
            isinstance(t, str) for t in turns
        ):
            reporter.bad(questions_file, lineno, "expected 'question_id' and 'turns' (a list of strings)")
            continue
        if any(t in dropped for t in turns[:2]):
            n_dropped += 1
            continue
        category = row.get("category")
        questions[str(row["question_id"])] = (lineno, turns[0], str(category) if category else None)
    per_model: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    models: list[str] = []
    for lineno, row in read_jsonl_objects(judgements, reporter):
        qid, model, score = row.get("question_id"), row.get("model"), row.get("score")
        if qid is None or not isinstance(model, str) or isinstance(score, bool) or not isinstance(score, (int, float)):
            reporter.bad(judgements, lineno, "expected 'question_id', 'model' and a numeric 'score'")
            continue
        if not 1 <= score <= 10:
            reporter.bad(judgements, lineno, f"judge score {score} is outside 1..10")
            continue
        if str(qid) not in questions:
            continue  # a dropped (contaminated) or unknown question
        if model not in models:
            models.append(model)
        per_model[str(qid)][model].append(float(score) / 10.0)
    builder = RowBuilder(reporter)
    builder.declare_models(models)
    for qid, (lineno, text, category) in questions.items():
        scores = {m: float(np.mean(v)) for m, v in per_model[qid].items()}
        if not scores:
            reporter.bad(questions_file, lineno, f"question {qid} has no judgements")
            continue
        builder.add(questions_file, lineno, id=f"mt-bench:{qid}", prompt=text, scores=scores, task=category)
    reporter.note(f"MT-Bench: dropped {n_dropped} contaminated question(s); quality = mean judge score / 10")
    return _with_strong_costs(builder.build(name or "routellm-mt-bench"), reporter)
