"""Candidates and the catalog: the built-in catalog, tier inference, extend/replace, JSON and YAML files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from routeiq_core import CAPABILITIES, Candidate, CandidateError, Catalog, load_candidates
from routeiq_core._candidates import infer_tier


def test_builtin_catalog_loads() -> None:
    """The built-in catalog has provenance, unique names, every tier, and free local models."""
    catalog = Catalog.builtin()
    assert catalog.name == "builtin" and catalog.prices_as_of and catalog.source
    names = [c.name for c in catalog.candidates]
    assert len(names) == len(set(names)) >= 10
    assert {c.tier for c in catalog.candidates} == {1, 2, 3, 4, 5}
    free = [c for c in catalog.candidates if c.free]
    assert free and all(c.input_cost_per_mtok == c.output_cost_per_mtok == 0 for c in free)
    assert any(c.has("reasoning") for c in catalog.candidates)
    assert all(c.capabilities <= CAPABILITIES for c in catalog.candidates)
    assert all(c.context_window for c in catalog.candidates)


@pytest.mark.parametrize(
    ("input_price", "output_price", "tier"),
    [
        (0.0, 0.0, 1),
        (0.1, 0.4, 1),  # blended (3:1) 0.175 < 0.2
        (0.15, 0.6, 2),  # blended 0.2625
        (0.4, 1.6, 2),  # blended 0.7
        (1.0, 1.0, 3),  # blended 1.0 is on the bound: next tier
        (2.5, 10.0, 4),  # blended 4.375
        (3.0, 15.0, 4),  # blended 6.0
        (5.0, 25.0, 4),  # blended 10.0
        (15.0, 75.0, 5),  # blended 30.0
    ],
)
def test_tier_is_inferred_from_price(input_price: float, output_price: float, tier: int) -> None:
    """Without a tier, the blended price (3 input : 1 output per 1M tokens) decides it."""
    assert infer_tier(input_price, output_price) == tier
    cand = Candidate(name="x", input_cost_per_mtok=input_price, output_cost_per_mtok=output_price)
    assert cand.tier == tier
    assert Candidate(name="x", input_cost_per_mtok=input_price, output_cost_per_mtok=output_price, tier=5).tier == 5


def test_candidate_defaults_and_helpers() -> None:
    """model defaults to name; per-token prices convert; is_free, strength and expected_cost follow the prices."""
    cand = Candidate(name="gpt-4o-mini", input_cost_per_token=1.5e-7, output_cost_per_token=6e-7)
    assert cand.model == "gpt-4o-mini"
    assert cand.input_cost_per_mtok == pytest.approx(0.15) and cand.output_cost_per_mtok == pytest.approx(0.6)
    assert not cand.is_free
    assert cand.expected_cost(1000, 500) == pytest.approx((0.15 * 1000 + 0.6 * 500) / 1e6)
    assert cand.blended_cost_per_mtok == pytest.approx(0.2625)
    assert cand.strength() == pytest.approx(0.45 + 0.1 * cand.tier)
    assert Candidate(name="q", quality=0.9).strength() == 0.9
    zero = Candidate(name="local")
    assert zero.is_free and not zero.free and zero.tier == 1
    assert Candidate(name="c", capabilities=["Reasoning ", "CODE"]).capabilities == {"reasoning", "code"}
    assert Candidate(name="c", capabilities="vision").capabilities == {"vision"}


def test_candidates_are_immutable() -> None:
    """A Candidate cannot be modified after creation."""
    cand = Candidate(name="a")
    with pytest.raises(ValidationError, match="frozen"):
        cand.name = "b"  # type: ignore[misc]


def test_extend_replace_and_get() -> None:
    """extend() adds candidates, replaces same-named ones (or refuses with replace=False); get() finds them."""
    base = Catalog.builtin()
    extra = [{"name": "my-vllm", "model": "hosted_vllm/qwen", "free": True, "tier": 2},
             {"name": "openai/gpt-5", "input_cost_per_mtok": 0.5, "output_cost_per_mtok": 1.0, "tier": 5}]
    extended = base.extend(extra)
    assert len(extended.candidates) == len(base.candidates) + 1
    assert extended.get("my-vllm").free
    assert extended.get("openai/gpt-5").input_cost_per_mtok == 0.5
    assert base.get("openai/gpt-5").input_cost_per_mtok != 0.5  # the original is untouched
    assert extended.name == base.name and extended.prices_as_of == base.prices_as_of
    with pytest.raises(CandidateError, match=r"already in the catalog: \['openai/gpt-5'\]"):
        base.extend(extra, replace=False)
    with pytest.raises(CandidateError, match="no candidate named 'nope'"):
        base.get("nope")


@pytest.mark.parametrize("suffix", [".json", ".yaml", ".yml"])
def test_catalog_files_list_or_object(tmp_path: Path, suffix: str) -> None:
    """A catalog file is a list of candidates or an object with 'candidates'; the name defaults to the file stem."""
    items = [{"name": "a", "input_cost_per_mtok": 0.1}, {"name": "b", "input_cost_per_mtok": 5.0, "tier": 4}]
    as_list = tmp_path / f"mine{suffix}"
    as_list.write_text(json.dumps(items))  # JSON is valid YAML too
    catalog = Catalog.from_file(as_list)
    assert catalog.name == "mine" and [c.name for c in catalog.candidates] == ["a", "b"]
    assert catalog.get("b").tier == 4 and catalog.get("a").tier == 1
    as_object = tmp_path / f"obj{suffix}"
    as_object.write_text(json.dumps({"name": "prod", "prices_as_of": "2025-09", "candidates": items}))
    catalog = Catalog.from_file(as_object)
    assert catalog.name == "prod" and catalog.prices_as_of == "2025-09"
    assert load_candidates(as_object) == catalog.candidates
    assert load_candidates(str(as_object)) == catalog.candidates


def test_yaml_file_with_yaml_syntax(tmp_path: Path) -> None:
    """A hand-written YAML catalog (per-token prices, capability lists) loads."""
    path = tmp_path / "team.yaml"
    path.write_text("candidates:\n  - name: fast\n    model: groq/llama-3.1-8b-instant\n"
                    "    input_cost_per_token: 5.0e-8\n    output_cost_per_token: 8.0e-8\n"
                    "    capabilities: [tools]\n    context_window: 131072\n")
    (cand,) = Catalog.from_file(path).candidates
    assert cand.input_cost_per_mtok == pytest.approx(0.05) and cand.capabilities == {"tools"}


@pytest.mark.parametrize(
    ("name", "content", "fragment"),
    [
        ("bad.json", "{not json", "not valid JSON"),
        ("bad.yaml", "candidates: [\n", "not valid YAML"),
        ("scalar.json", "42", "expected a list of candidates or an object with a 'candidates' list, got int"),
        ("nokey.json", '{"models": []}', "expected a list of candidates"),
        ("entry.json", '[{"name": "a"}, {"nme": "b"}]', "candidates[1]: invalid candidate: name: Field required"),
        ("extra.json", '{"candidates": [], "owner": "me"}', "owner"),
        ("dup.yaml", "- name: a\n- name: a\n", "duplicate candidate name 'a'"),
    ],
)
def test_malformed_catalog_files(tmp_path: Path, name: str, content: str, fragment: str) -> None:
    """Malformed catalog files raise CandidateError naming the file and the problem."""
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(CandidateError) as info:
        Catalog.from_file(path)
    assert fragment in str(info.value) and str(path) in str(info.value)


def test_unreadable_catalog_files(tmp_path: Path) -> None:
    """A missing file, a directory or a non-UTF-8 file raise CandidateError."""
    with pytest.raises(CandidateError, match="not found"):
        Catalog.from_file(tmp_path / "none.json")
    with pytest.raises(CandidateError, match="cannot read"):
        Catalog.from_file(tmp_path)
    latin = tmp_path / "latin.json"
    latin.write_bytes('[{"name": "café"}]'.encode("latin-1"))
    with pytest.raises(CandidateError, match="not UTF-8"):
        Catalog.from_file(latin)


def test_load_candidates_from_objects() -> None:
    """load_candidates accepts Candidate objects and dicts and validates them."""
    cands = load_candidates([Candidate(name="a"), {"name": "b", "input_cost_per_mtok": 1.0}])
    assert [c.name for c in cands] == ["a", "b"]
    with pytest.raises(CandidateError, match="expected a list"):
        load_candidates({"name": "a"})  # type: ignore[arg-type]


def test_tier_inferred_from_size_before_price() -> None:
    """A known parameter count decides the tier when no tier is given; price decides otherwise."""
    from routeiq_core import Candidate

    assert Candidate(name="a", input_cost_per_mtok=0.9, output_cost_per_mtok=0.9, size_b=51).tier == 4
    assert Candidate(name="b", input_cost_per_mtok=0.9, output_cost_per_mtok=0.9).tier == 2
    assert Candidate(name="c", size_b=7, tier=5).tier == 5
    assert [Candidate(name="d", size_b=s).tier for s in (3, 8, 34, 70, 141)] == [1, 2, 3, 4, 5]
