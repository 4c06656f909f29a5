"""The ``routeiq`` command line: decide, catalog, centroids, version, help and error handling."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from routeiq_core import Catalog, OnnxEmbedder
from routeiq_core.cli import main

DECISION_KEYS = {
    "schema_version", "candidate", "model", "tier", "tier_name", "profile", "strategy", "category", "confidence",
    "complexity", "complexity_label", "reason", "signals", "ranking", "excluded", "fallback", "warnings", "details",
    "timings_ms", "id", "propensity",
}
CANDIDATES = [
    {"name": "local-llama", "model": "ollama/llama3.2", "free": True, "tier": 1},
    {"name": "gpt-4o-mini", "model": "openai/gpt-4o-mini", "input_cost_per_mtok": 0.15, "output_cost_per_mtok": 0.6},
    {"name": "sonnet", "model": "anthropic/claude-sonnet-4", "input_cost_per_mtok": 3.0, "output_cost_per_mtok": 15.0,
     "capabilities": ["reasoning", "code", "tools"], "tier": 4},
]
CANDIDATES_YAML = """\
name: team-catalog
prices_as_of: "2025-08"
candidates:
  - name: local-llama
    model: ollama/llama3.2
    free: true
    tier: 1
  - name: gpt-4o-mini
    model: openai/gpt-4o-mini
    input_cost_per_mtok: 0.15
    output_cost_per_mtok: 0.6
  - name: sonnet
    model: anthropic/claude-sonnet-4
    input_cost_per_mtok: 3.0
    output_cost_per_mtok: 15.0
    capabilities: [reasoning, code, tools]
    tier: 4
"""


def run_cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "routeiq_core", *args], input=stdin, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(autouse=True)
def _warm(embedder: OnnxEmbedder) -> None:
    """In-process runs share the session's loaded default embedder."""


@pytest.fixture
def cand_files(tmp_path: Path) -> dict[str, Path]:
    json_path = tmp_path / "cands.json"
    json_path.write_text(json.dumps(CANDIDATES))
    yaml_path = tmp_path / "cands.yaml"
    yaml_path.write_text(CANDIDATES_YAML)
    return {"json": json_path, "yaml": yaml_path}


# --------------------------------------------------------------------------- decide


def test_decide_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    """'routeiq decide PROMPT' prints the choice, why, category, ranking and time."""
    assert main(["decide", "Write a haiku about autumn rain."]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].endswith("(profile auto, strategy centroid)")
    assert lines[1].startswith("  why: creative")
    assert "  category: creative" in out and "  ranking:" in out and "    ... " in out
    assert lines[-1].startswith("  time: ")


@pytest.mark.parametrize(("top", "shown"), [("3", 3), ("0", 1), ("-5", 1)])
def test_decide_top(capsys: pytest.CaptureFixture[str], top: str, shown: int) -> None:
    """--top N shows N ranked candidates (at least one) and counts the rest."""
    assert main(["decide", "--top", top, "hello"]) == 0
    out = capsys.readouterr().out
    ranked = [line for line in out.splitlines() if line[:7].strip().rstrip(".").isdigit()]
    assert len(ranked) == shown
    assert f"    ... {len(Catalog.builtin().candidates) - shown} more (use --json for all)" in out


def test_decide_json(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the decision's JSON contract."""
    assert main(["decide", "--json", "What is the capital of Peru?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == DECISION_KEYS
    assert data["category"] == "knowledge" and data["profile"] == "auto"


@pytest.mark.parametrize("profile", ["eco", "premium", "free", "reasoning"])
def test_decide_profile(capsys: pytest.CaptureFixture[str], profile: str) -> None:
    """--profile selects the profile, visible in the JSON."""
    assert main(["decide", "--json", "--profile", profile, "Sort a list in Python."]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["profile"] == profile
    catalog = Catalog.builtin()
    if profile == "free":
        assert catalog.get(data["candidate"]).is_free
    if profile == "reasoning":
        assert catalog.get(data["candidate"]).has("reasoning")


@pytest.mark.parametrize("kind", ["json", "yaml"])
def test_decide_candidates_file(capsys: pytest.CaptureFixture[str], cand_files: dict[str, Path], kind: str) -> None:
    """--candidates FILE (JSON or YAML) restricts the choice to that file's candidates."""
    assert main(["decide", "--json", "--candidates", str(cand_files[kind]), "--profile", "premium",
                 "Prove that the product of two odd numbers is odd."]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {r["name"] for r in data["ranking"]} == {"local-llama", "gpt-4o-mini", "sonnet"}
    assert data["candidate"] == "sonnet"


def test_decide_messages_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """--messages FILE reads a message list, or an object with messages, tools and metadata."""
    plain = tmp_path / "messages.json"
    plain.write_text(json.dumps([{"role": "user", "content": "hello!"}]))
    assert main(["decide", "--json", "--messages", str(plain)]) == 0
    assert json.loads(capsys.readouterr().out)["category"] == "chat"
    full = tmp_path / "request.json"
    full.write_text(json.dumps({
        "messages": [{"role": "user", "content": "List the files in the current directory."}],
        "tools": [{"type": "function", "function": {"name": "ls", "parameters": {"type": "object"}}}],
        "metadata": {"profile": "eco"},
    }))
    assert main(["decide", "--json", "--messages", str(full)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["profile"] == "eco"
    assert next(s for s in data["signals"] if s["name"] == "agentic.tools_defined")["value"] == 1.0


@pytest.mark.parametrize("argv", [["decide", "--json"], ["decide", "--json", "-"]])
def test_decide_reads_stdin(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                            argv: list[str]) -> None:
    """Without a prompt argument, or with '-', the prompt is read from standard input."""
    monkeypatch.setattr(sys, "stdin", io.StringIO("Translate 'good morning' into Italian.\n"))
    assert main(argv) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["category"] in {"extraction", "knowledge", "chat", "creative"}
    assert data["reason"]


def test_decide_stdin_in_a_real_process() -> None:
    """'echo PROMPT | python -m routeiq_core decide --json' works end to end."""
    result = run_cli("decide", "--json", stdin="Compose a short poem about the sea.")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["category"] == "creative"


# --------------------------------------------------------------------------- catalog


def test_catalog_text_and_json(capsys: pytest.CaptureFixture[str], cand_files: dict[str, Path]) -> None:
    """'routeiq catalog' lists the built-in catalog; --json and --candidates work."""
    assert main(["catalog"]) == 0
    out = capsys.readouterr().out
    builtin = Catalog.builtin()
    assert out.startswith(f"catalog 'builtin': {len(builtin.candidates)} candidates, prices as of")
    assert all(c.name in out for c in builtin.candidates)
    assert main(["catalog", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["candidates"]) == len(builtin.candidates) and data["name"] == "builtin"
    assert main(["catalog", "--candidates", str(cand_files["yaml"])]) == 0
    out = capsys.readouterr().out
    assert out.startswith("catalog 'team-catalog': 3 candidates, prices as of 2025-08")
    assert "local-llama" in out and "(free)" in out


# --------------------------------------------------------------------------- version, help


def test_version_and_help() -> None:
    """--version prints the installed version; --help lists the commands; both exit 0."""
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"routeiq {version('routeiq')}"
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("decide", "catalog", "centroids"):
        assert command in result.stdout


def test_subcommand_help(capsys: pytest.CaptureFixture[str]) -> None:
    """'decide --help' documents the options and exits 0."""
    with pytest.raises(SystemExit) as info:
        main(["decide", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--messages", "--profile", "--candidates", "--json", "--strategy", "--artifact", "--top"):
        assert option in out


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    """Running without a command prints the help and exits 2."""
    assert main([]) == 2
    assert "usage: routeiq" in capsys.readouterr().out


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["decide", "--profile", "turbo", "hi"], "unknown profile 'turbo'"),
        (["decide", "--candidates", "/nonexistent/cands.json", "hi"], "candidates file not found"),
        (["decide", "--messages", "/nonexistent/messages.json"], "--messages /nonexistent/messages.json"),
        (["decide", "   "], "no text to route on"),
        (["catalog", "--candidates", "/nonexistent.yaml"], "candidates file not found"),
        (["centroids", "show", "--dir", "/nonexistent"], "cannot load centroids"),
    ],
)
def test_errors_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str) -> None:
    """A RouteIQError prints exactly one 'routeiq: error: ...' line on stderr and exits 2."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("routeiq: error: ") and fragment in lines[0]


def test_malformed_files_are_one_line_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A badly shaped messages file, invalid YAML and a bad candidate entry are one-line errors."""
    bad_messages = tmp_path / "m.json"
    bad_messages.write_text(json.dumps({"msgs": []}))
    assert main(["decide", "--messages", str(bad_messages)]) == 2
    assert "expected a list of messages or an object with 'messages'" in capsys.readouterr().err
    bad_role = tmp_path / "r.json"
    bad_role.write_text(json.dumps([{"role": "wizard", "content": "hi"}]))
    assert main(["decide", "--messages", str(bad_role)]) == 2
    assert "messages[0].role" in capsys.readouterr().err
    bad_yaml = tmp_path / "c.yaml"
    bad_yaml.write_text("candidates: [\n  - name: a\n")
    assert main(["catalog", "--candidates", str(bad_yaml)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not valid YAML" in err
    bad_cands = tmp_path / "c.json"
    bad_cands.write_text(json.dumps([{"name": "x", "input_cost_per_mtok": -3}]))
    assert main(["decide", "--candidates", str(bad_cands), "hi"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "greater than or equal to 0" in err


def test_errors_in_a_real_process_have_no_traceback(tmp_path: Path) -> None:
    """In a real process, errors (including empty stdin) exit 2 with one line and no traceback."""
    result = run_cli("decide", "--profile", "turbo", "hello")
    assert result.returncode == 2
    assert result.stderr.startswith("routeiq: error: unknown profile 'turbo'")
    assert "Traceback" not in result.stderr and result.stdout == ""
    empty = run_cli("decide", stdin="")
    assert empty.returncode == 2 and "Traceback" not in empty.stderr
    assert empty.stderr.startswith("routeiq: error: ")
