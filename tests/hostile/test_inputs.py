"""Hostile files and arguments: YAML bombs, huge numbers, deep nesting, wrong types (defects 4, 5, 6, 10),
and the CLI's promise: every input-caused error is one line and exit 2, never a traceback."""

from __future__ import annotations

import json
import string
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routeiq_core import (
    CandidateError,
    ConfigError,
    RequestError,
    RouteIQError,
    Router,
    load_config,
)
from routeiq_core.cli import main

from .conftest import finishes_within

#: 407 bytes; expanded, 9**9 strings. The previous main hung on it (killed after 20 s).
LAUGHS = "- name: bomb\n  capabilities:\n" + "".join(
    f"    {line}\n" for line in ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{c}: &{c} [{','.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")]
)


def test_a_billion_laughs_candidates_file_is_refused_at_once(tmp_path: Path) -> None:
    """Defect 4: a 642-byte alias bomb hung Router(candidates=...); now it is a one-line CandidateError."""
    path = tmp_path / "laughs.yaml"
    path.write_text(LAUGHS)
    start = time.perf_counter()
    done, result = finishes_within(20, lambda: Router(candidates=path))
    assert done, "the alias bomb hung"
    assert isinstance(result, CandidateError) and "anchors (&a) are not allowed" in str(result), result
    assert time.perf_counter() - start < 20
    assert len(str(result)) < 400


def test_a_billion_laughs_config_via_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "laughs.yaml"
    path.write_text(LAUGHS)
    assert main(["decide", "--candidates", str(path), "hi"]) == 2
    assert main(["decide", "--config", str(path), "hi"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(line.startswith("routeiq: error: ") for line in err)


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("deep.json", "[" * 5000 + "]" * 5000, "nested too deeply"),
        ("deep.yaml", "a:\n" + "".join(" " * (2 * i) + f"k{i}:\n" for i in range(1, 60)) + " " * 120 + "x: 1\n",
         "nested too deeply"),
        ("flow.yaml", "[" * 5000 + "]" * 5000, "nested too deeply"),
        ("bigint.json", '[{"name": "a", "input_cost_per_mtok": ' + "9" * 5000 + "}]", "a number of 5000"),
        ("bigint.yaml", "- name: a\n  context_window: " + "9" * 5000 + "\n", "a number of 5000"),
        ("nan.json", '[{"name": "a", "input_cost_per_mtok": NaN}]', "NaN is not a JSON number"),
        ("latin1.json", b'[{"name": "caf\xe9"}]', "not UTF-8"),
        ("python.yaml", "- !!python/object/apply:os.system ['true']\n", "not valid YAML"),
    ],
)
def test_hostile_candidate_files(tmp_path: Path, name: str, content: str | bytes, match: str) -> None:
    """Defects 4 and 5: deep nesting, huge numbers, NaN, non-UTF-8 and Python tags are CandidateErrors."""
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(CandidateError, match=match):
        Router(candidates=path)


def test_the_same_files_as_router_configs(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"profiles": ' + "[" * 3000 + "]" * 3000 + "}")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(path)


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_device_as_candidates_file(device: str) -> None:
    """Defect 6: /dev/zero read until MemoryError; now it is refused before reading."""
    done, result = finishes_within(10, lambda: Router(candidates=device))
    assert done and isinstance(result, CandidateError) and "not a regular file" in str(result)


def test_a_fifo_as_candidates_or_messages_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import os

    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    done, code = finishes_within(10, lambda: main(["decide", "--candidates", str(fifo), "hi"]))
    assert done and code == 2
    done, code = finishes_within(10, lambda: main(["decide", "--messages", str(fifo)]))
    assert done and code == 2


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda r: r.decide_batch(None), ConfigError, "expects a list"),
        (lambda r: r.decide_batch([{1: "x", "y": 2}]), ConfigError, "unknown keys"),
        (lambda r: r.decide("hi", metadata={"user": 10 ** 5000}), RequestError, "is not an id"),
        (lambda r: r.decide("hi", metadata={"session_id": "s" * 100_000}), RequestError, "at most 4096"),
        (lambda r: r.decide("hi", deadline_ms=float("nan")), ConfigError, "deadline_ms"),
        (lambda r: r.decide("hi", deadline_ms=-5), ConfigError, "deadline_ms"),
    ],
)
def test_bad_arguments_raise_routeiq_errors(call, error: type[RouteIQError], match: str) -> None:  # type: ignore[no-untyped-def]
    """Defect 5: these raised TypeError or ValueError."""
    with pytest.raises(error, match=match):
        call(Router())


def test_an_embedder_that_is_not_one_is_refused_at_construction() -> None:
    """Defect 10: Router(embedder="static") failed on the first decide() with an AttributeError."""
    with pytest.raises(ConfigError, match="embedder: expected an object with model_id"):
        Router(embedder="static")  # type: ignore[arg-type]


# --------------------------------------------------------------------- the CLI contract, on random input
_TEXT = st.text(alphabet=string.printable + "é漢\u200b", max_size=40)
_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TEXT, children, max_size=4),
    max_leaves=20,
)
_OPTIONS = st.sampled_from(["--profile", "--strategy", "--artifact", "--top", "--candidates", "--config",
                            "--messages", "--json", "--frobnicate"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=_JSONISH, suffix=st.sampled_from([".json", ".yaml"]), flag=st.sampled_from(
    ["--candidates", "--config", "--messages"]), raw=st.booleans(), garbage=st.binary(max_size=60))
def test_cli_files_of_random_content_fail_in_one_line(tmp_path_factory: pytest.TempPathFactory, content: object,
                                                      suffix: str, flag: str, raw: bool, garbage: bytes) -> None:
    """Random JSON/YAML values (or random bytes) as a candidates, config or messages file: the CLI
    decides (0) or prints one line and exits 2; never a traceback."""
    import contextlib
    import io

    path = tmp_path_factory.mktemp("cli") / f"input{suffix}"
    path.write_bytes(garbage if raw else json.dumps(content).encode())
    out, err = io.StringIO(), io.StringIO()
    argv = ["decide", flag, str(path)] + ([] if flag == "--messages" else ["hello"])
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    assert code in (0, 2), (code, err.getvalue())
    if code == 2:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("routeiq: error: "), err.getvalue()
    assert "Traceback" not in err.getvalue()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(_OPTIONS | _TEXT, max_size=6), stdin=_TEXT)
def test_cli_random_arguments_never_print_a_traceback(monkeypatch: pytest.MonkeyPatch, argv: list[str],
                                                      stdin: str) -> None:
    import contextlib
    import io

    err = io.StringIO()
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(["decide", *argv])
        except SystemExit as exit_:  # argparse's own usage errors exit 2
            code = exit_.code
    assert code in (0, 2), (code, err.getvalue())
    assert "Traceback" not in err.getvalue()
