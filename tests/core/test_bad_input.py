"""Every bad input from the core issue: a clear RouteIQError subclass or a safe decision, never a crash."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from routeiq_core import (
    DEFAULT_MODEL_SHA256,
    Candidate,
    CandidateError,
    CentroidError,
    ConfigError,
    EmbeddingError,
    NoCandidatesError,
    OnnxEmbedder,
    RequestError,
    RouteIQError,
    Router,
    UnknownProfileError,
)
from routeiq_core._artifacts import arrays_digest
from routeiq_core._centroids import DEFAULT_CENTROIDS
from routeiq_core._embedding import ENV_MODEL, MAX_TOKENS, default_model_path
from routeiq_core._request import MAX_CONTENT_DEPTH

# --------------------------------------------------------------------------- prompts


@pytest.mark.parametrize("prompt", ["", "   \n\t  ", "\x00\x01\x02"])
def test_empty_or_blank_prompt_is_a_request_error(router: Router, prompt: str) -> None:
    """An empty, whitespace-only or control-only prompt raises RequestError naming the prompt."""
    with pytest.raises(RequestError, match="no text to route on") as info:
        router.decide(prompt)
    assert info.value.field == "prompt"


def test_blank_user_message_is_a_request_error(router: Router) -> None:
    """Messages whose only text is whitespace raise RequestError naming the messages."""
    with pytest.raises(RequestError, match="no text to route on") as info:
        router.decide(messages=[{"role": "user", "content": "  "}])
    assert info.value.field == "messages"


def test_five_megabyte_prompt_decides(router: Router, embedder: OnnxEmbedder) -> None:
    """A 5 MB prompt gets a normal decision; the embedder sees at most 256 tokens of it."""
    words = "the quick brown fox jumps over the lazy dog while the compiler reports an error "
    prompt = (words * (5_000_000 // len(words) + 1))[:5_000_000]
    decision = router.decide(prompt)
    assert decision.candidate in router.candidates
    assert decision.ranking[0].name == decision.name
    assert len(embedder.token_ids(prompt)) == MAX_TOKENS
    # ~1.25M input tokens do not fit most context windows: the excluded ones say so.
    assert any("context window" in why for why in decision.excluded.values())


@pytest.mark.parametrize("prompt", ["\ud800", "tell me about \udfff this", "\ud83d\ude00 emoji pair as surrogates"])
def test_lone_surrogates_decide(router: Router, prompt: str) -> None:
    """Strings that are not valid UTF-8 (lone surrogates) are cleaned and decided."""
    decision = router.decide(prompt)
    assert decision.candidate in router.candidates
    json.dumps(decision.to_dict())


def test_control_characters_decide(router: Router) -> None:
    """Control characters and ANSI escapes inside a prompt are dropped and the rest is routed."""
    decision = router.decide("\x1b[31mWrite a haiku\x00 about\x07 snow\x7f")
    assert decision.query is not None
    assert decision.query.text == "[31mWrite a haiku about snow"


# --------------------------------------------------------------------------- messages


@pytest.mark.parametrize(
    ("messages", "field", "fragment"),
    [
        ({"role": "user", "content": "hi"}, "messages", "expected a list of message objects, got dict"),
        ("hi there", "messages", "got str of length 8"),
        (42, "messages", "got int"),
        ([{"content": "hi"}], "messages[0].role", "missing"),
        ([{"role": None, "content": "hi"}], "messages[0].role", "missing"),
        ([{"role": "robot", "content": "hi"}], "messages[0].role", "got 'robot'"),
        ([{"role": "USER", "content": "hi"}], "messages[0].role", "got 'USER'"),
        ([{"role": 1, "content": "hi"}], "messages[0].role", "got int"),
        ([{"role": "user", "content": 12}], "messages[0].content", "got int"),
        ([{"role": "user", "content": b"hi"}], "messages[0].content", "got bytes"),
        ([{"role": "user", "content": [None]}], "messages[0].content[0]", "got NoneType"),
        ([{"role": "user", "content": [{"type": "text", "text": ["a"]}]}], "messages[0].content[0].text", "got list"),
        ([{"role": "user", "content": [{"type": {"t": 1}}]}], "messages[0].content[0].type", "got dict"),
    ],
)
def test_malformed_messages_raise_request_error(router: Router, messages: object, field: str, fragment: str) -> None:
    """Messages that are not a list, lack a role, use unknown roles or wrong content types name the field."""
    with pytest.raises(RequestError) as info:
        router.decide(messages=messages)
    assert info.value.field == field
    assert fragment in str(info.value)
    assert field in str(info.value)


def test_unknown_nested_part_types_decide(router: Router) -> None:
    """Nested content parts of unknown types are skipped; their nested text is still routed."""
    messages = [
        {
            "role": "user",
            "content": [
                {"type": "hologram", "payload": {"x": 1}},
                {"type": "bundle", "content": [{"type": "mystery"}, {"type": "text", "text": "Sort a list in Python"}]},
            ],
        }
    ]
    decision = router.decide(messages=messages)
    assert decision.query is not None and decision.query.text == "Sort a list in Python"


def test_unknown_part_types_without_text_are_a_request_error(router: Router) -> None:
    """A message whose only parts are unknown and textless has nothing to route on."""
    with pytest.raises(RequestError, match="no text to route on"):
        router.decide(messages=[{"role": "user", "content": [{"type": "hologram"}]}])


def test_pathologically_deep_nesting_is_a_request_error(router: Router) -> None:
    """Content nested thousands of levels deep is refused with RequestError, not RecursionError."""
    content: object = "hi"
    for _ in range(5000):
        content = [{"type": "wrapper", "content": content}]
    with pytest.raises(RequestError, match=f"nested more than {MAX_CONTENT_DEPTH} levels"):
        router.decide(messages=[{"role": "user", "content": content}])


def test_self_referencing_content_is_a_request_error(router: Router) -> None:
    """A content list that contains itself is refused instead of recursing forever."""
    parts: list = []
    parts.append({"type": "loop", "content": parts})
    with pytest.raises(RequestError, match="nested more than"):
        router.decide(messages=[{"role": "user", "content": parts}])


# --------------------------------------------------------------------------- candidates


def test_no_candidates(embedder: OnnxEmbedder) -> None:
    """An empty candidate list raises NoCandidatesError."""
    with pytest.raises(NoCandidatesError, match="no candidates"):
        Router([], embedder=embedder)


def test_duplicate_candidate_names(embedder: OnnxEmbedder) -> None:
    """Two candidates with the same name raise CandidateError naming the duplicate."""
    with pytest.raises(CandidateError, match=r"candidates\[1\]: duplicate candidate name 'gpt'"):
        Router([{"name": "gpt", "model": "openai/gpt-4o"}, {"name": "gpt", "model": "openai/gpt-4o-mini"}],
               embedder=embedder)


@pytest.mark.parametrize("field", ["input_cost_per_mtok", "output_cost_per_mtok"])
def test_negative_price(embedder: OnnxEmbedder, field: str) -> None:
    """A negative price raises CandidateError naming the field and the value."""
    with pytest.raises(CandidateError, match=rf"{field}: Input should be greater than or equal to 0 \(got -1"):
        Router([{"name": "a", field: -1.0}], embedder=embedder)


@pytest.mark.parametrize(
    ("item", "fragment"),
    [
        ({"name": "a", "input_cost_per_mtok": float("nan")}, "finite number"),
        ({"name": "a", "input_cost_per_token": [1]}, "input_cost_per_token: expected a number"),
        ({"name": "a", "input_cost_per_token": 1e-6, "input_cost_per_mtok": 1.0}, "not both"),
        ({"name": "a", "capabilities": ["telepathy"]}, "unknown capabilities ['telepathy']"),
        ({"name": "a", "capabilities": 5}, "expected a list of capabilities"),
        ({"name": "a", "tier": 9}, "tier"),
        ({"name": "a", "free": True, "input_cost_per_mtok": 1.0}, "free candidate must have zero prices"),
        ({"name": "a", "price": 1}, "price: Extra inputs are not permitted"),
        ({"name": ""}, "name"),
        ("gpt-4o", "expected a Candidate or a dict, got str"),
    ],
)
def test_invalid_candidates(embedder: OnnxEmbedder, item: object, fragment: str) -> None:
    """Malformed candidate definitions raise CandidateError saying what is wrong."""
    with pytest.raises(CandidateError) as info:
        Router([item], embedder=embedder)
    assert fragment in str(info.value)
    assert "candidates[0]" in str(info.value)


# --------------------------------------------------------------------------- profiles


def test_unknown_profile_everywhere(router: Router, embedder: OnnxEmbedder) -> None:
    """An unknown profile per call, in metadata, as default or in a profile map is a ConfigError."""
    with pytest.raises(UnknownProfileError, match="unknown profile 'turbo'; expected one of"):
        router.decide("hi", profile="turbo")
    with pytest.raises(UnknownProfileError, match="'turbo'"):
        router.decide("hi", metadata={"profile": "turbo"})
    with pytest.raises(UnknownProfileError, match="expected a profile name"):
        router.decide("hi", profile=["eco"])  # type: ignore[arg-type]
    with pytest.raises(UnknownProfileError):
        Router(profile="turbo", embedder=embedder)
    with pytest.raises(ConfigError, match=r"team_profiles\['t'\] = 'turbo' is not a profile"):
        Router(team_profiles={"t": "turbo"}, embedder=embedder)
    with pytest.raises(ConfigError, match=r"key_profiles\['k'\]"):
        Router(key_profiles={"k": "turbo"}, embedder=embedder)


def test_free_without_free_candidates(embedder: OnnxEmbedder) -> None:
    """Profile free with only paid candidates raises NoCandidatesError explaining what to add."""
    paid = Router([Candidate(name="paid", input_cost_per_mtok=1.0, output_cost_per_mtok=2.0)], embedder=embedder)
    with pytest.raises(NoCandidatesError, match="admits only free candidates.*add a candidate with free=True"):
        paid.decide("hello", profile="free")


def test_reasoning_without_reasoning_candidates(embedder: OnnxEmbedder) -> None:
    """Profile reasoning with no reasoning-capable candidate raises NoCandidatesError."""
    plain = Router([Candidate(name="plain", input_cost_per_mtok=1.0)], embedder=embedder)
    with pytest.raises(NoCandidatesError, match="requires reasoning"):
        plain.decide("Prove it", profile="reasoning")


@pytest.mark.parametrize("exclude", [5, b"abc", {"a": 1}, [1, 2], [["nested"]]])
def test_malformed_exclude(router: Router, exclude: object) -> None:
    """exclude must be candidate names; anything else is a RequestError naming exclude."""
    with pytest.raises(RequestError) as info:
        router.decide("hi", exclude=exclude)  # type: ignore[arg-type]
    assert info.value.field == "exclude"


# --------------------------------------------------------------------------- centroid files


def _damage_manifest(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        manifest = json.loads((root / "manifest.json").read_text())
        change(manifest)
        (root / "manifest.json").write_text(json.dumps(manifest))

    return damage


def _damage_arrays(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        with np.load(root / "arrays.npz") as npz:
            arrays = {k: npz[k] for k in npz.files}
        change(arrays)
        np.savez(root / "arrays.npz", **arrays)
        # re-sign the manifest, so that the damage reaches the centroid checks behind the artifact's
        manifest = json.loads((root / "manifest.json").read_text())
        if "array_specs" in manifest:
            kept = {k: np.asarray(v) for k, v in arrays.items() if np.asarray(v).dtype.kind != "O"}
            manifest["array_specs"].update({k: {"shape": list(np.shape(v)), "dtype": np.asarray(v).dtype.str}
                                            for k, v in arrays.items()})
            manifest["arrays_digest"] = arrays_digest(kept)
            (root / "manifest.json").write_text(json.dumps(manifest))

    return damage


def _set(d: dict, key: str, value: object) -> None:
    d[key] = value


def _drop(d: dict, key: str) -> None:
    del d[key]


DAMAGES: dict[str, tuple[Callable[[Path], None], str]] = {
    "manifest deleted": (lambda r: (r / "manifest.json").unlink(), "no manifest.json"),
    "arrays deleted": (lambda r: (r / "arrays.npz").unlink(), "unreadable arrays"),
    "manifest not json": (lambda r: (r / "manifest.json").write_text("{oops"), "unreadable manifest"),
    "manifest a list": (lambda r: (r / "manifest.json").write_text("[1, 2]"), "expected a JSON object, got list"),
    "arrays garbage": (lambda r: (r / "arrays.npz").write_bytes(b"\x00garbage" * 50), "unreadable arrays"),
    "arrays truncated": (lambda r: (r / "arrays.npz").write_bytes((r / "arrays.npz").read_bytes()[:3000]),
                         "unreadable arrays"),
    "arrays empty": (lambda r: (r / "arrays.npz").write_bytes(b""), "unreadable arrays"),
    "wrong format": (_damage_manifest(lambda m: _set(m, "format", "routeiq-strategy")), "expected format"),
    "future version": (_damage_manifest(lambda m: _set(m, "format_version", 99)), "format_version 99"),
    "categories missing": (_damage_manifest(lambda m: _drop(m, "categories")), "malformed centroid manifest"),
    "category floor not int": (_damage_manifest(lambda m: _set(m["categories"][0], "floor_tier", "high")),
                               "floor_tier 1..5"),
    "other embedding model": (_damage_manifest(lambda m: _set(m, "embedding_model", "0" * 64)),
                              "built with embedding model 000000000000"),
    "centroid NaN": (_damage_arrays(lambda a: a["centroids"].__setitem__((0, 0), np.nan)), "non-finite"),
    "centroid zero": (_damage_arrays(lambda a: a["centroids"].__setitem__(0, 0.0)), "all zeros"),
    "rows missing": (_damage_arrays(lambda a: _set(a, "centroids", a["centroids"][:3])), "one centroid per category"),
    "anchor wrong shape": (_damage_arrays(lambda a: _set(a, "easy", a["easy"][:10])), "easy anchor has shape (10,)"),
    "anchor missing": (_damage_arrays(lambda a: _drop(a, "hard")), "missing arrays ['hard']"),
    "object array": (_damage_arrays(lambda a: _set(a, "easy", np.array([{"x": 1}], dtype=object))),
                     "allow_pickle=False"),
}


@pytest.mark.parametrize("damage", sorted(DAMAGES))
def test_damaged_centroid_directory(tmp_path: Path, embedder: OnnxEmbedder, damage: str) -> None:
    """A missing or corrupt centroid directory raises CentroidError that says to rebuild."""
    root = tmp_path / "centroids"
    shutil.copytree(DEFAULT_CENTROIDS, root)
    damage_fn, fragment = DAMAGES[damage]
    damage_fn(root)
    router = Router(centroids=root, embedder=embedder)
    with pytest.raises(CentroidError) as info:
        router.decide("Write a Python function that reverses a string.")
    assert fragment in str(info.value)
    assert "routeiq centroids build" in str(info.value)


def test_centroid_directory_that_does_not_exist(tmp_path: Path, embedder: OnnxEmbedder) -> None:
    """Router(centroids=<missing dir>) raises CentroidError on first use."""
    with pytest.raises(CentroidError, match="no manifest.json"):
        Router(centroids=tmp_path / "nope", embedder=embedder).decide("hi")


def test_undamaged_copy_works(tmp_path: Path, embedder: OnnxEmbedder, router: Router) -> None:
    """The control: an intact copy of the shipped centroids decides like the default router."""
    root = tmp_path / "centroids"
    shutil.copytree(DEFAULT_CENTROIDS, root)
    prompt = "Write a Python function that reverses a string."
    copy = Router(centroids=root, embedder=embedder).decide(prompt)
    assert copy.to_dict(timings=False) == router.decide(prompt).to_dict(timings=False)


# --------------------------------------------------------------------------- embedding model files


def test_non_onnx_model_file(tmp_path: Path) -> None:
    """A model path that is not an ONNX file raises EmbeddingError naming the file."""
    fake = tmp_path / "model.onnx"
    fake.write_text("this is not a protobuf")
    embedder = OnnxEmbedder(model_path=fake)
    with pytest.raises(EmbeddingError, match="is not a loadable ONNX model") as info:
        embedder.embed("hi")
    assert str(fake) in str(info.value)
    with pytest.raises(EmbeddingError):
        Router(embedder=embedder).decide("hi")


def test_tampered_model_fails_the_sha256_check(tmp_path: Path) -> None:
    """A copy of the model with one flipped byte fails the pinned sha256 check before loading."""
    copy = tmp_path / "model.onnx"
    shutil.copyfile(default_model_path(), copy)
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0x01
    copy.write_bytes(bytes(data))
    with pytest.raises(EmbeddingError, match=f"expected {DEFAULT_MODEL_SHA256}") as info:
        OnnxEmbedder(model_path=copy, expected_sha256=DEFAULT_MODEL_SHA256).embed("hi")
    assert "corrupt or not the pinned model" in str(info.value)
    # Without a pinned hash it loads, but the shipped centroids refuse a different model.
    other = OnnxEmbedder(model_path=copy)
    assert other.model_id != DEFAULT_MODEL_SHA256
    with pytest.raises(CentroidError, match="rebuild them for this model"):
        Router(embedder=other).decide("hi")


def test_env_model_pointing_to_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ROUTEIQ_EMBEDDING_MODEL naming a missing file raises EmbeddingError that mentions the variable."""
    monkeypatch.setenv(ENV_MODEL, str(tmp_path / "missing.onnx"))
    with pytest.raises(EmbeddingError, match="embedding model file not found.*ROUTEIQ_EMBEDDING_MODEL"):
        OnnxEmbedder().embed("hi")
    with pytest.raises(EmbeddingError, match="not found"):
        Router(embedder=OnnxEmbedder()).decide("hi")


def test_bad_tokenizer_file(tmp_path: Path) -> None:
    """A tokenizer path that is not a tokenizer.json raises EmbeddingError."""
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{}")
    with pytest.raises(EmbeddingError, match="cannot load tokenizer"):
        OnnxEmbedder(tokenizer_path=bad).embed("hi")


def test_embed_rejects_non_strings(embedder: OnnxEmbedder) -> None:
    """embed() of a non-string raises EmbeddingError, a RouteIQError."""
    with pytest.raises(EmbeddingError, match="expects str, got bytes"):
        embedder.embed(b"hi")  # type: ignore[arg-type]
    assert issubclass(EmbeddingError, RouteIQError)
