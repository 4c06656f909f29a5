"""`routeiq strategies`, `routeiq plugins` and `routeiq train`: output, errors, artifacts."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from routeiq_core.cli import main

from .conftest import StrategyPlugin, fake_ep, strategy_class

BUILTINS = {
    "centroid", "smallest_llm", "largest_llm", "knn", "svm", "mlp", "mf", "elo", "hybrid_llm", "thompson",
    "personalized", "routerdc", "graph", "gmt", "knn_multiround", "llm_multiround", "automix", "causal_llm",
    "router_r1", "stack",
}


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_strategies_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--json lists every strategy with name, distribution, version, needs_training and extras."""
    code, out, err = _run(capsys, "strategies", "list", "--json")
    assert code == 0, err
    rows = json.loads(out)
    by_name = {r["name"]: r for r in rows}
    assert BUILTINS <= set(by_name)
    assert [r["name"] for r in rows] == sorted(by_name)
    for name in BUILTINS:
        row = by_name[name]
        assert row["distribution"] == "routeiq" and row["version"]
        assert isinstance(row["needs_training"], bool) and isinstance(row["extras"], list)
    assert by_name["knn"]["needs_training"] is True and by_name["centroid"]["needs_training"] is False
    assert by_name["automix"]["calls_llm"] is True


def test_strategies_list_table(capsys: pytest.CaptureFixture[str]) -> None:
    """The table has a header and one row per strategy; `routeiq strategies` alone lists too."""
    code, out, _ = _run(capsys, "strategies", "list")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["NAME", "DISTRIBUTION", "VERSION", "TRAINING", "LLM", "EXTRAS", "DESCRIPTION"]
    knn = next(line for line in lines if line.startswith("knn "))
    assert knn.split()[1:4] == ["routeiq", knn.split()[2], "yes"]
    assert len(lines) - 2 >= len(BUILTINS)
    code, bare, _ = _run(capsys, "strategies")
    assert code == 0 and bare == out


def test_strategies_show(capsys: pytest.CaptureFixture[str]) -> None:
    """`strategies show knn` prints the docstring and the hyper-parameter table; --json has params."""
    code, out, _ = _run(capsys, "strategies", "show", "knn")
    assert code == 0 and "PARAMETER" in out and "\nk " in out
    code, out, _ = _run(capsys, "strategies", "show", "knn", "--json")
    params = {p["name"]: p for p in json.loads(out)["params"]}
    assert params["k"]["default"] == 20 and params["k"]["required"] is False


def test_unknown_strategy_is_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown name exits 2 with a did-you-mean line, no traceback."""
    code, _, err = _run(capsys, "strategies", "show", "knnn")
    assert code == 2
    assert err.startswith("routeiq: error: unknown strategy 'knnn'; did you mean 'knn'?")
    assert "Traceback" not in err


def test_plugins_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    """`routeiq plugins` lists the core and the builtin entry point with their hooks and strategies."""
    code, out, _ = _run(capsys, "plugins", "--json")
    assert code == 0
    plugins = {p["name"]: p for p in json.loads(out)}
    assert plugins["builtin"]["distribution"] == "routeiq"
    assert plugins["builtin"]["hooks"] == ["routeiq_register_strategies"]
    assert set(plugins["builtin"]["strategies"]) == BUILTINS - {"centroid"}
    assert plugins["core"]["strategies"] == ["centroid"] and plugins["core"]["embedders"] == ["default"]
    code, out, _ = _run(capsys, "plugins")
    assert out.splitlines()[0].split() == ["PLUGIN", "DISTRIBUTION", "VERSION", "STATUS", "HOOKS", "REGISTERED"]


def test_cli_reports_a_broken_plugin_and_keeps_working(
    capsys: pytest.CaptureFixture[str], entry_points, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken plugin is one warning line on stderr; the listing still works; strict mode makes it exit 2."""
    entry_points(
        fake_ep("acme-broken", "broken", RuntimeError("boom")),
        fake_ep("acme-good", "good", StrategyPlugin(strategy_class("acme.good"))),
        real=True,
    )
    code, out, err = _run(capsys, "strategies", "list", "--json")
    assert code == 0
    assert "acme.good" in {r["name"] for r in json.loads(out)}
    lines = [line for line in err.splitlines() if line]
    assert len(lines) == 1
    assert lines[0].startswith("routeiq: warning: RouteIQ plugin 'broken' from distribution acme-broken 1.0 "
                               "failed to import: RuntimeError: boom")
    code, out, _ = _run(capsys, "plugins")
    assert "broken (acme-broken) failed: RuntimeError: boom" in out

    from routeiq_core import _registry

    _registry.default_registry.cache_clear()
    monkeypatch.setenv("ROUTEIQ_STRICT_PLUGINS", "1")
    code, out, err = _run(capsys, "strategies", "list")
    assert code == 2 and out == ""
    assert err.startswith("routeiq: error: RouteIQ plugin 'broken' from distribution acme-broken")


# --------------------------------------------------------------------------- routeiq train
@pytest.fixture(scope="module")
def mbpp_train(shared_data: Path) -> Path:
    path = shared_data / "routerbench" / "mbpp_train.csv"
    if not path.is_file():
        pytest.skip(f"shared RouterBench data not found at {shared_data}; set ROUTEIQ_SHARED_DATA")
    return path


@pytest.fixture(scope="module")
def knn_artifact(tmp_path_factory: pytest.TempPathFactory, mbpp_train: Path) -> tuple[Path, dict]:
    tmp = tmp_path_factory.mktemp("train")
    argv = ["train", "--strategy", "knn", "--data", str(mbpp_train), "--out", str(tmp / "artifact"),
            "--limit", "40", "--seed", "1", "--cache-dir", str(tmp / "cache"), "--no-progress", "--json",
            "--param", "k=5"]
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(argv) == 0
    return tmp / "artifact", json.loads(buf.getvalue())


def test_train_writes_an_artifact_the_router_loads(knn_artifact: tuple[Path, dict]) -> None:
    """`routeiq train` on 40 real RouterBench prompts writes manifest + npz that Router.from_artifact routes with."""
    from routeiq_core import Router, default_embedder

    path, summary = knn_artifact
    assert summary["strategy"] == "knn" and summary["prompts"] == 40 and summary["params"]["k"] == 5
    assert len(summary["models"]) == 11
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["strategy"] == "knn"
    assert manifest["embedding_model"] == default_embedder().model_id
    router = Router.from_artifact(path, candidates=[{"name": m} for m in summary["models"]])
    decision = router.decide("Write a Python function that returns the n-th Fibonacci number.")
    assert decision.model in summary["models"] and decision.strategy == "knn"


def test_artifact_from_another_embedding_model_is_refused(knn_artifact: tuple[Path, dict], tmp_path: Path) -> None:
    """An artifact whose manifest names another embedding model is refused with a clear ArtifactError."""
    import shutil

    from routeiq_core import ArtifactError, Router

    path, summary = knn_artifact
    copy = tmp_path / "other-model"
    shutil.copytree(path, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["embedding_model"] = "0" * 64
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"trained with embedding model 000000000000.*retrain"):
        Router.from_artifact(copy, candidates=[{"name": m} for m in summary["models"]])


def test_artifact_of_another_format_version_is_refused(knn_artifact: tuple[Path, dict], tmp_path: Path) -> None:
    """An artifact with an unknown format_version is refused, naming the versions."""
    import shutil

    from routeiq_core import ArtifactError, Router

    path, summary = knn_artifact
    copy = tmp_path / "future"
    shutil.copytree(path, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["format_version"] = 99
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"format_version 99 is not supported \(this RouteIQ reads 1\)"):
        Router.from_artifact(copy, candidates=[{"name": m} for m in summary["models"]])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--strategy", "knnn"], "did you mean 'knn'"),
        (["--strategy", "knn", "--param", "k=0"], "invalid parameters: k"),
        (["--strategy", "knn", "--param", "k"], "expected KEY=VALUE"),
        (["--strategy", "knn", "--format", "parquet"], "unknown data format 'parquet'"),
        (["--strategy", "knn", "--limit", "1"], "--limit must be at least 2"),
    ],
    ids=["unknown-strategy", "bad-param-value", "bad-param-syntax", "bad-format", "bad-limit"],
)
def test_train_bad_input_is_one_line_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, mbpp_train: Path, argv: list[str], message: str
) -> None:
    """Bad train arguments exit 2 with one clear line, before any embedding."""
    code, _, err = _run(capsys, "train", "--data", str(mbpp_train), "--out", str(tmp_path / "a"), *argv)
    assert code == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "a").exists()
