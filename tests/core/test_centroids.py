"""Centroids: the shipped set is reproducible, and a custom set built from your seeds routes."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from routeiq_core import (
    BaseStrategy,
    CentroidError,
    ConfigError,
    Estimate,
    OnnxEmbedder,
    Router,
    StrategyTags,
)
from routeiq_core._centroids import DEFAULT_CENTROIDS, DEFAULT_SEEDS, CentroidSet
from routeiq_core.cli import main
from routeiq_core.errors import FallbackWarning

CUSTOM_SEEDS = {
    "categories": {
        "cooking": {
            "description": "Recipes and kitchen questions.",
            "floor_tier": 1,
            "output_tokens": 250,
            "prompts": ["How do I make a fluffy omelette?", "What can I cook with leftover rice?",
                        "How long should I roast a chicken?", "Give me a recipe for banana bread."],
        },
        "legal": {
            "description": "Contracts and legal questions.",
            "floor_tier": 4,
            "output_tokens": 900,
            "prompts": ["Review this employment contract for unfair clauses.",
                        "Is a verbal agreement legally binding?",
                        "Draft a non-disclosure agreement between two companies.",
                        "What are my rights if my landlord keeps my deposit?"],
        },
        "smalltalk": {
            "description": "Greetings.",
            "floor_tier": 1,
            "output_tokens": 60,
            "prompts": ["hi", "hello there", "how are you?", "good evening"],
        },
    },
    "difficulty": {
        "easy": ["hi", "what time is it", "thanks"],
        "hard": ["Prove the Riemann hypothesis.", "Design a distributed database with strict serializability.",
                 "Derive the Navier-Stokes equations from first principles."],
    },
}


def test_build_check_reproduces_the_shipped_centroids(capsys: pytest.CaptureFixture[str],
                                                       embedder: OnnxEmbedder) -> None:
    """'routeiq centroids build --check' rebuilds from the seeds and finds the same arrays (exit 0):
    bit for bit with the libraries they were built with, within float rounding with other builds."""
    assert main(["centroids", "build", "--check"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(("identical: arrays sha256", "equivalent: every value within 1e-05"))


def test_build_check_tells_float_rounding_from_a_real_change(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                            embedder: OnnxEmbedder) -> None:
    """Stored centroids a float32 ulp away pass --check as equivalent; a change of 1e-3 is DIFFERENT."""
    shipped = CentroidSet.load()
    out = {}
    for label, step in (("ulp", 2e-7), ("changed", 1e-3)):
        nudged = shipped.matrix.copy()
        nudged[0, 0] += step
        cset = CentroidSet(shipped.categories, nudged, shipped.easy, shipped.hard,
                           embedding_model=shipped.embedding_model, manifest=shipped.manifest,
                           prototypes=shipped.prototypes, prototype_labels=shipped.prototype_labels,
                           prototype_weight=shipped.prototype_weight, prototype_k=shipped.prototype_k,
                           instruction_weight=shipped.instruction_weight)
        cset.save(tmp_path / label)
        code = main(["centroids", "build", "--check", "--out", str(tmp_path / label)])
        out[label] = (code, capsys.readouterr().out)
    assert out["ulp"][0] == 0 and out["ulp"][1].startswith("equivalent")
    assert out["changed"][0] == 1 and out["changed"][1].startswith("DIFFERENT: largest difference 0.00099")


def test_build_is_deterministic_and_matches_the_manifest(embedder: OnnxEmbedder) -> None:
    """CentroidSet.build gives the same arrays bit for bit each time, the shipped ones within float
    rounding (bit for bit with the numpy and onnxruntime builds they were made with), and records
    the seed and model hashes."""
    shipped = CentroidSet.load()
    built = CentroidSet.build(OnnxEmbedder(cache_size=0))
    again = CentroidSet.build(OnnxEmbedder(cache_size=0))
    assert built.arrays_sha256() == again.arrays_sha256()
    assert shipped.arrays_sha256() == shipped.manifest["arrays_sha256"]
    assert built.largest_difference(shipped) <= 1e-5
    assert built.manifest["seeds_sha256"] == hashlib.sha256(Path(DEFAULT_SEEDS).read_bytes()).hexdigest()
    assert shipped.manifest["seeds_sha256"] == built.manifest["seeds_sha256"]
    assert built.embedding_model == shipped.embedding_model == embedder.model_id
    assert built.names == shipped.names


def test_build_check_detects_a_difference(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--check against centroids built from other seeds reports DIFFERENT and exits 1."""
    seeds = tmp_path / "seeds.json"
    seeds.write_text(json.dumps(CUSTOM_SEEDS))
    assert main(["centroids", "build", "--seeds", str(seeds), "--out", str(tmp_path / "c")]) == 0
    capsys.readouterr()
    assert main(["centroids", "build", "--check", "--out", str(tmp_path / "c")]) == 1
    assert capsys.readouterr().out.startswith("DIFFERENT")


def test_custom_seeds_build_a_usable_router(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            embedder: OnnxEmbedder) -> None:
    """Centroids built from a custom seeds file into a directory route with Router(centroids=dir)."""
    seeds = tmp_path / "seeds.json"
    seeds.write_text(json.dumps(CUSTOM_SEEDS))
    out_dir = tmp_path / "centroids"
    assert main(["centroids", "build", "--seeds", str(seeds), "--out", str(out_dir)]) == 0
    assert "wrote 3 centroids" in capsys.readouterr().out
    assert sorted(p.name for p in out_dir.iterdir()) == ["arrays.npz", "manifest.json"]
    router = Router(centroids=out_dir, embedder=embedder)
    cooking = router.decide("What's a quick recipe for pancakes without eggs?")
    assert cooking.category == "cooking"
    legal = router.decide("Can my employer change my contract without my consent?")
    assert legal.category == "legal"
    assert legal.details["required_tier"] >= 4  # the custom floor tier applies
    assert legal.candidate.tier >= 4
    assert router.decide("hey there").category == "smalltalk"
    assert main(["centroids", "show", "--dir", str(out_dir)]) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["seed_counts"] == {"cooking": 4, "legal": 4, "smalltalk": 4}


@pytest.mark.parametrize(
    ("seeds", "fragment"),
    [
        ({"categories": {}}, "expected {'categories'"),
        ({"categories": {"a": {"prompts": ["x"] * 3}, "b": {"prompts": ["y"]}},
          "difficulty": {"easy": ["e"] * 3, "hard": ["h"] * 3}}, "at least 3 prompts"),
        ({"categories": {"a": {"prompts": ["x"] * 3, "floor_tier": "high"}},
          "difficulty": {"easy": ["e"] * 3, "hard": ["h"] * 3}}, "problem"),
        ([1, 2, 3], "expected {'categories'"),
    ],
)
def test_malformed_seed_files(tmp_path: Path, embedder: OnnxEmbedder, seeds: object, fragment: str) -> None:
    """A malformed seeds file raises CentroidError explaining the expected shape."""
    path = tmp_path / "seeds.json"
    path.write_text(json.dumps(seeds))
    with pytest.raises(CentroidError, match=fragment):
        CentroidSet.build(embedder, path)


def test_missing_seed_file(tmp_path: Path, embedder: OnnxEmbedder) -> None:
    """A missing seeds file raises CentroidError naming it."""
    with pytest.raises(CentroidError, match="cannot read seed prompts"):
        CentroidSet.build(embedder, tmp_path / "none.json")


def test_classification_fields(embedder: OnnxEmbedder) -> None:
    """classify() gives a category, a confidence in [0, 1], a runner-up, a margin and a difficulty in (0, 1)."""
    cset = CentroidSet.load(DEFAULT_CENTROIDS)
    result = cset.classify(embedder.embed("Write a sonnet about the moon."))
    assert result.category == "creative" and result.runner_up != result.category
    assert 0.0 <= result.confidence <= 1.0 and result.margin >= 0.0
    assert set(result.similarities) == set(cset.names)
    assert result.similarities[result.category] - result.similarities[result.runner_up] == pytest.approx(result.margin)
    assert 0.0 < result.difficulty < 1.0
    hard = cset.classify(embedder.embed("Prove that the halting problem is undecidable by diagonalisation."))
    assert hard.difficulty > cset.classify(embedder.embed("hello")).difficulty
    with pytest.raises(CentroidError, match="expect"):
        cset.classify(np.ones(10, dtype=np.float32))


class _Failing(BaseStrategy):
    """Always fails, so the router's fallback decides."""

    name = "failing"
    tags = StrategyTags(requires_fit=False)

    def _predict(self, query, candidates) -> Estimate:  # type: ignore[no-untyped-def]
        raise RuntimeError("down")


def test_centroid_set_object_is_used_by_the_fallback_too(tmp_path: Path, embedder: OnnxEmbedder) -> None:
    """Router(centroids=<CentroidSet>) classifies with it, and the fallback uses the same set."""
    seeds = tmp_path / "seeds.json"
    seeds.write_text(json.dumps(CUSTOM_SEEDS))
    cset = CentroidSet.build(embedder, seeds)
    prompt = "Can my employer change my contract without my consent?"
    direct = Router(centroids=cset, embedder=embedder).decide(prompt)
    assert direct.category == "legal" and direct.details["required_tier"] >= 4
    with pytest.warns(FallbackWarning):
        fallen = Router(centroids=cset, strategy=_Failing(), embedder=embedder).decide(prompt)
    assert fallen.fallback and fallen.details == direct.details and fallen.name == direct.name
    assert not any("fallback failed too" in w for w in fallen.warnings)


def test_centroid_set_object_for_another_model_is_refused(embedder: OnnxEmbedder) -> None:
    """A CentroidSet object built for another embedding model is refused like a directory would be."""
    shipped = CentroidSet.load()
    other = CentroidSet(shipped.categories, shipped.matrix, shipped.easy, shipped.hard, embedding_model="f" * 64)
    with pytest.raises(CentroidError, match="built with embedding model ffffffffffff"):
        Router(centroids=other, embedder=embedder).decide("hi")


def test_centroids_argument_type_is_checked(embedder: OnnxEmbedder) -> None:
    """Router(centroids=<not a path or CentroidSet>) is a ConfigError."""
    with pytest.raises(ConfigError, match="expected a directory"):
        Router(centroids=5, embedder=embedder)  # type: ignore[arg-type]


# ---------------------------------------------------------------- prototypes and the instruction rule
def test_shipped_sets_carry_prototypes_chosen_by_cross_validation() -> None:
    from routeiq_core._static_embedding import StaticEmbedder

    for cset in (CentroidSet.load(), CentroidSet.load(StaticEmbedder().default_centroids)):
        settings = cset.manifest["prototypes"]
        table = settings["cv_accuracy"]
        assert cset.prototypes is not None and cset.prototype_labels is not None
        assert len(cset.prototypes) == sum(cset.manifest["seed_counts"].values())
        assert (settings["weight"], settings["k"]) == (cset.prototype_weight, cset.prototype_k)
        chosen = table[f"weight {cset.prototype_weight:g}, k {cset.prototype_k}"]
        assert chosen == max(table.values()) and chosen > table["weight 0, k 1"]


def test_nearest_prototype_shortcut_gives_the_general_rules_scores() -> None:
    """With one prototype per category (the static table's set) the scores come from one
    maximum.reduceat over rows grouped by category: bit for bit the general take + sort + sum on
    the shipped set, whose rows arrive grouped; within float rounding when they arrive shuffled
    (the product then runs over the rows in another order)."""
    from routeiq_core._static_embedding import StaticEmbedder

    static = CentroidSet.load(StaticEmbedder().default_centroids)
    assert static.prototype_k == 1 and static.prototypes is not None and static.prototype_labels is not None
    rng = np.random.default_rng(0)
    for order, exact in ((np.arange(len(static.prototypes)), True), (rng.permutation(len(static.prototypes)), False)):
        def make(order: np.ndarray = order) -> CentroidSet:
            assert static.prototypes is not None and static.prototype_labels is not None
            return CentroidSet(static.categories, static.matrix, static.easy, static.hard,
                               embedding_model=static.embedding_model, prototypes=static.prototypes[order],
                               prototype_labels=static.prototype_labels[order],
                               prototype_weight=static.prototype_weight, prototype_k=1)
        fast, general = make(), make()
        assert fast._starts is not None
        w = general.prototype_weight  # the general path: its rows in the given order, take + sort + sum
        general._starts = None
        general._stacked = np.vstack([(1 - w) * general.matrix, general.easy[None, :], general.hard[None, :],
                                      w * general.prototypes]).astype(np.float32)
        for _ in range(50):
            v = rng.normal(size=static.dim).astype(np.float32)
            v /= np.linalg.norm(v)
            got, want = fast._scores(v), general._scores(v)
            if exact:
                assert got == want
            else:
                assert np.allclose(got[0], want[0], rtol=0, atol=1e-6) and got[1:] == want[1:]


def test_choice_of_settings_is_deterministic_and_prefers_prototypes_on_split_clusters() -> None:
    from routeiq_core._centroids import choose_prototype_settings

    rng = np.random.default_rng(3)
    # two categories, each made of two opposite clusters: both category means point the same way
    # (up the third axis), so one mean per category cannot tell them apart; prototypes can
    centres = np.array([[1, 0, 0.3], [0, 1, 0.3], [-1, 0, 0.3], [0, -1, 0.3]])
    x = np.vstack([centres[i] + 0.05 * rng.normal(size=(12, 3)) for i in range(4)])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = np.repeat([0, 1, 0, 1], 12).astype(np.int32)
    first = choose_prototype_settings(x, labels)
    assert first == choose_prototype_settings(x, labels)
    weight, k, table = first
    assert weight > 0 and table[f"weight {weight:g}, k {k}"] >= table["weight 0, k 1"]


@pytest.mark.parametrize("change, fragment", [
    ({"prototype_labels": None}, "come together"),
    ({"prototype_labels": np.full(6, 9, dtype=np.int32)}, "labels outside"),
    ({"prototype_k": 5}, "k in 1..3"),
    ({"prototype_weight": 1.5}, "weight in [0, 1]"),
    ({"prototypes": np.full((6, 4), np.nan, dtype=np.float32)}, "non-finite"),
    ({"prototypes": np.ones((6, 5), dtype=np.float32)}, "rows of 4 floats"),
])
def test_bad_prototypes_are_refused(change: dict[str, object], fragment: str) -> None:
    from routeiq_core._centroids import CategoryInfo

    cats = [CategoryInfo("a", "", 1, 100), CategoryInfo("b", "", 2, 100)]
    eye = np.eye(4, dtype=np.float32)
    args: dict[str, object] = {"prototypes": np.vstack([eye, eye[:2]]),
                               "prototype_labels": np.array([0, 1, 0, 1, 0, 1], dtype=np.int32),
                               "prototype_weight": 0.5, "prototype_k": 2}
    args.update(change)
    with pytest.raises(CentroidError, match=fragment.replace("[", r"\[").replace("]", r"\]")):
        CentroidSet(cats, eye[:2], eye[2], eye[3], embedding_model="m", **args)  # type: ignore[arg-type]


def test_prototypes_survive_save_and_load_and_tampering_is_caught(tmp_path: Path) -> None:
    shipped = CentroidSet.load()
    out = shipped.save(tmp_path / "c")
    again = CentroidSet.load(out)
    assert again.prototype_k == shipped.prototype_k and again.prototype_weight == shipped.prototype_weight
    assert np.array_equal(again.prototypes, shipped.prototypes)  # type: ignore[arg-type]
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["prototypes"]["k"] = 999
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CentroidError, match="prototype settings"):
        CentroidSet.load(out)


@pytest.mark.parametrize("text, head", [
    ("Summarise this article: The council voted on Tuesday to expand the bike lanes downtown.",
     "Summarise this article"),
    ("tl;dr\nThe release moved to Friday because QA found two blocking bugs in the payment flow.", "tl;dr"),
    ("What is the capital of Australia and why?", None),
    ("Note: be brief.", None),  # the text after the colon is too short to be pasted material
    ("Write a function to find the nth jacobsthal number. https://oeis.org/A001045 and test it well please",
     None),  # the colon of a URL is not the end of an instruction
    ("At 8:30 the train leaves; it arrives at 11:15 after three stops along the coast. How long is it?", None),
    ("This opening sentence is far too long to be an instruction because it goes on and on and on: body " * 2, None),
])
def test_instruction_of(text: str, head: str | None) -> None:
    from routeiq_core._instruction import instruction_of

    assert instruction_of(text) == head


def test_instruction_counts_in_the_category_and_the_signal_never_quotes_the_prompt(embedder: OnnxEmbedder) -> None:
    canary = "CANARY-7f3a"
    prompt = (f"Summarise this article in two sentences: The {canary} city council voted on Tuesday to expand "
              "the bike lane network across downtown, citing safety data and a rise in cycling commuters.")
    decision = Router(embedder=embedder).decide(prompt)
    assert decision.category == "extraction"
    signal = next(s for s in decision.signals if s.name == "instruction")
    assert canary not in signal.detail and "Summarise" not in signal.detail
    plain = CentroidSet.load().classify(embedder.embed(prompt))
    mixed = CentroidSet.load().classify(embedder.embed(prompt), embedder.embed("Summarise this article in two sentences"))
    assert mixed.similarities["extraction"] - mixed.similarities["reasoning"] > \
        plain.similarities["extraction"] - plain.similarities["reasoning"]


def test_an_instruction_prompt_costs_one_forward_pass_alone_and_in_a_batch() -> None:
    """decide() on "instruction: pasted text" runs the model once (the instruction is pooled from the
    prompt's own pass), and decide_batch classifies it exactly as decide() does."""
    emb = OnnxEmbedder(cache_size=0)
    emb.load()
    real, runs = emb._session, []

    class Counting:
        def run(self, *args: object, **kwargs: object) -> object:
            runs.append(1)
            return real.run(*args, **kwargs)

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

    emb._session = Counting()
    router = Router(embedder=emb)
    prompts = ["Summarise this article in two sentences: The city council voted on Tuesday to expand the bike "
               "lane network across downtown, citing safety data and a rise in cycling commuters.",
               "Fix the bug in this function:\ndef add(a, b):\n    return a - b\nIt should return the sum.",
               "What is the capital of Australia?"]
    single = []
    for prompt in prompts:
        runs.clear()
        single.append(router.decide(prompt))
        assert len(runs) == 1, prompt
    assert sum(s.name == "instruction" for d in single for s in d.signals) == 2
    batch = router.decide_batch(prompts)
    for one, many in zip(single, batch):
        assert many.category == one.category
        assert many.query.classification.similarities == pytest.approx(one.query.classification.similarities,
                                                                        abs=1e-5)


def test_instruction_weight_is_the_leave_one_out_choice_and_off_for_few_seeds(tmp_path: Path,
                                                                               embedder: OnnxEmbedder) -> None:
    from routeiq_core._centroids import choose_instruction_weight
    from routeiq_core._static_embedding import StaticEmbedder

    for cset in (CentroidSet.load(), CentroidSet.load(StaticEmbedder().default_centroids)):
        info = cset.manifest["instruction"]
        counts = info["loo_correct"]
        assert info["seeds"] >= 10 and cset.instruction_weight == info["weight"] > 0
        assert counts[f"weight {cset.instruction_weight:g}"] == max(counts.values()) > counts["weight 0"]
    assert choose_instruction_weight(np.eye(3), np.array([0, 1, 2]), [], np.zeros((0, 3)), 0.5, 1) == (0.0, {})
    seeds = tmp_path / "seeds.json"
    seeds.write_text(json.dumps(CUSTOM_SEEDS))
    custom = CentroidSet.build(embedder, seeds)
    assert custom.instruction_weight == 0.0 and custom.manifest["instruction"]["seeds"] < 10


def test_bad_instruction_weight_in_a_manifest_is_refused(tmp_path: Path) -> None:
    out = CentroidSet.load().save(tmp_path / "c")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["instruction"]["weight"] = 2
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CentroidError, match="instruction weight"):
        CentroidSet.load(out)


def test_a_directory_built_before_prototypes_loads_and_classifies_by_centroids(tmp_path: Path,
                                                                               embedder: OnnxEmbedder) -> None:
    shipped = CentroidSet.load()
    plain = CentroidSet(shipped.categories, shipped.matrix, shipped.easy, shipped.hard,
                        embedding_model=shipped.embedding_model)
    out = plain.save(tmp_path / "old")
    manifest = json.loads((out / "manifest.json").read_text())
    manifest.pop("instruction")  # what a build of an earlier version wrote: neither setting
    (out / "manifest.json").write_text(json.dumps(manifest))
    old = CentroidSet.load(out)
    assert old.prototypes is None and old.prototype_weight == 0.0 and old.instruction_weight == 0.0
    prompt = "Summarise this article: The council voted on Tuesday to expand the bike lanes across downtown."
    vector = embedder.embed(prompt)
    result = old.classify(vector, embedder.embed("Summarise this article"))  # the instruction is not read
    assert result.category == old.names[int(np.argmax(old.matrix @ vector))]
    assert "instruction" not in {s.name for s in Router(embedder=embedder, centroids=out).decide(prompt).signals}
