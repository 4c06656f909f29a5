"""Loaders: every supported format, format detection, and malformed rows reported with file:line."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from routeiq_core.datasets import (
    DataRowWarning,
    MalformedRowError,
    detect_format,
    load_dataset,
    load_dataset_report,
    load_prices,
)
from routeiq_core.errors import DatasetError


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


# ---------------------------------------------------------------- canonical JSONL
def test_canonical_roundtrip_with_unknown_scores_and_messages(tmp_path: Path) -> None:
    """Canonical rows load; a model missing from a row is NaN, messages give the last user turn."""
    path = write_jsonl(tmp_path / "d.jsonl", [
        {"id": "a", "prompt": "hello", "task": "chat", "scores": {"m1": 1.0, "m2": 0.0},
         "costs": {"m1": 0.002, "m2": 0.0001}},
        {"id": "b", "messages": [{"role": "system", "content": "be brief"},
                                 {"role": "user", "content": "what is 2+2?"}],
         "scores": {"m2": 0.5}},
        {"id": "c", "prompt": "x", "scores": {"m1": True, "m2": None}, "user": "u7"},
    ])
    ds = load_dataset(path)
    assert ds.models == ("m1", "m2")
    assert ds.ids == ("a", "b", "c")
    assert ds.prompts[1] == "what is 2+2?"
    assert ds.tasks == ("chat", None, None)
    assert ds.users == (None, None, "u7")
    np.testing.assert_array_equal(ds.scores[0], [1.0, 0.0])
    assert np.isnan(ds.scores[1, 0]) and ds.scores[1, 1] == 0.5
    assert ds.scores[2, 0] == 1.0 and np.isnan(ds.scores[2, 1])
    assert ds.costs is not None and ds.costs[0, 0] == pytest.approx(0.002)
    assert np.isnan(ds.costs[1]).all()


def test_canonical_bad_rows_are_reported_with_file_and_line(tmp_path: Path) -> None:
    """Each malformed row is skipped and named by file:line in one warning; good rows survive."""
    path = write_jsonl(tmp_path / "bad.jsonl", [
        {"id": "ok1", "prompt": "p", "scores": {"m": 1}},
        "{not json",
        {"id": "s", "prompt": "p", "scores": {"m": 1.5}},
        {"prompt": "no id", "scores": {"m": 1}},
        {"id": "ok1", "prompt": "dup", "scores": {"m": 0}},
        {"id": "e", "prompt": "p", "scores": {}},
        {"id": "c", "prompt": "p", "scores": {"m": 1}, "costs": {"m": -1}},
        {"id": "ok2", "prompt": "q", "scores": {"m": 0}},
    ])
    with pytest.warns(DataRowWarning) as caught:
        result = load_dataset_report(path)
    assert result.dataset.ids == ("ok1", "ok2")
    lines = [p.line for p in result.problems]
    assert lines == [2, 3, 4, 5, 6, 7]
    message = str(caught[0].message)
    assert f"{path}:3: scores['m']: score 1.5 is outside [0, 1]" in message
    assert f"{path}:5: duplicate id 'ok1' (first at {path}:1)" in message
    assert "costs['m']" in message and f"{path}:7" in message


def test_on_error_raise_stops_at_first_bad_row(tmp_path: Path) -> None:
    """on_error='raise' raises MalformedRowError (a DatasetError) naming file:line."""
    path = write_jsonl(tmp_path / "bad.jsonl", [
        {"id": "a", "prompt": "p", "scores": {"m": 1}},
        {"id": "b", "prompt": 3, "scores": {"m": 1}},
    ])
    with pytest.raises(MalformedRowError, match=rf"{path.name}:2: 'prompt' must be a string") as info:
        load_dataset(path, on_error="raise")
    assert isinstance(info.value, DatasetError)
    assert info.value.problem.line == 2


def test_all_rows_bad_is_an_error(tmp_path: Path) -> None:
    """A file without one usable row is a DatasetError, not an empty data set."""
    path = write_jsonl(tmp_path / "bad.jsonl", [{"id": "a", "prompt": "", "scores": {"m": 1}}])
    with pytest.raises(DatasetError, match=r"no usable rows.*bad\.jsonl:1: empty prompt"):
        load_dataset(path)


def test_prices_table_shapes(tmp_path: Path) -> None:
    """Price tables: per-1M numbers, per-token keys, LLMRouter keys and catalogs all convert to per 1M."""
    table = load_prices({"a": 2.0, "b": {"input_cost_per_token": 1e-6, "output_cost_per_token": 3e-6},
                         "c": {"input_price": 0.2, "output_price": 0.4}})
    assert (table["a"].input_cost_per_mtok, table["a"].output_cost_per_mtok) == (2.0, 2.0)
    assert table["b"].input_cost_per_mtok == pytest.approx(1.0)
    assert table["b"].output_cost_per_mtok == pytest.approx(3.0)
    assert table["c"].output_cost_per_mtok == 0.4
    catalog = tmp_path / "cat.json"
    catalog.write_text(json.dumps({"candidates": [{"name": "d1", "model": "openai/x", "input_cost_per_mtok": 1,
                                                   "output_cost_per_mtok": 4}]}))
    t2 = load_prices(catalog)
    assert t2["d1"] == t2["openai/x"]
    with pytest.raises(DatasetError, match="price of 'z'"):
        load_prices({"z": "cheap"})


def test_canonical_costs_from_prices(tmp_path: Path) -> None:
    """Without per-prompt costs, the price table gives a price x token-estimate cost."""
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": "a", "prompt": "x" * 400, "scores": {"m": 1, "n": 0}}])
    ds = load_dataset(path, prices={"m": 1.0, "n": {"input_cost_per_mtok": 2.0, "output_cost_per_mtok": 8.0}})
    costs = ds.cost_matrix(output_tokens=100)
    assert costs[0, 0] == pytest.approx((100 * 1.0 + 100 * 1.0) / 1e6)
    assert costs[0, 1] == pytest.approx((100 * 2.0 + 100 * 8.0) / 1e6)


# ---------------------------------------------------------------- RouterBench CSV
ROUTERBENCH_HEADER = ["", "sample_id", "prompt", "eval_name", "m-a", "m-b", "m-a|model_response",
                      "m-b|model_response", "m-a|total_cost", "m-b|total_cost", "oracle_model_to_route_to"]


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    import csv

    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_routerbench_small_file(tmp_path: Path) -> None:
    """List-literal prompts are unwrapped, empty score cells are unknown, bad cells are reported."""
    path = write_csv(tmp_path / "rb.csv", ROUTERBENCH_HEADER, [
        ["0", "t.1", "['line one\\nline two']", "arc", "1.0", "0.0", "['A']", "['B']", "0.01", "0.001", "m-a"],
        ["1", "t.2", "['multi\nline']", "arc", "", "1.0", "x", "y", "0.02", "0.002", "m-b"],
        ["2", "t.3", "['p']", "arc", "abc", "1.0", "x", "y", "0.02", "0.002", "m-b"],
        ["3", "t.4", "['p']", "arc", "1.0"],
    ])
    assert detect_format(path) == "routerbench"
    with pytest.warns(DataRowWarning):
        result = load_dataset_report(path)
    ds = result.dataset
    assert ds.models == ("m-a", "m-b") and ds.ids == ("t.1", "t.2")
    assert ds.prompts[0] == "line one\nline two"
    assert np.isnan(ds.scores[1, 0])
    assert ds.costs is not None and ds.costs[1, 1] == pytest.approx(0.002)
    assert ds.tasks == ("arc", "arc")
    # the multi-line record of row 2 ends on line 4, so the bad rows start on lines 5 and 6
    assert [(p.line, p.message[:20]) for p in result.problems] == [
        (5, "score['m-a']: expect"), (6, "expected 11 columns,")]


# ---------------------------------------------------------------- LLMRouter JSON
def test_llmrouter_json_with_task_join_and_prices(tmp_path: Path) -> None:
    """LLMRouter lists join tasks from the query JSONL and prices from default_llm.json; lines are exact."""
    (tmp_path / "train.json").write_text(
        '[\n  {"question": "q1", "scores": {"a": 1.0, "b": 0.0}, "cluster_id": 1},\n'
        '  {"question": "q2",\n   "scores": {"a": 2.0, "b": 0.0}},\n'
        '  {"question": "q3", "scores": {"b": 1.0, "a": 0.5}}\n]\n')
    write_jsonl(tmp_path / "default_query_train.jsonl", [
        {"task_name": "math", "query": "q1"}, {"task_name": "qa", "query": "q3"}])
    write_jsonl(tmp_path / "default_query_test.jsonl", [{"task_name": "WRONG", "query": "q1"}])
    (tmp_path / "default_llm.json").write_text(json.dumps({
        "a": {"input_price": 0.2, "output_price": 0.2}, "b": {"input_price": 0.9, "output_price": 0.9},
        "unused": {"input_price": 5, "output_price": 5}}))
    with pytest.warns(DataRowWarning, match=r"train\.json:3: scores\['a'\]: score 2\.0 is outside"):
        result = load_dataset_report(tmp_path / "train.json")
    ds = result.dataset
    assert result.format == "llmrouter"
    assert ds.models == ("a", "b")
    assert ds.tasks == ("math", "qa")
    np.testing.assert_array_equal(ds.scores, [[1.0, 0.0], [0.5, 1.0]])
    assert ds.prices["b"].input_cost_per_mtok == 0.9
    assert ds.costs is None
    assert ds.cost_matrix()[0, 1] > ds.cost_matrix()[0, 0]


# ---------------------------------------------------------------- RouteLLM
def test_routellm_csv_drops_contaminated_and_costs_strong_calls(tmp_path: Path) -> None:
    """RouteLLM CSVs drop contaminated eval prompts; cost is 1 for the strong model, 0 for the weak."""
    folder = tmp_path / "mmlu" / "responses"
    folder.mkdir(parents=True)
    header = ["prompt", "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"]
    write_csv(folder / "mmlu_algebra.csv", header, [["p1", "True", "True"], ["p2", "False", "True"]])
    write_csv(folder / "mmlu_zoology.csv", header, [["p3", "False", "False"], ["bad", "maybe", "True"]])
    write_jsonl(tmp_path / "mmlu" / "contaminated_prompts.jsonl", [{"train_prompt": "x", "eval_prompt": "p2"}])
    assert detect_format(tmp_path / "mmlu") == "routellm-mmlu"
    with pytest.warns(DataRowWarning, match=r"mmlu_zoology\.csv:3: score\['mistralai"):
        result = load_dataset_report(tmp_path / "mmlu")
    ds = result.dataset
    assert ds.prompts == ("p1", "p3")
    assert ds.tasks == ("algebra", "zoology")
    assert ds.costs is not None
    np.testing.assert_array_equal(ds.costs, [[0.0, 1.0], [0.0, 1.0]])
    assert any("dropped 1 contaminated" in note for note in result.notes)


def test_mt_bench_judgements(tmp_path: Path) -> None:
    """MT-Bench: quality = mean judge score over turns / 10, contaminated questions dropped."""
    write_jsonl(tmp_path / "question.jsonl", [
        {"question_id": 1, "category": "math", "turns": ["t1a", "t1b"]},
        {"question_id": 2, "category": "writing", "turns": ["dirty", "t2b"]},
    ])
    write_jsonl(tmp_path / "contaminated_prompts.jsonl", [{"eval_prompt": "dirty"}])
    write_jsonl(tmp_path / "judgements.jsonl", [
        {"question_id": 1, "model": "gpt-4-1106-preview", "score": 10, "turn": 1},
        {"question_id": 1, "model": "gpt-4-1106-preview", "score": 8, "turn": 2},
        {"question_id": 1, "model": "weak", "score": 6, "turn": 1},
        {"question_id": 1, "model": "weak", "score": 7, "turn": 2},
        {"question_id": 2, "model": "weak", "score": 3, "turn": 1},
        {"question_id": 1, "model": "weak", "score": 11, "turn": 3},
    ])
    assert detect_format(tmp_path) == "mt-bench"
    with pytest.warns(DataRowWarning, match=r"judgements\.jsonl:6: judge score 11"):
        ds = load_dataset(tmp_path / "judgements.jsonl")
    assert ds.ids == ("mt-bench:1",) and ds.prompts == ("t1a",) and ds.tasks == ("math",)
    np.testing.assert_allclose(ds.scores[0], [0.9, 0.65])


def test_detect_format_errors(tmp_path: Path) -> None:
    """Unknown shapes get a DatasetError that says what was expected."""
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(DatasetError, match="cannot tell the format"):
        load_dataset(tmp_path / "x.txt")
    write_csv(tmp_path / "x.csv", ["a", "b"], [["1", "2"]])
    with pytest.raises(DatasetError, match="unrecognised CSV header"):
        load_dataset(tmp_path / "x.csv")
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(tmp_path / "missing.jsonl")
    with pytest.raises(DatasetError, match="unknown data format"):
        load_dataset(tmp_path / "x.csv", format="parquet")


# ---------------------------------------------------------------- the real shared files
def test_real_llmrouter(data_dir: Path) -> None:
    """The shared LLMRouter split loads whole: 5,608 / 500 prompts, 9 priced models, 14 / 10 tasks."""
    train = load_dataset(data_dir / "llmrouter" / "train.json")
    test = load_dataset(data_dir / "llmrouter" / "test.json")
    assert (len(train), len(test), train.n_models) == (5608, 500, 9)
    assert set(train.prices) >= set(train.models)
    assert len(set(train.tasks or ())) == 14 and len(set(test.tasks or ())) == 10
    best = test.models[int(np.nanargmax(np.nanmean(test.scores, axis=0)))]
    assert best == "llama-3.1-nemotron-51b-instruct"
    assert np.nanmean(test.scores[:, test.models.index(best)]) == pytest.approx(0.5626, abs=1e-4)


def test_real_routerbench(data_dir: Path) -> None:
    """The shared RouterBench slices load with 11 models and per-prompt costs; duplicate ids are reported."""
    mbpp = load_dataset(data_dir / "routerbench" / "mbpp_test.csv")
    assert (len(mbpp), mbpp.n_models) == (128, 11) and mbpp.costs is not None
    gpt4 = mbpp.models.index("gpt-4-1106-preview")
    assert np.nanmean(mbpp.scores[:, gpt4]) == pytest.approx(0.688, abs=1e-3)
    assert np.nansum(mbpp.costs[:, gpt4]) == pytest.approx(1.20, abs=0.01)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = load_dataset_report(data_dir / "routerbench" / "arc_challenge_train.csv")
    assert all("duplicate id" in p.message for p in result.problems)
    assert len(result.dataset) + len(result.problems) == 1039
    assert result.problems and any(issubclass(w.category, DataRowWarning) for w in caught)


def test_real_routellm(data_dir: Path) -> None:
    """RouteLLM MMLU / GSM8K after decontamination match the published baselines."""
    mmlu = load_dataset(data_dir / "routellm" / "mmlu")
    gsm = load_dataset(data_dir / "routellm" / "gsm8k" / "gsm8k_responses.csv")
    mt = load_dataset(data_dir / "routellm" / "mt_bench")
    assert (len(mmlu), len(gsm), len(mt)) == (14037, 1307, 72)
    for ds, strong, weak in ((mmlu, 0.806, 0.681), (gsm, 0.858, 0.637)):
        means = dict(zip(ds.models, np.nanmean(ds.scores, axis=0)))
        assert means["gpt-4-1106-preview"] == pytest.approx(strong, abs=1e-3)
        assert means["mistralai/Mixtral-8x7B-Instruct-v0.1"] == pytest.approx(weak, abs=1e-3)
    assert len(set(mmlu.tasks or ())) == 57
